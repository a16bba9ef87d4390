// Crash safety of the embedded default: a child process works through a script of pushes,
// index jobs, force pushes, GCs and consolidations on a durable fs hub while this process
// SIGKILLs it at random moments. After every kill the hub is reopened and must be whole: fsck
// finds nothing wrong, every branch is where the acknowledged steps left it (or where the
// interrupted step would have, had it finished), and each head clones byte for byte. The next
// child retries the interrupted step; at the end an uninterrupted child finishes the work and
// GC, once the grace periods are over, leaves nothing a killed writer left behind.
//
// Seeded and reproducible in what it does (the kill moments land where the machine's timing
// puts them): MUSEHUB_FAULT_SEED, MUSEHUB_FAULT_KILLS (default 200), MUSEHUB_FAULT_MAX_DELAY_MS.

#include "fault/fault_support.hpp"

#include "contract/fixtures/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

namespace {

using namespace fault;

enum class Phase : int {
    start,
    open,
    push,
    index,
    force_push,
    gc,
    consolidate,
    acknowledge,
    count
};
constexpr const char* phase_names[] = {"process start", "open", "push",        "index job",
                                       "force push",    "gc",   "consolidate", "acknowledge"};

// The work, a pure function of the step number: repos take turns, each running through push,
// index job, force push, push, gc, consolidate.
class Script {
public:
    static constexpr int repos = 2;
    struct Step {
        Phase op;
        int repo;
        Writer::Commit commit; // for pushes and index jobs
    };

    static std::string repo_name(int r) { return "crash/" + std::to_string(r); }

    const Step& step(std::size_t n) {
        while (steps_.size() <= n)
            extend();
        return steps_[n];
    }
    // Where `repo`'s main is once steps 0..n are done (n = -1: before any).
    std::optional<CommitId> head_after(int repo, long n) {
        if (n < 0)
            return std::nullopt;
        step(static_cast<std::size_t>(n));
        return heads_[static_cast<std::size_t>(n)][static_cast<std::size_t>(repo)];
    }
    Writer& writer(int repo) { return writers_[static_cast<std::size_t>(repo)]; }

private:
    void extend() {
        static constexpr Phase cycle[] = {Phase::push, Phase::index, Phase::force_push,
                                          Phase::push, Phase::gc,    Phase::consolidate};
        auto n = steps_.size();
        int repo = static_cast<int>(n % repos);
        Step s{cycle[(n / repos) % std::size(cycle)], repo, {}};
        auto heads = heads_.empty() ? std::vector<std::optional<CommitId>>(repos) : heads_.back();
        if (s.op == Phase::push || s.op == Phase::index || s.op == Phase::force_push) {
            s.commit = writer(repo).next(s.op == Phase::force_push);
            heads[static_cast<std::size_t>(repo)] = s.commit.head;
        }
        steps_.push_back(std::move(s));
        heads_.push_back(std::move(heads));
    }

