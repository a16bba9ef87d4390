#pragma once
// Wire v2: the binary MPack (docs/protocol.md). A pack is one file:
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
// Decoding checks structure, not truth (see wire/concept.hpp): object hashes and snapshot and
// commit ids are verified when a pack enters the hub, not here. A delta snapshot is rebuilt
// here, so a decoded Pack only ever holds full manifests; its id is checked with the others.
//
// Object bytes are never copied on decode: PackObject::stored views the input buffer.

#include "musehub/core/manifest.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/detail/parallel.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/delta_planner.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace musehub::wire {

class v2 {
public:
    static constexpr std::string_view name = "v2";
    static constexpr bool carries_deltas = true;

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

    enum class Section : std::uint8_t {
        objects = 1,
        commits = 2,
        snapshots = 3,
        tags = 4,
        meta = 5
    };

    static constexpr std::array<char, 4> magic{'M', 'U', 'S', 'E'};
    static constexpr std::uint8_t version = 1;
    static constexpr std::size_t header_bytes = 6;       // magic, version, count
    static constexpr std::size_t table_entry_bytes = 17; // type, offset, length
    static constexpr std::size_t footer_bytes = 32;      // SHA-256
    static constexpr std::size_t id_text_bytes = 71;     // "sha256:" + 64 hex
    static constexpr std::size_t object_header_bytes = id_text_bytes + 1 + 8 + 8;
    static constexpr std::string_view format_name = "musehub-mpack";

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

    v2() = default;
    explicit v2(const Options& options) : options_(options) {}
    const Options& options() const noexcept { return options_; }

    std::string format_id(const Digest& d) const { return IdText::format(d); }
    Digest parse_id(std::string_view text) const { return IdText::parse(text, "id"); }

    // The key a pack is stored under: SHA-256 of the whole file, footer included.
    static PackId pack_key(BytesView encoded) { return PackId{sha256(encoded)}; }

    // ---- packs ------------------------------------------------------------------------------

    class PackWriter;
    PackWriter pack_writer(std::function<void(BytesView)> sink = {}) const;

    Bytes encode_pack(const Pack& pack) const;

    // The returned pack's object bytes view `bytes`: keep it alive, or hand it to Pack::hold.
    Pack decode_pack(BytesView bytes, const Limits& limits) const {
        auto sections = read_layout(bytes, limits);
        Counts declared = read_meta(sections[index(Section::meta)], limits);
        Pack pack;
        pack.branch_heads = std::move(declared.branch_heads);
        read_objects(sections[index(Section::objects)], declared.objects, limits, pack.objects);
        read_commits(sections[index(Section::commits)], declared.commits, limits, pack.commits);
        read_snapshots(sections[index(Section::snapshots)], declared.snapshots, limits,
                       pack.snapshots);
        read_tags(sections[index(Section::tags)], declared.tags, limits, pack.tags);
        return pack;
    }

    // What a pack says without its objects and snapshots: the ids of its commits and the heads
    // META names. The container is checked as decode_pack checks it (footer included), the
    // COMMITS and META sections are decoded; nothing else is read.
    struct PackHead {
        std::vector<CommitId> commits;
        std::map<std::string, CommitId> branch_heads;
    };
    PackHead read_head(BytesView bytes, const Limits& limits) const {
        auto sections = read_layout(bytes, limits);
        Counts declared = read_meta(sections[index(Section::meta)], limits);
        std::vector<Commit> commits;
        read_commits(sections[index(Section::commits)], declared.commits, limits, commits);
        PackHead head{{}, std::move(declared.branch_heads)};
        head.commits.reserve(commits.size());
        for (const auto& c : commits)
            head.commits.push_back(c.commit_id);
        return head;
    }

    // The pack `encoded` with META naming `heads` instead of what it named: every other
    // section is copied as it is (objects are neither decoded nor compressed again), so a
    // stored pack can answer for, or be pushed to, a branch other than the one it came with.
    Bytes with_branch_heads(BytesView encoded, std::map<std::string, CommitId> heads,
                            const Limits& limits) const {
        auto sections = read_layout(encoded, limits);
        Counts counts = read_meta(sections[index(Section::meta)], limits);
        counts.branch_heads = std::move(heads);
        Bytes meta;
        write_meta(meta, counts);
        sections[index(Section::meta)] = BytesView(meta);
        std::array<std::uint64_t, 5> lengths{};
        std::uint64_t total = header_bytes + 5 * table_entry_bytes + footer_bytes;
        for (std::size_t k = 0; k < 5; ++k)
            total += lengths[k] = sections[k].size();
        Bytes out;
        out.reserve(total);
        write_header(out, lengths);
        for (const auto& section : sections)
            out.insert(out.end(), section.begin(), section.end());
        auto footer = sha256(BytesView(out));
        auto* f = reinterpret_cast<const std::byte*>(footer.bytes.data());
        out.insert(out.end(), f, f + footer.bytes.size());
        return out;
    }

