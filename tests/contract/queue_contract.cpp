// JobQueue contract: every backend in contract::Backends must pass every case.
#include "backends.hpp"
#include "common/catch_printing.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>

using namespace musehub;
using namespace std::chrono_literals;

namespace {
const TimePoint t0{std::chrono::milliseconds{1'800'000'000'000}};
}

TEMPLATE_LIST_TEST_CASE("queue: enqueue is idempotent by job id", "[contract][queue]",
                        contract::Backends) {
    TestType backend;
    auto& q = backend.queue();
    CHECK(q.enqueue({"index:p1", JobKind::index, "p1", 3, t0}));
    CHECK_FALSE(q.enqueue({"index:p1", JobKind::gc, "other", 9, t0}));
    auto jobs = q.list();
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].kind == JobKind::index);
    CHECK(jobs[0].payload == "p1");
    CHECK(jobs[0].state == JobState::queued);
    // Still idempotent after the job ran.
    auto j = q.claim("w", t0, 10s);
    REQUIRE(j);
    CHECK(q.complete(j->id, "w"));
    CHECK_FALSE(q.enqueue({"index:p1", JobKind::index, "p1", 3, t0}));
    CHECK(q.get("index:p1")->state == JobState::done);
}

TEMPLATE_LIST_TEST_CASE("queue: under contention each job is claimed by exactly one worker",
                        "[contract][queue]", contract::Backends) {
    TestType backend;
    auto& q = backend.queue();
    constexpr int jobs = 200;
    for (int i = 0; i < jobs; ++i)
        REQUIRE(q.enqueue({"job:" + std::to_string(i), JobKind::gc, {}, 3, t0}));
    std::mutex m;
    std::multiset<std::string> claimed;
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([&, w] {
            auto name = "worker-" + std::to_string(w);
            while (auto job = q.claim(name, t0, 60s)) {
                {
                    std::lock_guard lock(m);
                    claimed.insert(job->id);
                }
                CHECK(q.complete(job->id, name));
            }
        });
    for (auto& t : workers)
        t.join();
    CHECK(claimed.size() == jobs);
    CHECK(std::set<std::string>(claimed.begin(), claimed.end()).size() == jobs);
    for (const auto& j : q.list())
        CHECK(j.state == JobState::done);
}

TEMPLATE_LIST_TEST_CASE("queue: an expired lease is reclaimed and the old holder is fenced off",
                        "[contract][queue]", contract::Backends) {
    TestType backend;
    auto& q = backend.queue();
    REQUIRE(q.enqueue({"repack:r", JobKind::repack, "r", 5, t0}));
    auto first = q.claim("slow", t0, 1s);
    REQUIRE(first);
    CHECK(first->attempts == 1);
    CHECK_FALSE(q.claim("fast", t0 + 100ms, 1s).has_value()); // leased
    CHECK(q.reclaim_expired(t0 + 500ms) == 0);                // not yet expired
    CHECK(q.extend("repack:r", "slow", t0 + 900ms, 1s));      // heartbeat: now until t0+1.9s
    CHECK(q.reclaim_expired(t0 + 1500ms) == 0);
    CHECK(q.reclaim_expired(t0 + 2s) == 1);
    auto after = q.get("repack:r");
    CHECK(after->state == JobState::queued);
    CHECK_THAT(after->last_error, Catch::Contains("lease expired"));
    auto second = q.claim("fast", t0 + 2s, 1s);
    REQUIRE(second);
    CHECK(second->attempts == 2);
    CHECK_FALSE(q.complete("repack:r", "slow")); // lost its lease
    CHECK_FALSE(q.extend("repack:r", "slow", t0 + 2s, 1s));
    CHECK_FALSE(q.fail("repack:r", "slow", "late", t0 + 2s, 0s).has_value());
    CHECK(q.complete("repack:r", "fast"));
    CHECK(q.get("repack:r")->state == JobState::done);
}

TEMPLATE_LIST_TEST_CASE("queue: a failing job is retried with backoff, then failed with its error",
                        "[contract][queue]", contract::Backends) {
    TestType backend;
    auto& q = backend.queue();
    REQUIRE(q.enqueue({"index:bad", JobKind::index, "bad", 3, t0}));
    auto now = t0;
    for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
        auto job = q.claim("w", now, 30s);
        REQUIRE(job);
        CHECK(job->attempts == attempt);
        auto state =
            q.fail(job->id, "w", "parse error in attempt " + std::to_string(attempt), now, 10s);
        REQUIRE(state);
        CHECK(*state == (attempt < 3 ? JobState::queued : JobState::failed));
        if (attempt < 3) {
            CHECK_FALSE(q.claim("w", now + 5s, 30s).has_value()); // backing off
            now += 11s;
        }
    }
    CHECK_FALSE(q.claim("w", now + 1h, 30s).has_value());
    auto job = q.get("index:bad");
    CHECK(job->state == JobState::failed);
    CHECK(job->attempts == 3);
    CHECK(job->last_error == "parse error in attempt 3");
}

TEMPLATE_LIST_TEST_CASE("queue: claims are oldest first and honour run_after", "[contract][queue]",
                        contract::Backends) {
    TestType backend;
    auto& q = backend.queue();
    REQUIRE(q.enqueue({"later", JobKind::gc, {}, 3, t0 + 1min}));
    REQUIRE(q.enqueue({"a", JobKind::gc, {}, 3, t0}));
    REQUIRE(q.enqueue({"b", JobKind::gc, {}, 3, t0}));
    CHECK(q.claim("w", t0, 1s)->id == "a");
    CHECK(q.claim("w", t0, 1s)->id == "b");
    CHECK_FALSE(q.claim("w", t0, 1s).has_value());
    CHECK(q.claim("w", t0 + 2min, 1s)->id == "later");
    CHECK_FALSE(q.get("missing").has_value());
}
