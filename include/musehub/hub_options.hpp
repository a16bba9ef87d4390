#pragma once
// Everything a Hub can be told, with production defaults.

#include "musehub/core/limits.hpp"
#include "musehub/core/time.hpp"

#include <chrono>
#include <cstddef>
#include <functional>

namespace musehub {

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
    // A push that leaves a repo with more containers than this schedules consolidation.
    std::size_t consolidate_above = 8;
    // Where "now" comes from; tests replace it. Empty: the system clock.
    std::function<TimePoint()> clock;
};

} // namespace musehub