    // Every object's place in `encoded`, in pack order. The whole pack is validated exactly as
    // decode_pack does; a caller that already decoded the pack uses the overload below.
    std::vector<ObjectSpan> object_spans(BytesView encoded, const Limits& limits) const {
        return object_spans(decode_pack(encoded, limits), encoded);
    }

    // The places of a pack's objects inside `encoded`, the buffer it was decoded from.
    static std::vector<ObjectSpan> object_spans(const Pack& decoded, BytesView encoded) {
        std::vector<ObjectSpan> spans;
        spans.reserve(decoded.objects.size());
        const auto base = reinterpret_cast<std::uintptr_t>(encoded.data());
        for (const auto& o : decoded.objects) {
            const auto at = reinterpret_cast<std::uintptr_t>(o.stored.data());
            if (at < base || at - base > encoded.size() ||
                o.stored.size() > encoded.size() - (at - base))
                fail(errc::invalid_argument,
                     "object " + o.id.hex() +
                         " does not view the buffer its pack was decoded from");
            spans.push_back(ObjectSpan{o.id, o.encoding, at - base, o.stored.size(), o.raw_size});
        }
        return spans;
    }

    // The object as a delta against `base` (both raw) when that is smaller than the object
    // compressed alone, else compressed() (`hold` keeps the bytes made).
    PackObject delta_or_compressed(const PackObject& o, const PackObject& base, Bytes& hold) const {
        if (o.encoding != Encoding::raw || base.encoding != Encoding::raw ||
            o.stored.size() < options_.min_compress_bytes)
            return compressed(o, hold);
        hold = zstd_delta_compress(o.stored, base.id, base.stored, options_.zstd_level);
        if (hold.size() >= o.stored.size() / 2) { // not much of a delta: whole may do better
            Bytes whole = zstd_compress(o.stored, options_.zstd_level);
            if (whole.size() <= hold.size()) {
                hold = std::move(whole);
                return PackObject{o.id, Encoding::zstd, BytesView(hold), o.raw_size};
            }
        }
        return PackObject{o.id, Encoding::zstd_delta, BytesView(hold), o.raw_size};
    }

    // The object as the encoder sends it: raw bytes of `min_compress_bytes` or more compressed
    // when that makes them smaller (`hold` keeps the compressed copy), anything else as given.
    PackObject compressed(const PackObject& o, Bytes& hold) const {
        if (o.encoding != Encoding::raw || o.stored.size() < options_.min_compress_bytes)
            return o;
        hold = zstd_compress(o.stored, options_.zstd_level);
        if (hold.size() >= o.stored.size())
            return o;
        return PackObject{o.id, Encoding::zstd, BytesView(hold), o.raw_size};
    }

    // ---- messages ---------------------------------------------------------------------------

    Bytes encode_push(const PushRequest& push) const {
        return encode_push(push.branch, push.force, encode_pack(push.pack));
    }

    // The push message around a pack already encoded (a hub's own fetch, a pack on disk):
    // wrapped as it is, never decoded or encoded again.
    Bytes encode_push(std::string_view branch, bool force, BytesView encoded_pack) const {
        if (encoded_pack.size() > std::numeric_limits<std::uint32_t>::max())
            fail(errc::oversized, "v2 push: a pack of " + std::to_string(encoded_pack.size()) +
                                      " bytes does not fit a msgpack bin; use the stream push");
        Bytes out;
        out.reserve(encoded_pack.size() + branch.size() + 32);
        detail::ByteSink sink{out};
        detail::Packer p(sink);
        p.pack_map(3);
        detail::pack_str(p, "branch");
        detail::pack_str(p, branch);
        detail::pack_str(p, "force");
        force ? p.pack_true() : p.pack_false();
        detail::pack_str(p, "pack");
        detail::pack_bin(p, encoded_pack);
        return out;
    }

    // The pack is decoded in place: its object bytes view `bytes`.
    PushRequest decode_push(BytesView bytes, const Limits& limits) const {
        auto handle = detail::unpack_bounded(bytes, limits, "v2 push");
        const auto& m = detail::as_map(handle.get(), "v2 push");
        PushRequest push;
        push.branch =
            detail::as_str(detail::require_key(m, "branch", "v2 push"), "v2 push 'branch'");
        if (auto* f = detail::find_key(m, "force"); f && !f->is_nil())
            push.force = detail::as_bool(*f, "v2 push 'force'");
        push.encoded_pack =
            detail::as_bin(detail::require_key(m, "pack", "v2 push"), "v2 push 'pack'");
        push.pack = decode_pack(push.encoded_pack, limits);
        return push;
    }

    Bytes encode_fetch(const FetchRequest& fetch) const {
        return detail::encode_fetch_message<IdText>(fetch.want, fetch.have);
    }

