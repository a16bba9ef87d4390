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
#include <string>
#include <string_view>

namespace musehub {

struct Digest {
    std::array<std::uint8_t, 32> bytes{};

    friend constexpr auto operator<=>(const Digest&, const Digest&) = default;

    std::string hex() const {
        static constexpr char digits[] = "0123456789abcdef";
        std::string out(64, '\0');
        for (std::size_t i = 0; i < 32; ++i) {
            out[2 * i] = digits[bytes[i] >> 4];
            out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        return out;
    }

    // Strict: exactly 64 lowercase hex characters, as the Muse client itself requires.
    static bool is_hex(std::string_view text) noexcept {
        if (text.size() != 64)
            return false;
        for (char c : text)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return false;
        return true;
    }

    static Digest from_hex(std::string_view text, std::string_view what = "digest") {
        if (!is_hex(text))
            fail(errc::invalid_id, std::string(what) + " is not 64 lowercase hex characters: '" +
                                       std::string(text.substr(0, 80)) + "'");
        Digest d;
        auto nibble = [](char c) -> std::uint8_t {
            return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        };
        for (std::size_t i = 0; i < 32; ++i)
            d.bytes[i] =
                static_cast<std::uint8_t>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
        return d;
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
