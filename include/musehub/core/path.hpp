#pragma once
// Manifest paths are relative, '/'-separated UTF-8. Anything that could escape a checkout
// directory or confuse a file system is rejected here, once, when a snapshot enters the hub.

#include "musehub/core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace musehub {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
constexpr bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        char32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else
            return false;
        if (i + n >= s.size())
            return false; // sequence runs past the end
        for (std::size_t k = 1; k <= n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

// Throws errc::bad_path naming the path and the rule it broke.
inline void validate_path(std::string_view path, std::size_t max_bytes = 4'096) {
    auto reject = [&](const char* why) {
        fail(errc::bad_path, std::string(why) + ": '" + std::string(path.substr(0, 200)) + "'");
    };
    if (path.empty())
        reject("empty path");
    if (path.size() > max_bytes)
        reject(("path longer than " + std::to_string(max_bytes) + " bytes").c_str());
    if (path.find('\0') != std::string_view::npos)
        reject("path contains NUL");
    if (path.front() == '/')
        reject("absolute path");
    if (!is_valid_utf8(path))
        reject("path is not valid UTF-8");
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        auto seg = path.substr(start, end - start);
        if (seg.empty())
            reject("empty path segment");
        if (seg == "..")
            reject("path escapes with '..'");
        if (seg == ".")
            reject("path has a '.' segment");
        start = end + 1;
    }
}

} // namespace musehub