    FetchRequest decode_fetch(BytesView bytes, const Limits& limits) const {
        auto [want, have] = detail::decode_fetch_message<IdText>(bytes, limits, "v2 fetch");
        return FetchRequest{std::move(want), std::move(have)};
    }

private:
    using Writer = detail::RecordWriter<IdText>;
    using Reader = detail::RecordReader<IdText>;

    Options options_;

    // ---- little-endian integers, written once --------------------------------------------

    static void store_u64(std::byte* p, std::uint64_t v) noexcept {
        for (int i = 0; i < 8; ++i)
            p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
    }
    static void put_u64(Bytes& out, std::uint64_t v) {
        out.resize(out.size() + 8);
        store_u64(out.data() + out.size() - 8, v);
    }
    static std::uint64_t get_u64(const std::byte* p) noexcept {
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i)
            v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
        return v;
    }

    static constexpr std::size_t index(Section s) noexcept {
        return static_cast<std::size_t>(s) - 1;
    }
    static constexpr const char* section_name(std::size_t i) noexcept {
        constexpr const char* names[] = {"OBJECTS", "COMMITS", "SNAPSHOTS", "TAGS", "META"};
        return names[i];
    }

    // Reads a section front to back; every read is checked against the bytes left.
    struct Cursor {
        BytesView data;
        std::string what; // "v2 pack COMMITS section"
        std::size_t pos = 0;

        std::size_t left() const noexcept { return data.size() - pos; }
        BytesView take(std::uint64_t n, std::string_view item) {
            if (n > left())
                fail(errc::truncated, what + ": " + std::string(item) + " needs " +
                                          std::to_string(n) + " bytes, only " +
                                          std::to_string(left()) + " remain");
            auto v = data.subspan(pos, static_cast<std::size_t>(n));
            pos += static_cast<std::size_t>(n);
            return v;
        }
        std::uint64_t u64(std::string_view item) { return get_u64(take(8, item).data()); }

        // A section's leading count: it must fit the section's bytes at `min_record` bytes per
        // record (truncated), then the limit (oversized), then what META declared (corrupt) —
        // all before the caller reserves anything for it.
        std::size_t count(std::size_t min_record, std::uint64_t limit, std::string_view limit_name,
                          std::uint64_t declared) {
            const std::uint64_t n = u64("the record count");
            if (n > left() / min_record)
                fail(errc::truncated, what + " declares " + std::to_string(n) +
                                          " records of at least " + std::to_string(min_record) +
                                          " bytes in " + std::to_string(left()) + " bytes");
            if (n > limit)
                fail(errc::oversized, what + " declares " + std::to_string(n) + " records, over " +
                                          std::string(limit_name) + " = " + std::to_string(limit));
            if (n != declared)
                fail(errc::corrupt, what + " holds " + std::to_string(n) +
                                        " records but META counts " + std::to_string(declared));
            return static_cast<std::size_t>(n);
        }
        void finish() const {
            if (pos != data.size())
                fail(errc::corrupt, what + " has " + std::to_string(left()) + " trailing bytes");
        }
    };

    // ---- encode ---------------------------------------------------------------------------

    // One object, exactly as stored.
    static void write_object(Bytes& out, const PackObject& o) {
        if (o.encoding != Encoding::raw && o.encoding != Encoding::zstd &&
            o.encoding != Encoding::zstd_delta)
            fail(errc::invalid_argument, "object " + o.id.hex() + " has unknown encoding " +
                                             std::to_string(static_cast<int>(o.encoding)));
        if (o.encoding == Encoding::raw && o.stored.size() != o.raw_size)
            fail(errc::invalid_argument, "object " + o.id.hex() + " declares " +
                                             std::to_string(o.raw_size) + " bytes but stores " +
                                             std::to_string(o.stored.size()));
        auto id = IdText::format(o.id.digest);
        auto text = as_bytes(id);
        out.insert(out.end(), text.begin(), text.end());
        out.push_back(std::byte{static_cast<std::uint8_t>(o.encoding)});
        put_u64(out, o.stored.size());
        put_u64(out, o.raw_size);
        out.insert(out.end(), o.stored.begin(), o.stored.end());
    }

    // Appends `u64 length` + whatever `write` packs, then patches the length.
    template <class F>
    static void framed(Bytes& out, F&& write) {
        const std::size_t at = out.size();
        put_u64(out, 0);
        write();
        store_u64(out.data() + at, out.size() - at - 8);
    }

    static constexpr std::array<std::string_view, 6> snapshot_keys{
        "snapshot_id",        "manifest",     "created_at",
        "parent_snapshot_id", "delta_upsert", "delta_remove"};

    // A delta is only worth writing when it is smaller than the manifest, and only possible
    // when no extension key would shadow a delta key. It rebuilds to exactly this manifest
    // whether or not the manifest hashes to the declared id (the decoder applies it to the
    // record before it, and ids are proven where a pack enters a hub), so encoding does not
    // hash every manifest again.
    bool try_delta(const Snapshot& prev, const Snapshot& s, ManifestDelta& delta) const {
        if (!options_.delta_snapshots)
            return false;
        for (const auto& [key, value] : s.extensions)
            for (auto k : snapshot_keys)
                if (key == k)
                    return false;
        delta = diff(prev.manifest, s.manifest);
        return delta.upsert.size() + delta.remove.size() < s.manifest.size();
    }

    // One SNAPSHOTS record: a delta against `prev` (the record before it) when that is
    // possible and smaller, else the full snapshot.
    void write_snapshot(Bytes& out, const Snapshot* prev, const Snapshot& s) const {
        ManifestDelta delta;
        if (!prev || !try_delta(*prev, s, delta)) {
            framed(out, [&] { detail::write_record<IdText>(out, s); });
            return;
        }
        framed(out, [&] {
            detail::ByteSink sink{out};
            detail::Packer p(sink);
            Writer w{p, sink};
            p.pack_map(static_cast<std::uint32_t>(5 + s.extensions.size()));
            detail::pack_str(p, "snapshot_id");
            w.put(s.snapshot_id);
            detail::pack_str(p, "parent_snapshot_id");
            w.put(prev->snapshot_id);
            detail::pack_str(p, "delta_upsert");
            p.pack_map(static_cast<std::uint32_t>(delta.upsert.size()));
            for (const auto& e : delta.upsert)
                detail::pack_str(p, e.path), w.put(e.object);
            detail::pack_str(p, "delta_remove");
            w.put(delta.remove);
            detail::pack_str(p, "created_at");
            w.put(s.created_at);
            for (const auto& [k, v] : s.extensions)
                detail::pack_str(p, k), w.put(v);
        });
    }

    // What META declares.
    struct Counts {
        std::uint64_t objects = 0, commits = 0, snapshots = 0, tags = 0;
        std::map<std::string, CommitId> branch_heads;
    };

    // The magic, the version and the section table of a pack whose five sections follow in
    // type order with these lengths (indexed by type - 1).
    static void write_header(Bytes& out, const std::array<std::uint64_t, 5>& lengths) {
        out.insert(out.end(), reinterpret_cast<const std::byte*>(magic.data()),
                   reinterpret_cast<const std::byte*>(magic.data()) + magic.size());
        out.push_back(std::byte{version});
        out.push_back(std::byte{5});
        const std::size_t table = out.size();
        out.resize(table + 5 * table_entry_bytes);
        std::uint64_t at = header_bytes + 5 * table_entry_bytes;
        for (std::size_t k = 0; k < 5; ++k) {
            auto* entry = out.data() + table + k * table_entry_bytes;
            entry[0] = std::byte{static_cast<std::uint8_t>(k + 1)};
            store_u64(entry + 1, at);
            store_u64(entry + 9, lengths[k]);
            at += lengths[k];
        }
    }

    static void write_meta(Bytes& out, const Counts& counts) {
        detail::ByteSink sink{out};
        detail::Packer p(sink);
        p.pack_map(3);
        detail::pack_str(p, "counts");
        p.pack_map(4);
        detail::pack_str(p, "objects");
        p.pack_uint64(counts.objects);
        detail::pack_str(p, "commits");
        p.pack_uint64(counts.commits);
        detail::pack_str(p, "snapshots");
        p.pack_uint64(counts.snapshots);
        detail::pack_str(p, "tags");
        p.pack_uint64(counts.tags);
        detail::pack_str(p, "branch_heads");
        p.pack_map(static_cast<std::uint32_t>(counts.branch_heads.size()));
        for (const auto& [branch, head] : counts.branch_heads)
            detail::pack_str(p, branch), detail::pack_str(p, IdText::format(head.digest));
        detail::pack_str(p, "format");
        detail::pack_str(p, format_name);
    }

    // ---- decode ---------------------------------------------------------------------------

    // Checks the container (size, magic, version, table, footer) and returns each section's
    // bytes, indexed by type - 1.
    static std::array<BytesView, 5> read_layout(BytesView bytes, const Limits& limits) {
        if (bytes.size() > limits.max_pack_bytes)
            fail(errc::oversized,
                 "v2 pack is " + std::to_string(bytes.size()) +
                     " bytes, over max_pack_bytes = " + std::to_string(limits.max_pack_bytes));
        if (bytes.size() < header_bytes)
            fail(errc::truncated, "v2 pack is " + std::to_string(bytes.size()) +
                                      " bytes, shorter than its " + std::to_string(header_bytes) +
                                      "-byte header");
        if (!equal_bytes(bytes.first(magic.size()),
                         BytesView{reinterpret_cast<const std::byte*>(magic.data()), magic.size()}))
            fail(errc::corrupt, "v2 pack does not start with the magic 'MUSE'");
        if (auto v = std::to_integer<unsigned>(bytes[4]); v != version)
            fail(errc::unsupported, "v2 pack has format version " + std::to_string(v) +
                                        "; this build reads version " + std::to_string(version));
        const std::size_t count = std::to_integer<std::size_t>(bytes[5]);
        const std::size_t table_end = header_bytes + count * table_entry_bytes;
        if (bytes.size() < table_end + footer_bytes)
            fail(errc::truncated, "v2 pack is " + std::to_string(bytes.size()) +
                                      " bytes, shorter than its " + std::to_string(count) +
                                      "-entry section table and footer (" +
                                      std::to_string(table_end + footer_bytes) + " bytes)");
        const std::size_t footer_at = bytes.size() - footer_bytes;
        const Digest sum = sha256(bytes.first(footer_at));
        if (!equal_bytes(
                BytesView{reinterpret_cast<const std::byte*>(sum.bytes.data()), sum.bytes.size()},
                bytes.subspan(footer_at)))
            fail(errc::corrupt,
                 "v2 pack checksum mismatch: the footer is not the SHA-256 of the pack");

        std::array<BytesView, 5> sections{};
        std::array<bool, 5> seen{};
        std::array<std::pair<std::uint64_t, std::uint64_t>, 5> ranges{}; // (offset, length)
        for (std::size_t i = 0; i < count; ++i) {
            const std::byte* entry = bytes.data() + header_bytes + i * table_entry_bytes;
            const auto type = std::to_integer<unsigned>(entry[0]);
            const std::uint64_t offset = get_u64(entry + 1);
            const std::uint64_t length = get_u64(entry + 9);
            if (type < 1 || type > 5)
                fail(errc::corrupt, "v2 pack section table entry " + std::to_string(i) +
                                        " has unknown section type " + std::to_string(type));
            const std::size_t k = type - 1;
            if (seen[k])
                fail(errc::corrupt,
                     std::string("v2 pack has two ") + section_name(k) + " sections");
            if (offset < table_end || offset > footer_at || length > footer_at - offset)
                fail(errc::corrupt, std::string("v2 pack ") + section_name(k) +
                                        " section (offset " + std::to_string(offset) + ", length " +
                                        std::to_string(length) + ") lies outside the data area [" +
                                        std::to_string(table_end) + ", " +
                                        std::to_string(footer_at) + ")");
            seen[k] = true;
            ranges[k] = {offset, length};
            sections[k] =
                bytes.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
        }
        for (std::size_t k = 0; k < 5; ++k)
            if (!seen[k])
                fail(errc::corrupt,
                     std::string("v2 pack lacks its ") + section_name(k) + " section");
        // Sections never share bytes: a byte range names one object in one section.
        std::array<std::size_t, 5> order{0, 1, 2, 3, 4};
        std::sort(order.begin(), order.end(),
                  [&](auto a, auto b) { return ranges[a] < ranges[b]; });
        for (std::size_t j = 1; j < 5; ++j) {
            const auto& [prev_off, prev_len] = ranges[order[j - 1]];
            if (prev_off + prev_len > ranges[order[j]].first)
                fail(errc::corrupt, std::string("v2 pack ") + section_name(order[j - 1]) + " and " +
                                        section_name(order[j]) + " sections overlap");
        }
        return sections;
    }

    static Counts read_meta(BytesView section, const Limits& limits) {
        constexpr std::string_view what = "v2 pack META";
        auto handle = detail::unpack_bounded(section, limits, what);
        const auto& m = detail::as_map(handle.get(), what);
        auto format =
            detail::as_str(detail::require_key(m, "format", what), "v2 pack META 'format'");
        if (format != format_name)
            fail(errc::corrupt, "v2 pack META 'format' is '" + std::string(format.substr(0, 80)) +
                                    "', not '" + std::string(format_name) + "'");
        const auto& counts =
            detail::as_map(detail::require_key(m, "counts", what), "v2 pack META 'counts'");
        auto count = [&](std::string_view key) {
            return detail::as_uint(detail::require_key(counts, key, "v2 pack META 'counts'"),
                                   "v2 pack META 'counts' '" + std::string(key) + "'");
        };
        Counts c;
        c.objects = count("objects");
        c.commits = count("commits");
        c.snapshots = count("snapshots");
        c.tags = count("tags");
        if (auto* heads = detail::find_key(m, "branch_heads"); heads && !heads->is_nil()) {
            const auto& hm = detail::as_map(*heads, "v2 pack META 'branch_heads'");
            for (std::uint32_t i = 0; i < hm.size; ++i) {
                std::string branch(detail::as_str(hm.ptr[i].key, "v2 pack META branch name"));
                auto label = "v2 pack META head of branch '" + branch.substr(0, 200) + "'";
                c.branch_heads.insert_or_assign(
                    std::move(branch),
                    CommitId{IdText::parse(detail::as_str(hm.ptr[i].val, label), label)});
            }
        }
        return c;
    }

    static void read_objects(BytesView section, std::uint64_t declared, const Limits& limits,
                             std::vector<PackObject>& objects) {
        Cursor in{section, "v2 pack OBJECTS section"};
        const std::size_t n =
            in.count(object_header_bytes, limits.max_objects, "max_objects", declared);
        objects.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto what = "object " + std::to_string(i) + " of the v2 pack";
            const auto header = in.take(object_header_bytes, what + " header");
            const ObjectId id{IdText::parse(as_chars(header.first(id_text_bytes)), what + " id")};
            const auto enc = std::to_integer<std::uint8_t>(header[id_text_bytes]);
            if (enc > static_cast<std::uint8_t>(Encoding::zstd_delta))
                fail(errc::unsupported,
                     what + " (" + id.hex() + ") has unknown encoding " + std::to_string(enc));
            const std::uint64_t stored_size = get_u64(header.data() + id_text_bytes + 1);
            const std::uint64_t raw_size = get_u64(header.data() + id_text_bytes + 9);
            const auto stored = in.take(stored_size, what + " (" + id.hex() + ") bytes");
            if (raw_size > limits.max_object_bytes)
                fail(errc::oversized, what + " (" + id.hex() + ") is " + std::to_string(raw_size) +
                                          " bytes, over max_object_bytes = " +
                                          std::to_string(limits.max_object_bytes));
            const auto encoding = static_cast<Encoding>(enc);
            if (encoding == Encoding::raw && stored_size != raw_size)
                fail(errc::corrupt, what + " (" + id.hex() + ") is raw but stores " +
                                        std::to_string(stored_size) + " bytes for " +
                                        std::to_string(raw_size));
            if (encoding == Encoding::zstd_delta && stored_size <= delta_base_bytes)
                fail(errc::truncated, what + " (" + id.hex() + ") is a delta of " +
                                          std::to_string(stored_size) +
                                          " bytes, too short for its base id and a frame");
            objects.push_back(PackObject{id, encoding, stored, raw_size});
        }
        in.finish();
    }

    // Walks a record section, handing each record's decoded msgpack map to `each`.
    template <class F>
    static void read_framed(Cursor& in, std::size_t n, std::string_view record,
                            const Limits& limits, F&& each) {
        for (std::size_t i = 0; i < n; ++i) {
            const auto what = std::string(record) + " " + std::to_string(i) + " of the v2 pack";
            const std::uint64_t len = in.u64(what + " length");
            const auto bytes = in.take(len, what);
            if (len > limits.max_record_bytes)
                fail(errc::oversized, what + " is " + std::to_string(len) +
                                          " bytes, over max_record_bytes = " +
                                          std::to_string(limits.max_record_bytes));
            auto handle = detail::unpack_bounded(bytes, limits, what);
            each(handle.get(), what);
        }
        in.finish();
    }

    template <class Record>
    static void read_records(BytesView bytes, std::uint64_t declared, std::size_t limit,
                             std::string_view limit_name, std::string_view section,
                             std::string_view record, const Limits& limits,
                             std::vector<Record>& out) {
        Cursor in{bytes, "v2 pack " + std::string(section) + " section"};
        const std::size_t n = in.count(9, limit, limit_name, declared);
        out.reserve(n);
        read_framed(in, n, record, limits, [&](const msgpack::object& o, const std::string& what) {
            out.push_back(Reader{limits, what}.template record<Record>(o));
        });
    }
    static void read_commits(BytesView section, std::uint64_t declared, const Limits& limits,
                             std::vector<Commit>& out) {
        read_records(section, declared, limits.max_commits, "max_commits", "COMMITS", "commit",
                     limits, out);
    }
    static void read_tags(BytesView section, std::uint64_t declared, const Limits& limits,
                          std::vector<Tag>& out) {
        read_records(section, declared, limits.max_tags, "max_tags", "TAGS", "tag", limits, out);
    }

    static void read_snapshots(BytesView section, std::uint64_t declared, const Limits& limits,
                               std::vector<Snapshot>& out) {
        Cursor in{section, "v2 pack SNAPSHOTS section"};
        const std::size_t n = in.count(9, limits.max_snapshots, "max_snapshots", declared);
        out.reserve(n);
        std::unordered_map<SnapshotId, std::size_t> earlier; // id → latest index so far
        read_framed(
            in, n, "snapshot", limits, [&](const msgpack::object& o, const std::string& what) {
                const auto& m = detail::as_map(o, what);
                if (!detail::find_key(m, "manifest") && detail::find_key(m, "parent_snapshot_id"))
                    out.push_back(read_delta(m, what, limits, out, earlier));
                else
                    out.push_back(Reader{limits, what}.template record<Snapshot>(o));
                earlier.insert_or_assign(out.back().snapshot_id, out.size() - 1);
            });
    }

    static Snapshot read_delta(const msgpack::object_map& m, const std::string& what,
                               const Limits& limits, const std::vector<Snapshot>& earlier_snapshots,
                               const std::unordered_map<SnapshotId, std::size_t>& earlier) {
        Reader r{limits, what};
        Snapshot s{};
        SnapshotId parent;
        ManifestDelta delta;
        bool has_id = false;
        for (std::uint32_t i = 0; i < m.size; ++i) {
            const auto key = detail::as_str(m.ptr[i].key, what + " key");
            const auto& v = m.ptr[i].val;
            if (key == "snapshot_id") {
                r.get(v, s.snapshot_id, key);
                has_id = true;
            } else if (key == "parent_snapshot_id") {
                r.get(v, parent, key);
            } else if (key == "delta_upsert") {
                // apply() validates, sorts and rejects duplicates.
                delta.upsert = r.manifest_entries(detail::as_map(v, r.field(key)), r.field(key));
            } else if (key == "delta_remove") {
                const auto& a = detail::as_array(v, r.field(key));
                if (a.size > limits.max_manifest_entries)
                    fail(errc::oversized, r.field(key) + " removes " + std::to_string(a.size) +
                                              " paths, over max_manifest_entries = " +
                                              std::to_string(limits.max_manifest_entries));
                r.get(v, delta.remove, key);
            } else if (key == "created_at") {
                r.get(v, s.created_at, key);
            } else {
                s.extensions.emplace_back(std::string(key), detail::raw_of(v));
            }
        }
        if (!has_id)
            fail(errc::corrupt, what + " lacks 'snapshot_id'");
        auto base = earlier.find(parent);
        if (base == earlier.end())
            fail(errc::corrupt, what + ": snapshot " + s.snapshot_id.hex() +
                                    " is a delta against snapshot " + parent.hex() +
                                    ", which does not appear earlier in the pack");
        // Rebuilt, not yet proven: the id is checked once, where the pack enters the hub
        // (algo/verify.hpp), like every other snapshot's.
        s.manifest = apply(earlier_snapshots[base->second].manifest, delta, limits.max_path_bytes);
        if (s.manifest.size() > limits.max_manifest_entries)
            fail(errc::oversized, what + " (" + s.snapshot_id.hex() + ") rebuilds to " +
                                      std::to_string(s.manifest.size()) +
                                      " entries, over max_manifest_entries = " +
                                      std::to_string(limits.max_manifest_entries));
        return s;
    }
};

