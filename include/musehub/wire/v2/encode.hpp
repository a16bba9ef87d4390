#pragma once
// Writing the pieces of a v2 pack (wire/v2/format.hpp): the header and section table, one
// object as stored, framed records, snapshots as deltas against the one before them, and
// META. The pack writer (wire/v2/pack_writer.hpp) puts them in order.

#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/v2/format.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace musehub::detail::mpack {

// One object, exactly as stored.
inline void write_object(Bytes& out, const PackObject& o) {
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
void framed(Bytes& out, F&& write) {
    const std::size_t at = out.size();
    put_u64(out, 0);
    write();
    store_u64(out.data() + at, out.size() - at - 8);
}

inline constexpr std::array<std::string_view, 6> snapshot_keys{
    "snapshot_id", "manifest", "created_at", "parent_snapshot_id", "delta_upsert", "delta_remove"};

// A delta is only worth writing when it is smaller than the manifest, and only possible
// when no extension key would shadow a delta key. It rebuilds to exactly this manifest
// whether or not the manifest hashes to the declared id (the decoder applies it to the
// record before it, and ids are proven where a pack enters a hub), so encoding does not
// hash every manifest again.
inline bool try_delta(const Options& options, const Snapshot& prev, const Snapshot& s,
                      ManifestDelta& delta) {
    if (!options.delta_snapshots)
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
inline void write_snapshot(const Options& options, Bytes& out, const Snapshot* prev,
                           const Snapshot& s) {
    ManifestDelta delta;
    if (!prev || !try_delta(options, *prev, s, delta)) {
        framed(out, [&] { detail::write_record<IdText>(out, s); });
        return;
    }
    framed(out, [&] {
        detail::ByteSink sink{out};
        detail::Packer p(sink);
        detail::RecordWriter<IdText> w{p, sink};
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

// The magic, the version and the section table of a pack whose five sections follow in
// type order with these lengths (indexed by type - 1).
inline void write_header(Bytes& out, const std::array<std::uint64_t, 5>& lengths) {
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

inline void write_meta(Bytes& out, const Counts& counts) {
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

} // namespace musehub::detail::mpack
