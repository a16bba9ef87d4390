#pragma once
// SQLite JobQueue: the embedded default's queue, with the memory queue's semantics exactly
// (see jobs/concept.hpp and memory/job_queue.hpp), in a SQLite file that may be the catalog's.
//
// The table `jobs` is derived from the Hana description of `Job` (jobs/job.hpp): one column
// per field (types and NOT NULL as in sqlite.hpp), UNIQUE on the id, plus `seq`, an
// AUTOINCREMENT insertion sequence that orders claims oldest first. Indexes: (state, seq) for
// claims and reclaims.
//
// Every state change is one statement inside one BEGIN IMMEDIATE transaction, so concurrent
// claimers, in this process or another on the same file, each get a different job:
//  - claim: UPDATE … SET state = running, attempts = attempts + 1, worker, lease_until
//           WHERE seq = (oldest queued with run_after <= now) RETURNING the job;
//  - complete / fail / extend: UPDATE … WHERE id = ? AND state = running AND worker = ?
//           (fail computes the next state in SQL and RETURNs it);
//  - reclaim_expired: one UPDATE over every running job whose lease ended.
// Schema version: slot 1 of `PRAGMA user_version` (sqlite::migrate), so the queue and the
// catalog can share a file and still migrate independently.

#include "musehub/core/error.hpp"
#include "musehub/core/time.hpp"
#include "musehub/fs/sqlite.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/jobs/job.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace musehub::fs {

class JobQueue {
public:
    using Options = sqlite::Options;

    explicit JobQueue(std::filesystem::path db_file, Options options = {})
        : file_(std::move(db_file)), db_(file_, options) {
        static const std::array<sqlite::Migration, 1> steps{
            // 1: the jobs table and its claim index.
            [](sqlite::Connection& db) {
                db.exec("CREATE TABLE IF NOT EXISTS " + table() +
                        " (\"seq\" INTEGER PRIMARY KEY AUTOINCREMENT, " +
                        sqlite::column_defs<Job>() + ", UNIQUE (" + col("id") + "))");
                db.exec("CREATE INDEX IF NOT EXISTS " + sqlite::quote("jobs_by_state") + " ON " +
                        table() + " (" + col("state") + ", \"seq\")");
            },
        };
        sqlite::migrate(db_, 1, steps, "job queue");
        auto have = sqlite::table_columns(db_, "jobs");
        auto want = sqlite::column_names<Job>();
        want.insert(want.begin(), sqlite::quote("seq"));
        if (have != want)
            musehub::fail(errc::unsupported, "sqlite: " + file_.string() +
                                                 ": table 'jobs' has columns (" +
                                                 sqlite::join(have, 0, have.size(), ", ") +
                                                 ") but this build describes (" +
                                                 sqlite::join(want, 0, want.size(), ", ") + ")");
    }

    JobQueue(const JobQueue&) = delete;
    JobQueue& operator=(const JobQueue&) = delete;

    const std::filesystem::path& file() const noexcept { return file_; }

    bool enqueue(const JobSpec& spec) {
        static const std::string sql = "INSERT INTO " + table() + " (" + all() + ") VALUES (" +
                                       sqlite::placeholders(sqlite::field_count<Job>) +
                                       ") ON CONFLICT (" + col("id") + ") DO NOTHING";
        auto job = queued_job(spec);
        return write([&] {
            auto q = db_.query(sql);
            sqlite::bind_fields(q, job);
            return q.run() == 1;
        });
    }

    std::optional<Job> claim(std::string_view worker, TimePoint now,
                             std::chrono::milliseconds lease) {
        static const std::string sql =
            "UPDATE " + table() + " SET " + col("state") + " = ?1, " + col("attempts") + " = " +
            col("attempts") + " + 1, " + col("worker") + " = ?2, " + col("lease_until") +
            " = ?3 WHERE \"seq\" = (SELECT \"seq\" FROM " + table() + " WHERE " + col("state") +
            " = ?4 AND " + col("run_after") + " <= ?5 ORDER BY \"seq\" LIMIT 1) RETURNING " + all();
        const TimePoint until = now + lease;
        return write([&]() -> std::optional<Job> {
            auto q = db_.query(sql);
            q.bind(1, JobState::running).bind(2, worker).bind(3, until);
            q.bind(4, JobState::queued).bind(5, now);
            if (!q.step())
                return std::nullopt;
            auto job = sqlite::read_row<Job>(q);
            while (q.step()) {
            }
            return job;
        });
    }

