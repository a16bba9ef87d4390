#pragma once
// Push: every transport (pack push, stream push, presigned push, index job) ends here.
//
//   verify  -> every object hash, snapshot id, commit id and signature (algo/verify.hpp)
//   store   -> the container's bytes, under a key no other upload uses, before any row
//   objects -> object and location rows, and a ref for this repo, in short batched transactions
//   check   -> closure (parents, snapshots, every object of every new snapshot registered and its
//              bytes present) and fast-forward, by batched reads, before writing history
//   history -> refs (touched now) and snapshot and commit rows, in batched transactions
//   branch  -> compare-and-swap, retried against concurrent pushes, in a transaction that also
//              proves the new head is still registered
//   jobs    -> follow-up work, enqueued idempotently
//
// Every write transaction bumps the repo's epoch; GC deletes only if the epoch it scanned at
// is still current (algo/gc.hpp). Bad input fails before the first write, so it leaves the hub
// exactly as it was.

#include "musehub/algo/chains.hpp"
#include "musehub/algo/follow_up.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/algo/verify.hpp"
#include "musehub/hub_options.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/store/batch.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace musehub::algo {

using namespace musehub::catalog;

struct StoredObjects {
    std::string container;   // where fresh bytes went; empty when every object was known
    std::size_t objects = 0; // distinct objects in the pack
    std::size_t fresh = 0;   // of those, new to the hub
    std::uint64_t bytes = 0; // bytes written to the store
};

enum class PushOutcome { created, fast_forward, forced, unchanged };

constexpr std::string_view to_string(PushOutcome o) noexcept {
    switch (o) {
    case PushOutcome::created:
        return "created";
    case PushOutcome::fast_forward:
        return "fast-forward";
    case PushOutcome::forced:
        return "forced";
    case PushOutcome::unchanged:
        return "unchanged";
    }
    return "unknown";
}

struct PushResult {
    std::string repo;
    std::string branch;
    CommitId head;
    std::optional<CommitId> previous;
    PushOutcome outcome = PushOutcome::unchanged;
    std::size_t commits = 0, commits_new = 0;
    std::size_t snapshots = 0, snapshots_new = 0;
    StoredObjects stored;
    PhaseTimes times;
};

namespace detail {
// Both are caught inside this file and retried; they derive from std::exception so that one
// escaping by mistake still reaches every `catch (const std::exception&)` with a message.
struct Retry : std::runtime_error { // a row this push counted on vanished under it (GC): go again
    Retry() : std::runtime_error("a row this push relied on was collected; retry the push") {}
};
struct GcRaced : std::runtime_error { // GC deleted something after this push checked
    GcRaced() : std::runtime_error("GC collected this repo during the push; retry the push") {}
};

// Bumps the repo's epoch inside a write transaction, creating the repo on first use.
template <class Tx>
void bump_epoch(Tx& tx, const std::string& repo, const std::string& default_branch) {
    Key<RepoRow> key{repo};
    auto row = catalog::find_one<RepoRow>(tx, key);
    RepoRow next = row ? *row : RepoRow{repo, {}, 0};
    if (next.default_branch.empty())
        next.default_branch = default_branch; // the first branch pushed
    ++next.epoch;
    if (!tx.template compare_and_swap<RepoRow>(key, row, next))
        fail(errc::conflict, "repo '" + repo + "' changed inside a transaction");
}

inline void validate_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > 255 || name.find('\0') != std::string_view::npos ||
        !is_valid_utf8(name))
        fail(errc::invalid_argument, std::string(what) +
                                         " must be 1-255 bytes of UTF-8 without NUL: '" +
                                         std::string(name.substr(0, 80)) + "'");
}

inline std::string list_ids(const std::vector<std::string>& ids, std::size_t max = 5) {
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < max; ++i)
        s += (i ? ", " : "") + ids[i];
    if (ids.size() > max)
        s += ", … (" + std::to_string(ids.size() - max) + " more)";
    return s;
}

