#pragma once
// Jobs: follow-up work a push or an operator schedules, run by workers with leases.

#include "musehub/core/time.hpp"

#include <boost/hana/adapt_struct.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace musehub {

enum class JobKind : std::uint8_t { index, gc, repack, fetch_prebuild, sweep };
enum class JobState : std::uint8_t { queued, running, done, failed };

constexpr std::string_view to_string(JobKind k) noexcept {
    switch (k) {
    case JobKind::index:
        return "index";
    case JobKind::gc:
        return "gc";
    case JobKind::repack:
        return "repack";
    case JobKind::fetch_prebuild:
        return "fetch-prebuild";
    case JobKind::sweep:
        return "sweep";
    }
    return "unknown";
}
constexpr std::string_view to_string(JobState s) noexcept {
    switch (s) {
    case JobState::queued:
        return "queued";
    case JobState::running:
        return "running";
    case JobState::done:
        return "done";
    case JobState::failed:
        return "failed";
    }
    return "unknown";
}

// What a producer asks for. The id makes enqueue idempotent: derive it from the work
// (e.g. "index:" + pack key) so a retried push does not schedule the work twice.
struct JobSpec {
    std::string id;
    JobKind kind = JobKind::index;
    std::string payload;
    std::uint32_t max_attempts = 5;
    TimePoint run_after{};
};

struct Job {
    std::string id{};
    JobKind kind{};
    std::string payload{};
    JobState state{};
    std::uint32_t attempts{}; // claims so far, including the current one
    std::uint32_t max_attempts{};
    TimePoint run_after{};   // not claimable before
    TimePoint lease_until{}; // while running: the holder's lease
    std::string worker{};    // while running: the holder
    std::string last_error{};
    friend bool operator==(const Job&, const Job&) = default;
};

// The job a spec becomes when it is enqueued: queued, no attempts yet, at least one allowed.
inline Job queued_job(const JobSpec& spec) {
    Job job;
    job.id = spec.id;
    job.kind = spec.kind;
    job.payload = spec.payload;
    job.state = JobState::queued;
    job.max_attempts = spec.max_attempts < 1 ? 1 : spec.max_attempts;
    job.run_after = spec.run_after;
    return job;
}

} // namespace musehub

// Reflection: the field lists the codecs, catalogs and printers derive everything from.
BOOST_HANA_ADAPT_STRUCT(musehub::Job, id, kind, payload, state, attempts, max_attempts, run_after,
                        lease_until, worker, last_error);
