// Two processes on one hub directory at once, as two server instances (or a server and a
// maintenance cron) would run: each opens its own store, SQLite catalog and queue on the same
// files. Both push to the same repos (the same shared file races to be stored by both), both
// run jobs from the one queue, both run GC; one also indexes uploaded packs (every fourth round
// it collects too), the other force-pushes, collects every round and consolidates. Each clones
// its own branch after every push while the other collects, and the checking process replays
// both histories: every branch ends where its writer's last acknowledged push put it, cloning
// byte for byte, every job done, fsck clean.
//
// GC's grace period is 250 ms, so GC collects all through the run and races every push: a push
// that loses such a race fails with a typed conflict, and a clone whose bytes were purged
// mid-read with missing_object; both are retried, as a client would. Any other failure fails
// the test. (The grace period outlasts the job backoff, as it must: a job retried after a
// conflict still finds its pack's bytes.) MUSEHUB_TWO_PROCESS_ROUNDS sets the pushes per
// process (default 60).

#include "fault/fault_support.hpp"

#include "contract/fixtures/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace {

using namespace fault;

constexpr int repos = 2;
std::string repo_name(int r) {
    return "two/" + std::to_string(r);
}
// Writer `role` (a or b) on `repo`: the same names in the child that pushes and the parent
// that replays.
std::string writer_name(char role, int repo) {
    return std::string(1, role) + std::to_string(repo);
}
bool rewinds(char role, long round) {
    return role == 'b' && round % 4 == 3;
}

struct Report {
    std::atomic<long> pushes{0}, push_retries{0}, index_jobs{0}, clones{0}, clone_retries{0};
    std::atomic<long> jobs_run{0}, gcs{0}, gcs_skipped{0}, consolidations{0};
    std::atomic<int> failed{0};
    char error[512] = {};
};

HubOptions options() {
    HubOptions o;
    o.grace = std::chrono::milliseconds(250);
    o.repack.window = std::chrono::milliseconds(0); // every push schedules a repack job, for
                                                    // either process to run
    return o;
}
const algo::WorkerOptions worker{"two-process", std::chrono::seconds(30),
                                 std::chrono::milliseconds(10), std::chrono::milliseconds(5)};

// Retries `fn` while it fails with `retryable` (a race the protocol reports, not a loss).
template <class Fn>
auto retrying(errc retryable, std::atomic<long>& retries, Fn&& fn) {
    for (int attempt = 0;; ++attempt) {
        try {
            return fn();
        } catch (const error& e) {
            if (e.code() != retryable || attempt == 20)
                throw;
            ++retries;
        }
    }
}

void run_jobs(FsHub& h, Report& rep) {
    while (h.hub.run_one_job(worker))
        ++rep.jobs_run;
}

