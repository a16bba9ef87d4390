#pragma once
// PostgreSQL JobQueue: the server queue, with the memory queue's semantics exactly (see
// jobs/concept.hpp and memory/job_queue.hpp), in the catalog's database or its own.
//
// The table `jobs` is derived from the Hana description of `Job` (jobs/job.hpp): one column
// per field (types and NOT NULL as in pq.hpp), UNIQUE on the id, plus `seq`, an identity
// column that orders claims oldest first, and an index on (state, seq) for claims and reclaims.
//
// Every state change is one statement, so any number of workers in any number of processes
// each get a different job, without a lock held between statements:
//  - claim: UPDATE … SET state = running, attempts = attempts + 1, worker, lease_until
//           WHERE seq = (SELECT seq … WHERE state = queued AND run_after <= now ORDER BY seq
//           LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING the job: concurrent claimers skip the
//           row another is taking instead of queueing behind it;
//  - complete / fail / extend: UPDATE … WHERE id = $ AND state = running AND worker = $
//           (fail computes the next state in SQL and RETURNs it);
//  - reclaim_expired: one UPDATE over every running job whose lease ended.
// A statement whose session is lost runs again on a new connection (pq::Pool): a claim that
// had committed then leaves its job to lease expiry, as a crashed worker would.
//
// Schema version: the row 'job queue' of `musehub_schema` (see catalog.hpp).

#include "musehub/core/error.hpp"
#include "musehub/core/time.hpp"
#include "musehub/detail/reflect.hpp"
#include "musehub/detail/sql.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/jobs/job.hpp"
#include "musehub/postgres/pq.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace musehub::postgres {

class JobQueue {
public:
    using Options = pq::Options;

    explicit JobQueue(Options options) : pool_(options) {
        pool_.with([&](pq::Connection& c) {
            // The lock the catalog's writers and migrations take: starters never race on DDL.
            c.exec("BEGIN; SELECT pg_advisory_xact_lock(" +
                   std::to_string(pq::lock_key(options.schema, "writers")) + ")");
            try {
                if (!options.schema.empty())
                    c.exec("CREATE SCHEMA IF NOT EXISTS " + options.schema);
                c.exec("CREATE TABLE IF NOT EXISTS musehub_schema (component text PRIMARY KEY, "
                       "version int8 NOT NULL)");
                std::string defs;
                auto names = musehub::detail::sql::column_names<Job>();
                musehub::detail::reflect::for_each_field<Job>([&](auto i) {
                    using T = musehub::detail::reflect::field_type<Job, decltype(i)::value>;
                    defs += ", " + names[i] + " " + pq::column_type<T>() + " NOT NULL";
                });
                c.exec("CREATE TABLE IF NOT EXISTS " + table() +
                       " (\"seq\" int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY" + defs +
                       ", UNIQUE (" + col("id") + "))");
                c.exec("CREATE INDEX IF NOT EXISTS \"jobs_by_state\" ON " + table() + " (" +
                       col("state") + ", \"seq\")");
                c.exec("INSERT INTO musehub_schema VALUES ('job queue', 1) ON CONFLICT "
                       "(component) DO NOTHING");
                c.exec("COMMIT");
            } catch (const pq::ConnectionLost&) {
                throw;
            } catch (...) {
                try {
                    c.exec("ROLLBACK");
                } catch (...) {
                }
                throw;
            }
            auto r = c.query("SELECT version FROM musehub_schema WHERE component = 'job queue'");
            if (r.rows() != 1 || r.get<std::int64_t>(0, 0) != 1)
                musehub::fail(errc::unsupported,
                              "postgres: job queue schema version is newer than this build's (1)");
            return 0;
        });
    }
    JobQueue(const JobQueue&) = delete;
    JobQueue& operator=(const JobQueue&) = delete;

    bool enqueue(const JobSpec& spec) {
        static const std::string sql = "INSERT INTO " + table() + " (" + all() + ") VALUES (" +
                                       params(1, field_count) + ") ON CONFLICT (" + col("id") +
                                       ") DO NOTHING";
        auto job = queued_job(spec);
        pq::Params p;
        musehub::detail::reflect::for_each_field<Job>(
            [&](auto i) { p.add(musehub::detail::reflect::member<decltype(i)::value>(job)); });
        return run(sql, p).affected() == 1;
    }