// Encodes a pack piece by piece, for callers that never hold a whole Pack: fetch streams a
// clone through one, holding the chain of snapshots being written and one batch of sources,
// never its history or its whole output.
//
//   PackWriter w(wire, sink);                 // or without a sink: finish() returns the bytes
//   w.add(commit); w.add(snapshot); w.add(tag); w.set_branch_heads(heads);   // records first
//   w.objects(count, stored_bytes);           // then the objects to come, declared
//   w.add(object); ...                        // written as stored, in pieces to the sink
//   std::move(w).finish();                    // the records, META and the footer
//
// Records are gathered aside (small beside the objects); declaring the objects fixes every
// section's place, so from there on the pack goes out front to back, to the sink in pieces of
// about `piece_bytes` (the footer's hash computed as they go). Records keep the order they
// came in, and the same pieces give the bytes encode_pack gives for a Pack holding them (whose
// objects it compresses first). Out of order use (a record after the objects were declared,
// more or fewer objects or bytes than declared) is errc::invalid_argument.
class v2::PackWriter {
public:
    using Sink = std::function<void(BytesView)>;
    static constexpr std::size_t piece_bytes = std::size_t{1} << 20;

    explicit PackWriter(const v2& wire, Sink sink = {}) : wire_(&wire), sink_(std::move(sink)) {
        for (auto* section : {&commits_, &snapshots_, &tags_})
            put_u64(*section, 0); // the count, patched when the objects are declared
    }

