#pragma once
// Hexadecimal text: bytes written as hex digits, and the one decoder every reader of hex uses
// (ids, signatures, upload tokens, the record dictionary, %XX escapes in keys and URLs).
// Decoding never throws: a caller that meets bad text knows what it was reading, so it names
// the problem in its own typed error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace musehub {

// Which letters a decoder takes as digits. Ids and signatures are lowercase only (the form the
// Muse client itself requires); %XX escapes take either case.
enum class HexCase : bool { lower, any };

inline constexpr char lower_hex_digits[] = "0123456789abcdef";

namespace detail {

// Value of each hex digit; not_hex marks every other byte.
inline constexpr std::uint8_t not_hex = 0x10;
constexpr std::array<std::uint8_t, 256> hex_values(HexCase accept) {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t)
        v = not_hex;
    for (int c = '0'; c <= '9'; ++c)
        t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c)
        t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
    if (accept == HexCase::any)
        for (int c = 'A'; c <= 'F'; ++c)
            t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'A' + 10);
    return t;
}
inline constexpr auto lower_hex_values = hex_values(HexCase::lower);
inline constexpr auto any_hex_values = hex_values(HexCase::any);

constexpr const std::array<std::uint8_t, 256>& hex_table(HexCase accept) noexcept {
    return accept == HexCase::lower ? lower_hex_values : any_hex_values;
}

} // namespace detail

// The value (0-15) of the hex digit `c`, or -1 when it is not one.
constexpr int hex_digit_value(char c, HexCase accept) noexcept {
    auto v = detail::hex_table(accept)[static_cast<unsigned char>(c)];
    return v == detail::not_hex ? -1 : v;
}
constexpr bool is_hex_digit(char c, HexCase accept) noexcept {
    return hex_digit_value(c, accept) >= 0;
}

// Decodes `text` (an even number of hex digits) into out[0 .. text.size() / 2); false when
// `text` is anything else, out[] then holding no meaning. One table lookup per character and
// no branch on its value, so a digest parses at memory speed.
inline bool decode_hex_to(std::string_view text, std::uint8_t* out, HexCase accept) noexcept {
    if (text.size() % 2)
        return false;
    const auto& values = detail::hex_table(accept);
    unsigned bad = 0;
    for (std::size_t i = 0; i < text.size() / 2; ++i) {
        auto hi = values[static_cast<unsigned char>(text[2 * i])];
        auto lo = values[static_cast<unsigned char>(text[2 * i + 1])];
        bad |= (hi | lo) & detail::not_hex;
        out[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0xfu));
    }
    return !bad;
}

// The bytes an even number of hex digits spell; nullopt for any other text.
inline std::optional<std::vector<std::uint8_t>> decode_hex(std::string_view text, HexCase accept) {
    if (text.size() % 2)
        return std::nullopt;
    std::vector<std::uint8_t> out(text.size() / 2);
    if (!decode_hex_to(text, out.data(), accept))
        return std::nullopt;
    return out;
}

// `text` with each %XX escape (two hex digits, either case) replaced by the byte it spells, and
// '+' by a space when `plus_is_space` (as HTML forms and S3's encoding-type=url write it);
// nullopt when a '%' is not followed by two hex digits.
inline std::optional<std::string> decode_percent(std::string_view text,
                                                 bool plus_is_space = false) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (plus_is_space && text[i] == '+') {
            out += ' ';
            continue;
        }
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1], HexCase::any) : -1;
        int lo = i + 2 < text.size() ? hex_digit_value(text[i + 2], HexCase::any) : -1;
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
    }
    return out;
}

// Writes the 2 * n lowercase hex digits of in[0 .. n) to out (no terminator, no allocation).
inline void encode_hex_to(const std::uint8_t* in, std::size_t n, char* out) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = lower_hex_digits[in[i] >> 4];
        out[2 * i + 1] = lower_hex_digits[in[i] & 0xf];
    }
}
inline std::string encode_hex(const std::uint8_t* in, std::size_t n) {
    std::string out(2 * n, '\0');
    encode_hex_to(in, n, out.data());
    return out;
}

} // namespace musehub
