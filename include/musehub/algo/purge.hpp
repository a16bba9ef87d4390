#pragma once
// Purge: the bytes of retired containers (tombstones) whose grace period is over leave the
// store, then their tombstones go. Readers that found a container before it was retired have
// had the grace period to finish; keys are never reused, so a later upload cannot be hit.
// Hub-wide: GC runs it after collecting a repo, and so does a caller after a repack retired
// packs (`musehub gc` with --grace 0 leaves nothing behind in one run).

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/store/batch.hpp"

#include <string>
#include <vector>

namespace musehub::algo {

struct PurgeResult {
    std::size_t tombstones_purged = 0;
    std::uint64_t bytes_purged = 0;  // bytes removed from the object store
    std::vector<std::string> errors; // non-fatal: the next run retries them
};

template <AlgorithmHub H>
PurgeResult purge_retired(H& hub) {
    using catalog::TombstoneRow;
    auto& cat = hub.catalog();
    auto& store = hub.store();
    const auto cutoff = hub.now() - hub.options().grace;
    PurgeResult r;
    std::vector<TombstoneRow> due;
    for (auto& t : cat.template scan<TombstoneRow>(std::tuple{}))
        if (t.since <= cutoff)
            due.push_back(std::move(t));
    if (due.empty())
        return r;
    std::vector<std::string> keys;
    for (const auto& t : due)
        keys.push_back(t.container);
    auto sizes_ = sizes(store, std::span<const std::string>(keys));
    try {
        remove_many(store, std::span<const std::string>(keys));
    } catch (const std::exception& e) {
        r.errors.push_back(std::string("removing retired bytes failed (will retry): ") + e.what());
        return r;
    }
    for (const auto& s : sizes_)
        r.bytes_purged += s.value_or(0);
    r.tombstones_purged = cat.erase_exact(std::span<const TombstoneRow>(due));
    return r;
}

} // namespace musehub::algo