// The commit a push moves its branch to: the pack's branch_heads entry, else its only tip.
inline CommitId pick_head(const Pack& pack, const std::string& branch) {
    if (auto it = pack.branch_heads.find(branch); it != pack.branch_heads.end())
        return it->second;
    if (pack.commits.empty())
        fail(errc::invalid_argument, "push to '" + branch + "' carries no commits");
    std::unordered_set<CommitId> parents;
    for (const auto& c : pack.commits)
        for (const auto& p : c.parents())
            parents.insert(p);
    std::vector<CommitId> tips;
    for (const auto& c : pack.commits)
        if (!parents.count(c.commit_id))
            tips.push_back(c.commit_id);
    std::sort(tips.begin(), tips.end());
    tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
    if (tips.size() != 1)
        fail(errc::invalid_argument, "push to '" + branch + "' has " + std::to_string(tips.size()) +
                                         " tips and no branch_heads entry naming the head");
    return tips[0];
}
} // namespace detail

namespace detail {
// Retires an uploaded pack nothing points into (idempotent), with the row an earlier run of
// its index job may have given it before it died.
template <class C>
void retire_unused_upload(C& cat, const std::string& container, TimePoint now) {
    cat.transact([&](auto& tx) {
        if (!tx.template find_by<LocationRow, 1>(std::span<const std::string>(&container, 1))
                 .empty())
            return 0;
        tx.template erase<ContainerRow>(std::vector<Key<ContainerRow>>{{container}});
        TombstoneRow t{container, now};
        return static_cast<int>(tx.insert(std::span<const TombstoneRow>(&t, 1)));
    });
}
} // namespace detail

namespace detail {
// Whether every base the `locations` name is among `rows` (going in now) or already stored.
template <class Tx>
bool bases_present(Tx& tx, const std::vector<ObjectRow>& rows,
                   const std::vector<LocationRow>& locations) {
    std::unordered_set<ObjectId> now;
    for (const auto& r : rows)
        now.insert(r.object_id);
    std::vector<Key<ObjectRow>> stored;
    for (const auto& l : locations)
        if (l.base && !now.count(*l.base))
            stored.emplace_back(*l.base);
    auto present = tx.template contains<ObjectRow>(stored);
    return std::find(present.begin(), present.end(), false) == present.end();
}

// Distinct objects of a pack, each base before the deltas on it: a delta's row goes in with
// or after its base's, which must exist when the delta's transaction commits.
inline std::vector<const PackObject*> bases_first(const Pack& pack, const Limits& limits) {
    std::vector<const PackObject*> objects;
    std::unordered_set<ObjectId> seen;
    for (const auto& o : pack.objects)
        if (seen.insert(o.id).second)
            objects.push_back(&o);
    std::vector<PackObject> flat;
    flat.reserve(objects.size());
    for (const auto* o : objects)
        flat.push_back(*o);
    auto plan =
        musehub::detail::plan_chains(std::span<const PackObject>(flat), limits.max_delta_depth);
    std::vector<std::size_t> order(objects.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return plan.level[a] < plan.level[b]; });
    std::vector<const PackObject*> out;
    out.reserve(objects.size());
    for (auto i : order)
        out.push_back(objects[i]);
    return out;
}

// The stored depth each delta of `objects` (bases first) will have: one more than its base's,
// whether the base comes in this push (not `known` to the hub) or is stored already. A chain
// that would pass max_delta_depth, or a base the hub does not have, is refused.
template <class C>
std::vector<std::uint32_t> delta_depths(const C& cat, std::span<const PackObject* const> objects,
                                        const std::vector<bool>& known, const HubOptions& opt) {
    std::unordered_map<ObjectId, std::size_t> fresh_at;
    std::vector<ObjectId> stored_bases;
    for (std::size_t i = 0; i < objects.size(); ++i)
        if (!known[i])
            fresh_at.emplace(objects[i]->id, i);
    for (std::size_t i = 0; i < objects.size(); ++i)
        if (!known[i] && objects[i]->encoding == Encoding::zstd_delta)
            if (auto b = delta_base(*objects[i]); !fresh_at.count(b))
                stored_bases.push_back(b);
    std::unordered_map<ObjectId, std::uint32_t> stored_depth;
    for_batches(stored_bases, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto locs = cat.template find<LocationRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (locs[i])
                stored_depth.emplace(batch[i], locs[i]->depth);
    });
    std::vector<std::uint32_t> depth(objects.size(), 0);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (known[i] || objects[i]->encoding != Encoding::zstd_delta)
            continue;
        auto b = delta_base(*objects[i]);
        if (auto f = fresh_at.find(b); f != fresh_at.end())
            depth[i] = depth[f->second] + 1;
        else if (auto s = stored_depth.find(b); s != stored_depth.end())
            depth[i] = s->second + 1;
        else
            fail(errc::missing_object, "object " + objects[i]->id.hex() + " is a delta against " +
                                           b.hex() + ", which is neither in the push nor stored");
        if (depth[i] > opt.limits.max_delta_depth)
            fail(errc::oversized, "object " + objects[i]->id.hex() +
                                      " would be stored at the end of a delta chain of " +
                                      std::to_string(depth[i]) + " links, over max_delta_depth = " +
                                      std::to_string(opt.limits.max_delta_depth) +
                                      "; send it whole or against a nearer base");
    }
    return depth;
}
} // namespace detail

