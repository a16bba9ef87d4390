#pragma once
// The worker loop: claim a job with a lease, run the algorithm it names, complete it or report
// the failure (the queue retries with backoff up to the job's attempts, then keeps the error).
// Any number of workers, in any number of processes, may share one queue.

#include "musehub/algo/concept.hpp"
#include "musehub/algo/fetch.hpp"
#include "musehub/algo/gc.hpp"
#include "musehub/algo/index.hpp"
#include "musehub/algo/repack.hpp"
#include "musehub/algo/sweep.hpp"

#include <atomic>
#include <thread>

namespace musehub::algo {

struct WorkerOptions {
    std::string name = "worker";
    std::chrono::milliseconds lease{std::chrono::minutes(5)};
    std::chrono::milliseconds backoff{std::chrono::seconds(5)};
    std::chrono::milliseconds idle_poll{std::chrono::milliseconds(200)};
};

// What a fetch-prebuild job warms: the pack a clone of `branch` will ask for.
inline std::string fetch_prebuild_payload(const std::string& repo, const std::string& branch) {
    return repo + '\n' + branch;
}

template <AlgorithmHub H>
void run_job(H& hub, const Job& job) {
    switch (job.kind) {
    case JobKind::index:
        index_pack(hub, decode_index_request(job.payload, hub.options().limits));
        return;
    case JobKind::gc: {
        auto r = gc(hub, job.payload);
        if (!r.errors.empty())
            fail(errc::io, "gc of '" + job.payload + "' finished with errors: " + r.errors.front());
        return;
    }
    case JobKind::repack:
        repack(hub, job.payload);
        return;
    case JobKind::sweep: {
        auto r = sweep(hub);
        if (!r.errors.empty())
            fail(errc::io, "sweep finished with errors: " + r.errors.front());
        return;
    }
    case JobKind::fetch_prebuild: {
        auto nl = job.payload.find('\n');
        if (nl == std::string::npos)
            fail(errc::invalid_argument, "fetch-prebuild payload must be 'repo\\nbranch'");
        auto repo = job.payload.substr(0, nl), branch = job.payload.substr(nl + 1);
        catalog::Key<Branch> key{repo, branch};
        auto head = catalog::find_one<Branch>(hub.catalog(), key);
        if (head) // built and cached; the bytes go nowhere else
            fetch(hub, repo, FetchRequest{{head->head}, {}}, [](BytesView) {});
        return;
    }
    }
    fail(errc::unsupported, "job " + job.id + " has an unknown kind");
}

// Claims and runs one job; nullopt when none was ready. Returns the job as the queue now has it.
template <AlgorithmHub H>
std::optional<Job> run_one(H& hub, const WorkerOptions& w = {}) {
    auto job = hub.queue().claim(w.name, hub.now(), w.lease);
    if (!job)
        return std::nullopt;
    try {
        run_job(hub, *job);
        hub.queue().complete(job->id, w.name);
    } catch (const std::exception& e) {
        hub.queue().fail(job->id, w.name, e.what(), hub.now(), w.backoff);
    }
    return hub.queue().get(job->id);
}

// Runs jobs until `stop` is set, reclaiming expired leases as it goes.
template <AlgorithmHub H>
void run_worker(H& hub, const std::atomic<bool>& stop, const WorkerOptions& w = {}) {
    while (!stop.load()) {
        hub.queue().reclaim_expired(hub.now());
        if (!run_one(hub, w))
            std::this_thread::sleep_for(w.idle_poll);
    }
}

} // namespace musehub::algo
