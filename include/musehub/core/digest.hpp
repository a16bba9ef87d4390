#pragma once
// SHA-256 digests and the three typed ids built on them. An id is 32 raw bytes: cheap to copy,
// compare and hash. Text forms (bare hex for wire v1, `sha256:` + hex for v2) belong to the
// wire policy; this header only provides hex.

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"

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

    friend constexpr auto operator<=>(const Digest&, const Digest&) = default;

    // Writes the 64 lowercase hex characters to out[0..63] (no terminator, no allocation).
    void hex_to(char* out) const noexcept { encode_hex_to(bytes.data(), bytes.size(), out); }
    std::string hex() const {
        std::string out(64, '\0');
        hex_to(out.data());
        return out;
    }

    // Parses exactly 64 lowercase hex characters (the form the Muse client itself requires);
    // nullopt for anything else (core/hex.hpp: no branches on the characters' values).
    static std::optional<Digest> try_from_hex(std::string_view text) noexcept {
        Digest d;
        if (text.size() != 64 || !decode_hex_to(text, d.bytes.data(), HexCase::lower))
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
