#pragma once
// GC: collect what a repo no longer reaches, without ever losing what a concurrent push uses.
//
//   scan   -> the repo's epoch, branch heads and refs. Roots are the heads plus every ref
//             touched within the grace period (a push in flight touches what it uses), so
//             the live set is everything reachable from any root, transitively
//   delete -> in ONE transaction that first proves the epoch is unchanged (no push registered
//             anything since the scan): drop the dead refs, each only if exactly as scanned;
//             delete the rows no repo refers to any more (re-checked through the ref indexes);
//             retire containers left with no locations to tombstones; bump gc_epoch, so a push
//             that checked its history before this transaction checks it again
//   follow -> a run that deleted anything schedules the repo's repack (algo/follow_up.hpp),
//             which rewrites the containers it left with dead bytes, and a run that retired
//             anything the hub-wide sweep (algo/sweep.hpp), which purges the bytes once the
//             grace period is over and gives the catalog's space back
//   expire -> the repo's fetch-cache entries past their expiry (all of them after a run that
//             deleted anything), whose bytes go the same way
//   uploads-> the repo's presigned uploads nobody confirmed
//
// What belongs to no repo (temporaries, strays, purge, compaction) is the sweep's, so that
// GC's cost is O(live history of the repo + its refs), never O(anything of other repos).

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/detail/retire.hpp"
#include "musehub/algo/follow_up.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/algo/sweep.hpp"
#include "musehub/store/batch.hpp"

#include <functional>

