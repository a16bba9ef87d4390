#pragma once
// fsck: check every invariant of docs/design.md over the whole hub and list each violation with
// what it concerns. Unreferenced bytes and rows are garbage, not violations: they are counted
// separately (GC's business).

#include "musehub/algo/chains.hpp"
#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/store/batch.hpp"

#include <map>

namespace musehub::algo {

struct Violation {
    std::string kind;   // e.g. "dangling-head", "missing-object", "hash-mismatch"
    std::string detail; // which repo, branch, commit, object, container
    friend bool operator==(const Violation&, const Violation&) = default;
};

struct FsckResult {
    std::vector<Violation> violations;
    std::size_t repos = 0, branches = 0, commits = 0, snapshots = 0, objects = 0, containers = 0;
    std::size_t objects_verified = 0;     // bytes read and hashed
    std::size_t stray_containers = 0;     // bytes in the store no row knows (garbage)
    std::size_t unreferenced_objects = 0; // object rows no repo refers to (garbage)
    bool ok() const { return violations.empty(); }
};

struct FsckOptions {
    bool verify_bytes = true; // read and hash every live object
};

namespace detail {
// A delta's location names a base that has a location itself, one link nearer a whole object,
// within the depth limit (so no chain is a cycle); anything else names no base.
template <class Flag>
void check_chain(const catalog::LocationRow& l,
                 const std::unordered_map<ObjectId, catalog::LocationRow>& where,
                 std::uint32_t max_depth, Flag& flag) {
    const auto id = l.object_id.hex();
    if ((l.encoding == Encoding::zstd_delta) != l.base.has_value()) {
        flag("bad-delta", "object " + id +
                              (l.base ? " names a base but is not stored as a delta"
                                      : " is stored as a delta but names no base"));
        return;
    }
    if (!l.base)
        return;
    auto base = where.find(*l.base);
    if (base == where.end())
        flag("missing-base",
             "object " + id + " is a delta against " + l.base->hex() + ", which has no location");
    else if (l.depth != base->second.depth + 1)
        flag("bad-delta", "object " + id + " is recorded at depth " + std::to_string(l.depth) +
                              " on a base at depth " + std::to_string(base->second.depth));
    if (l.depth > max_depth)
        flag("delta-too-deep", "object " + id + " is " + std::to_string(l.depth) +
                                   " links above a whole object, over max_delta_depth = " +
                                   std::to_string(max_depth));
}
} // namespace detail

template <AlgorithmHub H>
FsckResult fsck(H& hub, const FsckOptions& options = {}) {
    using namespace catalog;
    auto& cat = hub.catalog();
    auto& store = hub.store();
    const auto& opt = hub.options();
    FsckResult r;
    auto flag = [&](std::string kind, std::string detail) {
        r.violations.push_back({std::move(kind), std::move(detail)});
    };

    // ---- global rows: every location in a live container, every container's bytes present ----
    auto containers = cat.template scan<ContainerRow>(std::tuple{});
    r.containers = containers.size();
    std::map<std::string, std::uint64_t> container_size;
    {
        std::vector<std::string> keys;
        for (const auto& c : containers)
            keys.push_back(c.container);
        auto got = sizes(store, std::span<const std::string>(keys));
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (!got[i])
                flag("missing-container", "container " + keys[i] + " has a row but no bytes");
            else
                container_size[keys[i]] = *got[i];
        }
    }
    std::unordered_set<std::string> tombstoned;
    for (const auto& t : cat.template scan<TombstoneRow>(std::tuple{}))
        tombstoned.insert(t.container);
    auto objects = cat.template scan<ObjectRow>(std::tuple{});
    r.objects = objects.size();
    std::unordered_map<ObjectId, LocationRow> where;
    for (auto& l : cat.template scan<LocationRow>(std::tuple{}))
        where.emplace(l.object_id, std::move(l));
    for (const auto& o : objects) {
        auto it = where.find(o.object_id);
        if (it == where.end()) {
            flag("unlocated-object", "object " + o.object_id.hex() + " has no location");
            continue;
        }
        const auto& l = it->second;
        auto sz = container_size.find(l.container);
        if (tombstoned.count(l.container))
            flag("retired-container",
                 "object " + o.object_id.hex() + " points into retired " + l.container);
        if (sz == container_size.end())
            flag("missing-container", "object " + o.object_id.hex() + " points into " +
                                          l.container + ", which has no bytes or row");
        else if (l.offset + l.length > sz->second)
            flag("short-container",
                 "object " + o.object_id.hex() + " lies past the end of " + l.container);
        if (l.raw_size != o.size)
            flag("size-mismatch",
                 "object " + o.object_id.hex() + " row and location disagree on its size");
        detail::check_chain(l, where, opt.limits.max_delta_depth, flag);
    }
    for (const auto& [id, l] : where)
        if (!std::binary_search(
                objects.begin(), objects.end(), ObjectRow{id, 0, {}},
                [](const ObjectRow& a, const ObjectRow& b) { return a.object_id < b.object_id; }))
            flag("orphan-location", "location of " + id.hex() + " has no object row");
    {
        std::unordered_set<std::string> known(tombstoned);
        for (const auto& c : containers)
            known.insert(c.container);
        for (auto& f : cat.template scan<FetchCacheRow>(std::tuple{}))
            known.insert(std::move(f.container));
        for (auto& u : cat.template scan<UploadRow>(std::tuple{}))
            known.insert(std::move(u.container));
        for (auto kind : {"/packs/", "/fetch/"})
            for (const auto& k : store.list(std::string(keys::layout) + kind))
                if (!known.count(k))
                    ++r.stray_containers;
    }
    std::unordered_set<ObjectId> referenced;