// Stores the bytes of a container whose objects `pack.objects` view, and registers those
// objects for `repo`. With `existing`, the bytes are already in the store under that key (an
// index job): nothing is uploaded. Objects the hub already has are not stored again.
template <class H>
StoredObjects store_objects(H& hub, const std::string& repo, const Pack& pack, BytesView container,
                            ContainerFormat format, PhaseTimes& times,
                            const std::string* existing = nullptr) {
    StoredObjects out;
    if (pack.objects.empty())
        return out;
    auto& cat = hub.catalog();
    const auto& opt = hub.options();

    // Distinct objects, each with its place in the container, bases first.
    const std::vector<const PackObject*> objects = detail::bases_first(pack, opt.limits);
    std::vector<ObjectId> ids;
    for (const auto* o : objects)
        ids.push_back(o->id);
    out.objects = ids.size();
    auto offset_of = [&](const PackObject& o) -> std::uint64_t {
        auto off = o.stored.data() - container.data();
        if (off < 0 || static_cast<std::size_t>(off) + o.stored.size() > container.size())
            fail(errc::invalid_argument,
                 "object " + o.id.hex() + " does not lie inside its container");
        return static_cast<std::uint64_t>(off);
    };

    const PackId pack_id{sha256(container)};
    for (int attempt = 0;; ++attempt) {
        // An uploaded pack retired since (an earlier run of this index job registered it and
        // a repack or GC has moved on) is never pointed at again: what it holds that the
        // hub lacks now goes up under a fresh key, as a pack push's would.
        if (existing) {
            Key<TombstoneRow> tomb{*existing};
            if (catalog::contains_one<TombstoneRow>(cat, tomb))
                existing = nullptr;
        }
        std::vector<bool> known;
        times.time("object rows", [&] {
            for_batches(ids, opt.batch_rows, [&](std::span<const ObjectId> batch) {
                auto k = cat.template contains<ObjectRow>(keys_of(batch));
                known.insert(known.end(), k.begin(), k.end());
            });
        });
        bool any_fresh = std::find(known.begin(), known.end(), false) != known.end();
        const auto depths = times.time("object rows", [&] {
            return detail::delta_depths(cat, std::span<const PackObject* const>(objects), known,
                                        opt);
        });
        std::string key;
        if (any_fresh) {
            if (existing)
                key = *existing;
            else {
                key = container_key(pack_id, hub.now());
                times.time("store bytes", [&] { hub.store().put(key, container); });
                out.bytes = container.size();
            }
        }
        try {
            times.time("object rows", [&] {
                auto now = hub.now();
                if (!key.empty()) {
                    ContainerRow row{key,
                                     pack_id,
                                     format,
                                     container.size(),
                                     ids.size(),
                                     pack.commits.size(),
                                     pack.snapshots.size(),
                                     now};
                    cat.transact([&](auto& tx) {
                        detail::bump_epoch(tx, repo, "");
                        // GC sweeps bytes no row claims once they are old enough: if it took
                        // ours for a stray, upload again under a new key.
                        Key<TombstoneRow> tomb{key};
                        if (catalog::contains_one<TombstoneRow>(tx, tomb))
                            throw detail::Retry{};
                        return tx.insert(std::span<const ContainerRow>(&row, 1));
                    });
                }
                std::size_t fresh = 0;
                for (std::size_t first = 0; first < objects.size(); first += opt.batch_rows) {
                    auto n = std::min(opt.batch_rows, objects.size() - first);
                    std::span<const ObjectId> batch(ids.data() + first, n);
                    fresh += cat.transact([&](auto& tx) {
                        detail::bump_epoch(tx, repo, "");
                        // A repack may have emptied and retired our pack since the last
                        // batch: then upload what is still missing under a new key.
                        if (!key.empty() && !detail::container_live(tx, key))
                            throw detail::Retry{};
                        auto present = tx.template contains<ObjectRow>(keys_of(batch));
                        std::vector<ObjectRow> rows;
                        std::vector<LocationRow> locations;
                        for (std::size_t i = 0; i < n; ++i) {
                            if (present[i])
                                continue;
                            if (key.empty())
                                throw detail::Retry{}; // collected since we looked
                            const auto& o = *objects[first + i];
                            rows.push_back({o.id, o.raw_size, now});
                            std::optional<ObjectId> base;
                            if (o.encoding == Encoding::zstd_delta)
                                base = delta_base(o);
                            locations.push_back({o.id, key, offset_of(o), o.stored.size(),
                                                 o.encoding, o.raw_size, base, depths[first + i]});
                        }
                        // A base stored before this push must still be there (GC keeps it
                        // from now on: a delta's row names it).
                        if (!detail::bases_present(tx, rows, locations))
                            throw detail::Retry{};
                        std::vector<ObjectRefRow> refs;
                        refs.reserve(n);
                        for (const auto& id : batch)
                            refs.push_back({repo, id, now});
                        tx.insert(std::span<const ObjectRow>(rows));
                        tx.insert(std::span<const LocationRow>(locations));
                        tx.upsert(std::span<const ObjectRefRow>(refs));
                        return rows.size();
                    });
                }
                out.fresh = fresh;
                // Concurrent pushes of the same objects: if every one of ours lost the race, our
                // container holds nothing anyone points at: retire it now.
                if (!key.empty() && !existing)
                    cat.transact([&](auto& tx) {
                        std::string k = key;
                        if (!tx.template find_by<LocationRow, 1>(
                                   std::span<const std::string>(&k, 1))
                                 .empty())
                            return 0;
                        tx.template erase<ContainerRow>(std::vector<Key<ContainerRow>>{{key}});
                        TombstoneRow t{key, now};
                        return static_cast<int>(tx.insert(std::span<const TombstoneRow>(&t, 1)));
                    });
            });
            // An uploaded pack that brought nothing new is not needed: retire it.
            if (existing && key.empty())
                detail::retire_unused_upload(cat, *existing, hub.now());
            out.container = key;
            return out;
        } catch (const detail::Retry&) {
            if (attempt >= 3)
                fail(errc::conflict,
                     "objects kept vanishing while being registered (GC race); retry the push");
        }
    }
}