namespace musehub::algo {

struct GcResult {
    std::string repo;
    bool skipped = false;
    std::string reason; // why it skipped, when it did
    std::size_t live_commits = 0, live_snapshots = 0, live_objects = 0;
    std::size_t commit_refs_dropped = 0, snapshot_refs_dropped = 0, object_refs_dropped = 0;
    std::size_t commits_deleted = 0, snapshots_deleted = 0, objects_deleted = 0;
    std::size_t snapshots_rebased = 0;      // surviving delta rows rewritten whole: their base went
    std::uint64_t object_bytes_deleted = 0; // raw sizes of the objects whose rows went
    std::size_t containers_retired = 0;
    std::size_t cache_entries_expired = 0;
    std::size_t uploads_abandoned = 0; // presigned uploads never confirmed, swept
    std::vector<std::string> errors;   // non-fatal: the next run retries them
    PhaseTimes times;
};

// Test seams: a hook GC calls between its scan and its first delete.
struct GcHooks {
    std::function<void()> after_scan;
};

namespace detail {
// Objects stored as deltas need their bases: of the objects about to be deleted (`erase`), one
// that a surviving delta builds on stays (whichever repos still refer to the delta), and a base
// no repo refers to goes with the last delta on it. Settled to a fixed point inside GC's
// delete transaction, so a chain is never cut. Containers of added objects go to `containers`.
template <catalog::CatalogTransaction Tx>
void settle_bases(Tx& tx, std::vector<catalog::Key<catalog::ObjectRow>>& erase,
                  std::vector<std::string>& containers, std::size_t batch_rows, TimePoint cutoff) {
    using namespace catalog;
    std::unordered_set<ObjectId> doomed, kept;
    for (const auto& k : erase)
        doomed.insert(std::get<0>(k));
    for (bool changed = true; changed;) {
        changed = false;
        std::vector<std::optional<ObjectId>> ids(doomed.begin(), doomed.end());
        for_batches(ids, batch_rows, [&](std::span<const std::optional<ObjectId>> batch) {
            for (const auto& l : tx.template find_by<LocationRow, 6>(batch))
                if (!doomed.count(l.object_id) && doomed.erase(*l.base))
                    kept.insert(*l.base), changed = true;
        });
        std::vector<Key<LocationRow>> keys(doomed.begin(), doomed.end());
        std::vector<ObjectId> orphans; // bases of doomed deltas, not doomed themselves yet
        for (const auto& l : tx.template find<LocationRow>(keys))
            if (l && l->base && !doomed.count(*l->base) && !kept.count(*l->base))
                orphans.push_back(*l->base);
        std::unordered_set<ObjectId> referenced;
        for (const auto& ref :
             tx.template find_by<ObjectRefRow, 1>(std::span<const ObjectId>(orphans)))
            referenced.insert(ref.object_id);
        std::vector<Key<ObjectRow>> rows(orphans.begin(), orphans.end());
        auto found = tx.template find<ObjectRow>(rows);
        auto locs = tx.template find<LocationRow>(
            std::vector<Key<LocationRow>>(orphans.begin(), orphans.end()));
        for (std::size_t i = 0; i < orphans.size(); ++i)
            if (found[i] && found[i]->created_at <= cutoff && !referenced.count(orphans[i]) &&
                doomed.insert(orphans[i]).second) {
                changed = true;
                if (locs[i])
                    containers.push_back(locs[i]->container);
            }
    }
    erase.assign(doomed.begin(), doomed.end());
    std::sort(erase.begin(), erase.end());
}
} // namespace detail

template <AlgorithmHub H>
GcResult gc(H& hub, const std::string& repo, const GcHooks& hooks = {}) {
    using namespace catalog;
    auto& cat = hub.catalog();
    const auto& opt = hub.options();
    const auto now = hub.now();
    const auto cutoff = now - opt.grace;
    GcResult r;
    r.repo = repo;

    // The epoch first: everything read after it is checked against it before anything is deleted.
    Key<RepoRow> repo_key{repo};
    auto seen_repo = catalog::find_one<RepoRow>(cat, repo_key);
    auto heads = cat.template scan<Branch>(std::tuple{repo});
    if (heads.empty()) {
        r.skipped = true;
        r.reason = "repo '" + repo + "' has no branches";
    } else {
        // ---- scan ---------------------------------------------------------------------------
        std::vector<CommitRefRow> commit_refs;
        std::vector<SnapshotRefRow> snapshot_refs;
        std::vector<ObjectRefRow> object_refs;
        CommitSet live_commits;
        std::unordered_set<SnapshotId> live_snapshots;
        std::unordered_set<ObjectId> live_objects;
        r.times.time("scan", [&] {
            commit_refs = cat.template scan<CommitRefRow>(std::tuple{repo});
            snapshot_refs = cat.template scan<SnapshotRefRow>(std::tuple{repo});
            object_refs = cat.template scan<ObjectRefRow>(std::tuple{repo});
            std::vector<CommitId> roots;
            for (const auto& b : heads)
                roots.push_back(b.head);
            for (const auto& c : commit_refs)
                if (c.touched > cutoff)
                    roots.push_back(c.commit_id);
            auto walk = walk_ancestors(std::span<const CommitId>(roots), catalog_parents(cat));
            for (const auto& id : walk.unknown)
                r.errors.push_back("commit " + id.hex() +
                                   " is reachable but has no row (run fsck)");
            live_commits.insert(walk.reached.begin(), walk.reached.end());
            live_commits.insert(walk.unknown.begin(), walk.unknown.end());
            for_batches(walk.reached, opt.batch_rows, [&](std::span<const CommitId> batch) {
                // A row can be gone when another GC of this repo deleted it since the walk;
                // that GC bumped gc_epoch, so this one's delete below will not run.
                for (const auto& row : cat.template find<CommitRow>(keys_of(batch)))
                    if (row)
                        live_snapshots.insert(row->snapshot_id);
            });
            for (const auto& s : snapshot_refs)
                if (s.touched > cutoff)
                    live_snapshots.insert(s.snapshot_id);
            std::vector<SnapshotId> snaps(live_snapshots.begin(), live_snapshots.end());
            for_each_named_object(cat, std::span<const SnapshotId>(snaps), opt.batch_rows,
                                  opt.limits, [&](const ObjectId& id) { live_objects.insert(id); });
            for (const auto& o : object_refs)
                if (o.touched > cutoff)
                    live_objects.insert(o.object_id);
        });
        r.live_commits = live_commits.size();
        r.live_snapshots = live_snapshots.size();
        r.live_objects = live_objects.size();

        std::vector<CommitRefRow> dead_commits;
        for (const auto& c : commit_refs)
            if (!live_commits.count(c.commit_id))
                dead_commits.push_back(c);
        std::vector<SnapshotRefRow> dead_snapshots;
        for (const auto& s : snapshot_refs)
            if (!live_snapshots.count(s.snapshot_id))
                dead_snapshots.push_back(s);
        std::vector<ObjectRefRow> dead_objects;
        for (const auto& o : object_refs)
            if (!live_objects.count(o.object_id))
                dead_objects.push_back(o);
        if (hooks.after_scan)
            hooks.after_scan();

        // ---- drop dead refs and delete what nothing refers to: one transaction, only if
        // nothing was registered since the scan; it bumps gc_epoch so a push that checked
        // before it knows to check again.
        if (!dead_commits.empty() || !dead_snapshots.empty() || !dead_objects.empty()) {
            bool done = r.times.time("delete", [&] {
                return cat.transact([&](auto& tx) {
                    auto current = catalog::find_one<RepoRow>(tx, repo_key);
                    if (current != seen_repo || !current)
                        return false;
                    auto bumped = *current;
                    ++bumped.gc_epoch;
                    tx.template compare_and_swap<RepoRow>(repo_key, current, bumped);
                    r.commit_refs_dropped =
                        tx.erase_exact(std::span<const CommitRefRow>(dead_commits));
                    r.snapshot_refs_dropped =
                        tx.erase_exact(std::span<const SnapshotRefRow>(dead_snapshots));
                    r.object_refs_dropped =
                        tx.erase_exact(std::span<const ObjectRefRow>(dead_objects));
                    auto unreferenced =
                        [&]<class Row, class RefRow, class Id>(const std::vector<Id>& ids) {
                            std::vector<Key<Row>> gone;
                            for_batches(ids, opt.batch_rows, [&](std::span<const Id> batch) {
                                std::unordered_set<Id> referenced;
                                for (const auto& ref : tx.template find_by<RefRow, 1>(batch))
                                    referenced.insert(field<1>(ref));
                                for (const auto& id : batch)
                                    if (!referenced.count(id))
                                        gone.emplace_back(id);
                            });
                            return gone;
                        };
                    std::vector<CommitId> cids;
                    for (const auto& c : dead_commits)
                        cids.push_back(c.commit_id);
                    r.commits_deleted = tx.template erase<CommitRow>(
                        unreferenced.template operator()<CommitRow, CommitRefRow>(cids));
                    std::vector<SnapshotId> sids;
                    for (const auto& x : dead_snapshots)
                        sids.push_back(x.snapshot_id);
                    auto doomed =
                        unreferenced.template operator()<SnapshotRow, SnapshotRefRow>(sids);
                    {
                        std::vector<SnapshotId> ids;
                        for (const auto& k : doomed)
                            ids.push_back(std::get<0>(k));
                        r.snapshots_rebased = rebase_dependents(
                            tx, std::span<const SnapshotId>(ids), opt.batch_rows, opt.limits);
                    }
                    r.snapshots_deleted = tx.template erase<SnapshotRow>(doomed);
                    std::vector<ObjectId> oids;
                    for (const auto& o : dead_objects)
                        oids.push_back(o.object_id);
                    auto gone = unreferenced.template operator()<ObjectRow, ObjectRefRow>(oids);
                    std::vector<Key<ObjectRow>> erase;
                    std::vector<std::string> containers;
                    for_batches(std::span<const Key<ObjectRow>>(gone), opt.batch_rows,
                                [&](std::span<const Key<ObjectRow>> batch) {
                                    auto rows = tx.template find<ObjectRow>(batch);
                                    auto locs = tx.template find<LocationRow>(batch);
                                    for (std::size_t i = 0; i < batch.size(); ++i) {
                                        if (rows[i] && rows[i]->created_at > cutoff)
                                            continue; // fresh upload: keep
                                        erase.push_back(batch[i]);
                                        if (locs[i])
                                            containers.push_back(locs[i]->container);
                                    }
                                });
                    detail::settle_bases(tx, erase, containers, opt.batch_rows, cutoff);
                    for_batches(std::span<const Key<ObjectRow>>(erase), opt.batch_rows,
                                [&](std::span<const Key<ObjectRow>> batch) {
                                    for (const auto& row : tx.template find<ObjectRow>(batch))
                                        if (row)
                                            r.object_bytes_deleted += row->size;
                                });
                    r.objects_deleted = tx.template erase<ObjectRow>(erase);
                    tx.template erase<LocationRow>(erase);
                    std::sort(containers.begin(), containers.end());
                    containers.erase(std::unique(containers.begin(), containers.end()),
                                     containers.end());
                    r.containers_retired = detail::retire_empty_containers(tx, containers, now);
                    return true;
                });
            });
            if (!done) {
                r.skipped = true;
                r.reason = "repo '" + repo + "' changed while GC scanned it; run GC again";
            }
        }
    }

    // A collection leaves dead bytes in containers: the follow-up repack reclaims them.
    const bool collected = r.commits_deleted + r.snapshots_deleted + r.objects_deleted > 0;
    if (collected)
        schedule_repack(hub, repo);

    // Past their expiry, or all of the repo's once this run collected anything: a cached answer
    // may hold what was collected, and bytes on disk after collecting are the live history's.
    r.times.time("expire cache", [&] {
        r.cache_entries_expired = detail::expire_fetch_cache(hub, std::tuple{repo}, collected);
    });
    r.times.time("sweep uploads", [&] {
        r.uploads_abandoned = detail::sweep_abandoned_uploads(hub, std::tuple{repo}, r.errors);
    });
    // What this run retired is purged, and the space its deletes left given back, by the sweep.
    if (collected || r.containers_retired > 0 || r.cache_entries_expired > 0)
        schedule_sweep(hub);
    return r;
}

} // namespace musehub::algo
