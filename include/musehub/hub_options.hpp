#pragma once
// Everything a Hub can be told, with production defaults.

#include "musehub/core/limits.hpp"
#include "musehub/core/time.hpp"

#include <chrono>
#include <cstddef>
#include <functional>

namespace musehub {

// The repack policy: what a push or a collection schedules for its repo (docs/operations.md).
struct RepackOptions {
    // A container is rewritten once this share of its bytes is dead: objects GC collected,
    // records the catalog already holds (restic's prune rewrites from 5 % unused).
    double dead_share = 0.05;
    // The smallest packs are merged until each one left is at least this many times all
    // smaller ones together, by live bytes (git's `repack --geometric=2`): N pushes rewrite
    // O(N log N) bytes and leave O(log N) packs.
    double geometric_factor = 2.0;
    // Pushes and collections of a repo within one window of this length share one repack job,
    // run when the window closes (so it sees all of them); zero: one job per millisecond.
    std::chrono::milliseconds window{std::chrono::seconds(2)};
};

struct HubOptions {
    Limits limits{};
    // Rows per catalog transaction: transactions stay short, round trips stay O(batches).
    std::size_t batch_rows = 4'000;
    // Refs touched this recently are GC roots, and retired bytes wait this long before they
    // are deleted: in-flight pushes keep what they use, in-flight readers finish their reads.
    std::chrono::milliseconds grace{std::chrono::hours(1)};
    // How long a built fetch pack is served from the cache.
    std::chrono::milliseconds fetch_cache_ttl{std::chrono::minutes(10)};
    // A stream push reports progress at least this often while it works.
    std::chrono::milliseconds heartbeat{std::chrono::seconds(10)};
    // When the follow-up repack (algo/repack.hpp) rewrites a repo's containers.
    RepackOptions repack{};
    // Where "now" comes from; tests replace it. Empty: the system clock.
    std::function<TimePoint()> clock;
};

} // namespace musehub
