// GC, consolidation and GC safety, for every backend and both wire policies (docs/design.md
// invariants 4 and 5). Scenario names (GC-1, PG-4, …) are the ones issue 3 lists.
#include "hub_setups.hpp"

#include "common/catch_printing.hpp"
#include "common/edited_text.hpp"
#include "musehub/catalog/counting.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

using namespace musehub;
using namespace contract;

namespace {
template <class S>
std::set<ObjectId> refs_of(S& s, const std::string& repo) {
    std::set<ObjectId> out;
    for (const auto& r : s.backend.catalog().template scan<catalog::ObjectRefRow>(std::tuple{repo}))
        out.insert(r.object_id);
    return out;
}
template <class S>
bool has_object(S& s, const ObjectId& id) {
    return s.backend.catalog().template contains<catalog::ObjectRow>(
        std::vector<catalog::Key<catalog::ObjectRow>>{{id}})[0];
}
// Pushes `c`'s history to `repo` and returns its snapshot ids oldest first, as a clone has them.
template <class S>
std::vector<SnapshotId> push_history(S& s, const std::string& repo, const Client& c) {
    s.push(repo, "main", c.pack(c.head()));
    auto [pack, bytes] = s.fetch(repo, {c.head()});
    std::vector<SnapshotId> history;
    for (const auto* commit : topological_order(pack.commits))
        history.push_back(commit->snapshot_id);
    return history;
}
ObjectId oid(const std::string& content) {
    return object_id_of(as_bytes(content));
}
// What a GC reads does not depend on the wire: one wire per backend is enough to pin it.
using ScopeSetups =
    std::tuple<Setup<MemoryBackend, wire::v2>, Setup<FsBackend, wire::v2>,
               Setup<S3PostgresBackend, wire::v2>, Setup<FsPostgresBackend, wire::v1>>;
} // namespace

TEMPLATE_LIST_TEST_CASE("GC scenarios", "[contract][gc]", Setups) {
    TestType s;
    Client c;
    c.write("keep.txt", "kept");
    c.write("shared.txt", "shared by both repos");
    auto base = c.commit("base");
    s.push("r", "main", c.pack(base));
    c.write("secret.txt", "secret");
    auto oops = c.commit("oops");
    s.push("r", "main", c.pack(oops, {base})); // a second container, holding only "secret"
    c.checkout(base);
    s.push("r", "main", c.pack(base), /*force=*/true); // "secret" is now garbage in r

    SECTION("GC-1 the ref to an object no live snapshot uses is deleted; GC-3 the object with it") {
        auto g = s.hub.gc("r");
        CHECK_FALSE(g.skipped);
        CHECK_FALSE(refs_of(s, "r").count(oid("secret")));
        CHECK_FALSE(has_object(s, oid("secret")));
        CHECK(g.objects_deleted == 1);
        CHECK(s.hub.fsck().ok());
    }
    SECTION("GC-2 a ref is kept while a live snapshot uses it") {
        s.hub.gc("r");
        CHECK(refs_of(s, "r").count(oid("kept")));
        CHECK(has_object(s, oid("kept")));
        CHECK(s.clone("r", "main") == expected_tree(c, base));
    }
    SECTION("GC-4 an object is kept while another repo refers to it") {
        Client other;
        other.write("secret-too.txt", "secret");
        s.push("other", "main", other.pack(other.commit("also has it")));
        auto g = s.hub.gc("r");
        CHECK_FALSE(refs_of(s, "r").count(oid("secret")));
        CHECK(has_object(s, oid("secret")));
        CHECK(g.objects_deleted == 0);
        CHECK(s.clone("other", "main").at("secret-too.txt") == "secret");
    }
    SECTION("GC-5 a clean repo is a no-op") {
        s.hub.gc("r");
        auto before = s.state();
        auto g = s.hub.gc("r");
        CHECK(s.state() == before);
        CHECK(g.commit_refs_dropped + g.snapshot_refs_dropped + g.object_refs_dropped +
                  g.objects_deleted ==
              0);
    }
    SECTION("GC-6 the result fields are populated") {
        auto g = s.hub.gc("r");
        CHECK(g.repo == "r");
        CHECK(g.live_commits == 1);
        CHECK(g.live_snapshots == 1);
        CHECK(g.live_objects == 2);
        CHECK(g.commit_refs_dropped == 1);
        CHECK(g.snapshot_refs_dropped == 1);
        CHECK(g.object_refs_dropped == 1);
        CHECK(g.commits_deleted == 1);
        CHECK(g.snapshots_deleted == 1);
        CHECK(g.objects_deleted == 1);
        CHECK(g.object_bytes_deleted == std::string("secret").size());
        CHECK(g.errors.empty());
        CHECK_FALSE(g.times.phases().empty());
    }
    SECTION("GC-7 a repo without branches is skipped") {
        auto g = s.hub.gc("nobody");
        CHECK(g.skipped);
        CHECK_THAT(g.reason, Catch::Contains("no branches"));
    }
    SECTION("GC-8 refs younger than the grace period are kept, and their history with them") {
        HubOptions o = s.hub.options();
        o.grace = std::chrono::hours(1);
        typename TestType::Hub patient{s.hub.wire(), s.backend.store(), s.backend.catalog(),
                                       s.backend.queue(), o};
        auto g = patient.gc("r");
        CHECK(g.object_refs_dropped == 0);
        CHECK(has_object(s, oid("secret")));
        s.clock.advance(std::chrono::hours(2));
        patient.gc("r");
        CHECK_FALSE(has_object(s, oid("secret")));
    }
    SECTION("GC-9 a container left with nothing live is retired, and its bytes purged after the "
            "grace period") {
        auto before = s.backend.store().list("v1/packs/").size();
        auto g = s.hub.gc("r");
        CHECK(g.containers_retired == 1);
        CHECK(s.backend.store().list("v1/packs/").size() == before); // retired, not yet purged
        auto w = s.hub.sweep();
        CHECK(w.tombstones_purged == 1); // grace is zero here
        CHECK(w.bytes_purged > 0);
        CHECK(s.backend.store().list("v1/packs/").size() == before - 1);
        CHECK(s.clone("r", "main") == expected_tree(c, base));
        CHECK(s.hub.fsck().ok());
    }
}

