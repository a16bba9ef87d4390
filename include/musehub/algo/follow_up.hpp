#pragma once
// The follow-up work a change to the hub schedules:
//   - a repack of a repo's containers (algo/repack.hpp) after every registration (pack, stream,
//     presigned push and index job all end in write_history) and after a collection that
//     deleted anything;
//   - a hub-wide sweep (algo/sweep.hpp) after a collection or repack that retired anything:
//     it purges the retired bytes once their grace period is over.
//
// One job of each per window (RepackOptions::window): the job's id names the window, so a
// burst of changes enqueues it once (enqueue is idempotent by id), and it runs when the window
// closes, so it sees every change made in it. A change after that falls in the next window.

#include "musehub/algo/concept.hpp"
#include "musehub/jobs/job.hpp"

#include <string>

namespace musehub::algo {

namespace detail {
// Enqueues `kind` for the window `due` falls in, to run when that window closes.
template <class H>
void schedule_in_window(H& hub, const std::string& name, JobKind kind, const std::string& payload,
                        TimePoint due) {
    const auto window = hub.options().repack.window.count();
    const auto at = due.time_since_epoch().count();
    const auto slot = window > 0 ? at / window : at;
    const TimePoint run_after{std::chrono::milliseconds(window > 0 ? (slot + 1) * window : at)};
    hub.queue().enqueue(JobSpec{name + ":" + std::to_string(slot), kind, payload, 5, run_after});
}
} // namespace detail

template <AlgorithmHub H>
void schedule_repack(H& hub, const std::string& repo) {
    detail::schedule_in_window(hub, "repack:" + repo, JobKind::repack, repo, hub.now());
}

// Due once the grace period of what was retired now is over: purging earlier finds nothing.
template <AlgorithmHub H>
void schedule_sweep(H& hub) {
    detail::schedule_in_window(hub, "sweep", JobKind::sweep, "", hub.now() + hub.options().grace);
}

} // namespace musehub::algo
