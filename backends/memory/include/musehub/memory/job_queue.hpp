#pragma once
// In-memory JobQueue: a map of jobs under one mutex, the reference semantics for leases and
// retries (see jobs/concept.hpp).

#include "musehub/jobs/concept.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace musehub::memory {

class JobQueue {
public:
    bool enqueue(const JobSpec& spec) {
        std::lock_guard lock(mutex_);
        auto job = queued_job(spec);
        auto [it, fresh] = jobs_.try_emplace(spec.id, std::move(job));
        if (fresh)
            order_.push_back(spec.id);
        return fresh;
    }

    std::optional<Job> claim(std::string_view worker, TimePoint now,
                             std::chrono::milliseconds lease) {
        std::lock_guard lock(mutex_);
        for (const auto& id : order_) {
            auto& job = jobs_.at(id);
            if (job.state != JobState::queued || job.run_after > now)
                continue;
            job.state = JobState::running;
            job.attempts += 1;
            job.worker = std::string(worker);
            job.lease_until = now + lease;
            return job;
        }
        return std::nullopt;
    }

    bool complete(std::string_view id, std::string_view worker) {
        std::lock_guard lock(mutex_);
        auto* job = held(id, worker);
        if (!job)
            return false;
        job->state = JobState::done;
        job->worker.clear();
        return true;
    }

    std::optional<JobState> fail(std::string_view id, std::string_view worker,
                                 std::string_view error, TimePoint now,
                                 std::chrono::milliseconds backoff) {
        std::lock_guard lock(mutex_);
        auto* job = held(id, worker);
        if (!job)
            return std::nullopt;
        release(*job, error, now + backoff);
        return job->state;
    }

    bool extend(std::string_view id, std::string_view worker, TimePoint now,
                std::chrono::milliseconds lease) {
        std::lock_guard lock(mutex_);
        auto* job = held(id, worker);
        if (!job || job->lease_until < now)
            return false;
        job->lease_until = now + lease;
        return true;
    }

    std::size_t reclaim_expired(TimePoint now) {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (auto& [id, job] : jobs_)
            if (job.state == JobState::running && job.lease_until < now) {
                release(job, "lease expired while held by " + job.worker, now);
                ++n;
            }
        return n;
    }

    std::optional<Job> get(std::string_view id) const {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(id);
        return it == jobs_.end() ? std::nullopt : std::optional<Job>(it->second);
    }

    std::vector<Job> list() const {
        std::lock_guard lock(mutex_);
        std::vector<Job> out;
        out.reserve(order_.size());
        for (const auto& id : order_)
            out.push_back(jobs_.at(id));
        return out;
    }

private:
    Job* held(std::string_view id, std::string_view worker) {
        auto it = jobs_.find(id);
        if (it == jobs_.end() || it->second.state != JobState::running ||
            it->second.worker != worker)
            return nullptr;
        return &it->second;
    }
    // Back to the queue while attempts remain, else failed; the error is kept either way.
    static void release(Job& job, std::string_view error, TimePoint run_after) {
        job.last_error = std::string(error);
        job.worker.clear();
        job.lease_until = TimePoint{};
        if (job.attempts < job.max_attempts) {
            job.state = JobState::queued;
            job.run_after = run_after;
        } else {
            job.state = JobState::failed;
        }
    }

    mutable std::mutex mutex_;
    std::map<std::string, Job, std::less<>> jobs_;
    std::vector<std::string> order_; // enqueue order: claims are oldest-first
};

static_assert(musehub::JobQueue<JobQueue>);

} // namespace musehub::memory