// One process's life: `rounds` pushes alternating between the repos.
void work(const std::filesystem::path& dir, char role, long rounds, Report& rep) {
    FsHub h(dir, options());
    auto& hub = h.hub;
    std::vector<Writer> writers;
    for (int r = 0; r < repos; ++r)
        writers.emplace_back(writer_name(role, r));
    const std::string branch(1, role);

    for (long i = 0; i < rounds; ++i) {
        int r = static_cast<int>(i % repos);
        auto repo = repo_name(r);
        auto& w = writers[static_cast<std::size_t>(r)];
        auto commit = w.next(rewinds(role, i));
        if (role == 'a' && i % 3 == 2) { // an uploaded pack, indexed by whichever worker is free
            auto bytes = hub.wire().encode_pack(w.pack(commit));
            auto key = algo::container_key(PackId{sha256(bytes)}, hub.now());
            h.store.put(key, bytes);
            JobSpec spec{"index:" + key,
                         JobKind::index,
                         algo::encode_index_request({repo, branch, false, key}),
                         5,
                         {}};
            h.queue.enqueue(spec);
            for (;;) {
                run_jobs(h, rep);
                auto job = h.queue.get(spec.id);
                if (job->state == JobState::done)
                    break;
                if (job->state == JobState::failed)
                    fail(errc::io, "index job failed: " + job->last_error);
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            ++rep.index_jobs;
        } else {
            retrying(errc::conflict, rep.push_retries, [&] {
                return hub.push(repo, hub.wire().encode_push(
                                          PushRequest{w.pack(commit), branch, commit.force}));
            });
        }
        ++rep.pushes;

        if (role == 'b' || i % 4 == 3) { // b collects every round, a every fourth: at once
            auto g = hub.gc(repo);
            if (!g.errors.empty())
                fail(errc::io, "gc: " + g.errors.front());
            ++rep.gcs;
            rep.gcs_skipped += g.skipped;
            if (role == 'b' && i % 3 == 0) {
                hub.consolidate(repo);
                ++rep.consolidations;
            }
        }
        run_jobs(h, rep);

        // Read back what was just acknowledged, while the other process works.
        auto got = retrying(errc::missing_object, rep.clone_retries,
                            [&] { return clone(hub, repo, branch); });
        ++rep.clones;
        if (!got || got->first != commit.head || got->second != w.tree(commit.head))
            fail(errc::corrupt, "a clone of " + repo + " " + branch + " is not what was pushed");
    }
}

pid_t spawn(const std::filesystem::path& dir, char role, long rounds, Report& rep) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            work(dir, role, rounds, rep);
            _exit(0);
        } catch (const std::exception& e) {
            std::snprintf(rep.error, sizeof rep.error, "%s", e.what());
        }
        _exit(3);
    }
    return pid;
}

} // namespace

TEST_CASE("TWO-PROCESS two processes push, run jobs, collect and consolidate on one fs hub",
          "[fault][two-process]") {
    const long rounds = env_or("MUSEHUB_TWO_PROCESS_ROUNDS", 60);
    contract::TempDir dir("musehub-two");
    SharedPage<Report> a, b;
    auto pa = spawn(dir.path(), 'a', rounds, *a);
    auto pb = spawn(dir.path(), 'b', rounds, *b);
    for (auto [pid, rep, role] : {std::tuple{pa, &*a, 'a'}, std::tuple{pb, &*b, 'b'}}) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("process " << role << ": " << rep->error);
        REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }

    // Replay both writers and check the hub they left.
    FsHub h(dir.path(), options());
    for (char role : {'a', 'b'})
        for (int r = 0; r < repos; ++r) {
            Writer w(writer_name(role, r));
            Writer::Commit last;
            for (long i = r; i < rounds; i += repos)
                last = w.next(rewinds(role, i));
            auto got = clone(h.hub, repo_name(r), std::string(1, role));
            INFO(repo_name(r) << " " << role);
            REQUIRE(got);
            CHECK(got->first == last.head);
            CHECK(got->second == w.tree(last.head));
        }
    { // the sweeps the last collections scheduled, due once the grace period is over
        auto later = options();
        later.clock = [] { return now_ms() + std::chrono::hours(1); };
        FsHub l(dir.path(), later);
        while (l.hub.run_one_job(worker))
            ;
    }
    for (const auto& j : h.queue.list()) {
        INFO("job " << j.id << " is " << to_string(j.state) << ": " << j.last_error);
        CHECK(j.state == JobState::done);
    }
    auto f = h.hub.fsck();
    INFO(describe(f));
    CHECK(f.ok());

    for (auto [rep, role] : {std::pair{&*a, 'a'}, std::pair{&*b, 'b'}})
        std::printf("two-process: %c: %ld pushes (%ld index jobs, %ld retried after a GC race), "
                    "%ld clones (%ld retried), %ld jobs run, %ld gcs (%ld skipped), "
                    "%ld consolidations\n",
                    role, rep->pushes.load(), rep->index_jobs.load(), rep->push_retries.load(),
                    rep->clones.load(), rep->clone_retries.load(), rep->jobs_run.load(),
                    rep->gcs.load(), rep->gcs_skipped.load(), rep->consolidations.load());
}