// What a push will change, worked out by reads alone: a push that fails here has written
// nothing. Objects carried in `pack.objects` count as present (they are stored next).
struct HistoryPlan {
    std::uint64_t gc_epoch =
        0; // GC deletions the checks saw; the branch moves only if still current
    CommitId head;
    std::optional<Branch> current;
    PushOutcome outcome = PushOutcome::unchanged;
    std::vector<const Commit*> fresh_commits;
    std::vector<const Snapshot*> fresh_snapshots;
    std::vector<CommitId> external_parents;     // parents the push builds on, already in the repo
    std::vector<SnapshotId> external_snapshots; // snapshots it reuses, already in the repo
    std::vector<ObjectId> objects;              // every object of every fresh snapshot
};

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
} // namespace detail

template <class H>
HistoryPlan check_history(H& hub, const std::string& repo, const Pack& pack,
                          const std::string& branch, bool force) {
    detail::validate_name("repo", repo);
    detail::validate_name("branch", branch);
    auto& cat = hub.catalog();
    const auto& opt = hub.options();
    HistoryPlan plan;
    plan.head = detail::pick_head(pack, branch);
    {
        Key<RepoRow> key{repo};
        auto row = catalog::find_one<RepoRow>(cat, key);
        plan.gc_epoch = row ? row->gc_epoch : 0;
    }

    std::unordered_set<CommitId> commits;
    for (const auto& c : pack.commits)
        commits.insert(c.commit_id);
    std::unordered_set<SnapshotId> snapshots;
    for (const auto& s : pack.snapshots)
        snapshots.insert(s.snapshot_id);
    std::unordered_set<ObjectId> carried;
    for (const auto& o : pack.objects)
        carried.insert(o.id);
    if (!commits.count(plan.head)) {
        auto known =
            cat.template contains<CommitRefRow>(std::vector<Key<CommitRefRow>>{{repo, plan.head}});
        if (!known[0])
            fail(errc::unknown_parent,
                 "head " + plan.head.hex() + " is neither in the push nor in repo '" + repo + "'");
    }

    // What the repo already has.
    std::vector<CommitId> cids;
    for (const auto& c : pack.commits)
        cids.push_back(c.commit_id);
    auto known_c =
        cat.template contains<CommitRefRow>(repo_keys(repo, std::span<const CommitId>(cids)));
    for (std::size_t i = 0; i < cids.size(); ++i)
        if (!known_c[i])
            plan.fresh_commits.push_back(&pack.commits[i]);
    std::vector<SnapshotId> sids;
    for (const auto& s : pack.snapshots)
        sids.push_back(s.snapshot_id);
    auto known_s =
        cat.template contains<SnapshotRefRow>(repo_keys(repo, std::span<const SnapshotId>(sids)));
    for (std::size_t i = 0; i < sids.size(); ++i)
        if (!known_s[i])
            plan.fresh_snapshots.push_back(&pack.snapshots[i]);

    // Closure: every parent and snapshot of a new commit is in the push or in the repo.
    std::unordered_set<CommitId> ext_p;
    std::unordered_set<SnapshotId> ext_s;
    for (const auto* c : plan.fresh_commits) {
        for (const auto& p : c->parents())
            if (!commits.count(p))
                ext_p.insert(p);
        if (!snapshots.count(c->snapshot_id))
            ext_s.insert(c->snapshot_id);
    }
    plan.external_parents.assign(ext_p.begin(), ext_p.end());
    plan.external_snapshots.assign(ext_s.begin(), ext_s.end());
    std::vector<std::string> missing;
    auto have_p = cat.template contains<CommitRefRow>(
        repo_keys(repo, std::span<const CommitId>(plan.external_parents)));
    for (std::size_t i = 0; i < plan.external_parents.size(); ++i)
        if (!have_p[i])
            missing.push_back(plan.external_parents[i].hex());
    if (!missing.empty())
        fail(errc::unknown_parent, std::to_string(missing.size()) +
                                       " parent commit(s) are neither in the push nor in repo '" +
                                       repo + "': " + detail::list_ids(missing));
    auto have_s = cat.template contains<SnapshotRefRow>(
        repo_keys(repo, std::span<const SnapshotId>(plan.external_snapshots)));
    for (std::size_t i = 0; i < plan.external_snapshots.size(); ++i)
        if (!have_s[i])
            missing.push_back(plan.external_snapshots[i].hex());
    if (!missing.empty())
        fail(errc::missing_object,
             std::to_string(missing.size()) +
                 " snapshot(s) named by pushed commits are neither in the push nor in repo '" +
                 repo + "': " + detail::list_ids(missing));

    // Every object of every new snapshot: carried by the push, or registered with its bytes
    // present.
    // (Manifests are full lists — XL's are 34.6 M entries in all — so the distinct ids are
    // gathered per slice of snapshots on every core, then merged in order.)
    std::vector<ObjectId> elsewhere;
    {
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
                    if (!carried.count(id))
                        elsewhere.push_back(id);
                }
    }
    std::vector<std::string> absent, bytes_missing;
    std::unordered_map<std::string, std::vector<ObjectId>> by_container;
    for_batches(elsewhere, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto locs = cat.template find<LocationRow>(keys_of(batch));
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
                 (absent.empty() ? "" : " (" + detail::list_ids(absent) + ")") + ", " +
                 std::to_string(bytes_missing.size()) + " registered but their bytes are missing" +
                 (bytes_missing.empty() ? "" : " (" + detail::list_ids(bytes_missing) + ")"));

    // Fast-forward.
    Key<Branch> branch_key{repo, branch};
    plan.current = catalog::find_one<Branch>(cat, branch_key);
    plan.outcome = detail::decide(plan.current, plan.head, force,
                                  pack_then_catalog_parents(cat, pack), repo, branch);
    return plan;
}