    void add(const Commit& c) {
        records_open("a commit");
        framed(commits_, [&] { detail::write_record<IdText>(commits_, c); });
        ++counts_.commits;
    }
    // Delta-encoded against the snapshot added before it, when that is smaller.
    void add(const Snapshot& s) {
        records_open("a snapshot");
        wire_->write_snapshot(snapshots_, prev_ ? &*prev_ : nullptr, s);
        prev_ = s; // shares the manifest's leaves: cheap
        ++counts_.snapshots;
    }
    void add(const Tag& t) {
        records_open("a tag");
        framed(tags_, [&] { detail::write_record<IdText>(tags_, t); });
        ++counts_.tags;
    }
    void set_branch_heads(std::map<std::string, CommitId> heads) {
        records_open("branch heads");
        counts_.branch_heads = std::move(heads);
    }

    // Declares the objects to come: `count` of them, `stored_bytes` in all. Writes the header,
    // the section table and the OBJECTS count.
    void objects(std::size_t count, std::uint64_t stored_bytes) {
        records_open("the objects");
        declared_ = true;
        counts_.objects = count;
        objects_left_ = count;
        bytes_left_ = stored_bytes;
        prev_.reset();
        store_u64(commits_.data(), counts_.commits);
        store_u64(snapshots_.data(), counts_.snapshots);
        store_u64(tags_.data(), counts_.tags);
        write_meta(meta_, counts_);

        const std::array<std::uint64_t, 5> lengths{8 + count * object_header_bytes + stored_bytes,
                                                   commits_.size(), snapshots_.size(), tags_.size(),
                                                   meta_.size()};
        std::uint64_t total = header_bytes + 5 * table_entry_bytes + footer_bytes;
        for (auto length : lengths)
            total += length;
        out_.reserve(sink_ ? std::min<std::uint64_t>(total, 2 * piece_bytes) : total);
        write_header(out_, lengths);
        put_u64(out_, count);
    }