    std::vector<Writer> writers_{Writer("crash-0"), Writer("crash-1")};
    std::vector<Step> steps_;
    std::vector<std::vector<std::optional<CommitId>>> heads_;
};

// What the child tells the parent, in memory that outlives it.
struct Shared {
    std::atomic<int> phase{0};
    std::atomic<long> acked{-1}; // the last step the hub acknowledged
    char error[512] = {};
};

// GC collects what has been unreachable for 2 s, so it collects all through the run; the grace
// period outlasts the worker lease (100 ms), as it must: a job rerun after its worker died
// still finds its pack's bytes, even if consolidation has retired them meanwhile.
HubOptions options() {
    HubOptions o;
    o.grace = std::chrono::seconds(2);
    return o;
}
const algo::WorkerOptions worker{"crash-worker", std::chrono::milliseconds(100),
                                 std::chrono::milliseconds(10), std::chrono::milliseconds(5)};

// Runs jobs until `id` is done (the killed child's unfinished jobs get run on the way).
void work_until_done(FsHub& h, const std::string& id) {
    for (;;) {
        h.queue.reclaim_expired(h.hub.now());
        h.hub.run_one_job(worker);
        auto job = h.queue.get(id);
        if (job && job->state == JobState::done)
            return;
        if (job && job->state == JobState::failed)
            fail(errc::io, "index job " + id + " failed: " + job->last_error);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void run_step(FsHub& h, Script& script, const Script::Step& s) {
    auto& hub = h.hub;
    auto repo = Script::repo_name(s.repo);
    switch (s.op) {
    case Phase::push:
    case Phase::force_push:
        hub.push(repo, hub.wire().encode_push(PushRequest{script.writer(s.repo).pack(s.commit),
                                                          "main", s.commit.force}));
        return;
    case Phase::index: { // as a presigned pack upload completes: bytes first, then the job
        auto bytes = hub.wire().encode_pack(script.writer(s.repo).pack(s.commit));
        auto key = algo::container_key(PackId{sha256(bytes)}, hub.now());
        h.store.put(key, bytes);
        JobSpec spec{"index:" + key, JobKind::index, {}, 5, {}};
        spec.payload = algo::encode_index_request({repo, "main", false, key});
        h.queue.enqueue(spec);
        work_until_done(h, spec.id);
        return;
    }
    case Phase::gc: {
        auto r = hub.gc(repo);
        if (!r.errors.empty())
            fail(errc::io, "gc: " + r.errors.front());
        return;
    }
    case Phase::consolidate: // the policy's repack, then everything into one pack
        hub.repack(repo);
        hub.consolidate(repo);
        return;
    default:
        fail(errc::invalid_argument, "not a step");
    }
}

// The child: opens the hub, retries the step after the last acknowledged one, and goes on until
// killed or (with `last`) until step `last` is done and every job has run.
[[noreturn]] void child(const std::filesystem::path& dir, Script& script, Shared& sh,
                        long last = -1) {
    try {
        sh.phase = static_cast<int>(Phase::open);
        FsHub h(dir, options());
        for (long n = sh.acked + 1; last < 0 || n <= last; ++n) {
            const auto& s = script.step(static_cast<std::size_t>(n));
            sh.phase = static_cast<int>(s.op);
            run_step(h, script, s);
            sh.phase = static_cast<int>(Phase::acknowledge);
            sh.acked = n;
        }
        // Drain the queue: the index jobs killed children left behind run to an end.
        auto busy = [&] {
            for (const auto& j : h.queue.list())
                if (j.state == JobState::queued || j.state == JobState::running)
                    return true;
            return false;
        };
        for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
             busy() && std::chrono::steady_clock::now() < until;) {
            h.queue.reclaim_expired(h.hub.now());
            if (!h.hub.run_one_job(worker))
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        _exit(busy() ? 4 : 0);
    } catch (const std::exception& e) {
        std::snprintf(sh.error, sizeof sh.error, "%s", e.what());
    }
    _exit(3);
}

// The hub as a reopening process finds it: whole, and where the acknowledged steps put it.
void check_hub(const std::filesystem::path& dir, Script& script, long acked) {
    FsHub h(dir, options());
    auto f = h.hub.fsck();
    INFO("after step " << acked << ":\n" << describe(f));
    REQUIRE(f.ok());
    for (const auto& key : h.store.list(""))
        REQUIRE(key.starts_with("v1/")); // nothing half-written is ever listed
    for (int r = 0; r < Script::repos; ++r) {
        auto done = script.head_after(r, acked);
        auto maybe = script.head_after(r, acked + 1); // the interrupted step may have finished
        auto got = clone(h.hub, Script::repo_name(r), "main");
        if (!got) {
            REQUIRE_FALSE(done);
            continue;
        }
        INFO("repo " << Script::repo_name(r) << " is at " << got->first.hex());
        REQUIRE((got->first == done || got->first == maybe));
        REQUIRE(got->second == script.writer(r).tree(got->first));
    }
}

pid_t spawn(const std::filesystem::path& dir, Script& script, Shared& sh, long last = -1) {
    sh.phase = static_cast<int>(Phase::start);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        child(dir, script, sh, last);
    return pid;
}

// The first word of a job's error: its error code, or "lease" for a job whose workers all died.
std::string reason(const Job& j) {
    return j.last_error.substr(0, j.last_error.find_first_of(": "));
}

} // namespace

TEST_CASE("CRASH a durable fs hub killed at random moments loses nothing it acknowledged",
          "[fault][crash]") {
    const auto seed = static_cast<std::uint64_t>(env_or("MUSEHUB_FAULT_SEED", 20261121));
    const long kills = env_or("MUSEHUB_FAULT_KILLS", 200);
    const long max_delay_us = env_or("MUSEHUB_FAULT_MAX_DELAY_MS", 60) * 1000;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<long> delay(0, max_delay_us);

    contract::TempDir dir("musehub-crash");
    Script script; // the parent's replay: the children run copies of it
    SharedPage<Shared> sh;
    std::size_t landed[static_cast<int>(Phase::count)] = {};

    for (long k = 0; k < kills; ++k) {
        auto pid = spawn(dir.path(), script, *sh);
        ::usleep(static_cast<useconds_t>(delay(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("kill " << k << " (seed " << seed << "): child error: " << sh->error);
        REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
        ++landed[sh->phase.load()];
        check_hub(dir.path(), script, sh->acked);
    }

    // Retry to convergence: an uninterrupted child finishes two more full cycles and drains
    // the queue; then time passes and GC sweeps what the killed writers left behind.
    const long last = sh->acked + 2 * 6 * Script::repos;
    {
        auto pid = spawn(dir.path(), script, *sh, last);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("final child: " << sh->error);
        REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
        REQUIRE(sh->acked == last);
    }
    auto temps = temporaries(dir.path() / "objects");
    for (const auto& t : temps) // what a file written an hour ago looks like
        std::filesystem::last_write_time(t, std::filesystem::file_time_type::clock::now() -
                                                std::chrono::hours(1));
    auto later = options();
    later.clock = [] { return now_ms() + std::chrono::hours(1); };
    later.repack.window = std::chrono::milliseconds(0);
    FsHub h(dir.path(), later);
    std::map<std::string, std::size_t> superseded;
    for (int r = 0; r < Script::repos; ++r)
        REQUIRE(h.hub.gc(Script::repo_name(r)).errors.empty());
    auto w = h.hub.sweep(); // what crashed writers left belongs to no repo
    REQUIRE(w.errors.empty());
    const std::size_t strays = w.strays_swept, swept_temps = w.temporaries_swept;
    // The repacks the last pushes and these collections scheduled (an hour on, all are due).
    while (h.hub.run_one_job(worker))
        ;
    { // the sweeps those repacks scheduled, due once the grace period of what they retired is over
        auto latest = later;
        latest.clock = [] { return now_ms() + std::chrono::hours(2); };
        FsHub l(dir.path(), latest);
        while (l.hub.run_one_job(worker))
            ;
    }
    auto f = h.hub.fsck();
    INFO(describe(f));
    REQUIRE(f.ok());
    CHECK(f.stray_containers == 0);
    CHECK(temporaries(dir.path() / "objects").empty());
    CHECK(swept_temps == temps.size());
    for (int r = 0; r < Script::repos; ++r) {
        auto got = clone(h.hub, Script::repo_name(r), "main");
        REQUIRE(got);
        CHECK(got->first == *script.head_after(r, last));
        CHECK(got->second == script.writer(r).tree(got->first));
    }
    for (const auto& j : h.queue.list()) {
        INFO("job " << j.id << " is " << to_string(j.state) << ": " << j.last_error);
        // Jobs a killed child left behind belong to steps that were retried with a job of their
        // own, so they may end either way: done if their work still applies, failed if the
        // branch was rewound past it, their workers kept dying, or their pack was retired and
        // purged before a rerun. (Failing a job whose work was in fact done is safe: its
        // client pushes again and nothing changes. Calling undone work done would lose it.)
        CHECK((j.state == JobState::done || j.state == JobState::failed));
        if (j.state == JobState::failed)
            ++superseded[reason(j)];
    }

    std::printf("crash test (seed %llu): %ld kills, %ld steps acknowledged; kills landed in:",
                static_cast<unsigned long long>(seed), kills, last + 1);
    for (int p = 0; p < static_cast<int>(Phase::count); ++p)
        std::printf(" %s %zu%s", phase_names[p], landed[p],
                    p + 1 < static_cast<int>(Phase::count) ? "," : "\n");
    std::string failures;
    for (const auto& [why, n] : superseded)
        failures += " " + why + " " + std::to_string(n);
    std::printf("  left behind and swept: %zu temporaries, %zu strays; superseded index jobs that "
                "failed:%s\n",
                swept_temps, strays, failures.empty() ? " none" : failures.c_str());
}
