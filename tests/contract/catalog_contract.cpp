// Catalog contract: every backend in contract::Backends must pass every case.
#include "backends.hpp"
#include "common/catch_printing.hpp"

#include "musehub/core/sha256.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace musehub;
using namespace musehub::catalog;

// Every catalog of the suite, and the handles their transact() passes (catalog/concept.hpp;
// tests/unit/concepts_test.cpp proves a handle missing an operation is refused). The
// PostgreSQL catalog is checked here, in a translation unit that includes it.
static_assert(musehub::Catalog<musehub::postgres::Catalog>);
static_assert(musehub::Catalog<musehub::fs::Catalog>);
static_assert(musehub::Catalog<musehub::memory::Catalog>);

namespace {
ObjectId oid(int i) {
    return ObjectId{sha256("object " + std::to_string(i))};
}
CommitId cid(std::uint64_t i) {
    // A commit id that spells a counter, so a test can read a number back out of a head.
    Digest d;
    for (int b = 0; b < 8; ++b)
        d.bytes[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(i >> (8 * b));
    return CommitId{d};
}
std::uint64_t counter_of(const CommitId& c) {
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b)
        v |= std::uint64_t{c.digest.bytes[static_cast<std::size_t>(b)]} << (8 * b);
    return v;
}
template <class T>
std::span<const T> one(const T& v) {
    return std::span<const T>(&v, 1);
}
// The object rows oid(0) … oid(n-1): what refs and locations name must exist (a catalog with
// foreign keys refuses a ref to an unknown object, see catalog::Reference).
template <class C>
void known_objects(C& c, int n) {
    std::vector<ObjectRow> rows;
    for (int i = 0; i < n; ++i)
        rows.push_back({oid(i), 1});
    c.insert(std::span<const ObjectRow>(rows));
}
} // namespace

TEMPLATE_LIST_TEST_CASE("catalog: insert-or-ignore is idempotent", "[contract][catalog]",
                        contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    std::vector<ObjectRow> rows;
    for (int i = 0; i < 100; ++i)
        rows.push_back({oid(i), static_cast<std::uint64_t>(i)});
    CHECK(c.insert(std::span<const ObjectRow>(rows)) == 100);
    CHECK(c.insert(std::span<const ObjectRow>(rows)) == 0);
    CHECK(c.template scan<ObjectRow>(std::tuple{}).size() == 100);

    // Same key, other value: ignored, the first row stays.
    ObjectRow changed{oid(5), 999};
    CHECK(c.insert(one(changed)) == 0);
    auto found = c.template find<ObjectRow>(std::vector<Key<ObjectRow>>{{oid(5)}});
    REQUIRE(found[0].has_value());
    CHECK(found[0]->size == 5);

    // A batch that mixes new and known rows inserts just the new ones.
    std::vector<ObjectRow> mixed{{oid(1), 1}, {oid(100), 100}, {oid(2), 2}, {oid(101), 101}};
    CHECK(c.insert(std::span<const ObjectRow>(mixed)) == 2);
    CHECK(c.template scan<ObjectRow>(std::tuple{}).size() == 102);
}

TEMPLATE_LIST_TEST_CASE("catalog: concurrent inserts of overlapping rows add each row once",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    known_objects(c, 300);
    std::atomic<std::size_t> added{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int batch = 0; batch < 10; ++batch) {
                std::vector<ObjectRefRow> rows;
                for (int i = 0; i < 50; ++i)
                    rows.push_back({"repo", oid((t * 13 + batch * 50 + i) % 300)});
                added += c.insert(std::span<const ObjectRefRow>(rows));
            }
        });
    for (auto& t : threads)
        t.join();
    auto all = c.template scan<ObjectRefRow>(std::tuple{});
    CHECK(all.size() == added.load());
    CHECK(all.size() <= 300);
}