    // An object, as stored; its bytes need to live only until add() returns. Returns where
    // they begin in the pack (ObjectSpan::offset).
    std::uint64_t add(const PackObject& o) {
        if (!declared_)
            fail(errc::invalid_argument,
                 "v2 pack writer: an object before objects() declared them");
        if (objects_left_ == 0 || o.stored.size() > bytes_left_)
            fail(errc::invalid_argument,
                 "v2 pack writer: object " + o.id.hex() + " is more than objects() declared");
        const std::uint64_t at = sent_ + out_.size() + object_header_bytes;
        write_object(out_, o);
        --objects_left_;
        bytes_left_ -= o.stored.size();
        if (out_.size() >= piece_bytes)
            flush();
        return at;
    }

    // The rest of the pack: to the sink (returning nothing), or returned whole.
    Bytes finish() && {
        if (!declared_)
            objects(0, 0);
        if (objects_left_ != 0 || bytes_left_ != 0)
            fail(errc::invalid_argument, "v2 pack writer: " + std::to_string(objects_left_) +
                                             " object(s) and " + std::to_string(bytes_left_) +
                                             " byte(s) declared were never added");
        for (auto* section : {&commits_, &snapshots_, &tags_, &meta_}) {
            out_.insert(out_.end(), section->begin(), section->end());
            Bytes{}.swap(*section);
            if (out_.size() >= piece_bytes)
                flush();
        }
        if (!sink_) {
            auto footer = sha256(BytesView{out_.data(), out_.size()});
            auto* f = reinterpret_cast<const std::byte*>(footer.bytes.data());
            out_.insert(out_.end(), f, f + footer.bytes.size());
            return std::move(out_);
        }
        flush();
        auto footer = hash_.finish();
        sink_(BytesView(reinterpret_cast<const std::byte*>(footer.bytes.data()), 32));
        return {};
    }

private:
    void records_open(std::string_view what) const {
        if (declared_)
            fail(errc::invalid_argument,
                 "v2 pack writer: " + std::string(what) + " after objects() declared the objects");
    }
    void flush() {
        if (!sink_ || out_.empty())
            return;
        hash_.update(BytesView{out_.data(), out_.size()});
        sink_(BytesView{out_.data(), out_.size()});
        sent_ += out_.size();
        out_.clear();
    }

