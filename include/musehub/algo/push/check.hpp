#pragma once
// Push, check phase: closure (parents, snapshots, every object of every new snapshot registered
// and its bytes present) and fast-forward, by batched reads, before writing history. A push
// refused here has written nothing.

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/push/input.hpp"
#include "musehub/algo/push/result.hpp"
#include "musehub/detail/parallel.hpp"
#include "musehub/store/batch.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace musehub::algo {

namespace detail {
// Whether `head` may replace the branch's current head; throws non_fast_forward if not.
template <class Parents>
PushOutcome decide(const std::optional<Branch>& current, const CommitId& head, bool force,
                   Parents&& parents, const std::string& repo, const std::string& branch) {
    if (!current)
        return PushOutcome::created;
    if (current->head == head)
        return PushOutcome::unchanged;
    if (is_ancestor(current->head, head, parents))
        return PushOutcome::fast_forward;
    if (!force)
        fail(errc::non_fast_forward,
             "branch '" + branch + "' of '" + repo + "' is at " + current->head.hex() + "; " +
                 head.hex() + " does not descend from it (push with force to overwrite)");
    return PushOutcome::forced;
}

// The ids a pack carries.
struct CarriedIds {
    explicit CarriedIds(const Pack& pack) {
        for (const auto& c : pack.commits)
            commits.insert(c.commit_id);
        for (const auto& s : pack.snapshots)
            snapshots.insert(s.snapshot_id);
        for (const auto& o : pack.objects)
            objects.insert(o.id);
    }
    std::unordered_set<CommitId> commits;
    std::unordered_set<SnapshotId> snapshots;
    std::unordered_set<ObjectId> objects;
};

// GC deletions so far: the branch moves only if no more happened since.
template <class C>
std::uint64_t gc_epoch_of(const C& cat, const std::string& repo) {
    catalog::Key<catalog::RepoRow> key{repo};
    auto row = catalog::find_one<catalog::RepoRow>(cat, key);
    return row ? row->gc_epoch : 0;
}

// The head is in the push or in the repo.
template <class C>
void require_known_head(const C& cat, const std::string& repo, const CarriedIds& carried,
                        const CommitId& head) {
    using catalog::CommitRefRow;
    if (carried.commits.count(head))
        return;
    auto known =
        cat.template contains<CommitRefRow>(std::vector<catalog::Key<CommitRefRow>>{{repo, head}});
    if (!known[0])
        fail(errc::unknown_parent,
             "head " + head.hex() + " is neither in the push nor in repo '" + repo + "'");
}

// The pushed commits and snapshots the repo does not have yet.
template <class C>
void find_fresh(const C& cat, const std::string& repo, const Pack& pack, HistoryPlan& plan) {
    std::vector<CommitId> cids;
    for (const auto& c : pack.commits)
        cids.push_back(c.commit_id);
    auto known_c = cat.template contains<catalog::CommitRefRow>(
        repo_keys(repo, std::span<const CommitId>(cids)));
    for (std::size_t i = 0; i < cids.size(); ++i)
        if (!known_c[i])
            plan.fresh_commits.push_back(&pack.commits[i]);
    std::vector<SnapshotId> sids;
    for (const auto& s : pack.snapshots)
        sids.push_back(s.snapshot_id);
    auto known_s = cat.template contains<catalog::SnapshotRefRow>(
        repo_keys(repo, std::span<const SnapshotId>(sids)));
    for (std::size_t i = 0; i < sids.size(); ++i)
        if (!known_s[i])
            plan.fresh_snapshots.push_back(&pack.snapshots[i]);
}

// The parents and snapshots of new commits that the push does not carry.
inline void find_external(const CarriedIds& carried, HistoryPlan& plan) {
    std::unordered_set<CommitId> ext_p;
    std::unordered_set<SnapshotId> ext_s;
    for (const auto* c : plan.fresh_commits) {
        for (const auto& p : c->parents())
            if (!carried.commits.count(p))
                ext_p.insert(p);
        if (!carried.snapshots.count(c->snapshot_id))
            ext_s.insert(c->snapshot_id);
    }
    plan.external_parents.assign(ext_p.begin(), ext_p.end());
    plan.external_snapshots.assign(ext_s.begin(), ext_s.end());
}

// The ids among `ids` that `repo` has no `Ref` row for, in hex.
template <class Ref, class C, class Id>
std::vector<std::string> unreferenced(const C& cat, const std::string& repo,
                                      const std::vector<Id>& ids) {
    auto have = cat.template contains<Ref>(repo_keys(repo, std::span<const Id>(ids)));
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (!have[i])
            missing.push_back(ids[i].hex());
    return missing;
}

// Every parent and snapshot the push builds on outside itself is in the repo.
template <class C>
void require_closure(const C& cat, const std::string& repo, const HistoryPlan& plan) {
    auto missing = unreferenced<catalog::CommitRefRow>(cat, repo, plan.external_parents);
    if (!missing.empty())
        fail(errc::unknown_parent, std::to_string(missing.size()) +
                                       " parent commit(s) are neither in the push nor in repo '" +
                                       repo + "': " + list_ids(missing));
    missing = unreferenced<catalog::SnapshotRefRow>(cat, repo, plan.external_snapshots);
    if (!missing.empty())
        fail(errc::missing_object,
             std::to_string(missing.size()) +
                 " snapshot(s) named by pushed commits are neither in the push nor in repo '" +
                 repo + "': " + list_ids(missing));
}

// Every distinct object of the fresh snapshots, into plan.objects; returns those the push does
// not carry.
// (Manifests are full lists — XL's are 34.6 M entries in all — so the distinct ids are
// gathered per slice of snapshots on every core, then merged in order.)
inline std::vector<ObjectId> gather_snapshot_objects(const CarriedIds& carried, HistoryPlan& plan) {
    std::vector<ObjectId> elsewhere;
    const auto& fresh = plan.fresh_snapshots;
    std::size_t slices = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::vector<ObjectId>> first_seen(slices);
    musehub::detail::parallel_for(
        slices,
        [&](std::size_t k) {
            std::unordered_set<ObjectId> local;
            for (auto i = k * fresh.size() / slices; i < (k + 1) * fresh.size() / slices; ++i)
                for (const auto& e : fresh[i]->manifest)
                    if (local.insert(e.object).second)
                        first_seen[k].push_back(e.object);
        },
        1);
    std::unordered_set<ObjectId> seen;
    for (const auto& ids : first_seen)
        for (const auto& id : ids)
            if (seen.insert(id).second) {
                plan.objects.push_back(id);
                if (!carried.objects.count(id))
                    elsewhere.push_back(id);
            }
    return elsewhere;
}

// Every object in `ids` is registered and its container's bytes are in the store.
template <class H>
void require_objects_present(H& hub, const std::vector<ObjectId>& ids) {
    std::vector<std::string> absent, bytes_missing;
    std::unordered_map<std::string, std::vector<ObjectId>> by_container;
    for_batches(ids, hub.options().batch_rows, [&](std::span<const ObjectId> batch) {
        auto locs = hub.catalog().template find<catalog::LocationRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!locs[i])
                absent.push_back(batch[i].hex());
            else
                by_container[locs[i]->container].push_back(batch[i]);
        }
    });
    std::vector<std::string> containers;
    for (const auto& [k, _] : by_container)
        containers.push_back(k);
    auto present = sizes(hub.store(), std::span<const std::string>(containers));
    for (std::size_t i = 0; i < containers.size(); ++i)
        if (!present[i])
            for (const auto& id : by_container[containers[i]])
                bytes_missing.push_back(id.hex());
    if (!absent.empty() || !bytes_missing.empty())
        fail(errc::missing_object,
             std::to_string(absent.size() + bytes_missing.size()) +
                 " object(s) of the pushed snapshots are missing: " +
                 std::to_string(absent.size()) + " not in the push or storage" +
                 (absent.empty() ? "" : " (" + list_ids(absent) + ")") + ", " +
                 std::to_string(bytes_missing.size()) + " registered but their bytes are missing" +
                 (bytes_missing.empty() ? "" : " (" + list_ids(bytes_missing) + ")"));
}
} // namespace detail

