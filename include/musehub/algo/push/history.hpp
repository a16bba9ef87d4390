#pragma once
// Push, history and branch phases: refs (touched now) and snapshot and commit rows, in batched
// transactions; then the branch's compare-and-swap, retried against concurrent pushes, in a
// transaction that also proves the new head is still registered and GC deleted nothing since
// the checks; then the follow-up jobs.

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/follow_up.hpp"
#include "musehub/algo/push/check.hpp"
#include "musehub/algo/push/epoch.hpp"
#include "musehub/algo/push/result.hpp"
#include "musehub/algo/push/snapshot_rows.hpp"
#include "musehub/hub_options.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace musehub::algo {

namespace detail {
// The result of writing `plan`, before anything is written.
inline PushResult planned_result(const std::string& repo, const std::string& branch,
                                 const Pack& pack, const HistoryPlan& plan) {
    PushResult r;
    r.repo = repo;
    r.branch = branch;
    r.head = plan.head;
    r.outcome = plan.outcome;
    r.previous = plan.current ? std::optional<CommitId>(plan.current->head) : std::nullopt;
    r.commits = pack.commits.size();
    r.snapshots = pack.snapshots.size();
    r.commits_new = plan.fresh_commits.size();
    r.snapshots_new = plan.fresh_snapshots.size();
    return r;
}

// Touch what the new history stands on, so GC keeps it (and notices us), and prove it is
// still there.
template <class C>
void touch_external_history(C& cat, const std::string& repo, const std::string& branch,
                            const HistoryPlan& plan, TimePoint now) {
    using catalog::CommitRefRow;
    using catalog::SnapshotRefRow;
    cat.transact([&](auto& tx) {
        bump_epoch(tx, repo, branch);
        std::vector<CommitRefRow> cr;
        for (const auto& p : plan.external_parents)
            cr.push_back({repo, p, now});
        std::vector<SnapshotRefRow> sr;
        for (const auto& s : plan.external_snapshots)
            sr.push_back({repo, s, now});
        auto pc = tx.template contains<catalog::CommitRow>(
            keys_of(std::span<const CommitId>(plan.external_parents)));
        auto sc = tx.template contains<catalog::SnapshotRow>(
            keys_of(std::span<const SnapshotId>(plan.external_snapshots)));
        if (std::find(pc.begin(), pc.end(), false) != pc.end() ||
            std::find(sc.begin(), sc.end(), false) != sc.end())
            fail(errc::conflict, "history this push builds on was collected while it was "
                                 "checked; retry the push");
        tx.upsert(std::span<const CommitRefRow>(cr));
        tx.upsert(std::span<const SnapshotRefRow>(sr));
        return 0;
    });
}

// The repo's refs to every object of every fresh snapshot, proving each is still registered.
template <class C>
void touch_object_refs(C& cat, const HubOptions& opt, const std::string& repo,
                       const std::string& branch, const std::vector<ObjectId>& objects,
                       TimePoint now) {
    for_batches(objects, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        cat.transact([&](auto& tx) {
            bump_epoch(tx, repo, branch);
            auto present = tx.template contains<catalog::ObjectRow>(keys_of(batch));
            if (std::find(present.begin(), present.end(), false) != present.end())
                fail(errc::conflict,
                     "objects were collected while this push registered them; retry the push");
            std::vector<catalog::ObjectRefRow> refs;
            refs.reserve(batch.size());
            for (const auto& id : batch)
                refs.push_back({repo, id, now});
            tx.upsert(std::span<const catalog::ObjectRefRow>(refs));
            return 0;
        });
    });
}