    const v2* wire_;
    Sink sink_;
    Bytes out_, commits_, snapshots_, tags_, meta_;
    Counts counts_;
    std::optional<Snapshot> prev_;
    bool declared_ = false;
    std::size_t objects_left_ = 0;
    std::uint64_t bytes_left_ = 0;
    std::uint64_t sent_ = 0; // bytes given to the sink
    Sha256 hash_;
};

inline v2::PackWriter v2::pack_writer(PackWriter::Sink sink) const {
    return PackWriter(*this, std::move(sink));
}

inline Bytes v2::encode_pack(const Pack& pack) const {
    PackWriter w(*this);
    for (const auto& c : pack.commits)
        w.add(c);
    for (const auto& s : pack.snapshots)
        w.add(s);
    for (const auto& t : pack.tags)
        w.add(t);
    w.set_branch_heads(pack.branch_heads);
    // Encoded first (on every core), since the layout needs every object's stored size up
    // front: against its previous version where the history gives one, else alone.
    const auto bases = options_.delta_objects
                           ? plan_delta_bases(pack, options_.max_delta_depth)
                           : std::vector<std::size_t>(pack.objects.size(), no_base);
    std::vector<Bytes> held(pack.objects.size());
    std::vector<PackObject> objects(pack.objects.size());
    musehub::detail::parallel_for(
        pack.objects.size(),
        [&](std::size_t i) {
            objects[i] = bases[i] == no_base ? compressed(pack.objects[i], held[i])
                                             : delta_or_compressed(pack.objects[i],
                                                                   pack.objects[bases[i]], held[i]);
        },
        4);
    std::uint64_t stored = 0;
    for (const auto& o : objects)
        stored += o.stored.size();
    w.objects(objects.size(), stored);
    for (const auto& o : objects)
        w.add(o);
    return std::move(w).finish();
}

static_assert(WireProtocol<v2>);

} // namespace musehub::wire
