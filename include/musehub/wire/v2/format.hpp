#pragma once
// The v2 pack container, the binary MPack (docs/protocol.md): its constants, the choices an
// encoder makes, how ids are spelled and where an object lies in an encoded pack. Users name
// these through wire::v2 (wire/v2.hpp). A pack is one file:
//
//   magic "MUSE" | version u8 = 1 | count u8 | count × {type u8, offset u64 LE, length u64 LE}
//   | sections | footer: SHA-256 of every preceding byte
//
// with the five sections OBJECTS (1), COMMITS (2), SNAPSHOTS (3), TAGS (4) and META (5), all
// of them always written, in type order, so the same Pack always encodes to the same bytes
// (and so to the same pack key: consolidation is idempotent).
//
//   OBJECTS    u64 count, then per object: id (71 ASCII bytes, "sha256:" + hex), encoding u8
//              (0 raw, 1 zstd, 2 delta), stored length u64, raw length u64, stored bytes.
//              A delta's stored bytes are its base's 32-byte SHA-256 digest, then one zstd
//              frame compressed with the base's raw bytes as prefix dictionary; the base is
//              another object of the pack, or (a thin pack) one the receiver already has.
//              Each object's bytes sit at a fixed place in the file: see `ObjectSpan`.
//   COMMITS,   u64 count, then per record: u64 length + one msgpack map (the v1 record
//   SNAPSHOTS, fields, ids spelled "sha256:" + hex). A snapshot may instead be a delta against
//   TAGS       a snapshot earlier in the same section: {snapshot_id, parent_snapshot_id,
//              delta_upsert {path: id}, delta_remove [path], created_at, extensions…}.
//   META       one msgpack map {counts {objects, commits, snapshots, tags}, branch_heads
//              {name: id}, format "musehub-mpack"}; no timestamps.
//
// musehub::detail::mpack holds what the encoder and the decoder share besides: little-endian
// integers, section indices and what META counts.

#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace musehub::wire::mpack {

// What the encoder chooses; the decoder reads every choice without being told.
struct Options {
    int zstd_level = 3;                  // for objects the encoder compresses
    std::size_t min_compress_bytes = 64; // raw objects smaller than this stay raw
    bool delta_snapshots = true;         // encode a snapshot against the one before it
    bool delta_objects = true;           // encode an object against its previous version
    std::uint32_t max_delta_depth = 50;  // links from a delta down to a whole object
};

// Where one object's stored bytes sit inside an encoded pack: a hub records (offset,
// length) next to the pack key and later serves the object with one ranged read.
struct ObjectSpan {
    ObjectId id;
    Encoding encoding = Encoding::raw;
    std::uint64_t offset = 0; // from the first byte of the file
    std::uint64_t length = 0; // stored bytes (a zstd frame when encoding is zstd)
    std::uint64_t raw_size = 0;
    friend bool operator==(const ObjectSpan&, const ObjectSpan&) = default;
};

enum class Section : std::uint8_t { objects = 1, commits = 2, snapshots = 3, tags = 4, meta = 5 };

inline constexpr std::array<char, 4> magic{'M', 'U', 'S', 'E'};
inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t header_bytes = 6;       // magic, version, count
inline constexpr std::size_t table_entry_bytes = 17; // type, offset, length
inline constexpr std::size_t footer_bytes = 32;      // SHA-256
inline constexpr std::size_t id_text_bytes = 71;     // "sha256:" + 64 hex
inline constexpr std::size_t object_header_bytes = id_text_bytes + 1 + 8 + 8;
inline constexpr std::string_view format_name = "musehub-mpack";

struct IdText {
    static constexpr std::string_view prefix = "sha256:";
    static std::string format(const Digest& d) {
        std::string s(id_text_bytes, '\0');
        std::copy(prefix.begin(), prefix.end(), s.begin());
        d.hex_to(s.data() + prefix.size());
        return s;
    }
    static std::size_t format_to(const Digest& d, char* out) noexcept {
        std::copy(prefix.begin(), prefix.end(), out);
        d.hex_to(out + prefix.size());
        return id_text_bytes;
    }
    static std::optional<Digest> try_parse(std::string_view text) noexcept {
        if (text.size() != id_text_bytes || text.substr(0, prefix.size()) != prefix)
            return std::nullopt;
        return Digest::try_from_hex(text.substr(prefix.size()));
    }
    static Digest parse(std::string_view text, std::string_view what) {
        if (auto d = try_parse(text))
            return *d;
        fail(errc::invalid_id, std::string(what) +
                                   " is not 'sha256:' + 64 lowercase hex characters: '" +
                                   std::string(text.substr(0, 80)) + "'");
    }
};

} // namespace musehub::wire::mpack

namespace musehub::detail::mpack {

// The format's vocabulary, as the encoder and decoder name it.
using wire::mpack::footer_bytes;
using wire::mpack::format_name;
using wire::mpack::header_bytes;
using wire::mpack::id_text_bytes;
using wire::mpack::IdText;
using wire::mpack::magic;
using wire::mpack::object_header_bytes;
using wire::mpack::ObjectSpan;
using wire::mpack::Options;
using wire::mpack::Section;
using wire::mpack::table_entry_bytes;
using wire::mpack::version;

// ---- little-endian integers, written once ------------------------------------------------

inline void store_u64(std::byte* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}
inline void put_u64(Bytes& out, std::uint64_t v) {
    out.resize(out.size() + 8);
    store_u64(out.data() + out.size() - 8, v);
}
inline std::uint64_t get_u64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

constexpr std::size_t index(Section s) noexcept {
    return static_cast<std::size_t>(s) - 1;
}
constexpr const char* section_name(std::size_t i) noexcept {
    constexpr const char* names[] = {"OBJECTS", "COMMITS", "SNAPSHOTS", "TAGS", "META"};
    return names[i];
}

// What META declares.
struct Counts {
    std::uint64_t objects = 0, commits = 0, snapshots = 0, tags = 0;
    std::map<std::string, CommitId> branch_heads;
};

} // namespace musehub::detail::mpack