TEMPLATE_LIST_TEST_CASE("catalog: batched membership and lookup answer in key order",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    std::vector<ObjectRow> rows;
    for (int i = 0; i < 1000; i += 2)
        rows.push_back({oid(i), static_cast<std::uint64_t>(i)});
    c.insert(std::span<const ObjectRow>(rows));
    std::vector<Key<ObjectRow>> keys;
    for (int i = 0; i < 1000; ++i)
        keys.push_back({oid(i)});
    auto present = c.template contains<ObjectRow>(keys);
    auto found = c.template find<ObjectRow>(keys);
    REQUIRE(present.size() == 1000);
    REQUIRE(found.size() == 1000);
    for (std::size_t i = 0; i < 1000; ++i) {
        CHECK(present[i] == (i % 2 == 0));
        CHECK(found[i].has_value() == (i % 2 == 0));
        if (found[i])
            CHECK(found[i]->size == i);
    }
    CHECK(c.template contains<ObjectRow>(std::vector<Key<ObjectRow>>{}).empty());
}

TEMPLATE_LIST_TEST_CASE("catalog: scan by key prefix does not bleed into sibling keys",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    known_objects(c, 5);
    std::vector<ObjectRefRow> rows{
        {"r1", oid(1)}, {"r1", oid(2)}, {"r10", oid(3)}, {"r", oid(4)}, {"r2", oid(1)}};
    c.insert(std::span<const ObjectRefRow>(rows));
    auto r1 = c.template scan<ObjectRefRow>(std::tuple{std::string("r1")});
    REQUIRE(r1.size() == 2);
    for (const auto& r : r1)
        CHECK(r.repo == "r1");
    CHECK(c.template scan<ObjectRefRow>(std::tuple{std::string("r")}).size() == 1);
    CHECK(c.template scan<ObjectRefRow>(std::tuple{std::string("r3")}).empty());
    CHECK(c.template scan<ObjectRefRow>(std::tuple{std::string("r1"), oid(2)}).size() == 1);
}

TEMPLATE_LIST_TEST_CASE("catalog: erase and upsert", "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    known_objects(c, 3);
    std::vector<LocationRow> rows{{oid(1), "p1", 0, 10, Encoding::raw, 10},
                                  {oid(2), "p1", 10, 5, Encoding::zstd, 50}};
    c.insert(std::span<const LocationRow>(rows));
    LocationRow moved{oid(1), "p2", 100, 10, Encoding::raw, 10};
    c.upsert(one(moved));
    auto got = c.template find<LocationRow>(std::vector<Key<LocationRow>>{{oid(1)}, {oid(2)}});
    CHECK(got[0] == moved);
    CHECK(got[1] == rows[1]);
    std::vector<Key<LocationRow>> keys{{oid(1)}, {oid(3)}};
    CHECK(c.template erase<LocationRow>(keys) == 1);
    CHECK(c.template erase<LocationRow>(keys) == 0);
    CHECK(c.template scan<LocationRow>(std::tuple{}).size() == 1);
}

TEMPLATE_LIST_TEST_CASE("catalog: branch compare-and-swap", "[contract][catalog]",
                        contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    Key<Branch> key{"repo", "main"};
    Branch b1{"repo", "main", cid(1)}, b2{"repo", "main", cid(2)}, b3{"repo", "main", cid(3)};
    CHECK(c.template compare_and_swap<Branch>(key, std::nullopt, b1));       // create
    CHECK_FALSE(c.template compare_and_swap<Branch>(key, std::nullopt, b2)); // already exists
    CHECK_FALSE(c.template compare_and_swap<Branch>(key, b2, b3));           // stale expectation
    CHECK(c.template find<Branch>(one(key))[0] == b1);
    CHECK(c.template compare_and_swap<Branch>(key, b1, b2)); // fast path
    CHECK(c.template compare_and_swap<Branch>(key, b2, b2)); // same head: no-op success
    CHECK(c.template find<Branch>(one(key))[0] == b2);
    CHECK(c.template compare_and_swap<Branch>(key, b2, std::nullopt)); // delete
    CHECK_FALSE(c.template find<Branch>(one(key))[0].has_value());
    CHECK_FALSE(c.template compare_and_swap<Branch>(key, b2, b3)); // gone
}