namespace detail {
// The rows of a push's fresh snapshots, and the repo's refs to them. Each goes in as a delta
// against the snapshot of its commit's first parent (algo/snapshots.hpp), bases before the
// rows built on them; a base the push does not carry is read from the catalog (for an
// incremental push, the one its oldest commit builds on).
template <class C>
void write_snapshots(C& cat, const HubOptions& opt, const std::string& repo,
                     const std::string& branch, const Pack& pack,
                     const std::vector<const Snapshot*>& fresh_snapshots, TimePoint now) {
    std::unordered_map<SnapshotId, const Snapshot*> fresh;
    for (const auto* snap : fresh_snapshots)
        fresh.emplace(snap->snapshot_id, snap);
    std::unordered_map<CommitId, SnapshotId> snapshot_of;
    for (const auto& c : pack.commits)
        snapshot_of.emplace(c.commit_id, c.snapshot_id);
    std::vector<const Snapshot*> ordered; // bases first
    std::unordered_map<SnapshotId, std::optional<SnapshotId>> base_of;
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
    {
        std::vector<Key<CommitRow>> keys;
        for (const auto& [snap, parent] : parent_outside)
            keys.emplace_back(parent);
        std::unordered_map<CommitId, SnapshotId> snapshot_of_parent;
        for (const auto& row : cat.template find<CommitRow>(keys))
            if (row)
                snapshot_of_parent.emplace(row->commit_id, row->snapshot_id);
        for (const auto& [snap, parent] : parent_outside)
            if (auto p = snapshot_of_parent.find(parent); p != snapshot_of_parent.end())
                base_of[snap] = p->second;
    }
    // Bases in the catalog: their manifests and depths.
    std::vector<SnapshotId> stored;
    for (const auto& [id, base] : base_of)
        if (base && *base != id && !fresh.count(*base))
            stored.push_back(*base);
    std::sort(stored.begin(), stored.end());
    stored.erase(std::unique(stored.begin(), stored.end()), stored.end());
    std::unordered_map<SnapshotId, std::shared_ptr<const Snapshot>> stored_base;
    std::unordered_map<SnapshotId, std::uint32_t> depth;
    for (const auto& row :
         cat.template find<SnapshotRow>(keys_of(std::span<const SnapshotId>(stored))))
        if (row)
            depth[row->snapshot_id] = row->depth;
    for_each_snapshot(cat, std::span<const SnapshotId>(stored), opt.batch_rows, opt.limits,
                      [&](const SnapshotId& id, const Snapshot* snap) {
                          if (snap)
                              stored_base.emplace(id, std::make_shared<Snapshot>(*snap));
                      });
    // The base each row is written against (nullptr: whole) and its depth as predicted here;
    // the inserting transaction makes it exact.
    std::vector<const Snapshot*> base_ptr(ordered.size(), nullptr);
    std::vector<std::uint32_t> base_depth(ordered.size(), 0);
    for (std::size_t i = 0; i < ordered.size(); ++i) {
        const auto& id = ordered[i]->snapshot_id;
        const auto& base = base_of[id];
        std::uint32_t d = 0;
        if (base && *base != id) {
            if (auto f = fresh.find(*base); f != fresh.end() && depth.count(*base))
                base_ptr[i] = f->second;
            else if (auto b = stored_base.find(*base); b != stored_base.end())
                base_ptr[i] = b->second.get();
            if (base_ptr[i]) {
                base_depth[i] = depth[*base];
                d = base_depth[i] + 1 < snapshot_chain_limit ? base_depth[i] + 1 : 0;
            }
        }
        depth[id] = d;
    }
    for (std::size_t first = 0; first < ordered.size(); first += opt.batch_rows) {
        auto n = std::min(opt.batch_rows, ordered.size() - first);
        // Encoding (a diff, or a full record) is the bulk of the work: on every core.
        std::vector<SnapshotRow> rows(n);
        musehub::detail::parallel_for(
            n,
            [&](std::size_t i) {
                rows[i] =
                    snapshot_row(*ordered[first + i], base_ptr[first + i], base_depth[first + i]);
            },
            4);
        std::vector<SnapshotRefRow> refs;
        for (std::size_t i = 0; i < n; ++i)
            refs.push_back({repo, ordered[first + i]->snapshot_id, now});
        cat.transact([&](auto& tx) {
            detail::bump_epoch(tx, repo, branch);
            // Depths made exact here, where no other writer can move them: a base GC
            // deleted since it was read, or one whose chain (stored by another repo's push,
            // or just now) leaves no room, means that row goes in whole.
            std::vector<Key<SnapshotRow>> own, bases;
            for (const auto& row : rows) {
                own.emplace_back(row.snapshot_id);
                if (row.base)
                    bases.emplace_back(*row.base);
            }
            std::unordered_map<SnapshotId, std::uint32_t> depth_now; // rows as they will be
            {
                auto exists = tx.template contains<SnapshotRow>(own);
                std::vector<Key<SnapshotRow>> stored;
                for (std::size_t i = 0; i < n; ++i)
                    if (exists[i])
                        stored.push_back(own[i]);
                for (const auto& row : tx.template find<SnapshotRow>(stored))
                    if (row)
                        depth_now.emplace(row->snapshot_id, row->depth); // insert ignores us
            }
            auto base_rows = tx.template find<SnapshotRow>(bases);
            for (std::size_t i = 0, b = 0; i < n; ++i) {
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
                        rows[i] = full_snapshot_row(*ordered[first + i]);
                }
                depth_now.emplace(rows[i].snapshot_id, rows[i].depth);
            }
            tx.insert(std::span<const SnapshotRow>(rows));
            tx.upsert(std::span<const SnapshotRefRow>(refs));
            return 0;
        });
    }
}
} // namespace detail

