#pragma once
// SHA-256 digests and the three typed ids built on them. An id is 32 raw bytes: cheap to copy,
// compare and hash. Text forms (bare hex for wire v1, `sha256:` + hex for v2) belong to the
// wire policy; this header only provides hex.

#include "musehub/core/error.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace musehub {

struct Digest {
    std::array<std::uint8_t, 32> bytes{};

    // Value of each lowercase hex digit; 0x10 marks every other byte.
    static constexpr std::array<std::uint8_t, 256> nibbles = [] {
        std::array<std::uint8_t, 256> t{};
        for (auto& v : t)
            v = 0x10;
        for (int c = '0'; c <= '9'; ++c)
            t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
        for (int c = 'a'; c <= 'f'; ++c)
            t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
        return t;
    }();

    friend constexpr auto operator<=>(const Digest&, const Digest&) = default;

    // Writes the 64 lowercase hex characters to out[0..63] (no terminator, no allocation).
    void hex_to(char* out) const noexcept {
        static constexpr char digits[] = "0123456789abcdef";
        for (std::size_t i = 0; i < 32; ++i) {
            out[2 * i] = digits[bytes[i] >> 4];
            out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
    }
    std::string hex() const {
        std::string out(64, '\0');
        hex_to(out.data());
        return out;
    }

    // Parses exactly 64 lowercase hex characters (the form the Muse client itself requires);
    // nullopt for anything else. One table lookup per character, no branches on its value.
    static std::optional<Digest> try_from_hex(std::string_view text) noexcept {
        if (text.size() != 64)
            return std::nullopt;
        Digest d;
        unsigned bad = 0;
        for (std::size_t i = 0; i < 32; ++i) {
            auto hi = nibbles[static_cast<unsigned char>(text[2 * i])];
            auto lo = nibbles[static_cast<unsigned char>(text[2 * i + 1])];
            bad |= (hi | lo) & 0x10u;
            d.bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0xfu));
        }
        if (bad)
            return std::nullopt;
        return d;
    }
    static bool is_hex(std::string_view text) noexcept { return try_from_hex(text).has_value(); }

    static Digest from_hex(std::string_view text, std::string_view what = "digest") {
        if (auto d = try_from_hex(text))
            return *d;
        fail(errc::invalid_id, std::string(what) + " is not 64 lowercase hex characters: '" +
                                   std::string(text.substr(0, 80)) + "'");
    }

    // The digest is already uniformly distributed: its first word is a perfect hash.
    std::size_t hash() const noexcept {
        std::size_t h;
        std::memcpy(&h, bytes.data(), sizeof h);
        return h;
    }
};

// A digest that knows what it names, so an ObjectId cannot be passed where a CommitId belongs.
template <class Tag>
struct Id {
    Digest digest;

    friend constexpr auto operator<=>(const Id&, const Id&) = default;

    std::string hex() const { return digest.hex(); }
    static Id from_hex(std::string_view text) { return Id{Digest::from_hex(text, Tag::name)}; }
};

struct ObjectTag {
    static constexpr const char* name = "object id";
};
struct SnapshotTag {
    static constexpr const char* name = "snapshot id";
};
struct CommitTag {
    static constexpr const char* name = "commit id";
};
struct PackTag {
    static constexpr const char* name = "pack key";
};

using ObjectId = Id<ObjectTag>;
using SnapshotId = Id<SnapshotTag>;
using CommitId = Id<CommitTag>;
using PackId = Id<PackTag>;

} // namespace musehub

template <>
struct std::hash<musehub::Digest> {
    std::size_t operator()(const musehub::Digest& d) const noexcept { return d.hash(); }
};
template <class Tag>
struct std::hash<musehub::Id<Tag>> {
    std::size_t operator()(const musehub::Id<Tag>& id) const noexcept { return id.digest.hash(); }
};