    bool complete(std::string_view id, std::string_view worker) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("state") + " = ?1, " +
                                       col("worker") + " = '' WHERE " + held();
        return write([&] {
            auto q = db_.query(sql);
            q.bind(1, JobState::done);
            bind_held(q, id, worker);
            return q.run() == 1;
        });
    }

    std::optional<JobState> fail(std::string_view id, std::string_view worker,
                                 std::string_view error, TimePoint now,
                                 std::chrono::milliseconds backoff) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("last_error") +
                                       " = ?1, " + release() + " WHERE " + held() + " RETURNING " +
                                       col("state");
        const TimePoint run_after = now + backoff;
        return write([&]() -> std::optional<JobState> {
            auto q = db_.query(sql);
            q.bind(1, error);
            bind_release(q, run_after);
            bind_held(q, id, worker);
            if (!q.step())
                return std::nullopt;
            auto state = q.column<JobState>(0);
            while (q.step()) {
            }
            return state;
        });
    }

    bool extend(std::string_view id, std::string_view worker, TimePoint now,
                std::chrono::milliseconds lease) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("lease_until") +
                                       " = ?1 WHERE " + held() + " AND " + col("lease_until") +
                                       " >= ?2";
        const TimePoint until = now + lease;
        return write([&] {
            auto q = db_.query(sql);
            q.bind(1, until).bind(2, now);
            bind_held(q, id, worker);
            return q.run() == 1;
        });
    }

    std::size_t reclaim_expired(TimePoint now) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("last_error") +
                                       " = ?1 || " + col("worker") + ", " + release() + " WHERE " +
                                       col("state") + " = ?10 AND " + col("lease_until") + " < ?11";
        return write([&] {
            auto q = db_.query(sql);
            q.bind(1, "lease expired while held by ");
            bind_release(q, now);
            q.bind(10, JobState::running).bind(11, now);
            return q.run();
        });
    }

    std::optional<Job> get(std::string_view id) const {
        static const std::string sql =
            "SELECT " + all() + " FROM " + table() + " WHERE " + col("id") + " = ?1";
        std::lock_guard lock(mutex_);
        auto q = db_.query(sql);
        q.bind(1, id);
        if (!q.step())
            return std::nullopt;
        return sqlite::read_row<Job>(q);
    }

    std::vector<Job> list() const {
        static const std::string sql = "SELECT " + all() + " FROM " + table() + " ORDER BY \"seq\"";
        std::lock_guard lock(mutex_);
        sqlite::Transaction tx(db_, sqlite::Transaction::read);
        std::vector<Job> out;
        {
            auto q = db_.query(sql);
            while (q.step())
                out.push_back(sqlite::read_row<Job>(q));
        }
        tx.commit();
        return out;
    }

private:
    static std::string table() { return sqlite::quote("jobs"); }
    // A column of the jobs table, by its field name in Job's description.
    static std::string col(std::string_view field) {
        auto names = sqlite::field_names<Job>();
        if (std::find(names.begin(), names.end(), field) == names.end())
            musehub::fail(errc::invalid_argument,
                          "sqlite job queue: Job has no field " + std::string(field));
        return sqlite::quote(field);
    }
    static std::string all() {
        auto cols = sqlite::column_names<Job>();
        return sqlite::join(cols, 0, cols.size(), ", ");
    }
    // The job `?20`, running and held by worker `?21`.
    static std::string held() {
        return col("id") + " = ?20 AND " + col("state") + " = ?21 AND " + col("worker") + " = ?22";
    }
    static void bind_held(sqlite::Query& q, const std::string_view& id,
                          const std::string_view& worker) {
        q.bind(20, id).bind(21, JobState::running).bind(22, worker);
    }
    // Back to the queue at `?2` while attempts remain, else failed (memory::JobQueue::release).
    static std::string release() {
        auto retry = "CASE WHEN " + col("attempts") + " < " + col("max_attempts");
        return col("worker") + " = '', " + col("lease_until") + " = ?3, " + col("run_after") +
               " = " + retry + " THEN ?2 ELSE " + col("run_after") + " END, " + col("state") +
               " = " + retry + " THEN ?4 ELSE ?5 END";
    }
    static void bind_release(sqlite::Query& q, const TimePoint& run_after) {
        q.bind(2, run_after)
            .bind(3, lease_none)
            .bind(4, JobState::queued)
            .bind(5, JobState::failed);
    }

    template <class Fn>
    std::invoke_result_t<Fn&> write(Fn&& fn) {
        std::lock_guard lock(mutex_);
        sqlite::Transaction tx(db_, sqlite::Transaction::write);
        auto result = fn();
        tx.commit();
        return result;
    }

    static constexpr TimePoint lease_none{};

    std::filesystem::path file_;
    mutable std::mutex mutex_;
    mutable sqlite::Connection db_;
};

static_assert(musehub::JobQueue<JobQueue>);

} // namespace musehub::fs
