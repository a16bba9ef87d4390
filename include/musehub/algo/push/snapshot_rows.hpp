#pragma once
// Push, history phase: the rows of a push's fresh snapshots, and the repo's refs to them. Each
// goes in as a delta against the snapshot of its commit's first parent (algo/snapshots.hpp),
// bases before the rows built on them; a base the push does not carry is read from the catalog
// (for an incremental push, the one its oldest commit builds on).

#include "musehub/algo/common.hpp"
#include "musehub/algo/push/epoch.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/detail/parallel.hpp"
#include "musehub/hub_options.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace musehub::algo::detail {

// The fresh snapshots in the order their rows go in, each with the snapshot it is written
// against (none: whole).
struct SnapshotOrder {
    std::unordered_map<SnapshotId, const Snapshot*> fresh;
    std::vector<const Snapshot*> ordered; // bases first
    std::unordered_map<SnapshotId, std::optional<SnapshotId>> base_of;
};

// Orders the fresh snapshots by their commits, parents first, with the base each pushed parent
// gives. Returns the snapshots whose first parent the push does not carry, with that parent.
inline std::unordered_map<SnapshotId, CommitId>
order_snapshots(const Pack& pack, const std::vector<const Snapshot*>& fresh_snapshots,
                SnapshotOrder& order) {
    auto& [fresh, ordered, base_of] = order;
    for (const auto* snap : fresh_snapshots)
        fresh.emplace(snap->snapshot_id, snap);
    std::unordered_map<CommitId, SnapshotId> snapshot_of;
    for (const auto& c : pack.commits)
        snapshot_of.emplace(c.commit_id, c.snapshot_id);
    std::unordered_map<SnapshotId, CommitId> parent_outside; // first parent not pushed
    for (const auto* c : topological_order(pack.commits)) {
        auto it = fresh.find(c->snapshot_id);
        if (it == fresh.end() || base_of.count(c->snapshot_id))
            continue;
        ordered.push_back(it->second);
        auto& base = base_of[c->snapshot_id];
        if (!c->parent_commit_id)
            continue;
        if (auto p = snapshot_of.find(*c->parent_commit_id); p != snapshot_of.end())
            base = p->second;
        else
            parent_outside.emplace(c->snapshot_id, *c->parent_commit_id);
    }
    for (const auto* snap : fresh_snapshots) // a snapshot no pushed commit names
        if (!base_of.count(snap->snapshot_id))
            ordered.push_back(snap), base_of[snap->snapshot_id];
    return parent_outside;
}

// The base of each snapshot whose first parent is stored already: that parent's snapshot.
template <class C>
void base_on_stored_parents(const C& cat,
                            const std::unordered_map<SnapshotId, CommitId>& parent_outside,
                            SnapshotOrder& order) {
    std::vector<catalog::Key<catalog::CommitRow>> keys;
    for (const auto& [snap, parent] : parent_outside)
        keys.emplace_back(parent);
    std::unordered_map<CommitId, SnapshotId> snapshot_of_parent;
    for (const auto& row : cat.template find<catalog::CommitRow>(keys))
        if (row)
            snapshot_of_parent.emplace(row->commit_id, row->snapshot_id);
    for (const auto& [snap, parent] : parent_outside)
        if (auto p = snapshot_of_parent.find(parent); p != snapshot_of_parent.end())
            order.base_of[snap] = p->second;
}

// The bases in the catalog: their manifests and depths.
struct StoredBases {
    std::unordered_map<SnapshotId, std::shared_ptr<const Snapshot>> manifests;
    std::unordered_map<SnapshotId, std::uint32_t> depth;
};

template <class C>
StoredBases read_stored_bases(const C& cat, const HubOptions& opt, const SnapshotOrder& order) {
    std::vector<SnapshotId> stored;
    for (const auto& [id, base] : order.base_of)
        if (base && *base != id && !order.fresh.count(*base))
            stored.push_back(*base);
    std::sort(stored.begin(), stored.end());
    stored.erase(std::unique(stored.begin(), stored.end()), stored.end());
    StoredBases out;
    for (const auto& row :
         cat.template find<catalog::SnapshotRow>(keys_of(std::span<const SnapshotId>(stored))))
        if (row)
            out.depth[row->snapshot_id] = row->depth;
    for_each_snapshot(cat, std::span<const SnapshotId>(stored), opt.batch_rows, opt.limits,
                      [&](const SnapshotId& id, const Snapshot* snap) {
                          if (snap)
                              out.manifests.emplace(id, std::make_shared<Snapshot>(*snap));
                      });
    return out;
}

// The base each row is written against (nullptr: whole) and its depth as predicted here;
// the inserting transaction makes it exact.
struct RowBases {
    std::vector<const Snapshot*> base;
    std::vector<std::uint32_t> depth;
};