// Parents first; every pushed commit's ref is touched, known ones too, so a re-pushed
// branch keeps its history even if it had become unreachable.
template <class C>
void write_commits(C& cat, const HubOptions& opt, const std::string& repo,
                   const std::string& branch, const Pack& pack, TimePoint now) {
    auto order = topological_order(pack.commits);
    for_batches(std::span<const Commit* const>(order), opt.batch_rows,
                [&](std::span<const Commit* const> batch) {
                    std::vector<catalog::CommitRow> rows;
                    std::vector<catalog::CommitRefRow> refs;
                    for (const auto* c : batch) {
                        refs.push_back({repo, c->commit_id, now});
                        rows.push_back({c->commit_id, c->snapshot_id, c->parent_commit_id,
                                        c->parent2_commit_id, catalog::stored_record(*c)});
                    }
                    cat.transact([&](auto& tx) {
                        bump_epoch(tx, repo, branch);
                        tx.insert(std::span<const catalog::CommitRow>(rows));
                        tx.upsert(std::span<const catalog::CommitRefRow>(refs));
                        return 0;
                    });
                });
}

// One compare-and-swap of the branch from `current` to r.head; false if someone else moved
// it first.
template <class C>
bool try_move_branch(C& cat, const PushResult& r, const std::optional<Branch>& current,
                     std::uint64_t gc_epoch) {
    return cat.transact([&](auto& tx) {
        // Moving a branch changes what GC must keep: it bumps the epoch like any write.
        bump_epoch(tx, r.repo, r.branch);
        {
            catalog::Key<catalog::RepoRow> key{r.repo};
            auto row = catalog::find_one<catalog::RepoRow>(tx, key);
            if (row && row->gc_epoch != gc_epoch)
                throw GcRaced{};
        }
        catalog::Key<catalog::CommitRefRow> head_ref{r.repo, r.head};
        if (!catalog::contains_one<catalog::CommitRefRow>(tx, head_ref))
            fail(errc::conflict,
                 "the pushed head was collected before the branch moved; retry the push");
        catalog::Key<Branch> branch_key{r.repo, r.branch};
        return tx.template compare_and_swap<Branch>(branch_key, current,
                                                    Branch{r.repo, r.branch, r.head});
    });
}

// Moves the branch to r.head, unless the outcome is unchanged. If another push moved it, the
// decision is made again against where it is now (r.previous and r.outcome follow).
template <class C>
void move_branch(C& cat, const Pack& pack, bool force, const HistoryPlan& plan, PushResult& r) {
    catalog::Key<Branch> branch_key{r.repo, r.branch};
    auto current = plan.current;
    for (int attempt = 0; r.outcome != PushOutcome::unchanged; ++attempt) {
        if (try_move_branch(cat, r, current, plan.gc_epoch))
            break;
        if (attempt >= 16)
            fail(errc::conflict, "branch '" + r.branch + "' kept moving under this push; retry");
        // Someone else moved it: decide again against what is there now.
        current = catalog::find_one<Branch>(cat, branch_key);
        r.previous = current ? std::optional<CommitId>(current->head) : std::nullopt;
        r.outcome =
            decide(current, r.head, force, pack_then_catalog_parents(cat, pack), r.repo, r.branch);
    }
}
} // namespace detail

// Writes the rows of a checked plan and moves the branch. The objects must be registered by
// now (store_objects, or an earlier upload).
template <AlgorithmHub H>
PushResult write_history(H& hub, const std::string& repo, const Pack& pack,
                         const std::string& branch, bool force, HistoryPlan plan,
                         PhaseTimes times = {}) {
    auto& cat = hub.catalog();
    const auto& opt = hub.options();
    PushResult r = detail::planned_result(repo, branch, pack, plan);
    // ---- history rows ---------------------------------------------------------------------
    auto now = hub.now();
    {
        auto phase = times.scope("refs");
        detail::touch_external_history(cat, repo, branch, plan, now);
        detail::touch_object_refs(cat, opt, repo, branch, plan.objects, now);
    }
    times.time("snapshots", [&] {
        detail::write_snapshots(cat, opt, repo, branch, pack, plan.fresh_snapshots, now);
    });
    times.time("commits", [&] { detail::write_commits(cat, opt, repo, branch, pack, now); });

    // ---- branch ---------------------------------------------------------------------------
    times.time("branch", [&] { detail::move_branch(cat, pack, force, plan, r); });
    schedule_repack(hub, repo); // the new container, and whatever it makes worth merging
    r.times = std::move(times);
    return r;
}

} // namespace musehub::algo
