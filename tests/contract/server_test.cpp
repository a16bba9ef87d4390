// What only the server backends must show, against the real servers the test command starts:
// PostgreSQL round trips per push grow with batches, not objects; a push survives the server
// terminating its connections mid-way; a server that cannot be reached fails loudly. S3: a
// listing longer than one page follows its continuation tokens, a delete of thousands of keys
// goes in DeleteObjects batches, a wrong secret fails with S3's own words, and the failures S3
// asks clients to retry are retried, with backoff, against a server that produces them on
// purpose (tests/servers/faulty-s3.py).
#include "hub_setups.hpp"

#include "common/catch_printing.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
    // A connection of the test's own terminates every session of the catalog, five times,
    // 200 ms apart, while the push runs: each lands between or inside the push's statements.
    // (Bounded, so a slow build's long transactions still get through between the rounds.)
    std::atomic<bool> done{false};
    std::atomic<int> terminated{0};
    std::thread killer([&] {
        pq::Connection admin(postgres_options(), nullptr);
        for (int round = 0; round < 5 && !done; ++round) {
            std::this_thread::sleep_for(std::chrono::milliseconds(round ? 200 : 50));
            for (int pid : s.backend.catalog().backend_pids()) {
                pq::Params p;
                p.add(static_cast<std::int64_t>(pid));
                auto r = admin.query(
                    "SELECT CASE WHEN pg_terminate_backend($1::int8::int) THEN 1 ELSE 0 END::int8",
                    p);
                if (r.rows() == 1 && !r.is_null(0, 0) && r.get<std::int64_t>(0, 0) != 0)
                    ++terminated;
            }
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

TEST_CASE("postgres: the references the schema declares are foreign keys", "[contract][postgres]") {
    FsPostgresBackend backend;
    auto& c = backend.catalog();
    const ObjectId known{musehub::sha256("known")}, unknown{musehub::sha256("unknown")};
    catalog::ObjectRow object{known, 5};
    c.insert(std::span<const catalog::ObjectRow>(&object, 1));
    auto refused = [](auto&& write) {
        try {
            write();
        } catch (const musehub::error& e) {
            CHECK(e.code() == errc::io);
            CHECK_THAT(e.what(), Catch::Contains("23503")); // foreign_key_violation
            return true;
        }
        return false;
    };
    // A ref to an object the catalog does not know is refused, and nothing of its
    // transaction stays.
    CHECK(refused([&] {
        c.transact([&](auto& tx) {
            std::vector<catalog::ObjectRefRow> refs{{"r", known, {}}, {"r", unknown, {}}};
            tx.insert(std::span<const catalog::ObjectRefRow>(refs));
            return 0;
        });
    }));
    CHECK(c.template scan<catalog::ObjectRefRow>(std::tuple{}).empty());
    // An object cannot go while a ref names it; it can once the ref goes in the same commit.
    catalog::ObjectRefRow ref{"r", known, {}};
    c.insert(std::span<const catalog::ObjectRefRow>(&ref, 1));
    std::vector<catalog::Key<catalog::ObjectRow>> key{{known}};
    CHECK(refused([&] { c.template erase<catalog::ObjectRow>(key); }));
    c.transact([&](auto& tx) {
        tx.template erase<catalog::ObjectRow>(key);
        tx.erase_exact(std::span<const catalog::ObjectRefRow>(&ref, 1));
        return 0;
    });
    CHECK(c.template scan<catalog::ObjectRow>(std::tuple{}).empty());
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

TEST_CASE("s3: listings follow continuation tokens, deletes go in batches of 1,000",
          "[contract][s3]") {
    S3Bucket bucket;
    auto& store = bucket.store();
    std::vector<musehub::PutItem> items;
    std::vector<std::string> keys;
    const std::string payload = "x";
    for (int i = 0; i < 2'500; ++i) // S3 pages listings at 1,000 keys
        keys.push_back("many/" + std::to_string(100'000 + i));
    keys.push_back("many0/not-under-many/"); // shares the prefix "many", not "many/"
    for (const auto& k : keys)
        items.push_back({k, musehub::as_bytes(payload)});
    musehub::put_many(store, std::span<const musehub::PutItem>(items));
    auto listed = store.list("many/");
    REQUIRE(listed.size() == 2'500);
    CHECK(std::is_sorted(listed.begin(), listed.end()));
    CHECK(listed.front() == "many/100000");
    CHECK(listed.back() == "many/102499");
    musehub::remove_many(store, std::span<const std::string>(listed)); // three DeleteObjects
    CHECK(store.list("many/").empty());
    CHECK(store.list("many") == std::vector<std::string>{"many0/not-under-many/"});
}

TEST_CASE("s3: a wrong secret fails loudly, in S3's words", "[contract][s3]") {
    auto options = musehub::s3::ObjectStore::Options::from_env();
    options.credentials.secret_access_key += "-wrong";
    options.max_attempts = 2;
    musehub::s3::ObjectStore store(options);
    try {
        store.put("probe", musehub::as_bytes(std::string_view("bytes")));
        FAIL("a PUT signed with the wrong secret was accepted");
    } catch (const musehub::error& e) {
        CHECK(e.code() == errc::io);
        CHECK_THAT(e.what(), Catch::Contains("403") && Catch::Contains("SignatureDoesNotMatch"));
    }
}

namespace {

// tests/servers/faulty-s3.py in a child process of the test's own, on a port the kernel picks;
// stopped when this goes.
class FaultyS3 {
public:
    FaultyS3() {
        int out[2];
        REQUIRE(::pipe(out) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]), ::close(out[1]);
            ::execlp("python3", "python3", MUSEHUB_TEST_SERVERS_DIR "/faulty-s3.py", nullptr);
            ::_exit(127);
        }
        ::close(out[1]);
        std::string line;
        char ch;
        while (::read(out[0], &ch, 1) == 1 && ch != '\n')
            line += ch;
        ::close(out[0]);
        REQUIRE(line.starts_with("faulty-s3 ready "));
        port_ = line.substr(16);
    }
    FaultyS3(const FaultyS3&) = delete;
    FaultyS3& operator=(const FaultyS3&) = delete;
    ~FaultyS3() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    musehub::s3::ObjectStore::Options options() const {
        musehub::s3::ObjectStore::Options o;
        o.endpoint = {"http://127.0.0.1:" + port_, "us-east-1", "b",
                      musehub::s3::AddressingStyle::path};
        o.credentials = {"AKIDEXAMPLE", "secret", std::nullopt};
        o.base_backoff = std::chrono::milliseconds(5);
        o.max_backoff = std::chrono::milliseconds(50);
        return o;
    }

private:
    pid_t pid_ = -1;
    std::string port_;
};

template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const musehub::error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("s3: 503 SlowDown, 500, dropped connections and short bodies are retried; the rest "
          "fail in S3's words",
          "[contract][s3]") {
    FaultyS3 server;
    musehub::s3::ObjectStore s(server.options());
    using musehub::as_bytes;
    s.put("slow503/a", as_bytes(std::string_view("hello"))); // 503, 503, 200
    CHECK(s.size("slow503/a") == 5u);                        // HEAD: 503, 503, 200
    CHECK(s.get("slow503/b") == std::nullopt);               // 503, 503, 404 NoSuchKey
    CHECK(s.get("err500/a") == std::nullopt);                // 500, then 404
    s.put("reset/a", as_bytes(std::string_view("r")));       // closed without an answer
    CHECK(s.get("reset/a") == musehub::to_bytes(std::string_view("r")));
    s.put("trunc/a", musehub::Bytes(100, std::byte{'x'}));
    CHECK(s.get("trunc/a") == musehub::Bytes(100, std::byte{'x'})); // 10 of 100 bytes, then all

    auto m = message_of([&] { s.put("always503/a", as_bytes(std::string_view("x"))); });
    CHECK_THAT(m, Catch::Contains("503 SlowDown") && Catch::Contains("gave up after 6 attempts"));
    m = message_of([&] { (void)s.get("forbidden/a"); });
    CHECK_THAT(m, Catch::Contains("403 AccessDenied: Access Denied"));
    CHECK_THAT(m, !Catch::Contains("gave up")); // not retried

    // DeleteObjects in batches: a key's InternalError is retried, its AccessDenied is not.
    std::vector<std::string> keys;
    for (int i = 0; i < 2'100; ++i)
        keys.push_back("d/" + std::to_string(i) + (i % 500 == 7 ? "-flaky" : ""));
    CHECK_NOTHROW(s.remove_many(keys));
    keys.push_back("d/denied");
    m = message_of([&] { s.remove_many(keys); });
    CHECK_THAT(m, Catch::Contains("AccessDenied") && Catch::Contains("d/denied"));

    // A server that stops answering: request_timeout bounds each attempt.
    auto o = server.options();
    o.request_timeout = std::chrono::seconds(1);
    o.max_attempts = 2;
    musehub::s3::ObjectStore stalled(o);
    m = message_of([&] { (void)stalled.get("stall/a"); });
    CHECK_THAT(m, Catch::Contains("gave up after 2 attempts"));
}