template <AlgorithmHub H>
HistoryPlan check_history(H& hub, const std::string& repo, const Pack& pack,
                          const std::string& branch, bool force) {
    detail::validate_name("repo", repo);
    detail::validate_name("branch", branch);
    auto& cat = hub.catalog();
    HistoryPlan plan;
    plan.head = detail::pick_head(pack, branch);
    plan.gc_epoch = detail::gc_epoch_of(cat, repo);
    const detail::CarriedIds carried(pack);
    detail::require_known_head(cat, repo, carried, plan.head);

    // What the repo already has.
    detail::find_fresh(cat, repo, pack, plan);

    // Closure: every parent and snapshot of a new commit is in the push or in the repo.
    detail::find_external(carried, plan);
    detail::require_closure(cat, repo, plan);

    // Every object of every new snapshot: carried by the push, or registered with its bytes
    // present.
    detail::require_objects_present(hub, detail::gather_snapshot_objects(carried, plan));

    // Fast-forward.
    catalog::Key<Branch> branch_key{repo, branch};
    plan.current = catalog::find_one<Branch>(cat, branch_key);
    plan.outcome = detail::decide(plan.current, plan.head, force,
                                  pack_then_catalog_parents(cat, pack), repo, branch);
    return plan;
}

} // namespace musehub::algo
