#pragma once
// The little XML S3 speaks, read and written. Internal: not API.
//
// S3's answers are flat and regular: elements without attributes (bar the root's xmlns), no
// CDATA, no comments. Reading them needs no general parser, only next() and first() below.
//
// A document that breaks those expectations (an unterminated tag or entity, an unclosed
// element, an unknown entity) is musehub::error errc::io "S3 sent malformed XML: …".

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/s3/detail/text.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace musehub::s3::detail::xml {

[[noreturn]] inline void malformed(std::string_view why, std::string_view near) {
    fail(errc::io, "S3 sent malformed XML: " + std::string(why) + " near '" +
                       printable(near.substr(0, 60)) + "'");
}

// Character data with its entities decoded: &amp; &lt; &gt; &quot; &apos; &#N; &#xH;.
inline std::string unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        auto end = text.find(';', i);
        if (end == std::string_view::npos || end - i > 12)
            malformed("an unterminated entity", text.substr(i));
        auto name = text.substr(i + 1, end - i - 1);
        if (name == "amp")
            out += '&';
        else if (name == "lt")
            out += '<';
        else if (name == "gt")
            out += '>';
        else if (name == "quot")
            out += '"';
        else if (name == "apos")
            out += '\'';
        else if (name.size() >= 2 && name[0] == '#') {
            bool hex = name[1] == 'x' || name[1] == 'X';
            auto digits = name.substr(hex ? 2 : 1);
            auto digit_value = [hex](char c) {
                return hex ? hex_digit_value(c, HexCase::any) : c >= '0' && c <= '9' ? c - '0' : -1;
            };
            if (digits.empty())
                malformed("an empty character reference", text.substr(i));
            std::uint32_t cp = 0;
            for (char c : digits) {
                int v = digit_value(c);
                if (v < 0)
                    malformed("a bad character reference", text.substr(i));
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
                if (cp > 0x10ffff)
                    malformed("a character reference past U+10FFFF", text.substr(i));
            }
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                malformed("a character reference to NUL or a surrogate", text.substr(i));
            append_utf8(out, cp);
        } else {
            malformed("an unknown entity", text.substr(i));
        }
        i = end;
    }
    return out;
}

// The raw content of the next <name>…</name> (or <name/>) at or after `from`, which moves past
// it; nullopt when there is none.
inline std::optional<std::string_view> next(std::string_view doc, std::string_view name,
                                            std::size_t& from) {
    std::string open = "<" + std::string(name);
    while (true) {
        auto at = doc.find(open, from);
        if (at == std::string_view::npos) {
            from = doc.size();
            return std::nullopt;
        }
        auto after = at + open.size();
        if (after >= doc.size())
            malformed("a document that ends inside a tag", doc.substr(at));
        char c = doc[after];
        if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            from = after; // a longer name: <KeyCount> is not <Key>
            continue;
        }
        auto gt = doc.find('>', after);
        if (gt == std::string_view::npos)
            malformed("an unterminated tag", doc.substr(at));
        if (doc[gt - 1] == '/') {
            from = gt + 1;
            return std::string_view{};
        }
        std::string close = "</" + std::string(name) + ">";
        auto end = doc.find(close, gt + 1);
        if (end == std::string_view::npos)
            malformed("an unclosed <" + std::string(name) + ">", doc.substr(at));
        from = end + close.size();
        return doc.substr(gt + 1, end - gt - 1);
    }
}

// The decoded text of the first <name> in `doc`, or nullopt.
inline std::optional<std::string> first(std::string_view doc, std::string_view name) {
    std::size_t from = 0;
    auto raw = next(doc, name, from);
    if (!raw)
        return std::nullopt;
    return unescape(*raw);
}

// `text` escaped for an XML element: & < > " ' and TAB, LF, CR (as character references, so no
// parser normalises them away). Other control characters cannot be written in XML 1.0 at all:
// nullopt.
inline std::optional<std::string> escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\t':
            out += "&#9;";
            break;
        case '\n':
            out += "&#10;";
            break;
        case '\r':
            out += "&#13;";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                return std::nullopt;
            out += c;
        }
    }
    return out;
}

} // namespace musehub::s3::detail::xml