TEMPLATE_LIST_TEST_CASE("GC-SCOPE GC of one repo reads that repo's rows, however many repos "
                        "the hub holds",
                        "[contract][gc]", ScopeSetups) {
    // The same small repo with garbage in it, collected in a hub that holds it alone and in
    // one that also holds 1,000 other repos (each its own history and pack; 100 on the server
    // backends, where each push is a dozen round trips): the rows GC reads are the same. A
    // hub-wide scan of containers, tombstones, caches or uploads would read one more per
    // repo; what belongs to no repo is the sweep's.
    auto rows_read_by_gc = [](int others) {
        typename TestType::backend_type backend;
        catalog::CountingCatalog counted(backend.catalog());
        TestClock clock;
        Hub hub{typename TestType::Hub::wire_type{}, backend.store(), counted, backend.queue(),
                TestType::options(clock)};
        auto push = [&](const std::string& repo, Pack pack, bool force = false) {
            hub.push(repo, hub.wire().encode_push(PushRequest{std::move(pack), "main", force}));
        };
        for (int i = 0; i < others; ++i) {
            Client o;
            o.write("f.txt", "repo " + std::to_string(i));
            push("other-" + std::to_string(i), o.pack(o.commit("its own")));
        }
        Client c;
        c.write("a.txt", "kept");
        auto base = c.commit("base");
        push("small", c.pack(base));
        c.write("b.txt", "garbage");
        push("small", c.pack(c.commit("oops"), {base}));
        c.checkout(base);
        push("small", c.pack(base), /*force=*/true);
        counted.counts().reset();
        auto g = hub.gc("small");
        CHECK(g.objects_deleted == 1);
        CHECK(g.containers_retired == 1);
        return counted.counts().rows_read.load();
    };
    const auto alone = rows_read_by_gc(0);
    const int others =
        TestType::backend_type::name.find("postgres") == std::string_view::npos ? 1000 : 100;
    const auto crowded = rows_read_by_gc(others);
    INFO("rows GC read: " << alone << " alone, " << crowded << " among " << others << " repos");
    CHECK(alone > 0);
    CHECK(crowded == alone);
}

TEMPLATE_LIST_TEST_CASE("GC-10 the sweep removes what crashed writers left in stores that can "
                        "leave any",
                        "[contract][gc]", TemporarySweepingSetups) {
    TestType s;
    auto& store = s.backend.store(); // the fs store: its temporaries are files under root()
    Client c;
    c.write("a.txt", "a");
    s.push("r", "main", c.pack(c.commit("a branch, so GC runs")));
    // What a writer killed mid-put leaves: a temp file next to the objects, an hour old.
    auto stale = store.root() / "objects" / ".tmp-crashed-writer";
    auto fresh = store.root() / "objects" / ".tmp-writer-in-flight";
    for (const auto& p : {stale, fresh})
        std::ofstream(p) << "half an object";
    std::filesystem::last_write_time(stale, std::filesystem::file_time_type::clock::now() -
                                                std::chrono::hours(1));
    CHECK(store.list("").size() == store.list("v1/").size()); // never listed
    auto g = s.hub.sweep();
    CHECK(g.temporaries_swept == 1);
    CHECK_FALSE(std::filesystem::exists(stale));
    CHECK(std::filesystem::exists(fresh)); // younger than the sweep age: maybe a put in flight
    CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
}

TEMPLATE_LIST_TEST_CASE("GC-10 skipped where the store leaves no temporaries", "[contract][gc]",
                        NoTemporariesSetups) {
    contract::skip(TestType::backend_type::name, "GC-10", "the store leaves no temporaries behind");
}