    // ---- per repo: heads closed over commits, snapshots and objects it references -------------
    for (const auto& repo : cat.template scan<RepoRow>(std::tuple{})) {
        ++r.repos;
        const auto& name = repo.repo;
        auto commit_refs = cat.template scan<CommitRefRow>(std::tuple{name});
        auto snapshot_refs = cat.template scan<SnapshotRefRow>(std::tuple{name});
        auto object_refs = cat.template scan<ObjectRefRow>(std::tuple{name});
        CommitSet in_repo;
        for (const auto& c : commit_refs)
            in_repo.insert(c.commit_id);
        std::unordered_set<SnapshotId> snaps_in_repo;
        for (const auto& s : snapshot_refs)
            snaps_in_repo.insert(s.snapshot_id);
        std::unordered_set<ObjectId> objs_in_repo;
        for (const auto& o : object_refs)
            objs_in_repo.insert(o.object_id), referenced.insert(o.object_id);

        std::vector<CommitId> heads;
        for (const auto& b : cat.template scan<Branch>(std::tuple{name})) {
            ++r.branches;
            heads.push_back(b.head);
            if (!in_repo.count(b.head))
                flag("dangling-head", "branch '" + b.name + "' of '" + name + "' points at " +
                                          b.head.hex() + ", which the repo does not reference");
        }
        auto walk = walk_ancestors(std::span<const CommitId>(heads), catalog_parents(cat));
        for (const auto& id : walk.unknown)
            flag("missing-commit",
                 "repo '" + name + "' reaches commit " + id.hex() + ", which has no row");
        r.commits += walk.reached.size();
        std::unordered_set<SnapshotId> live_snaps;
        for_batches(walk.reached, opt.batch_rows, [&](std::span<const CommitId> batch) {
            for (const auto& row : cat.template find<CommitRow>(keys_of(batch))) {
                if (!in_repo.count(row->commit_id))
                    flag("unreferenced-commit", "repo '" + name + "' reaches commit " +
                                                    row->commit_id.hex() + " without a ref to it");
                if (!snaps_in_repo.count(row->snapshot_id))
                    flag("unreferenced-snapshot",
                         "repo '" + name + "' commit " + row->commit_id.hex() + " names snapshot " +
                             row->snapshot_id.hex() + " without a ref to it");
                live_snaps.insert(row->snapshot_id);
            }
        });
        r.snapshots += live_snaps.size();
        std::vector<SnapshotId> snaps(live_snaps.begin(), live_snaps.end());
        std::unordered_set<ObjectId> live_objects;
        for_each_snapshot(
            cat, std::span<const SnapshotId>(snaps), opt.batch_rows, opt.limits,
            [&](const SnapshotId& id, const Snapshot* s) {
                if (!s) {
                    flag("missing-snapshot", "repo '" + name + "' needs snapshot " + id.hex() +
                                                 ", which has no row (or a base of its row has "
                                                 "none)");
                    return;
                }
                if (s->manifest.id() != id || s->snapshot_id != id)
                    flag("bad-snapshot", "snapshot row " + id.hex() + " does not hash to its id");
                for (const auto& e : s->manifest)
                    live_objects.insert(e.object);
            });
        for (const auto& id : live_objects) {
            if (!objs_in_repo.count(id))
                flag("unreferenced-object",
                     "repo '" + name + "' uses object " + id.hex() + " without a ref to it");
            if (!where.count(id))
                flag("missing-object", "repo '" + name + "' uses object " + id.hex() +
                                           ", which the hub cannot serve");
        }
        if (options.verify_bytes) {
            std::map<std::string, std::vector<const LocationRow*>> by_container;
            std::vector<ObjectId> deltas; // proven by resolving their chains, below
            for (const auto& id : live_objects)
                if (auto it = where.find(id);
                    it != where.end() && container_size.count(it->second.container)) {
                    if (it->second.base)
                        deltas.push_back(id);
                    else
                        by_container[it->second.container].push_back(&it->second);
                }
            for_batches(deltas, 4096, [&](std::span<const ObjectId> batch) {
                try {
                    read_resolved(cat, store, batch, opt,
                                  [&](const ObjectId&, BytesView) { ++r.objects_verified; });
                } catch (const error& e) {
                    flag(e.code() == errc::hash_mismatch ? "hash-mismatch" : "bad-delta", e.what());
                }
            });
            for (const auto& [container, locs] : by_container) {
                auto bytes = store.get(container);
                if (!bytes)
                    continue; // flagged above
                for (const auto* l : locs) {
                    if (l->offset + l->length > bytes->size())
                        continue; // flagged above
                    PackObject po{l->object_id, l->encoding,
                                  BytesView(*bytes).subspan(l->offset, l->length), l->raw_size};
                    try {
                        verify_object(
                            po, std::max<std::uint64_t>(opt.limits.max_object_bytes, l->raw_size));
                        ++r.objects_verified;
                    } catch (const error& e) {
                        flag("hash-mismatch",
                             "object " + l->object_id.hex() + " in " + container + ": " + e.what());
                    }
                }
            }
        }
    }
    for (const auto& o : objects)
        if (!referenced.count(o.object_id))
            ++r.unreferenced_objects;
    return r;
}

} // namespace musehub::algo