// Writes the rows of a checked plan and moves the branch. The objects must be registered by
// now (store_objects, or an earlier upload).
template <class H>
PushResult write_history(H& hub, const std::string& repo, const Pack& pack,
                         const std::string& branch, bool force, HistoryPlan plan,
                         PhaseTimes times = {}) {
    auto& cat = hub.catalog();
    const auto& opt = hub.options();
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
    Key<Branch> branch_key{repo, branch};
    auto current = plan.current;
    // ---- history rows ---------------------------------------------------------------------
    auto now = hub.now();
    times.time("refs", [&] {
        // Touch what the new history stands on, so GC keeps it (and notices us), and prove it is
        // still there.
        cat.transact([&](auto& tx) {
            detail::bump_epoch(tx, repo, branch);
            std::vector<CommitRefRow> cr;
            for (const auto& p : plan.external_parents)
                cr.push_back({repo, p, now});
            std::vector<SnapshotRefRow> sr;
            for (const auto& s : plan.external_snapshots)
                sr.push_back({repo, s, now});
            auto pc = tx.template contains<CommitRow>(
                keys_of(std::span<const CommitId>(plan.external_parents)));
            auto sc = tx.template contains<SnapshotRow>(
                keys_of(std::span<const SnapshotId>(plan.external_snapshots)));
            if (std::find(pc.begin(), pc.end(), false) != pc.end() ||
                std::find(sc.begin(), sc.end(), false) != sc.end())
                fail(errc::conflict, "history this push builds on was collected while it was "
                                     "checked; retry the push");
            tx.upsert(std::span<const CommitRefRow>(cr));
            tx.upsert(std::span<const SnapshotRefRow>(sr));
            return 0;
        });
        for_batches(plan.objects, opt.batch_rows, [&](std::span<const ObjectId> batch) {
            cat.transact([&](auto& tx) {
                detail::bump_epoch(tx, repo, branch);
                auto present = tx.template contains<ObjectRow>(keys_of(batch));
                if (std::find(present.begin(), present.end(), false) != present.end())
                    fail(errc::conflict,
                         "objects were collected while this push registered them; retry the push");
                std::vector<ObjectRefRow> refs;
                refs.reserve(batch.size());
                for (const auto& id : batch)
                    refs.push_back({repo, id, now});
                tx.upsert(std::span<const ObjectRefRow>(refs));
                return 0;
            });
        });
    });
    times.time("snapshots", [&] {
        detail::write_snapshots(cat, opt, repo, branch, pack, plan.fresh_snapshots, now);
    });
    times.time("commits", [&] {
        // Parents first; every pushed commit's ref is touched, known ones too, so a re-pushed
        // branch keeps its history even if it had become unreachable.
        auto order = topological_order(pack.commits);
        for_batches(std::span<const Commit* const>(order), opt.batch_rows,
                    [&](std::span<const Commit* const> batch) {
                        std::vector<CommitRow> rows;
                        std::vector<CommitRefRow> refs;
                        for (const auto* c : batch) {
                            refs.push_back({repo, c->commit_id, now});
                            rows.push_back({c->commit_id, c->snapshot_id, c->parent_commit_id,
                                            c->parent2_commit_id, stored_record(*c)});
                        }
                        cat.transact([&](auto& tx) {
                            detail::bump_epoch(tx, repo, branch);
                            tx.insert(std::span<const CommitRow>(rows));
                            tx.upsert(std::span<const CommitRefRow>(refs));
                            return 0;
                        });
                    });
    });

    // ---- branch ---------------------------------------------------------------------------
    times.time("branch", [&] {
        for (int attempt = 0; r.outcome != PushOutcome::unchanged; ++attempt) {
            bool moved = cat.transact([&](auto& tx) {
                // Moving a branch changes what GC must keep: it bumps the epoch like any write.
                detail::bump_epoch(tx, repo, branch);
                {
                    Key<RepoRow> key{repo};
                    auto row = catalog::find_one<RepoRow>(tx, key);
                    if (row && row->gc_epoch != plan.gc_epoch)
                        throw detail::GcRaced{};
                }
                Key<CommitRefRow> head_ref{repo, r.head};
                if (!catalog::contains_one<CommitRefRow>(tx, head_ref))
                    fail(errc::conflict,
                         "the pushed head was collected before the branch moved; retry the push");
                return tx.template compare_and_swap<Branch>(branch_key, current,
                                                            Branch{repo, branch, r.head});
            });
            if (moved)
                break;
            if (attempt >= 16)
                fail(errc::conflict, "branch '" + branch + "' kept moving under this push; retry");
            // Someone else moved it: decide again against what is there now.
            current = catalog::find_one<Branch>(cat, branch_key);
            r.previous = current ? std::optional<CommitId>(current->head) : std::nullopt;
            r.outcome = detail::decide(current, r.head, force, pack_then_catalog_parents(cat, pack),
                                       repo, branch);
        }
    });
    schedule_repack(hub, repo); // the new container, and whatever it makes worth merging
    r.times = std::move(times);
    return r;
}

