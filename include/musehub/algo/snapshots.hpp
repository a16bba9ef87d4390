#pragma once
// How the catalog keeps snapshots, and how the algorithms read them back.
//
// A snapshot's manifest names every file of the tree, so consecutive snapshots are nearly
// the same list: stored whole, L's 1,000 snapshots were 123 MB of rows and XL's 5,000 were
// 3.1 GB. So a row holds either the full record (`base` empty; the v1 wire's spelling) or a
// delta against its base — in practice the snapshot of the commit's first parent — as
//
//     [ bin: the v1 record of the snapshot with only the upserted entries as its manifest,
//       [ removed paths… ] ]
//
// (compressed, as every stored record is: catalog/stored_record.hpp)
// with at most `depth` links down to a full record; a full record is written again every
// `snapshot_chain_limit` links, so reading one snapshot costs at most that many rows (and
// reading a history, which holds its chains, a few batched finds). XL's rows are 52 MB this way,
// mostly the full records; with 16 links they were 198 MB. Readers rebuild with one batched
// find per level of the chains, then walk each chain once, bases first (for_each_snapshot).
//
// A row another row is based on is kept as long as that row lives: GC, deleting a snapshot,
// first rewrites its surviving dependents whole (rebase_dependents).

#include "musehub/algo/common.hpp"
#include "musehub/catalog/record_codec.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/detail/msgpack.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace musehub::algo {

inline constexpr std::uint32_t snapshot_chain_limit = 64;

// The row for `s`, whole.
inline catalog::SnapshotRow full_snapshot_row(const Snapshot& s) {
    return {s.snapshot_id, s.manifest.size(), catalog::stored_record(s), std::nullopt, 0};
}

// The row for `s`: a delta against `base` (whose row is `base_depth` links from a full record)
// when that is shorter and the chain has room, else whole.
inline catalog::SnapshotRow snapshot_row(const Snapshot& s, const Snapshot* base,
                                         std::uint32_t base_depth) {
    if (!base || base_depth + 1 >= snapshot_chain_limit)
        return full_snapshot_row(s);
    auto delta = diff(base->manifest, s.manifest);
    if (2 * (delta.upsert.size() + delta.remove.size()) > s.manifest.size())
        return full_snapshot_row(s);
    Snapshot upserts{s.snapshot_id, Manifest::from_entries(std::move(delta.upsert)), s.created_at,
                     s.extensions};
    Bytes out;
    musehub::detail::ByteSink sink{out};
    musehub::detail::Packer p(sink);
    p.pack_array(2);
    musehub::detail::pack_bin(p, catalog::encode_record(upserts));
    p.pack_array(static_cast<std::uint32_t>(delta.remove.size()));
    for (const auto& path : delta.remove)
        musehub::detail::pack_str(p, path);
    return {s.snapshot_id, s.manifest.size(), catalog::compress_record(out), base->snapshot_id,
            base_depth + 1};
}

// A delta row's record with only its upserted entries as the manifest; the paths it removes
// go to `removed` when asked for.
inline Snapshot delta_upserts(const catalog::SnapshotRow& row, const Limits& limits,
                              std::vector<std::string>* removed = nullptr) {
    auto bytes = catalog::decompress_record(row.record, limits, "snapshot delta");
    auto handle = musehub::detail::unpack_bounded(bytes, limits, "stored snapshot delta");
    const auto& a = musehub::detail::as_array(handle.get(), "stored snapshot delta");
    if (a.size != 2)
        fail(errc::corrupt,
             "stored snapshot delta " + row.snapshot_id.hex() + " is not [record, removed paths]");
    auto s = catalog::decode_stored<Snapshot>(musehub::detail::as_bin(a.ptr[0], "record"), limits);
    const auto& paths = musehub::detail::as_array(a.ptr[1], "removed paths");
    if (removed) {
        removed->reserve(paths.size);
        for (std::uint32_t i = 0; i < paths.size; ++i)
            removed->emplace_back(musehub::detail::as_str(paths.ptr[i], "removed path"));
    }
    return s;
}

