// What only the server backends must show, against the real servers the test command starts:
// PostgreSQL round trips per push grow with batches, not objects; a push survives the server
// terminating its connections mid-way; a server that cannot be reached fails loudly.
#include "hub_setups.hpp"

#include "common/catch_printing.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace contract;

namespace {

using PgSetup = Setup<FsPostgresBackend, wire::v2>;

// One commit of `files` files: a push of that many objects.
Client history_of(std::size_t files, std::size_t commits = 1) {
    Client c;
    for (std::size_t k = 0; k < commits; ++k) {
        for (std::size_t i = 0; i < files / commits; ++i)
            c.write("dir" + std::to_string(i % 16) + "/f" + std::to_string(k) + "_" +
                        std::to_string(i),
                    "content of " + std::to_string(k) + "/" + std::to_string(i));
        c.commit("c" + std::to_string(k));
    }
    return c;
}

} // namespace

TEST_CASE("postgres: round trips per push grow with batches, not with objects",
          "[contract][postgres]") {
    PgSetup s; // batch_rows = 64
    auto round_trips_of_push = [&](const std::string& repo, std::size_t files) {
        auto c = history_of(files);
        auto before = s.backend.catalog().round_trips();
        s.push(repo, "main", c.pack(c.head()));
        return s.backend.catalog().round_trips() - before;
    };
    const auto small = round_trips_of_push("small", 64);   // one batch
    const auto large = round_trips_of_push("large", 1280); // twenty batches
    std::printf("postgres round trips per push: 64 objects %llu, 1280 objects %llu\n",
                static_cast<unsigned long long>(small), static_cast<unsigned long long>(large));
    // A statement per object would be >= 1280. A batch costs one statement per phase that
    // touches it (objects, locations, refs, snapshots, commits) plus its transaction's BEGIN
    // and COMMIT: a small constant, here at most 24 per extra batch.
    CHECK(large < 1280 / 3);
    CHECK(large - small <= 19 * 24);
}

TEST_CASE("postgres: a push carries on when the server terminates its connections",
          "[contract][postgres]") {
    PgSetup s;
    auto c = history_of(3000, 30);
    // A connection of the test's own terminates every session of the catalog every 100 ms
    // while the push runs: each lands between or inside the push's statements.
    std::atomic<bool> done{false};
    std::atomic<int> terminated{0};
    std::thread killer([&] {
        pq::Connection admin(postgres_options(), nullptr);
        while (!done) {
            for (int pid : s.backend.catalog().backend_pids()) {
                pq::Params p;
                p.add(static_cast<std::int64_t>(pid));
                auto r = admin.query(
                    "SELECT CASE WHEN pg_terminate_backend($1::int8::int) THEN 1 ELSE 0 END::int8",
                    p);
                if (r.rows() == 1 && !r.is_null(0, 0) && r.get<std::int64_t>(0, 0) != 0)
                    ++terminated;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    algo::PushResult r;
    try {
        r = s.push("r", "main", c.pack(c.head()));
    } catch (...) {
        done = true;
        killer.join();
        throw;
    }
    done = true;
    killer.join();
    std::printf("postgres sessions terminated during the push: %d\n", terminated.load());
    CHECK(terminated > 0);
    CHECK(r.head == c.head());
    CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
    CHECK(s.hub.fsck().ok());
}

TEST_CASE("postgres: a server that cannot be reached fails loudly", "[contract][postgres]") {
    pq::Options o;
    o.conninfo = "postgresql://postgres@127.0.0.1:1/postgres"; // nothing listens on port 1
    o.connect_timeout = std::chrono::seconds(2);
    try {
        musehub::postgres::Catalog catalog(o);
        FAIL("a catalog opened with no server behind it");
    } catch (const musehub::error& e) {
        CHECK(e.code() == errc::io);
        CHECK_THAT(e.what(), Catch::Contains("postgres: connect") && Catch::Contains("127.0.0.1"));
    }
}