inline RowBases predict_bases(const SnapshotOrder& order, const StoredBases& stored) {
    const auto& ordered = order.ordered;
    auto depth = stored.depth; // and, as they are predicted, the rows' own
    RowBases out{std::vector<const Snapshot*>(ordered.size(), nullptr),
                 std::vector<std::uint32_t>(ordered.size(), 0)};
    for (std::size_t i = 0; i < ordered.size(); ++i) {
        const auto& id = ordered[i]->snapshot_id;
        const auto& base = order.base_of.at(id);
        std::uint32_t d = 0;
        if (base && *base != id) {
            if (auto f = order.fresh.find(*base); f != order.fresh.end() && depth.count(*base))
                out.base[i] = f->second;
            else if (auto b = stored.manifests.find(*base); b != stored.manifests.end())
                out.base[i] = b->second.get();
            if (out.base[i]) {
                out.depth[i] = depth[*base];
                d = out.depth[i] + 1 < snapshot_chain_limit ? out.depth[i] + 1 : 0;
            }
        }
        depth[id] = d;
    }
    return out;
}

// The depths of those of `own` already stored (inserting them again leaves them as they are).
template <catalog::CatalogTransaction Tx>
std::unordered_map<SnapshotId, std::uint32_t>
stored_depths(Tx& tx, const std::vector<catalog::Key<catalog::SnapshotRow>>& own) {
    std::unordered_map<SnapshotId, std::uint32_t> depth_now;
    auto exists = tx.template contains<catalog::SnapshotRow>(own);
    std::vector<catalog::Key<catalog::SnapshotRow>> stored;
    for (std::size_t i = 0; i < own.size(); ++i)
        if (exists[i])
            stored.push_back(own[i]);
    for (const auto& row : tx.template find<catalog::SnapshotRow>(stored))
        if (row)
            depth_now.emplace(row->snapshot_id, row->depth); // insert ignores us
    return depth_now;
}

// Depths made exact here, where no other writer can move them: a base GC
// deleted since it was read, or one whose chain (stored by another repo's push,
// or just now) leaves no room, means that row goes in whole.
template <catalog::CatalogTransaction Tx>
void settle_depths(Tx& tx, std::vector<catalog::SnapshotRow>& rows,
                   std::span<const Snapshot* const> snapshots) {
    std::vector<catalog::Key<catalog::SnapshotRow>> own, bases;
    for (const auto& row : rows) {
        own.emplace_back(row.snapshot_id);
        if (row.base)
            bases.emplace_back(*row.base);
    }
    auto depth_now = stored_depths(tx, own); // rows as they will be
    auto base_rows = tx.template find<catalog::SnapshotRow>(bases);
    for (std::size_t i = 0, b = 0; i < rows.size(); ++i) {
        if (rows[i].base) {
            std::optional<std::uint32_t> d;
            if (auto it = depth_now.find(*rows[i].base); it != depth_now.end())
                d = it->second;
            else if (base_rows[b])
                d = base_rows[b]->depth;
            ++b;
            if (d && *d + 1 < snapshot_chain_limit)
                rows[i].depth = *d + 1;
            else
                rows[i] = full_snapshot_row(*snapshots[i]);
        }
        depth_now.emplace(rows[i].snapshot_id, rows[i].depth);
    }
}

// The rows of snapshots [first, first + n) of `order`, and the repo's refs to them, in one
// transaction.
template <class C>
void write_snapshot_batch(C& cat, const std::string& repo, const std::string& branch,
                          const SnapshotOrder& order, const RowBases& bases, std::size_t first,
                          std::size_t n, TimePoint now) {
    const auto& ordered = order.ordered;
    // Encoding (a diff, or a full record) is the bulk of the work: on every core.
    std::vector<catalog::SnapshotRow> rows(n);
    musehub::detail::parallel_for(
        n,
        [&](std::size_t i) {
            rows[i] =
                snapshot_row(*ordered[first + i], bases.base[first + i], bases.depth[first + i]);
        },
        4);
    std::vector<catalog::SnapshotRefRow> refs;
    for (std::size_t i = 0; i < n; ++i)
        refs.push_back({repo, ordered[first + i]->snapshot_id, now});
    cat.transact([&](auto& tx) {
        bump_epoch(tx, repo, branch);
        settle_depths(tx, rows, std::span<const Snapshot* const>(ordered.data() + first, n));
        tx.insert(std::span<const catalog::SnapshotRow>(rows));
        tx.upsert(std::span<const catalog::SnapshotRefRow>(refs));
        return 0;
    });
}

// The rows of a push's fresh snapshots, and the repo's refs to them.
template <class C>
void write_snapshots(C& cat, const HubOptions& opt, const std::string& repo,
                     const std::string& branch, const Pack& pack,
                     const std::vector<const Snapshot*>& fresh_snapshots, TimePoint now) {
    SnapshotOrder order;
    const auto parent_outside = order_snapshots(pack, fresh_snapshots, order);
    base_on_stored_parents(cat, parent_outside, order);
    const auto stored = read_stored_bases(cat, opt, order);
    const auto bases = predict_bases(order, stored);
    for (std::size_t first = 0; first < order.ordered.size(); first += opt.batch_rows) {
        auto n = std::min(opt.batch_rows, order.ordered.size() - first);
        write_snapshot_batch(cat, repo, branch, order, bases, first, n, now);
    }
}

} // namespace musehub::algo::detail