// The snapshot a row holds; a delta row needs its base's manifest.
inline Snapshot decode_snapshot_row(const catalog::SnapshotRow& row, const Manifest* base,
                                    const Limits& limits) {
    if (!row.base)
        return catalog::decode_stored<Snapshot>(row.record, limits);
    if (!base)
        fail(errc::invalid_argument,
             "snapshot row " + row.snapshot_id.hex() + " is a delta and needs its base's manifest");
    std::vector<std::string> removed;
    auto s = delta_upserts(row, limits, &removed);
    ManifestDelta delta;
    delta.upsert = s.manifest.entries();
    delta.remove = std::move(removed);
    s.manifest = apply(*base, delta, limits.max_path_bytes);
    return s;
}

// At most this many snapshots are read and rebuilt per batch (see for_each_snapshot).
inline constexpr std::size_t snapshot_batch_ids = 512;

// Calls each(id, snapshot) once for every distinct id in `ids`, with the snapshot rebuilt from
// its row (nullptr when it has no row, or a base of its chain has none). Rows are read in
// batches of `batch_rows` ids (at most snapshot_batch_ids), with one batched find per chain level;
// each batch is then rebuilt depth-first along its chains, bases before the snapshots built on
// them, so only the manifests of the current path are in memory at once — however many snapshots a
// GC or fsck of a large repo walks. The calls come in that order: chains in the order `ids` first
// reaches into them, each chain base first.
template <class Cat, class Each>
void for_each_snapshot(Cat& cat, std::span<const SnapshotId> ids, std::size_t batch_rows,
                       const Limits& limits, Each&& each) {
    using catalog::SnapshotRow;
    std::vector<SnapshotId> distinct; // in the caller's order: a history's chains stay together
    {
        std::unordered_set<SnapshotId> seen;
        for (const auto& id : ids)
            if (seen.insert(id).second)
                distinct.push_back(id);
    }
    // Snapshot rows are large next to other rows (a full one is a whole manifest): a batch of
    // them is capped, so what one batch holds stays a few megabytes in any repo.
    const std::size_t per_batch = std::min(batch_rows, snapshot_batch_ids);
    for_batches(distinct, per_batch, [&](std::span<const SnapshotId> batch) {
        // Every row the batch needs: its own, then its bases, level by level.
        std::unordered_map<SnapshotId, SnapshotRow> rows;
        std::vector<SnapshotId> want(batch.begin(), batch.end());
        while (!want.empty()) {
            std::vector<SnapshotId> next;
            auto got = cat.template find<SnapshotRow>(keys_of(std::span<const SnapshotId>(want)));
            for (auto& r : got)
                if (r) {
                    if (r->base && !rows.count(*r->base))
                        next.push_back(*r->base);
                    auto id = r->snapshot_id;
                    rows.emplace(id, std::move(*r));
                }
            std::sort(next.begin(), next.end());
            next.erase(std::unique(next.begin(), next.end()), next.end());
            want = std::move(next);
        }
        // The chains as trees: full rows are roots; a row whose base has no row is unreachable.
        std::unordered_map<SnapshotId, std::vector<const SnapshotRow*>> dependents;
        std::vector<const SnapshotRow*> roots;
        for (const auto& [id, row] : rows) {
            if (!row.base)
                roots.push_back(&row);
            else if (rows.count(*row.base))
                dependents[*row.base].push_back(&row);
        }
        // Trees, and the branches within one, come in the order the caller first asked for a
        // snapshot in them: a caller that lists a history oldest first gets it so, and one
        // that encodes each snapshot against the one before gets small deltas throughout.
        std::unordered_map<SnapshotId, std::size_t> rank; // first position asked at or below
        for (std::size_t i = 0; i < batch.size(); ++i) {
            auto it = rows.find(batch[i]);
            for (std::uint32_t links = 0; it != rows.end() && links <= snapshot_chain_limit;
                 ++links) {
                auto [r, fresh] = rank.try_emplace(it->first, i);
                if (!fresh && r->second <= i)
                    break; // so are all its bases
                r->second = std::min(r->second, i);
                it = it->second.base ? rows.find(*it->second.base) : rows.end();
            }
        }
        auto first_asked = [&](const SnapshotRow* a, const SnapshotRow* b) {
            auto ra = rank.find(a->snapshot_id), rb = rank.find(b->snapshot_id);
            auto x = ra != rank.end() ? ra->second : batch.size();
            auto y = rb != rank.end() ? rb->second : batch.size();
            return x != y ? x < y : a->snapshot_id < b->snapshot_id; // deterministic
        };
        std::sort(roots.begin(), roots.end(), first_asked);
        for (auto& [base, rows_on_it] : dependents)
            std::sort(rows_on_it.begin(), rows_on_it.end(), first_asked);
        std::unordered_set<SnapshotId> wanted(batch.begin(), batch.end()), done;
        auto visit = [&](auto& self, const SnapshotRow& row, const Manifest* base,
                         std::uint32_t links) -> void {
            if (links > snapshot_chain_limit)
                return; // corrupt: longer than any chain is written
            auto snapshot = decode_snapshot_row(row, base, limits);
            if (wanted.count(row.snapshot_id) && done.insert(row.snapshot_id).second)
                each(row.snapshot_id, &snapshot);
            if (auto it = dependents.find(row.snapshot_id); it != dependents.end())
                for (const auto* d : it->second)
                    self(self, *d, &snapshot.manifest, links + 1);
        };
        for (const auto* root : roots)
            visit(visit, *root, nullptr, 0);
        for (const auto& id : batch) // no row, or a chain that never reaches a full one
            if (!done.count(id))
                each(id, static_cast<const Snapshot*>(nullptr));
    });
}

