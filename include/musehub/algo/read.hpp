#pragma once
// Reading a repo's content back: the tree of a commit and the raw bytes of objects, for tools
// that materialise a working tree (the musehub tool's clone) or inspect a hub.
//
//   tree    -> the snapshot of a commit the repo references
//   objects -> raw bytes of the repo's objects, read a batch at a time (one ranged read per
//              container, as fetch reads them), deltas resolved down their chains; each one is
//              checked against its id before it is handed out

#include "musehub/algo/chains.hpp"
#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/fetch.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/sha256.hpp"

#include <optional>

namespace musehub::algo {

// Which of `ids` the hub holds no object row for (v1 `filter-objects`), in the order given.
template <AlgorithmHub H>
std::vector<ObjectId> missing_objects(const H& hub, std::span<const ObjectId> ids) {
    std::vector<ObjectId> missing;
    for_batches(ids, hub.options().batch_rows, [&](std::span<const ObjectId> batch) {
        auto have = hub.catalog().template contains<catalog::ObjectRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (!have[i])
                missing.push_back(batch[i]);
    });
    return missing;
}

// Where `branch` of `repo` points; nullopt for a branch (or repo) the hub does not have.
template <AlgorithmHub H>
std::optional<CommitId> branch_head(const H& hub, const std::string& repo,
                                    const std::string& branch) {
    catalog::Key<Branch> key{repo, branch};
    auto row = catalog::find_one<Branch>(hub.catalog(), key);
    return row ? std::optional<CommitId>(row->head) : std::nullopt;
}

// The snapshot of `commit`; errc::not_found when the repo does not reference it.
template <AlgorithmHub H>
Snapshot tree_of(const H& hub, const std::string& repo, const CommitId& commit) {
    using namespace catalog;
    const auto& cat = hub.catalog();
    if (!cat.template contains<CommitRefRow>(
            repo_keys(repo, std::span<const CommitId>(&commit, 1)))[0])
        fail(errc::not_found, "commit " + commit.hex() + " is not in repo '" + repo + "'");
    Key<CommitRow> key{commit};
    auto row = catalog::find_one<CommitRow>(cat, key);
    if (!row)
        fail(errc::missing_object, "commit " + commit.hex() + " has no row (run fsck)");
    std::optional<Snapshot> out;
    for_each_snapshot(
        cat, std::span<const SnapshotId>(&row->snapshot_id, 1), hub.options().batch_rows,
        hub.options().limits, [&](const SnapshotId& id, const Snapshot* s) {
            if (!s)
                fail(errc::missing_object, "snapshot " + id.hex() + " has no row (run fsck)");
            out = *s;
        });
    return std::move(*out);
}

// Calls each(id, raw bytes) for every distinct id in `ids` the repo references (errc::not_found
// for one it does not). Deltas are resolved down their chains (algo/chains.hpp) a batch of ids
// at a time. The bytes live only during the call.
template <AlgorithmHub H, class Each>
void read_objects(const H& hub, const std::string& repo, std::span<const ObjectId> ids,
                  Each&& each) {
    using namespace catalog;
    const auto& cat = hub.catalog();
    const auto& opt = hub.options();
    std::vector<ObjectId> distinct;
    std::unordered_set<ObjectId> seen;
    for_batches(ids, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto refs = cat.template contains<ObjectRefRow>(repo_keys(repo, batch));
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!refs[i])
                fail(errc::not_found,
                     "object " + batch[i].hex() + " is not in repo '" + repo + "'");
            if (seen.insert(batch[i]).second)
                distinct.push_back(batch[i]);
        }
    });
    // Batches by count: a chain's bases are read again for a later batch that needs them.
    for_batches(distinct, std::max<std::size_t>(opt.batch_rows, 4096),
                [&](std::span<const ObjectId> batch) {
                    read_resolved(cat, hub.store(), batch, opt, each);
                });
}

} // namespace musehub::algo