// The raw bytes of the bases a thin pack's deltas build on: objects `repo` references (a push
// never learns of, or builds on, what only other repos hold), read and resolved from storage.
template <class H>
auto repo_bases(H& hub, const std::string& repo) {
    return [&hub, &repo](std::span<const ObjectId> ids) {
        auto refs = hub.catalog().template contains<ObjectRefRow>(repo_keys(repo, ids));
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (!refs[i])
                fail(errc::missing_object,
                     "object " + ids[i].hex() + " is the base of a delta in the push, but repo '" +
                         repo + "' does not have it: send the base too, or the object whole");
        std::unordered_map<ObjectId, SharedBytes> got;
        read_resolved(hub.catalog(), hub.store(), ids, hub.options(),
                      [&](const ObjectId& id, BytesView raw) {
                          got.emplace(id, std::make_shared<const Bytes>(raw.begin(), raw.end()));
                      });
        std::vector<SharedBytes> out;
        for (const auto& id : ids)
            out.push_back(got.at(id));
        return out;
    };
}

// Checks, then registers, the commits and snapshots of `pack` and moves `branch`.
template <class H>
PushResult register_history(H& hub, const std::string& repo, const Pack& pack,
                            const std::string& branch, bool force, PhaseTimes times = {}) {
    for (int attempt = 0;; ++attempt) {
        try {
            auto plan =
                times.time("check", [&] { return check_history(hub, repo, pack, branch, force); });
            return write_history(hub, repo, pack, branch, force, std::move(plan), times);
        } catch (const detail::GcRaced&) {
            if (attempt >= 8)
                fail(errc::conflict,
                     "GC kept collecting '" + repo + "' during this push; retry the push");
        }
    }
}