    std::optional<Job> claim(std::string_view worker, TimePoint now,
                             std::chrono::milliseconds lease) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("state") + " = $1, " +
                                       col("attempts") + " = " + col("attempts") + " + 1, " +
                                       col("worker") + " = $2, " + col("lease_until") +
                                       " = $3 WHERE \"seq\" = (SELECT \"seq\" FROM " + table() +
                                       " WHERE " + col("state") + " = $4 AND " + col("run_after") +
                                       " <= $5 ORDER BY \"seq\" LIMIT 1 FOR UPDATE SKIP "
                                       "LOCKED) RETURNING " +
                                       all();
        pq::Params p;
        p.add(JobState::running).add(std::string(worker)).add(now + lease);
        p.add(JobState::queued).add(now);
        auto r = run(sql, p);
        if (r.rows() == 0)
            return std::nullopt;
        return read_job(r, 0);
    }

    bool complete(std::string_view id, std::string_view worker) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("state") + " = $1, " +
                                       col("worker") + " = '' WHERE " + held(2);
        pq::Params p;
        p.add(JobState::done);
        add_held(p, id, worker);
        return run(sql, p).affected() == 1;
    }

    std::optional<JobState> fail(std::string_view id, std::string_view worker,
                                 std::string_view error, TimePoint now,
                                 std::chrono::milliseconds backoff) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("last_error") +
                                       " = $1, " + release() + " WHERE " + held(6) + " RETURNING " +
                                       col("state");
        pq::Params p;
        p.add(std::string(error));
        add_release(p, now + backoff);
        add_held(p, id, worker);
        auto r = run(sql, p);
        if (r.rows() == 0)
            return std::nullopt;
        return r.get<JobState>(0, 0);
    }

    bool extend(std::string_view id, std::string_view worker, TimePoint now,
                std::chrono::milliseconds lease) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("lease_until") +
                                       " = $1 WHERE " + col("lease_until") + " >= $2 AND " +
                                       held(3);
        pq::Params p;
        p.add(now + lease).add(now);
        add_held(p, id, worker);
        return run(sql, p).affected() == 1;
    }

    std::size_t reclaim_expired(TimePoint now) {
        static const std::string sql = "UPDATE " + table() + " SET " + col("last_error") +
                                       " = $1 || " + col("worker") + ", " + release() + " WHERE " +
                                       col("state") + " = $6 AND " + col("lease_until") + " < $7";
        pq::Params p;
        p.add(std::string("lease expired while held by "));
        add_release(p, now);
        p.add(JobState::running).add(now);
        return run(sql, p).affected();
    }

    std::optional<Job> get(std::string_view id) const {
        static const std::string sql =
            "SELECT " + all() + " FROM " + table() + " WHERE " + col("id") + " = $1";
        pq::Params p;
        p.add(std::string(id));
        auto r = run(sql, p);
        if (r.rows() == 0)
            return std::nullopt;
        return read_job(r, 0);
    }

    std::vector<Job> list() const {
        static const std::string sql = "SELECT " + all() + " FROM " + table() + " ORDER BY \"seq\"";
        auto r = run(sql, {});
        std::vector<Job> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(read_job(r, i));
        return out;
    }

    // Round trips to the server so far (benchmarks report them).
    std::uint64_t round_trips() const noexcept { return pool_.round_trips(); }

private:
    static constexpr std::size_t field_count = musehub::detail::reflect::field_count<Job>;

    static std::string table() { return musehub::detail::sql::quote("jobs"); }
    // A column of the jobs table, by its field name in Job's description.
    static std::string col(std::string_view field) {
        auto names = musehub::detail::reflect::field_names<Job>();
        if (std::find(names.begin(), names.end(), field) == names.end())
            musehub::fail(errc::invalid_argument,
                          "postgres job queue: Job has no field " + std::string(field));
        return musehub::detail::sql::quote(field);
    }
    static std::string all() {
        auto cols = musehub::detail::sql::column_names<Job>();
        return musehub::detail::sql::join(cols, 0, cols.size(), ", ");
    }
    static std::string params(std::size_t first, std::size_t n) {
        std::string out;
        for (std::size_t i = 0; i < n; ++i)
            out += (i ? ", $" : "$") + std::to_string(first + i);
        return out;
    }
    // The job $first, running ($first+1) and held by worker $first+2 (add_held's order).
    static std::string held(std::size_t first) {
        auto n = [&](std::size_t k) { return "$" + std::to_string(first + k); };
        return col("id") + " = " + n(0) + " AND " + col("state") + " = " + n(1) + " AND " +
               col("worker") + " = " + n(2);
    }
    static void add_held(pq::Params& p, std::string_view id, std::string_view worker) {
        p.add(std::string(id)).add(JobState::running).add(std::string(worker));
    }
    // Back to the queue at $2 while attempts remain, else failed (memory::JobQueue::release).
    // Parameters $2..$5: run_after, lease_none, queued, failed.
    static std::string release() {
        auto retry = "CASE WHEN " + col("attempts") + " < " + col("max_attempts");
        return col("worker") + " = '', " + col("lease_until") + " = $3, " + col("run_after") +
               " = " + retry + " THEN $2 ELSE " + col("run_after") + " END, " + col("state") +
               " = " + retry + " THEN $4 ELSE $5 END";
    }
    static void add_release(pq::Params& p, TimePoint run_after) {
        p.add(run_after).add(lease_none).add(JobState::queued).add(JobState::failed);
    }
    static Job read_job(const pq::Result& r, int row) {
        Job job{};
        musehub::detail::reflect::for_each_field<Job>([&](auto i) {
            constexpr std::size_t I = decltype(i)::value;
            musehub::detail::reflect::member<I>(job) =
                r.get<musehub::detail::reflect::field_type<Job, I>>(row, static_cast<int>(I));
        });
        return job;
    }

    pq::Result run(const std::string& sql, const pq::Params& p) const {
        return pool_.with([&](pq::Connection& c) { return c.query(sql, p); });
    }

    static constexpr TimePoint lease_none{};
    mutable pq::Pool pool_;
};

static_assert(musehub::JobQueue<JobQueue>);

} // namespace musehub::postgres
