#pragma once
// Small text helpers of the S3 object store: keys made printable for error messages, UTF-8
// encoding of a code point (XML character references), and the percent-decoding of S3's
// encoding-type=url. Internal: not API.

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace musehub::s3::detail {

// A key or other text, printable and bounded, for error messages.
inline std::string printable(std::string_view text, std::size_t limit = 300) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        auto u = static_cast<unsigned char>(text[i]);
        if (u < 0x20 || u == 0x7f || u == '\\')
            out.append({'\\', 'x', digits[u >> 4], digits[u & 15]});
        else
            out += text[i];
    }
    if (text.size() > limit)
        out += "...";
    return out;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// Percent-decoding as S3's encoding-type=url uses it ('+' is a space, as in a form).
inline std::string url_decode(std::string_view text) {
    auto out = decode_percent(text, /*plus_is_space=*/true);
    if (!out)
        fail(errc::io, "S3 sent a URL-encoded key with a bad escape: '" + printable(text) + "'");
    return std::move(*out);
}

} // namespace musehub::s3::detail