// A whole push: verify, check, store the container, register objects and history, move the
// branch. `container` holds the bytes the pack was decoded from (its object views point into
// it); with `existing`, those bytes are already stored under that key (an index job).
template <class H>
PushResult push_pack(H& hub, const std::string& repo, const Pack& pack, BytesView container,
                     ContainerFormat format, const std::string& branch, bool force,
                     PhaseTimes times = {}, const std::string* existing = nullptr) {
    detail::validate_name("repo", repo);
    detail::validate_name("branch", branch);
    times.time("verify", [&] {
        verify_objects(pack, hub.options().limits, repo_bases(hub, repo));
        verify_history(pack);
    });
    // Every check before the first write: a rejected push leaves the hub exactly as it was.
    // If GC deletes anything between the checks and the branch move, check and write again:
    // every step is idempotent.
    for (int attempt = 0;; ++attempt) {
        try {
            auto plan =
                times.time("check", [&] { return check_history(hub, repo, pack, branch, force); });
            auto stored = store_objects(hub, repo, pack, container, format, times, existing);
            auto r = write_history(hub, repo, pack, branch, force, std::move(plan), times);
            r.stored = stored;
            return r;
        } catch (const detail::GcRaced&) {
            if (attempt >= 8)
                fail(errc::conflict,
                     "GC kept collecting '" + repo + "' during this push; retry the push");
        }
    }
}

} // namespace musehub::algo
