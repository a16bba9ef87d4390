#pragma once
// A whole push: verify, check, store the container, register objects and history, move the
// branch; check and write again while GC races it.

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/push/check.hpp"
#include "musehub/algo/push/history.hpp"
#include "musehub/algo/push/input.hpp"
#include "musehub/algo/push/result.hpp"
#include "musehub/algo/push/store.hpp"
#include "musehub/algo/push/thin_bases.hpp"
#include "musehub/algo/verify.hpp"

#include <string>
#include <utility>

namespace musehub::algo {

namespace detail {
// Runs `attempt` (the checks, then the writes) until GC no longer collects `repo` between its
// checks and its branch move: every step is idempotent, so checking and writing again is safe.
template <class Attempt>
auto retry_while_gc_races(const std::string& repo, Attempt&& attempt) {
    for (int n = 0;; ++n) {
        try {
            return attempt();
        } catch (const GcRaced&) {
            if (n >= 8)
                fail(errc::conflict,
                     "GC kept collecting '" + repo + "' during this push; retry the push");
        }
    }
}
} // namespace detail

// Checks, then registers, the commits and snapshots of `pack` and moves `branch`.
template <AlgorithmHub H>
PushResult register_history(H& hub, const std::string& repo, const Pack& pack,
                            const std::string& branch, bool force, PhaseTimes times = {}) {
    return detail::retry_while_gc_races(repo, [&] {
        auto plan =
            times.time("check", [&] { return check_history(hub, repo, pack, branch, force); });
        return write_history(hub, repo, pack, branch, force, std::move(plan), times);
    });
}

// A whole push: verify, check, store the container, register objects and history, move the
// branch. `container` holds the bytes the pack was decoded from (its object views point into
// it); with `existing`, those bytes are already stored under that key (an index job).
template <AlgorithmHub H>
PushResult push_pack(H& hub, const std::string& repo, const Pack& pack, BytesView container,
                     catalog::ContainerFormat format, const std::string& branch, bool force,
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
    return detail::retry_while_gc_races(repo, [&] {
        auto plan =
            times.time("check", [&] { return check_history(hub, repo, pack, branch, force); });
        auto stored = store_objects(hub, repo, pack, container, format, times, existing);
        auto r = write_history(hub, repo, pack, branch, force, std::move(plan), times);
        r.stored = stored;
        return r;
    });
}

} // namespace musehub::algo