// Calls each(object) for every object the manifests of `ids` name (an object may come more
// than once), without rebuilding every manifest: a delta row names the entries it upserts and
// a full row all of its own, so when a row's base is itself one of `ids`, what the row adds to
// the base's objects is exactly its upserts (what it removes stays named by the base). Only a
// snapshot whose base is not among `ids` is rebuilt whole (for_each_snapshot). Each row is read
// once, in batches of `batch_rows` ids; an id without a row names nothing. This is what GC's
// scan of a long history costs: one small decode per commit, not one manifest per commit.
template <class Cat, class Each>
void for_each_named_object(Cat& cat, std::span<const SnapshotId> ids, std::size_t batch_rows,
                           const Limits& limits, Each&& each) {
    using catalog::SnapshotRow;
    const std::unordered_set<SnapshotId> asked(ids.begin(), ids.end());
    const std::vector<SnapshotId> distinct(asked.begin(), asked.end());
    std::vector<SnapshotId> rebuild; // based on a snapshot not asked for
    for_batches(distinct, std::min(batch_rows, snapshot_batch_ids),
                [&](std::span<const SnapshotId> batch) {
                    for (const auto& row : cat.template find<SnapshotRow>(keys_of(batch))) {
                        if (!row)
                            continue;
                        if (row->base && !asked.count(*row->base)) {
                            rebuild.push_back(row->snapshot_id);
                            continue;
                        }
                        const auto record =
                            row->base ? delta_upserts(*row, limits)
                                      : catalog::decode_stored<Snapshot>(row->record, limits);
                        for (const auto& e : record.manifest)
                            each(e.object);
                    }
                });
    for_each_snapshot(cat, std::span<const SnapshotId>(rebuild), batch_rows, limits,
                      [&](const SnapshotId&, const Snapshot* s) {
                          if (s)
                              for (const auto& e : s->manifest)
                                  each(e.object);
                      });
}

// Before the snapshot rows `doomed` are deleted: every other row based on one of them is
// rewritten whole, so no surviving row is left without its base. Returns how many were.
template <catalog::CatalogTransaction Tx>
std::size_t rebase_dependents(Tx& tx, std::span<const SnapshotId> doomed, std::size_t batch_rows,
                              const Limits& limits) {
    using catalog::SnapshotRow;
    std::unordered_set<SnapshotId> going(doomed.begin(), doomed.end());
    std::vector<SnapshotId> survivors;
    for (const auto& row : tx.template find_by<SnapshotRow, 3>(
             std::vector<std::optional<SnapshotId>>(doomed.begin(), doomed.end())))
        if (!going.count(row.snapshot_id))
            survivors.push_back(row.snapshot_id);
    std::vector<SnapshotRow> whole;
    for_each_snapshot(
        tx, survivors, batch_rows, limits, [&](const SnapshotId& id, const Snapshot* s) {
            if (!s)
                fail(errc::missing_object, "snapshot " + id.hex() + " lost its base (run fsck)");
            whole.push_back(full_snapshot_row(*s));
        });
    tx.upsert(std::span<const SnapshotRow>(whole));
    return whole.size();
}

} // namespace musehub::algo