TEMPLATE_LIST_TEST_CASE("GC-11 the sweep removes bytes a writer stored and died before "
                        "registering",
                        "[contract][gc]", Setups) {
    TestType s;
    auto& store = s.backend.store();
    Client c;
    c.write("a.txt", "a");
    s.push("r", "main", c.pack(c.commit("a branch, so GC runs")));
    // What a push killed between storing its pack and inserting the pack's row leaves behind,
    // and a fetch pack killed the same way; one written just now is maybe still registering.
    Bytes junk = to_bytes("a pack nobody registered");
    auto pack_stray = algo::container_key(PackId{sha256(junk)}, s.hub.now());
    auto fetch_stray = algo::fetch_cache_key(PackId{sha256(junk)}, s.hub.now());
    store.put(pack_stray, junk);
    store.put(fetch_stray, junk);
    auto fsck = s.hub.fsck();
    CHECK(fsck.ok());
    CHECK(fsck.stray_containers == 2);      // garbage, not a violation
    CHECK(s.hub.sweep().strays_swept == 0); // too young to tell from an upload in flight

    s.clock.advance(std::chrono::minutes(11));
    auto young = algo::container_key(PackId{sha256(junk)}, s.hub.now());
    store.put(young, junk);
    auto g = s.hub.sweep();
    CHECK(g.strays_swept == 2);
    CHECK(g.tombstones_purged == 2); // never read by anyone: purged in the same run
    CHECK_FALSE(store.get(pack_stray));
    CHECK_FALSE(store.get(fetch_stray));
    CHECK(store.get(young));
    CHECK(s.hub.fsck().stray_containers == 1);
    CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("GC-12 a collection that empties most of the catalog gives the space "
                        "back where the catalog keeps it, and everything kept reads back",
                        "[contract][gc]", Setups) {
    TestType s;
    Client c;
    // 3,000 new files in 60 commits: a catalog file of over 1 MiB. The force-push back to the
    // middle leaves half of them dead, spread over every page by their ids, so the pages stay
    // half full (the SQLite catalog then rewrites itself).
    std::optional<CommitId> middle;
    for (int i = 0; i < 60; ++i) {
        for (int f = 0; f < 50; ++f)
            c.write("dir" + std::to_string(i) + "/" + std::to_string(f) + ".txt",
                    "file " + std::to_string(f) + " of commit " + std::to_string(i));
        auto id = c.commit("commit " + std::to_string(i));
        if (i == 29)
            middle = id;
    }
    s.push("r", "main", c.pack(c.head()));
    c.checkout(*middle);
    s.push("r", "main", c.pack(*middle), /*force=*/true);
    auto g = s.hub.gc("r");
    CHECK(g.objects_deleted == 1500);
    CHECK(g.errors.empty());
    auto w = s.hub.sweep(); // what `musehub gc` and the sweep job run after collecting
    CHECK(w.errors.empty());
    if constexpr (requires { s.backend.catalog().compact_storage(); })
        CHECK(w.catalog_compacted);
    else
        CHECK_FALSE(w.catalog_compacted); // memory and PostgreSQL reuse the space themselves
    CHECK(s.clone("r", "main") == expected_tree(c, *middle));
    CHECK(s.hub.fsck().ok());
    s.hub.gc("r");
    CHECK_FALSE(s.hub.sweep().catalog_compacted); // nothing changed since: no second rewrite
}

TEMPLATE_LIST_TEST_CASE("SNAP snapshots are kept as deltas and always read back whole",
                        "[contract][snapshots]", Setups) {
    TestType s;
    auto rows = [&] {
        return s.backend.catalog().template scan<catalog::SnapshotRow>(std::tuple{});
    };
    SECTION("SNAP-1 a history goes in as chains of deltas no longer than the limit, across "
            "pushes") {
        Client c;
        for (int f = 0; f < 30; ++f)
            c.write("f" + std::to_string(f), std::string(40, static_cast<char>('a' + f % 26)));
        // Longer than one chain may be, in two pushes: the second builds on a stored base.
        const int n = static_cast<int>(algo::snapshot_chain_limit) + 6;
        std::optional<CommitId> pushed;
        for (int i = 0; i < n; ++i) {
            c.write("f" + std::to_string(i % 30), "version " + std::to_string(i));
            c.commit("c" + std::to_string(i));
            if (i == n / 2 || i == n - 1) {
                s.push("r", "main",
                       c.pack(c.head(), pushed ? std::vector{*pushed} : std::vector<CommitId>{}));
                pushed = c.head();
            }
        }
        auto all = rows();
        REQUIRE(all.size() == static_cast<std::size_t>(n));
        std::set<SnapshotId> ids;
        for (const auto& r : all)
            ids.insert(r.snapshot_id);
        std::size_t deltas = 0;
        for (const auto& r : all) {
            CHECK(r.depth < algo::snapshot_chain_limit);
            if (r.base) {
                ++deltas;
                CHECK(ids.count(*r.base));    // every chain ends in a stored row
                CHECK(r.record.size() < 400); // one changed entry, not thirty
            }
        }
        CHECK(deltas == static_cast<std::size_t>(n - 2)); // whole: the first, and at the limit
        CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
        auto [pack, bytes] = s.fetch("r", {c.head()});
        CHECK(pack.snapshots.size() == static_cast<std::size_t>(n)); // rebuilt, hashing to its id
        CHECK(s.hub.fsck().ok());
    }
    SECTION("SNAP-4 read back oldest first, a history comes oldest first, across its chains") {
        // What lets a clone write each snapshot against its parent's: chains (five here) come
        // in the order asked for, however small the batches they are read in.
        Client c;
        const int n = 4 * static_cast<int>(algo::snapshot_chain_limit) + 10;
        for (int i = 0; i < n; ++i) {
            c.write("f" + std::to_string(i % 10), "version " + std::to_string(i));
            c.commit("c" + std::to_string(i));
        }
        auto history = push_history(s, "r", c);
        REQUIRE(history.size() == static_cast<std::size_t>(n));
        for (std::size_t batch : {std::size_t{7}, std::size_t{1'000}}) {
            std::vector<SnapshotId> order;
            algo::for_each_snapshot(s.backend.catalog(), std::span<const SnapshotId>(history),
                                    batch, s.hub.options().limits,
                                    [&](const SnapshotId& id, const Snapshot* got) {
                                        CHECK(got);
                                        order.push_back(id);
                                    });
            CHECK(order == history);
        }
    }
    SECTION("SNAP-5 the objects snapshots name, read from their rows without rebuilding every "
            "manifest, are exactly those their manifests name") {
        // What GC's scan reads: a delta row adds only its upserts, so this holds only where the
        // row's base is asked for too; a snapshot whose base is not is rebuilt whole.
        Client c;
        const int n = static_cast<int>(algo::snapshot_chain_limit) + 12;
        for (int i = 0; i < n; ++i) {
            c.write("f" + std::to_string(i % 7), "version " + std::to_string(i));
            if (i % 5 == 4)
                c.remove("f" + std::to_string((i + 3) % 7)); // deltas that remove paths too
            c.commit("c" + std::to_string(i));
        }
        auto history = push_history(s, "r", c);
        REQUIRE(history.size() == static_cast<std::size_t>(n));
        auto named = [&](std::span<const SnapshotId> ids, auto&& read) {
            std::set<ObjectId> out;
            read(ids, [&](const ObjectId& id) { out.insert(id); });
            return out;
        };
        auto by_rows = [&](std::span<const SnapshotId> ids, auto&& each) {
            algo::for_each_named_object(s.backend.catalog(), ids, 16, s.hub.options().limits, each);
        };
        auto by_manifests = [&](std::span<const SnapshotId> ids, auto&& each) {
            algo::for_each_snapshot(s.backend.catalog(), ids, 16, s.hub.options().limits,
                                    [&](const SnapshotId&, const Snapshot* got) {
                                        REQUIRE(got);
                                        for (const auto& e : got->manifest)
                                            each(e.object);
                                    });
        };
        const std::span<const SnapshotId> all(history);
        for (auto ids : {all, all.subspan(n / 2), all.subspan(3, 9), all.last(1)}) {
            auto want = named(ids, by_manifests);
            CHECK(named(ids, by_rows) == want);
            CHECK(!want.empty());
        }
        // The newest snapshot alone names fewer objects than the whole history.
        CHECK(named(all.last(1), by_rows).size() < named(all, by_rows).size());
    }
    SECTION("SNAP-3 a chain that continues from another repo's stored row stays within the "
            "limit") {
        const int n = static_cast<int>(algo::snapshot_chain_limit) - 4;
        Client a("a");
        for (int f = 0; f < 10; ++f)
            a.write("f" + std::to_string(f), "start");
        for (int i = 0; i < n; ++i) {
            a.write("f" + std::to_string(i % 10), "a " + std::to_string(i));
            a.commit("a" + std::to_string(i));
        }
        s.push("a", "main", a.pack(a.head())); // depths 0 … n-1
        Client b("b"); // starts from the tree of a's last commit: its row, deep in a's chain
        for (const auto& [path, id] : a.tree_of(a.head()))
            b.write(path, a.content(id));
        b.commit("import"); // the same tree, so the same snapshot
        for (int i = 0; i < 10; ++i) {
            b.write("f" + std::to_string(i), "b " + std::to_string(i));
            b.commit("b" + std::to_string(i));
        }
        s.push("b", "main", b.pack(b.head()));
        std::map<SnapshotId, catalog::SnapshotRow> by_id;
        for (auto& r : rows())
            by_id.emplace(r.snapshot_id, r);
        for (const auto& [id, r] : by_id) {
            std::uint32_t links = 0;
            for (auto at = r; at.base; at = by_id.at(*at.base))
                ++links;
            CHECK(links <= r.depth); // depth bounds the chain
            CHECK(r.depth < algo::snapshot_chain_limit);
        }
        CHECK(s.clone("b", "main") == expected_tree(b, b.head()));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("SNAP-2 when GC deletes a snapshot another repo's snapshot is based on, that one is "
            "rewritten whole first") {
        Client a("a");
        a.write("song.mid", "one");
        a.write("README", "readme");
        a.commit("one");
        a.write("song.mid", "two");
        auto two = a.commit("two");
        s.push("a", "main", a.pack(two));
        catalog::Key<catalog::CommitRow> key{two};
        auto snapshot_of_two =
            catalog::find_one<catalog::CommitRow>(s.backend.catalog(), key)->snapshot_id;
        auto stored = rows();
        auto second = std::find_if(stored.begin(), stored.end(),
                                   [&](const auto& r) { return r.snapshot_id == snapshot_of_two; });
        REQUIRE(second != stored.end());
        REQUIRE(second->base); // a delta against "one"'s snapshot

        Client b("b"); // another repo, the same tree as "two": the same snapshot
        b.write("song.mid", "two");
        b.write("README", "readme");
        b.commit("same tree");
        s.push("b", "main", b.pack(b.head()));

        Client fresh("a");
        fresh.write("other", "history");
        s.push("a", "main", fresh.pack(fresh.commit("rewrite")), /*force=*/true);
        auto g = s.hub.gc("a");
        CHECK(g.snapshots_deleted == 1); // "one"'s, which nothing refers to any more
        CHECK(g.snapshots_rebased == 1); // "two"'s, which b still uses
        for (const auto& r : rows())
            CHECK_FALSE(r.base);
        CHECK(s.clone("b", "main") == expected_tree(b, b.head()));
        CHECK(s.hub.fsck().ok());
    }
}

TEMPLATE_LIST_TEST_CASE("PG consolidation scenarios", "[contract][consolidate]", Setups) {
    TestType s;
    Client c;
    std::vector<CommitId> pushed;
    std::optional<CommitId> prev;
    for (int i = 0; i < 4; ++i) {
        c.write("f" + std::to_string(i) + ".txt", std::string(300, static_cast<char>('a' + i)));
        c.write("README.md", "version " + std::to_string(i));
        auto id = c.commit("c" + std::to_string(i));
        s.push("r", "main", prev ? c.pack(id, {*prev}) : c.pack(id));
        prev = id;
    }
    auto containers_of = [&](const std::string& repo) {
        std::set<std::string> out;
        std::vector<catalog::Key<catalog::LocationRow>> keys;
        for (const auto& id : refs_of(s, repo))
            keys.emplace_back(id);
        for (const auto& l : s.backend.catalog().template find<catalog::LocationRow>(keys))
            if (l)
                out.insert(l->container);
        return out;
    };
    REQUIRE(containers_of("r").size() == 4);

    SECTION("PG-1 merges N packs into one and re-points every location; PG-2 one pack per repo; "
            "PG-3 it holds every object") {
        auto r = s.hub.consolidate("r");
        CHECK_FALSE(r.skipped);
        CHECK(r.sources == 4);
        CHECK(r.relocated == refs_of(s, "r").size());
        CHECK(containers_of("r") == std::set<std::string>{r.container});
        CHECK(r.objects == refs_of(s, "r").size());
        CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("PG-4 idempotent: the same key, no duplicate rows") {
        auto first = s.hub.consolidate("r");
        auto state = s.state();
        auto again = s.hub.consolidate("r");
        CHECK(again.skipped); // one pack now
        CHECK(s.state() == state);
        // A rerun that finds the sources again (another push) reuses the pack an identical run
        // made.
        CHECK(first.pack == wire::v2::pack_key(*s.backend.store().get(first.container)));
    }
    SECTION(
        "PG-8 a source collected while being read: consolidation stands down, changes nothing") {
        auto sources = containers_of("r");
        s.backend.store().remove(*sources.begin()); // what GC's purge does once the grace is over
        auto before = s.state();
        auto r = s.hub.consolidate("r");
        CHECK(r.skipped);
        CHECK_THAT(r.reason, Catch::Contains("collected while being read"));
        CHECK(s.state() == before);
    }
    SECTION("PG-5 one pack or none: skipped") {
        s.hub.consolidate("r");
        auto r = s.hub.consolidate("r");
        CHECK(r.skipped);
        CHECK_THAT(r.reason, Catch::Contains("1 pack"));
        CHECK(s.hub.consolidate("empty").skipped);
    }
    SECTION("PG-6 a clone afterwards reads exactly one pack") {
        s.hub.consolidate("r");
        auto f = s.hub.fetch("r", FetchRequest{{c.head()}, {}});
        CHECK(f.sources_read == 1);
    }
    SECTION("PG-7 a container another repo still uses is not retired") {
        Client other;
        other.write("f0.txt", std::string(300, 'a'));
        s.push("other", "main", other.pack(other.commit("shares f0")));
        auto r = s.hub.consolidate("r");
        CHECK(r.retired == 4); // every location moved, including the shared object's
        CHECK(s.clone("other", "main").at("f0.txt") == std::string(300, 'a'));
        CHECK(s.hub.fsck().ok());
    }
}

namespace {
// Bytes no zstd frame shrinks much: each push's pack then weighs what its file does.
std::string noise(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string out(n, ' ');
    for (auto& ch : out)
        ch = static_cast<char>('a' + rng() % 26);
    return out;
}
template <class S>
std::map<std::string, std::uint64_t> live_containers(S& s, const std::string& repo) {
    std::map<std::string, std::uint64_t> out;
    std::vector<catalog::Key<catalog::LocationRow>> keys;
    for (const auto& id : refs_of(s, repo))
        keys.emplace_back(id);
    for (const auto& l : s.backend.catalog().template find<catalog::LocationRow>(keys))
        if (l)
            out[l->container] = *s.backend.store().size(l->container);
    return out;
}
template <class S>
std::uint64_t stored_bytes(S& s) {
    std::uint64_t total = 0;
    for (const auto& k : s.backend.store().list(""))
        total += *s.backend.store().size(k);
    return total;
}
} // namespace

TEST_CASE("repack policy: dead share, records and the geometric roll-up decide what is rewritten",
          "[contract][repack]") {
    using algo::ContainerUsage;
    const RepackOptions o; // 5 %, factor 2
    auto clean = [](std::string name, std::uint64_t live) {
        return ContainerUsage{std::move(name), live, live, 1, true};
    };
    auto policy = [&](const std::vector<ContainerUsage>& u) {
        return algo::choose_rewrites(u, algo::RepackScope::policy, o);
    };
    using names = std::vector<std::string>;
    // A geometric progression is left alone; each pack at least twice all smaller ones.
    CHECK(policy({clean("a", 100), clean("b", 250), clean("c", 1000)}).empty());
    // Two equal small packs break it: they and everything smaller are merged.
    CHECK(policy({clean("a", 100), clean("b", 100), clean("c", 1000)}) == names{"a", "b"});
    CHECK(policy({clean("a", 100), clean("b", 150), clean("c", 300), clean("d", 10'000)}) ==
          names{"a", "b", "c"});
    // 4 % dead stays, 5 % dead goes; records (not clean) count as dead bytes.
    CHECK(policy({ContainerUsage{"x", 1000, 960, 3, false}}).empty());
    CHECK(policy({ContainerUsage{"x", 1000, 950, 3, false}}) == names{"x"});
    CHECK(ContainerUsage{"x", 1000, 250, 1, false}.dead_share() == Approx(0.75));
    // A lone dead-heavy pack is rewritten even though nothing rolls up with it.
    CHECK(policy({clean("a", 100), ContainerUsage{"z", 10'000, 100, 1, false}}) == names{"z"});
    // Consolidation: everything, unless it already is one clean pack.
    auto all = [&](const std::vector<ContainerUsage>& u) {
        return algo::choose_rewrites(u, algo::RepackScope::everything, o);
    };
    CHECK(all({clean("a", 100)}).empty());
    CHECK(all({ContainerUsage{"a", 1000, 900, 1, false}}) == names{"a"});
    CHECK(all({clean("b", 100), clean("a", 10'000)}) == names{"a", "b"});
    CHECK(all({}).empty());
}

TEMPLATE_LIST_TEST_CASE("REPACK scenarios: rewrite what reclaims bytes or keeps packs few",
                        "[contract][consolidate][repack]", Setups) {
    TestType s;
    Client c;
    std::vector<CommitId> ids;
    SECTION("REPACK-1 force-push to the middle, GC, repack: the one pack is rewritten and the "
            "store holds the live history only") {
        for (std::uint32_t i = 0; i < 8; ++i) {
            c.write("f" + std::to_string(i), noise(4000, i));
            ids.push_back(c.commit("c" + std::to_string(i)));
        }
        s.push("r", "main", c.pack(ids.back()));
        s.hub.consolidate("r");
        REQUIRE(live_containers(s, "r").size() == 1);
        c.checkout(ids[3]);
        s.push("r", "main", c.pack(ids[3]), /*force=*/true);
        auto g = s.hub.gc("r");
        REQUIRE(g.objects_deleted == 4);
        auto r = s.hub.repack("r");
        CHECK_FALSE(r.skipped);
        CHECK(r.rewritten == 1); // half of it is dead: far above 5 %
        CHECK(r.objects == refs_of(s, "r").size());
        CHECK(live_containers(s, "r") ==
              std::map<std::string, std::uint64_t>{{r.container, r.bytes}});
        s.clock.advance(std::chrono::milliseconds(1));
        s.hub.sweep(); // purges what the repack retired (the grace period is zero here)
        CHECK(stored_bytes(s) == r.bytes);
        CHECK(r.bytes < 4 * 4000 + 1000);
        CHECK(s.clone("r", "main") == expected_tree(c, ids[3]));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("REPACK-2 N pushes, a repack after each: O(log N) packs, O(N log N) bytes rewritten") {
        constexpr int pushes = 32;
        std::uint64_t written = 0;
        std::optional<CommitId> prev;
        std::size_t most = 0;
        for (int i = 0; i < pushes; ++i) {
            c.write("f" + std::to_string(i), noise(2000, static_cast<std::uint32_t>(i)));
            auto id = c.commit("c" + std::to_string(i));
            s.push("r", "main", prev ? c.pack(id, {*prev}) : c.pack(id));
            prev = id;
            written += s.hub.repack("r").bytes; // what it read and wrote: the live objects
            most = std::max(most, live_containers(s, "r").size());
        }
        std::uint64_t live = 0;
        for (const auto& [name, size] : live_containers(s, "r"))
            live += size;
        CHECK(most <= 6);           // log2(32) + 1
        CHECK(written <= live * 6); // each object copied at most ~log2(32) + 1 times, not 32 / 2
        CHECK(written >= live);     // each push's pack was rewritten once at least (records)
        CHECK(s.clone("r", "main") == expected_tree(c, *prev));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("REPACK-3 pushes and GCs in one window queue one repack job, run when it closes") {
        auto& q = s.backend.queue();
        const auto window = s.hub.options().repack.window;
        c.write("a", noise(1000, 1));
        ids.push_back(c.commit("a"));
        s.push("r", "main", c.pack(ids[0]));
        c.write("b", noise(1000, 2));
        ids.push_back(c.commit("b"));
        s.push("r", "main", c.pack(ids[1], {ids[0]}));
        CHECK_FALSE(q.claim("w", s.hub.now(), std::chrono::minutes(1))); // not before it closes
        s.clock.advance(window);
        auto job = s.hub.run_one_job();
        REQUIRE(job);
        CHECK(job->kind == JobKind::repack);
        CHECK(job->payload == "r");
        CHECK(job->state == JobState::done);
        CHECK_FALSE(s.hub.run_one_job()); // one job for both pushes
        CHECK(live_containers(s, "r").size() == 1);
        c.checkout(ids[0]);
        s.push("r", "main", c.pack(ids[0]), /*force=*/true);
        CHECK(s.hub.gc("r").objects_deleted == 1);
        s.clock.advance(window);
        std::vector<Job> ran; // the next window's: the push and the GC share one repack
        while (auto j = s.hub.run_one_job())
            ran.push_back(*j);
        std::vector<std::string> repacks, sweeps;
        for (const auto& j : ran) {
            CHECK(j.state == JobState::done);
            (j.kind == JobKind::repack ? repacks : sweeps).push_back(j.id);
        }
        CHECK(repacks.size() == 1);
        CHECK(repacks.at(0) != job->id);
        CHECK(sweeps.size() == 1); // the first repack retired packs: one sweep purges them
        CHECK(s.clone("r", "main") == expected_tree(c, ids[0]));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("REPACK-4 a clean pack is left alone: a rerun changes nothing") {
        c.write("a", noise(1000, 1));
        ids.push_back(c.commit("a"));
        s.push("r", "main", c.pack(ids[0]));
        CHECK_FALSE(s.hub.repack("r").skipped); // the push's records go
        auto state = s.state();
        auto again = s.hub.repack("r");
        CHECK(again.skipped);
        CHECK_THAT(again.reason, Catch::Contains("none worth rewriting"));
        CHECK(s.state() == state);
        CHECK(s.hub.consolidate("r").skipped);
    }
}

TEMPLATE_LIST_TEST_CASE("GC-SAFETY deterministic: a push that deduplicates against an object GC is "
                        "about to delete keeps it",
                        "[contract][gc][safety]", Setups) {
    TestType s;
    Client a;
    a.write("base.txt", "base");
    auto base = a.commit("base");
    a.write("payload.bin", "the payload both repos want");
    auto tip = a.commit("payload");
    s.push("a", "main", a.pack(tip));
    a.checkout(base);
    s.push("a", "main", a.pack(base), true); // payload is garbage in "a"

    Client b;
    b.write("copy.bin", "the payload both repos want");
    auto b_head = b.commit("b has the payload too");
    bool pushed = false;
    SECTION("another repo pushes the same object while GC is paused between scan and delete") {
        algo::GcHooks hooks;
        hooks.after_scan = [&] {
            auto r = s.push("b", "main", b.pack(b_head));
            pushed = r.stored.fresh == 1 || r.stored.fresh == 0;
        };
        auto g = s.hub.gc("a", hooks);
        CHECK(pushed);
        CHECK_FALSE(g.skipped);
        CHECK(s.clone("b", "main") == expected_tree(b, b_head));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("the same repo pushes while GC is paused: GC notices and stands down") {
        algo::GcHooks hooks;
        hooks.after_scan = [&] {
            a.write("payload.bin", "the payload both repos want");
            auto again = a.commit("bring it back");
            s.push("a", "main", a.pack(again, {base}));
        };
        auto g = s.hub.gc("a", hooks);
        CHECK(g.skipped);
        CHECK_THAT(g.reason, Catch::Contains("changed"));
        CHECK(s.clone("a", "main").at("payload.bin") == "the payload both repos want");
        CHECK(s.hub.fsck().ok());
    }
    SECTION("a push that counted on an object GC then deleted fails cleanly and succeeds when "
            "retried") {
        // b uploads without the object (the hub said it had it), GC deletes it in between.
        auto bare = b.pack(b_head, {}, /*with_objects=*/false);
        s.hub.gc("a");
        auto code = code_of([&] { s.push("b", "main", bare); });
        CHECK(code == errc::missing_object);
        s.push("b", "main", b.pack(b_head)); // the client re-sends what the hub lacks
        CHECK(s.clone("b", "main") == expected_tree(b, b_head));
        CHECK(s.hub.fsck().ok());
    }
}

namespace {
// 4 kB that do not compress away, the body every pooled content shares.
const std::string& pool_body() {
    static const std::string body = [] {
        std::string s;
        std::mt19937 rng(7);
        for (int i = 0; i < 256; ++i)
            s += "line " + std::to_string(rng()) + " of the shared body\n";
        return s;
    }();
    return body;
}
} // namespace

TEMPLATE_LIST_TEST_CASE(
    "GC-SAFETY randomized: pushes into several repos race GC, repack and consolidation",
    "[contract][gc][safety]", Setups) {
    TestType s;
    constexpr int pushers = 3, rounds = 25;
    std::atomic<bool> stop{false};
    std::atomic<int> gc_runs{0}, consolidations{0}, retries{0}, stood_down{0};
    struct Acked {
        std::string repo;
        std::map<std::string, std::string> tree;
        std::optional<CommitId> head;
    };
    std::vector<Acked> acked(pushers);
    std::vector<std::thread> threads;
    for (int t = 0; t < pushers; ++t)
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(1234 + t));
            Client c("pusher" + std::to_string(t));
            std::string repo = "repo" + std::to_string(t);
            acked[static_cast<std::size_t>(t)].repo = repo;
            std::optional<CommitId> remote;
            for (int i = 0; i < rounds; ++i) {
                // Shared pool of contents: repos deduplicate against each other constantly. The
                // contents share a large body, so a wire that carries deltas stores versions as
                // deltas on each other, across repos too: GC must keep every live delta's base.
                for (int k = 0; k < 3; ++k)
                    c.write("f" + std::to_string(rng() % 6),
                            pool_body() + "pool content " + std::to_string(rng() % 12));
                bool rewrite = remote && rng() % 4 == 0;
                if (rewrite)
                    c.checkout(*remote), c.remove("f0");
                auto head = c.commit("r" + std::to_string(i));
                for (int attempt = 0;; ++attempt) {
                    try {
                        // Rewrites go out whole, with force; appends go out incrementally.
                        auto pack = remote && !rewrite ? c.pack(head, {*remote}) : c.pack(head);
                        s.push(repo, "main", std::move(pack), /*force=*/true);
                        break;
                    } catch (const musehub::error& e) {
                        // GC may take what a slow push counted on: the push fails whole and is
                        // retried.
                        if (e.code() != errc::missing_object && e.code() != errc::conflict)
                            throw;
                        ++retries;
                        if (attempt > 20)
                            throw;
                    }
                }
                remote = head;
                acked[static_cast<std::size_t>(t)].head = head;
                acked[static_cast<std::size_t>(t)].tree = expected_tree(c, head);
            }
        });
    std::thread collector([&] {
        while (!stop) {
            for (int t = 0; t < pushers; ++t)
                s.hub.gc("repo" + std::to_string(t)), ++gc_runs;
        }
    });
    std::thread consolidator([&] {
        while (!stop) {
            for (int t = 0; t < pushers; ++t) {
                // The follow-up repack (what pays) and consolidation (everything) by turns.
                // With zero grace GC may retire a pack a repack is reading: it stands down.
                auto repo = "repo" + std::to_string(t);
                auto r = consolidations % 2 ? s.hub.consolidate(repo) : s.hub.repack(repo);
                if (r.reason.find("collected while") != std::string::npos)
                    ++stood_down;
                ++consolidations;
            }
        }
    });
    for (auto& th : threads)
        th.join();
    stop = true;
    collector.join();
    consolidator.join();
    INFO("gc runs " << gc_runs << ", consolidations " << consolidations << " (" << stood_down
                    << " stood down), retried pushes " << retries);
    CHECK(gc_runs > 0);
    CHECK(consolidations > 0);
    auto report = s.hub.fsck();
    std::string violations;
    for (const auto& v : report.violations)
        violations += v.kind + ": " + v.detail + "\n";
    INFO(violations);
    CHECK(report.ok());
    for (const auto& a : acked) {
        REQUIRE(a.head);
        CHECK(s.hub.branch_head(a.repo, "main") == a.head);
        CHECK(s.clone(a.repo, "main") == a.tree);
    }
    // And after a final collection everything acknowledged is still whole.
    for (const auto& a : acked)
        s.hub.gc(a.repo);
    CHECK(s.hub.fsck().ok());
    for (const auto& a : acked)
        CHECK(s.clone(a.repo, "main") == a.tree);
}

// ---- object deltas --------------------------------------------------------------------------

namespace {
std::string edited(int k) {
    return test::edited_text(k);
}

template <class S>
std::size_t stored_deltas(S& s) {
    std::size_t n = 0;
    for (const auto& l : s.backend.catalog().template scan<catalog::LocationRow>(std::tuple{}))
        n += l.encoding == Encoding::zstd_delta;
    return n;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("DELTA objects stored as deltas: read whole, kept by GC, chains checked",
                        "[contract][gc][delta]", Setups) {
    TestType s;
    constexpr bool deltas = carries_deltas<typename TestType::Hub::wire_type>;
    Client c;
    std::vector<CommitId> history;
    for (int k = 0; k < 40; ++k) {
        c.write("src/edited.cpp", edited(k));
        c.write("README", "readme " + std::to_string(k % 3) + "\n" + edited(0));
        history.push_back(c.commit("edit " + std::to_string(k)));
    }
    s.push("o/r", "main", c.pack(history.back()));
    if constexpr (deltas)
        CHECK(stored_deltas(s) >= 30); // the file's versions are deltas on each other
    else
        CHECK(stored_deltas(s) == 0); // the Muse client's wire carries every object whole
    CHECK(s.clone("o/r", "main") == expected_tree(c, history.back()));
    REQUIRE(s.hub.fsck().ok());

    SECTION("a wire without deltas gets every object whole, from the same storage") {
        musehub::Hub v1hub{wire::v1{}, s.backend.store(), s.backend.catalog(), s.backend.queue(),
                           TestType::options(s.clock)};
        auto r = v1hub.fetch("o/r", FetchRequest{{history[20]}, {}});
        auto pack = wire::v1{}.decode_pack(r.bytes, Limits{});
        std::map<ObjectId, std::string> got;
        for (const auto& o : pack.objects) {
            CHECK(o.encoding == Encoding::raw);
            CHECK_NOTHROW(verify_object(o, Limits{}.max_object_bytes));
            got[o.id] = std::string(as_chars(o.stored));
        }
        for (const auto& [path, id] : c.tree_of(history[20]))
            CHECK(got.at(id) == c.content(id));
    }
    SECTION("a fetch with haves sends stored deltas on what the client has (thin)") {
        auto r = s.hub.fetch("o/r", FetchRequest{{history.back()}, {history[30]}});
        auto pack = s.hub.wire().decode_pack(r.bytes, Limits{});
        std::unordered_set<ObjectId> in_pack;
        for (const auto& o : pack.objects)
            in_pack.insert(o.id);
        // What the client has: the files of #30.
        std::vector<std::string> have;
        std::unordered_set<ObjectId> has;
        for (const auto& [path, id] : c.tree_of(history[30]))
            have.push_back(c.content(id)), has.insert(id);
        std::size_t thin = 0;
        for (const auto& o : pack.objects)
            if (o.encoding == Encoding::zstd_delta && !in_pack.count(delta_base(o))) {
                ++thin;
                CHECK(has.count(delta_base(o)));
            }
        if (deltas)
            CHECK(thin >= 1); // the first new version of the file builds on the client's #30
        else
            CHECK(thin == 0);
        // Nine new versions of the file, and the two README contents #30 does not have.
        CHECK(pack.objects.size() == 11);
        // What the client has plus the pack resolves to every object, each proven.
        std::vector<PackObject> objects = pack.objects;
        for (const auto& text : have)
            objects.push_back(
                {object_id_of(as_bytes(text)), Encoding::raw, as_bytes(text), text.size()});
        std::size_t n = 0;
        for_each_verified(std::span<const PackObject>(objects), Limits{},
                          [&](const PackObject&, BytesView) { ++n; });
        CHECK(n == 11 + have.size());
    }
    SECTION("force-push to the middle, collect: the live history stays whole") {
        c.checkout(history[19]);
        s.push("o/r", "main", c.pack(history[19]), /*force=*/true);
        auto r = s.hub.gc("o/r");
        CHECK(r.objects_deleted >= 15);
        auto report = s.hub.fsck();
        std::string violations;
        for (const auto& v : report.violations)
            violations += v.kind + ": " + v.detail + "\n";
        INFO(violations);
        CHECK(report.ok());
        CHECK(s.clone("o/r", "main") == expected_tree(c, history[19]));
        s.hub.consolidate("o/r");
        s.hub.gc("o/r");
        CHECK(s.hub.fsck().ok());
        CHECK(s.clone("o/r", "main") == expected_tree(c, history[19]));
    }
    SECTION("a repo keeps a base it shares with another repo's live delta") {
        // Another repo gets version 39 as a delta on 38 by deduplication: it sends 39 whole,
        // the hub keeps the delta it has. Then o/r moves back to the start and collects: 38
        // and its chain must stay for the other repo's 39.
        Client d("other");
        d.write("src/edited.cpp", edited(39));
        auto head = d.commit("just the last version");
        s.push("o/other", "main", d.pack(head));
        c.checkout(history[0]);
        s.push("o/r", "main", c.pack(history[0]), /*force=*/true);
        s.hub.gc("o/r");
        s.hub.gc("o/other");
        CHECK(s.hub.fsck().ok());
        CHECK(s.clone("o/other", "main") == expected_tree(d, head));
        CHECK(s.clone("o/r", "main") == expected_tree(c, history[0]));
        // And once the other repo lets go too, the whole chain goes.
        Client fresh("other");
        fresh.write("src/edited.cpp", "something else");
        s.push("o/other", "main", fresh.pack(fresh.commit("replaced")), /*force=*/true);
        s.hub.gc("o/other");
        CHECK(s.hub.fsck().ok());
        CHECK(stored_deltas(s) == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("DELTA-BAD thin bases the repo does not have, and chains too deep",
                        "[contract][delta]", Setups) {
    TestType s;
    if constexpr (!carries_deltas<typename TestType::Hub::wire_type>) {
        // A wire without deltas writes a pack that holds one (a v2 pack carried over) whole:
        // every object raw, every one proven, in the pack's order.
        const auto v0 = edited(0), v1 = edited(1);
        const auto base = as_bytes(v0), raw = as_bytes(v1);
        const auto delta = zstd_delta_compress(raw, object_id_of(base), base);
        Pack pack;
        pack.objects.push_back({object_id_of(raw), Encoding::zstd_delta, delta, raw.size()});
        pack.objects.push_back({object_id_of(base), Encoding::raw, base, base.size()});
        const auto& wire = s.hub.wire();
        const auto encoded = wire.encode_pack(pack); // the decoded objects view it
        auto back = wire.decode_pack(encoded, Limits{});
        REQUIRE(back.objects.size() == 2);
        CHECK(back.objects[0].encoding == Encoding::raw);
        CHECK(equal_bytes(back.objects[0].stored, raw));
        CHECK(equal_bytes(back.objects[1].stored, base));
        // Without its base it cannot be written at all.
        pack.objects.pop_back();
        CHECK(code_of([&] { (void)wire.encode_pack(pack); }) == errc::missing_object);
    } else {
        Client c;
        c.write("a.txt", edited(0));
        auto first = c.commit("first");
        s.push("o/r", "main", c.pack(first));
        Client other("other");
        other.write("a.txt", edited(5));
        auto theirs = other.commit("other repo");
        s.push("o/other", "main", other.pack(theirs));
        auto before = s.state();

        // A thin pack: version 1 as a delta on version 0, which only the pack's repo has.
        auto thin = [&](const std::string& base_text, const std::string& repo) {
            c.write("a.txt", edited(1));
            auto head = c.commit("second");
            Pack pack = c.pack(head, {first});
            const auto text = edited(1);
            const auto raw = as_bytes(text);
            const auto base = as_bytes(base_text);
            auto held =
                std::make_shared<const Bytes>(zstd_delta_compress(raw, object_id_of(base), base));
            pack.objects.clear();
            pack.objects.push_back({object_id_of(raw), Encoding::zstd_delta, *held, raw.size()});
            pack.hold(held);
            c.checkout(first);
            return s.hub.push(repo, s.hub.wire().encode_push(PushRequest{pack, "main", false}));
        };
        // On a base another repo holds: refused, nothing written (dedup is no oracle).
        CHECK(code_of([&] { thin(edited(5), "o/r"); }) == errc::missing_object);
        CHECK(s.state() == before);
        // On a base the repo holds: accepted, stored as sent.
        auto r = thin(edited(0), "o/r");
        CHECK(r.stored.fresh == 1);
        CHECK(s.hub.fsck().ok());

        // A chain deeper than the limit the hub stores: refused whole.
        auto deep = s.state();
        Client e("deep");
        std::vector<CommitId> h;
        for (int k = 0; k < 12; ++k) {
            e.write("d.txt", edited(k));
            h.push_back(e.commit("v" + std::to_string(k)));
        }
        auto options = TestType::options(s.clock);
        options.limits.max_delta_depth = 5;
        typename TestType::Hub strict{typename TestType::Hub::wire_type{}, s.backend.store(),
                                      s.backend.catalog(), s.backend.queue(), options};
        auto body = wire::v2{}.encode_push(PushRequest{e.pack(h.back()), "main", false});
        CHECK(code_of([&] { strict.push("o/deep", body); }) == errc::oversized);
        CHECK(s.state() == deep);
    }
}
