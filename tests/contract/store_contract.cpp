// ObjectStore contract: every backend in contract::Backends must pass every case.
#include "backends.hpp"
#include "common/catch_printing.hpp"

#include "musehub/store/batch.hpp"
#include "musehub/store/pending_put.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace musehub;

namespace {
Bytes filled(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = std::byte(static_cast<std::uint8_t>(seed + i * 31));
    return b;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("store: a new store is empty", "[contract][store]", contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    CHECK(s.list("").empty());
    CHECK_FALSE(s.get("v1/packs/00/none").has_value());
    CHECK_FALSE(s.size("v1/packs/00/none").has_value());
    CHECK_FALSE(s.get_range("v1/packs/00/none", 0, 10).has_value());
    CHECK_FALSE(exists(s, "v1/packs/00/none"));
}

TEMPLATE_LIST_TEST_CASE("store: put and get round-trip, including the empty object",
                        "[contract][store]", contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    auto big = filled(1 << 20, 7);
    s.put("k/big", big);
    s.put("k/empty", Bytes{});
    s.put("k/small", as_bytes("hello"));
    CHECK(s.get("k/big") == big);
    CHECK(s.get("k/empty") == Bytes{});
    CHECK(s.size("k/empty") == 0u);
    CHECK(s.size("k/big") == big.size());
    CHECK(s.get("k/small") == to_bytes("hello"));
    CHECK(exists(s, "k/empty"));
}

TEMPLATE_LIST_TEST_CASE("store: put is idempotent and replaces atomically", "[contract][store]",
                        contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    auto a = filled(1 << 20, 1), b = filled(1 << 20, 2);
    s.put("k", a);
    s.put("k", a);
    CHECK(s.list("") == std::vector<std::string>{"k"});
    CHECK(s.get("k") == a);

    // Readers racing a writer that alternates two contents see one or the other, whole.
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread writer([&] {
        // Keep writing until the readers have really raced it (bounded, in case they cannot).
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (int i = 0; i < 40 || (reads < 100 && std::chrono::steady_clock::now() < deadline); ++i)
            s.put("k", i % 2 ? a : b);
        done = true;
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
        readers.emplace_back([&] {
            while (!done) {
                auto got = s.get("k");
                ++reads;
                if (!got || (*got != a && *got != b))
                    ++torn;
            }
        });
    writer.join();
    for (auto& t : readers)
        t.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
}

TEMPLATE_LIST_TEST_CASE("store: put_if_absent has exactly one winner", "[contract][store]",
                        contract::ExclusiveCreateBackends) {
    TestType backend;
    auto& s = backend.store();
    constexpr int writers = 8;
    std::vector<Bytes> contents;
    for (int i = 0; i < writers; ++i)
        contents.push_back(filled(4096, static_cast<std::uint8_t>(i)));
    for (int round = 0; round < 20; ++round) {
        auto key = "race/" + std::to_string(round);
        std::atomic<int> wins{0}, winner{-1};
        std::vector<std::thread> threads;
        for (int i = 0; i < writers; ++i)
            threads.emplace_back([&, i] {
                if (s.put_if_absent(key, contents[i])) {
                    ++wins;
                    winner = i;
                }
            });
        for (auto& t : threads)
            t.join();
        REQUIRE(wins == 1);
        CHECK(s.get(key) == contents[winner]);
        CHECK_FALSE(
            s.put_if_absent(key, contents[0] == contents[winner] ? contents[1] : contents[0]));
        CHECK(s.get(key) == contents[winner]);
    }
}

TEMPLATE_LIST_TEST_CASE("store: put_if_absent skipped where the store cannot create exclusively",
                        "[contract][store]", contract::NoExclusiveCreateBackends) {
    contract::skip(TestType::name, "store: put_if_absent",
                   "the store has no conditional create, and nothing depends on one");
}

TEMPLATE_LIST_TEST_CASE("store: ranged get clips at the end", "[contract][store]",
                        contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    auto data = filled(1000, 3);
    s.put("r", data);
    auto slice = [&](std::size_t off, std::size_t len) {
        return Bytes(data.begin() + static_cast<long>(off),
                     data.begin() + static_cast<long>(off + len));
    };
    CHECK(s.get_range("r", 0, 1000) == data);
    CHECK(s.get_range("r", 10, 20) == slice(10, 20));
    CHECK(s.get_range("r", 990, 100) == slice(990, 10)); // past the end: clipped
    CHECK(s.get_range("r", 1000, 5) == Bytes{});         // at the end: empty
    CHECK(s.get_range("r", 5000, 5) == Bytes{});         // beyond: empty, not absent
    CHECK(s.get_range("r", 7, 0) == Bytes{});
    CHECK_FALSE(s.get_range("absent", 0, 1).has_value());
}

TEMPLATE_LIST_TEST_CASE("store: list by prefix, sorted, without sibling-prefix bleed",
                        "[contract][store]", contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    for (auto k : {"a/2", "a/1", "ab/1", "a", "b/1", "a/sub/3"})
        s.put(k, as_bytes(k));
    CHECK(s.list("a/") == std::vector<std::string>{"a/1", "a/2", "a/sub/3"});
    CHECK(s.list("ab/") == std::vector<std::string>{"ab/1"});
    CHECK(s.list("a") == std::vector<std::string>{"a", "a/1", "a/2", "a/sub/3", "ab/1"});
    CHECK(s.list("c").empty());
    CHECK(s.list("").size() == 6);
}

TEMPLATE_LIST_TEST_CASE("store: remove is idempotent", "[contract][store]", contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    s.put("x", as_bytes("1"));
    s.put("xy", as_bytes("2"));
    s.remove("x");
    s.remove("x");
    s.remove("never-there");
    CHECK_FALSE(s.get("x").has_value());
    CHECK(s.get("xy") == to_bytes("2"));
    CHECK(s.list("") == std::vector<std::string>{"xy"});
}

TEMPLATE_LIST_TEST_CASE("store: a put in pieces is visible whole at commit, or never",
                        "[contract][store]", contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    const auto whole = filled(3u << 20, 9); // several pieces, as a fetch writes a pack
    {
        auto put = begin_put(s);
        for (std::size_t at = 0; at < whole.size(); at += 1u << 20)
            put.write(
                BytesView(whole).subspan(at, std::min<std::size_t>(1u << 20, whole.size() - at)));
        CHECK(s.list("").empty()); // nothing visible before commit
        put.commit("pieces/whole");
    }
    CHECK(s.get("pieces/whole") == whole);
    CHECK(s.list("") == std::vector<std::string>{"pieces/whole"});
    {
        auto put = begin_put(s); // abandoned: never committed
        put.write(whole);
    }
    {
        auto put = begin_put(s); // an empty put is an empty object
        put.commit("pieces/empty");
    }
    CHECK(s.get("pieces/empty") == Bytes{});
    CHECK(s.list("") == std::vector<std::string>{"pieces/empty", "pieces/whole"});
}

TEMPLATE_LIST_TEST_CASE("store: batched operations match one-at-a-time ones", "[contract][store]",
                        contract::Backends) {
    TestType backend;
    auto& s = backend.store();
    std::vector<Bytes> data;
    std::vector<PutItem> puts;
    std::vector<std::string> keys;
    for (int i = 0; i < 100; ++i)
        data.push_back(filled(100 + static_cast<std::size_t>(i), static_cast<std::uint8_t>(i)));
    for (int i = 0; i < 100; ++i) {
        keys.push_back("batch/" + std::to_string(i));
        puts.push_back({keys.back(), data[static_cast<std::size_t>(i)]});
    }
    put_many(s, std::span<const PutItem>(puts));
    std::vector<RangeItem> ranges;
    for (int i = 0; i < 100; ++i)
        ranges.push_back({keys[static_cast<std::size_t>(i)], 10, 50});
    ranges.push_back({"batch/absent", 0, 1});
    auto got = get_ranges(s, std::span<const RangeItem>(ranges));
    REQUIRE(got.size() == 101);
    for (std::size_t i = 0; i < 100; ++i)
        CHECK(*got[i] == Bytes(data[i].begin() + 10, data[i].begin() + 60));
    CHECK_FALSE(got[100].has_value());
    auto sz = sizes(s, std::span<const std::string>(keys));
    for (std::size_t i = 0; i < 100; ++i)
        CHECK(sz[i] == data[i].size());
    remove_many(s, std::span<const std::string>(keys));
    CHECK(s.list("batch/").empty());
}

TEMPLATE_LIST_TEST_CASE("store: contents survive reopening", "[contract][store]",
                        contract::PersistentBackends) {
    TestType backend;
    backend.store().put("durable", as_bytes("bytes"));
    backend.reopen();
    CHECK(backend.store().get("durable") == to_bytes("bytes"));
}

TEMPLATE_LIST_TEST_CASE("store: reopening skipped where the backend keeps nothing",
                        "[contract][store]", contract::TransientBackends) {
    contract::skip(TestType::name, "store: contents survive reopening",
                   "the backend keeps nothing across a reopen by design");
}
