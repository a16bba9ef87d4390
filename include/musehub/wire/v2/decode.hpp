#pragma once
// Decoding the sections of a v2 pack (wire/v2/format.hpp) once its container is checked
// (wire/v2/layout.hpp): OBJECTS, the framed COMMITS, SNAPSHOTS and TAGS records, and the whole
// pack. Decoding checks structure, not truth (see wire/concept.hpp): object hashes and
// snapshot and commit ids are verified when a pack enters the hub, not here. A delta snapshot
// is rebuilt here, so a decoded Pack only ever holds full manifests; its id is checked with
// the others.
//
// Object bytes are never copied on decode: PackObject::stored views the input buffer.

#include "musehub/core/limits.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/v2/format.hpp"
#include "musehub/wire/v2/layout.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace musehub::detail::mpack {

using Reader = detail::RecordReader<IdText>;

inline void read_objects(BytesView section, std::uint64_t declared, const Limits& limits,
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
            fail(errc::oversized,
                 what + " (" + id.hex() + ") is " + std::to_string(raw_size) +
                     " bytes, over max_object_bytes = " + std::to_string(limits.max_object_bytes));
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
void read_framed(Cursor& in, std::size_t n, std::string_view record, const Limits& limits,
                 F&& each) {
    for (std::size_t i = 0; i < n; ++i) {
        const auto what = std::string(record) + " " + std::to_string(i) + " of the v2 pack";
        const std::uint64_t len = in.u64(what + " length");
        const auto bytes = in.take(len, what);
        if (len > limits.max_record_bytes)
            fail(errc::oversized,
                 what + " is " + std::to_string(len) +
                     " bytes, over max_record_bytes = " + std::to_string(limits.max_record_bytes));
        auto handle = detail::unpack_bounded(bytes, limits, what);
        each(handle.get(), what);
    }
    in.finish();
}

template <class Record>
void read_records(BytesView bytes, std::uint64_t declared, std::size_t limit,
                  std::string_view limit_name, std::string_view section, std::string_view record,
                  const Limits& limits, std::vector<Record>& out) {
    Cursor in{bytes, "v2 pack " + std::string(section) + " section"};
    const std::size_t n = in.count(9, limit, limit_name, declared);
    out.reserve(n);
    read_framed(in, n, record, limits, [&](const msgpack::object& o, const std::string& what) {
        out.push_back(Reader{limits, what}.template record<Record>(o));
    });
}
inline void read_commits(BytesView section, std::uint64_t declared, const Limits& limits,
                         std::vector<Commit>& out) {
    read_records(section, declared, limits.max_commits, "max_commits", "COMMITS", "commit", limits,
                 out);
}
inline void read_tags(BytesView section, std::uint64_t declared, const Limits& limits,
                      std::vector<Tag>& out) {
    read_records(section, declared, limits.max_tags, "max_tags", "TAGS", "tag", limits, out);
}

inline Snapshot read_delta(const msgpack::object_map& m, const std::string& what,
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

inline void read_snapshots(BytesView section, std::uint64_t declared, const Limits& limits,
                           std::vector<Snapshot>& out) {
    Cursor in{section, "v2 pack SNAPSHOTS section"};
    const std::size_t n = in.count(9, limits.max_snapshots, "max_snapshots", declared);
    out.reserve(n);
    std::unordered_map<SnapshotId, std::size_t> earlier; // id → latest index so far
    read_framed(in, n, "snapshot", limits, [&](const msgpack::object& o, const std::string& what) {
        const auto& m = detail::as_map(o, what);
        if (!detail::find_key(m, "manifest") && detail::find_key(m, "parent_snapshot_id"))
            out.push_back(read_delta(m, what, limits, out, earlier));
        else
            out.push_back(Reader{limits, what}.template record<Snapshot>(o));
        earlier.insert_or_assign(out.back().snapshot_id, out.size() - 1);
    });
}

// The returned pack's object bytes view `bytes`: keep it alive, or hand it to Pack::hold.
inline Pack decode_pack(BytesView bytes, const Limits& limits) {
    auto sections = read_layout(bytes, limits);
    Counts declared = read_meta(sections[index(Section::meta)], limits);
    Pack pack;
    pack.branch_heads = std::move(declared.branch_heads);
    read_objects(sections[index(Section::objects)], declared.objects, limits, pack.objects);
    read_commits(sections[index(Section::commits)], declared.commits, limits, pack.commits);
    read_snapshots(sections[index(Section::snapshots)], declared.snapshots, limits, pack.snapshots);
    read_tags(sections[index(Section::tags)], declared.tags, limits, pack.tags);
    return pack;
}

} // namespace musehub::detail::mpack
