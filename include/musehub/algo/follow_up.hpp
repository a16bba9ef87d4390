#pragma once
// The follow-up work a change to a repo schedules: a repack of its containers (algo/repack.hpp)
// after every registration (pack, stream, presigned push and index job all end in
// write_history) and after a collection that deleted anything.
//
// One job per repo per window (RepackOptions::window): the job's id names the window, so a
// burst of pushes enqueues it once (enqueue is idempotent by id), and it runs when the window
// closes, so it sees every change made in it. A change after that falls in the next window.

#include "musehub/jobs/job.hpp"

#include <string>

namespace musehub::algo {

template <class H>
void schedule_repack(H& hub, const std::string& repo) {
    const auto window = hub.options().repack.window.count();
    const auto now = hub.now().time_since_epoch().count();
    const auto slot = window > 0 ? now / window : now;
    const TimePoint run_after{std::chrono::milliseconds(window > 0 ? (slot + 1) * window : now)};
    hub.queue().enqueue(JobSpec{"repack:" + repo + ":" + std::to_string(slot), JobKind::repack,
                                repo, 5, run_after});
}

} // namespace musehub::algo
