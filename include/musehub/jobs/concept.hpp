#pragma once
// JobQueue: durable follow-up work with leases and bounded retries.
//
// Semantics every backend keeps (pinned by tests/contract):
//  - enqueue(spec): idempotent by id: true when new, false (and nothing changes) when a job
//    with that id exists in any state.
//  - claim(worker, now, lease): atomically takes the oldest queued job whose run_after <= now,
//    marks it running for `worker` until now+lease and counts the attempt. Under any number
//    of concurrent claimers each job goes to exactly one.
//  - complete(id, worker): marks it done, only if `worker` still holds its lease (false if the
//    lease was lost, so a slow worker cannot complete a job another worker now owns).
//  - fail(id, worker, error, now, backoff): the holder reports a failure; the job is queued
//    again at now+backoff while attempts < max_attempts, else marked failed. The error is kept.
//    Returns the resulting state (or nullopt if `worker` no longer holds the lease).
//  - extend(id, worker, now, lease): heartbeat; false if the lease was lost.
//  - reclaim_expired(now): every running job whose lease ended is queued again (or failed,
//    with last_error saying the lease expired, when out of attempts); returns how many.
//  - get(id), list(): read-only views.
//  Times are passed in, never read from a clock inside, so behaviour is testable and every
//  process agrees on one time source.

#include "musehub/jobs/job.hpp"

#include <concepts>
#include <optional>
#include <string_view>
#include <vector>

namespace musehub {

template <class Q>
concept JobQueue = requires(Q& q, const Q& cq, const JobSpec& spec, std::string_view text,
                            TimePoint now, std::chrono::milliseconds d) {
    { q.enqueue(spec) } -> std::same_as<bool>;
    { q.claim(text, now, d) } -> std::same_as<std::optional<Job>>;
    { q.complete(text, text) } -> std::same_as<bool>;
    { q.fail(text, text, text, now, d) } -> std::same_as<std::optional<JobState>>;
    { q.extend(text, text, now, d) } -> std::same_as<bool>;
    { q.reclaim_expired(now) } -> std::same_as<std::size_t>;
    { cq.get(text) } -> std::same_as<std::optional<Job>>;
    { cq.list() } -> std::same_as<std::vector<Job>>;
};

} // namespace musehub