TEMPLATE_LIST_TEST_CASE("catalog: 4 threads x 250 CAS increments lose no update",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    Key<Branch> key{"repo", "counter"};
    REQUIRE(
        c.template compare_and_swap<Branch>(key, std::nullopt, Branch{"repo", "counter", cid(0)}));
    std::atomic<int> successes{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int won = 0; won < 250;) {
                auto current = c.template find<Branch>(one(key))[0];
                Branch next{"repo", "counter", cid(counter_of(current->head) + 1)};
                if (c.template compare_and_swap<Branch>(key, current, next))
                    ++won, ++successes;
                else
                    ++conflicts;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(successes == 1000);
    CHECK(counter_of(c.template find<Branch>(one(key))[0]->head) == 1000);
    INFO("conflicts retried: " << conflicts.load());
}

TEMPLATE_LIST_TEST_CASE("catalog: a transaction is all or nothing", "[contract][catalog]",
                        contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    ObjectRow keep{oid(0), 1};
    c.insert(one(keep));
    struct Abort {};
    CHECK_THROWS_AS(c.transact([&](auto& tx) {
        ObjectRow fresh{oid(1), 2};
        tx.insert(one(fresh));
        tx.template erase<ObjectRow>(std::vector<Key<ObjectRow>>{{oid(0)}});
        tx.template compare_and_swap<Branch>({"r", "main"}, std::nullopt,
                                             Branch{"r", "main", cid(1)});
        throw Abort{};
        return 0;
    }),
                    Abort);
    auto rows = c.template scan<ObjectRow>(std::tuple{});
    REQUIRE(rows.size() == 1);
    CHECK(rows[0] == keep);
    CHECK(c.template scan<Branch>(std::tuple{}).empty());

    auto n = c.transact([&](auto& tx) {
        ObjectRow fresh{oid(1), 2};
        auto added = tx.insert(one(fresh));
        tx.template compare_and_swap<Branch>({"r", "main"}, std::nullopt,
                                             Branch{"r", "main", cid(1)});
        return static_cast<int>(added);
    });
    CHECK(n == 1);
    CHECK(c.template scan<ObjectRow>(std::tuple{}).size() == 2);
    CHECK(c.template scan<Branch>(std::tuple{}).size() == 1);
}

TEMPLATE_LIST_TEST_CASE("catalog: every table round-trips its reflected row", "[contract][catalog]",
                        contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    auto check = [&](const auto& row) {
        using Row = std::decay_t<decltype(row)>;
        CHECK(c.insert(one(row)) == 1);
        auto got = c.template find<Row>(one(key_of(row)));
        REQUIRE(got[0].has_value());
        CHECK(*got[0] == row);
    };
    check(RepoRow{"repo", "main", 3, 2});
    check(ObjectRow{oid(1), 0, TimePoint{std::chrono::milliseconds{7}}});
    check(ContainerRow{"v1/packs/aa/pack-1", PackId{sha256("pack")}, ContainerFormat::v2_pack, 123,
                       4, 2, 2, TimePoint{std::chrono::milliseconds{42}}});
    check(LocationRow{oid(1), "v1/packs/aa/pack", 7, 0, Encoding::raw, 0});
    check(ObjectRefRow{"repo", oid(1), TimePoint{std::chrono::milliseconds{8}}});
    check(SnapshotRow{SnapshotId{sha256("s")}, 3, to_bytes(std::string_view("\x81\xa1k\xa1v"))});
    check(SnapshotRow{SnapshotId{sha256("delta")}, 3, Bytes{std::byte{0x92}},
                      SnapshotId{sha256("s")}, 15});
    check(SnapshotRefRow{"repo", SnapshotId{sha256("s")}});
    check(CommitRow{cid(1), SnapshotId{sha256("s")}, cid(0), std::nullopt,
                    Bytes{std::byte{0}, std::byte{0xff}}});
    check(CommitRefRow{"repo", cid(1)});
    check(Branch{"repo", "main", cid(1)});
    check(TombstoneRow{"v1/packs/bb/old", TimePoint{std::chrono::milliseconds{9}}});
    check(UploadRow{"repo", "v1/objects/aa/x-1", TimePoint{std::chrono::milliseconds{11}}});
    check(FetchCacheRow{"repo", "abc", "v1/fetch/aa/x", TimePoint{std::chrono::milliseconds{10}}});
}

TEMPLATE_LIST_TEST_CASE("catalog: find_by answers from a secondary index, in step with every write",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    known_objects(c, 10);
    std::vector<ObjectRefRow> refs{
        {"a", oid(1), {}}, {"b", oid(1), {}}, {"a", oid(2), {}}, {"c", oid(3), {}}};
    c.insert(std::span<const ObjectRefRow>(refs));
    auto who = [&](std::vector<ObjectId> ids) {
        std::multiset<std::string> repos;
        for (const auto& r : c.template find_by<ObjectRefRow, 1>(std::span<const ObjectId>(ids)))
            repos.insert(r.repo);
        return repos;
    };
    CHECK(who({oid(1)}) == std::multiset<std::string>{"a", "b"});
    CHECK(who({oid(1), oid(3), oid(9)}) == std::multiset<std::string>{"a", "b", "c"});
    CHECK(who({oid(9)}).empty());
    c.template erase<ObjectRefRow>(std::vector<Key<ObjectRefRow>>{{"b", oid(1)}});
    CHECK(who({oid(1)}) == std::multiset<std::string>{"a"});
    // A rolled-back transaction leaves the index as it was.
    CHECK_THROWS(c.transact([&](auto& tx) {
        ObjectRefRow more{"z", oid(3), {}};
        tx.insert(one(more));
        tx.template erase<ObjectRefRow>(std::vector<Key<ObjectRefRow>>{{"a", oid(1)}});
        throw std::runtime_error("abort");
        return 0;
    }));
    CHECK(who({oid(1), oid(3)}) == std::multiset<std::string>{"a", "c"});
    // Upserting a row that moves its indexed field moves its index entry.
    std::vector<LocationRow> locs{{oid(1), "p1", 0, 1, Encoding::raw, 1},
                                  {oid(2), "p1", 1, 1, Encoding::raw, 1}};
    c.insert(std::span<const LocationRow>(locs));
    LocationRow moved{oid(1), "p2", 0, 1, Encoding::raw, 1};
    c.upsert(one(moved));
    CHECK(c.template find_by<LocationRow, 1>(std::vector<std::string>{"p1"}).size() == 1);
    CHECK(c.template find_by<LocationRow, 1>(std::vector<std::string>{"p2"}) ==
          std::vector<LocationRow>{moved});
}

TEMPLATE_LIST_TEST_CASE("catalog: erase_exact deletes only rows unchanged since they were read",
                        "[contract][catalog]", contract::Backends) {
    TestType backend;
    auto& c = backend.catalog();
    const TimePoint t1{std::chrono::milliseconds{1000}}, t2{std::chrono::milliseconds{2000}};
    known_objects(c, 4);
    std::vector<ObjectRefRow> seen{{"r", oid(1), t1}, {"r", oid(2), t1}, {"r", oid(3), t1}};
    c.insert(std::span<const ObjectRefRow>(seen));
    ObjectRefRow refreshed{"r", oid(2), t2}; // a push touched it after GC read it
    c.upsert(one(refreshed));
    c.template erase<ObjectRefRow>(std::vector<Key<ObjectRefRow>>{{"r", oid(3)}});
    CHECK(c.erase_exact(std::span<const ObjectRefRow>(seen)) == 1);
    auto left = c.template scan<ObjectRefRow>(std::tuple{});
    CHECK(left == std::vector<ObjectRefRow>{refreshed});
}
