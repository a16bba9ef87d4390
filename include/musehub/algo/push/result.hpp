#pragma once
// What a push reports (StoredObjects, PushOutcome, PushResult), what its checks plan
// (HistoryPlan), and the two races it retries (detail::Retry, detail::GcRaced).

#include "musehub/algo/common.hpp"
#include "musehub/core/model.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace musehub::algo {

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
// Both are caught inside push and retried; they derive from std::exception so that one
// escaping by mistake still reaches every `catch (const std::exception&)` with a message.
struct Retry : std::runtime_error { // a row this push counted on vanished under it (GC): go again
    Retry() : std::runtime_error("a row this push relied on was collected; retry the push") {}
};
struct GcRaced : std::runtime_error { // GC deleted something after this push checked
    GcRaced() : std::runtime_error("GC collected this repo during the push; retry the push") {}
};
} // namespace detail

} // namespace musehub::algo
