// musehub::fs beyond the contract suite. The object store: key validation, the on-disk layout
// and format marker, temporary files (never listed, swept by remove_stale_temps), failed
// writes leaving nothing behind, and put_if_absent across processes. The SQLite catalog: a
// file made by an earlier schema version is migrated when it is opened.
#include "test_support.hpp"

#include "musehub/fs/catalog.hpp"
#include "musehub/fs/object_store.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace musehub;
using FsStore = musehub::fs::ObjectStore;
namespace stdfs = std::filesystem;

namespace {

struct TempDir {
    stdfs::path path;
    TempDir() {
        auto pattern = (stdfs::temp_directory_path() / "musehub-fs-unit-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        stdfs::remove_all(path, ec);
    }
};

void write_text(const stdfs::path& p, std::string_view text) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << text;
    REQUIRE(f.good());
}

std::vector<stdfs::path> temps_under(const stdfs::path& root) {
    std::vector<stdfs::path> out;
    for (const auto& e : stdfs::recursive_directory_iterator(root))
        if (e.path().filename().string().starts_with(".tmp-"))
            out.push_back(e.path());
    return out;
}

} // namespace

TEST_CASE("fs store: keys that could escape the root or are malformed are refused", "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path / "store", {.durable = false});
    std::vector<std::string> bad = {"",
                                    "/etc/passwd",
                                    "../x",
                                    "a/../../x",
                                    "a/./b",
                                    ".",
                                    "..",
                                    "a//b",
                                    "a/",
                                    "a/..",
                                    std::string(1025, 'k'),
                                    std::string("a\0b", 3),
                                    "x/" + std::string(241, 'n')};
    for (const auto& k : bad) {
        INFO("key of " << k.size() << " bytes");
        auto msg = test::require_error(errc::invalid_argument, [&] { s.put(k, as_bytes("x")); });
        CHECK(msg.find("key") != std::string::npos);
        test::require_error(errc::invalid_argument, [&] { (void)s.get(k); });
        test::require_error(errc::invalid_argument, [&] { (void)s.put_if_absent(k, {}); });
        test::require_error(errc::invalid_argument, [&] { s.remove(k); });
    }
    // The message names the key.
    auto msg = test::require_error(errc::invalid_argument, [&] { s.put("a/../b", {}); });
    CHECK(msg.find("a/../b") != std::string::npos);
    // Nothing was written outside objects/ (nor inside).
    CHECK(s.list("").empty());
    CHECK_FALSE(stdfs::exists(dir.path / "etc"));
    CHECK_FALSE(stdfs::exists(dir.path / "x"));
    // A list prefix with an impossible segment simply matches nothing.
    CHECK(s.list("a//").empty());
    CHECK(s.list("../").empty());
}

TEST_CASE("fs store: odd but valid keys round-trip through the escaped layout", "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path, {.durable = false});
    std::vector<std::string> keys = {".tmp-not-a-temp",
                                     "a/.hidden",
                                     "100%/x%2E",
                                     "a.d",
                                     "a.d/b.b",
                                     "tab\there",
                                     "~/x",
                                     "a",
                                     "a/b",
                                     "a/b/c",
                                     "ab",
                                     "a.b/..c"};
    for (const auto& k : keys)
        s.put(k, as_bytes(k));
    auto sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    CHECK(s.list("") == sorted);
    for (const auto& k : keys)
        CHECK(s.get(k) == to_bytes(k));
    CHECK(s.list("a.") == std::vector<std::string>{"a.b/..c", "a.d", "a.d/b.b"});
    CHECK(s.list("100%/") == std::vector<std::string>{"100%/x%2E"});
    // No stored name starts with '.', so temp files are the only hidden names.
    for (const auto& e : stdfs::recursive_directory_iterator(dir.path / "objects"))
        CHECK_FALSE(e.path().filename().string().starts_with("."));
}

TEST_CASE("fs store: fanned keys land in bucketed directories and list by partial segment",
          "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path, {.durable = false});
    std::string hex1 = "ab12" + std::string(60, '0'), hex2 = "ab34" + std::string(60, '1');
    auto k1 = "v1/objects/ab/" + hex1 + "-0a", k2 = "v1/objects/ab/" + hex1 + "-0b",
         k3 = "v1/objects/ab/" + hex2 + "-0c";
    for (const auto& k : {k1, k2, k3})
        s.put(k, as_bytes(k));
    CHECK(stdfs::is_regular_file(dir.path / "objects/v1.d/objects.d/ab.d/12.b" / (hex1 + "-0a")));
    CHECK(s.list("v1/objects/ab/" + hex1 + "-") == std::vector<std::string>{k1, k2});
    CHECK(s.list("v1/objects/ab/ab") == std::vector<std::string>{k1, k2, k3});
    CHECK(s.list("v1/objects/ab/ab3") == std::vector<std::string>{k3});
    CHECK(s.list("v1/obj") == std::vector<std::string>{k1, k2, k3});
    CHECK(s.list("v1/objects/ac/").empty());
}

TEST_CASE("fs store: format marker is written, and another format is refused", "[unit][fs]") {
    TempDir dir;
    { FsStore s(dir.path / "h"); } // durable default
    std::ifstream f(dir.path / "h" / "FORMAT");
    std::string line;
    std::getline(f, line);
    CHECK(line == "musehub-fs-store 1");
    { FsStore again(dir.path / "h"); } // the same format reopens

    write_text(dir.path / "h" / "FORMAT", "musehub-fs-store 2\n");
    auto msg = test::require_error(errc::unsupported, [&] { FsStore s(dir.path / "h"); });
    CHECK(msg.find("musehub-fs-store 2") != std::string::npos);
    write_text(dir.path / "h" / "FORMAT", "something else entirely\n");
    test::require_error(errc::unsupported, [&] { FsStore s(dir.path / "h"); });
}

TEST_CASE("fs store: temp files are never listed and old ones are swept", "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path, {.durable = false});
    s.put("v1/packs/ab/abcdef", as_bytes("pack"));
    s.put("k", as_bytes("v"));
    auto bucket = dir.path / "objects/v1.d/packs.d/ab.d/cd.b";
    REQUIRE(stdfs::is_directory(bucket));
    write_text(bucket / ".tmp-123-deadbeef", "partial");
    write_text(dir.path / "objects/_.b/.tmp-9-fresh", "in flight");
    write_text(dir.path / ".tmp-1-marker", "old marker temp");
    auto old = std::chrono::file_clock::now() - std::chrono::hours(2);
    stdfs::last_write_time(bucket / ".tmp-123-deadbeef", old);
    stdfs::last_write_time(dir.path / ".tmp-1-marker", old);

    CHECK(s.list("") == std::vector<std::string>{"k", "v1/packs/ab/abcdef"});
    CHECK(s.list("v1/packs/ab/") == std::vector<std::string>{"v1/packs/ab/abcdef"});
    CHECK(s.remove_stale_temps(std::chrono::hours(1)) == 2);
    CHECK_FALSE(stdfs::exists(bucket / ".tmp-123-deadbeef"));
    CHECK(stdfs::exists(dir.path / "objects/_.b/.tmp-9-fresh")); // young: maybe in flight
    CHECK(s.remove_stale_temps(std::chrono::seconds(0)) == 1);
    CHECK(temps_under(dir.path).empty());
    CHECK(s.get("v1/packs/ab/abcdef") == to_bytes("pack"));
    CHECK(s.get("k") == to_bytes("v"));
}

TEST_CASE("fs store: a put in pieces leaves no temporary file, committed or abandoned",
          "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path, {.durable = false});
    {
        auto put = s.begin_put();
        put.write(as_bytes("first "));
        CHECK(temps_under(dir.path / "objects").size() == 1); // the pieces go to a temp file
        put.write(as_bytes("second"));
        put.commit("v1/fetch/ab/abcdef");
        test::require_error(errc::invalid_argument, [&] { put.commit("again"); });
    }
    CHECK(s.get("v1/fetch/ab/abcdef") == to_bytes("first second"));
    {
        auto put = s.begin_put();
        put.write(as_bytes("never committed"));
    }
    CHECK(temps_under(dir.path / "objects").empty());
    CHECK(s.list("") == std::vector<std::string>{"v1/fetch/ab/abcdef"});
    // A key that cannot be a key is refused at commit, and the temp file goes with it.
    {
        auto put = s.begin_put();
        put.write(as_bytes("x"));
        test::require_error(errc::invalid_argument, [&] { put.commit("/absolute"); });
    }
    CHECK(temps_under(dir.path / "objects").empty());
}

TEST_CASE("fs store: a failed write leaves no partial object and no temp", "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path, {.durable = false});
    s.put("d/old", as_bytes("old"));
    auto bucket = dir.path / "objects/d.d/_.b";
    REQUIRE(stdfs::is_directory(bucket));

    // Writing into a file that is in the way of a directory fails with errc::io, names the
    // path, and leaves nothing behind.
    write_text(dir.path / "objects/x.d", "a file where a directory should be");
    auto msg = test::require_error(errc::io, [&] { s.put("x/y", as_bytes("data")); });
    CHECK(msg.find("x.d") != std::string::npos);
    CHECK_FALSE(s.get("x/y").has_value());
    CHECK(temps_under(dir.path / "objects").empty());

    // A write that fails half-way (file size limit) removes its temp file, and the object
    // it would have replaced is untouched.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim {
            4096, 4096
        };
        ::setrlimit(RLIMIT_FSIZE, &lim);
        try {
            s.put("d/old", Bytes(100000, std::byte{7}));
            ::_exit(1); // should have failed
        } catch (const musehub::error& e) {
            ::_exit(e.code() == errc::io ? 0 : 2);
        } catch (...) {
            ::_exit(3);
        }
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(s.get("d/old") == to_bytes("old"));
    CHECK(temps_under(dir.path / "objects").empty());
    CHECK(s.list("") == std::vector<std::string>{"d/old"});
}

TEST_CASE("fs store: put_if_absent has one winner across processes", "[unit][fs]") {
    TempDir dir;
    constexpr int procs = 6, rounds = 20;
    {
        FsStore s(dir.path, {.durable = false}); // create before forking
    }
    std::vector<pid_t> children;
    for (int p = 0; p < procs; ++p) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int wins = 0;
            try {
                FsStore s(dir.path, {.durable = false});
                for (int r = 0; r < rounds; ++r) {
                    auto key = "race/" + std::to_string(r);
                    if (s.put_if_absent(key, as_bytes("p" + std::to_string(p)))) {
                        ++wins;
                        s.put("winner/" + std::to_string(r) + "/" + std::to_string(p), {});
                    }
                }
            } catch (...) {
                ::_exit(100);
            }
            ::_exit(wins);
        }
        children.push_back(pid);
    }
    int total = 0;
    for (auto pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) != 100);
        total += WEXITSTATUS(status);
    }
    CHECK(total == rounds);
    FsStore s(dir.path, {.durable = false});
    for (int r = 0; r < rounds; ++r) {
        auto winners = s.list("winner/" + std::to_string(r) + "/");
        REQUIRE(winners.size() == 1);
        auto p = winners[0].substr(winners[0].rfind('/') + 1);
        CHECK(s.get("race/" + std::to_string(r)) == to_bytes("p" + p));
    }
    CHECK(temps_under(dir.path).empty());
}

TEST_CASE("fs store: durable mode round-trips and replaces", "[unit][fs]") {
    TempDir dir;
    FsStore s(dir.path);
    CHECK(s.durable());
    Bytes big(300000, std::byte{3});
    s.put("v1/packs/00/0011-aa.mpack", big);
    s.put("v1/packs/00/0011-aa.mpack", big);
    CHECK(s.put_if_absent("v1/objects/00/0011-bb", as_bytes("x")));
    CHECK_FALSE(s.put_if_absent("v1/objects/00/0011-bb", as_bytes("y")));
    CHECK(s.get_range("v1/packs/00/0011-aa.mpack", 299990, 100) == Bytes(10, std::byte{3}));
    std::vector<PutItem> items{{"m/1", as_bytes("1")}, {"m/2", as_bytes("2")}};
    put_many(s, std::span<const PutItem>(items));
    std::vector<std::string> gone{"m/1", "m/2", "m/3"};
    remove_many(s, std::span<const std::string>(gone));
    CHECK(s.list("") ==
          std::vector<std::string>{"v1/objects/00/0011-bb", "v1/packs/00/0011-aa.mpack"});
    s.remove("v1/objects/00/0011-bb");
    s.remove("v1/objects/00/0011-bb");
    CHECK(s.size("v1/packs/00/0011-aa.mpack") == big.size());
}

TEST_CASE("fs catalog: a version-1 file (whole snapshots only) is migrated on open", "[unit][fs]") {
    TempDir dir;
    auto file = dir.path / "hub.db";
    using catalog::SnapshotRow;
    SnapshotRow whole{SnapshotId{sha256("old")}, 1, to_bytes("whole record"), std::nullopt, 0};
    {
        musehub::fs::Catalog c(file);
        c.insert(std::span<const SnapshotRow>(&whole, 1));
    }
    { // what version 1 made: no base or depth, no index on base
        musehub::fs::sqlite::Connection db(file, {});
        db.exec("DROP INDEX \"snapshots_by_base\"");
        db.exec("ALTER TABLE \"snapshots\" DROP COLUMN \"depth\"");
        db.exec("ALTER TABLE \"snapshots\" DROP COLUMN \"base\"");
        db.exec("PRAGMA user_version = 1");
        CHECK(musehub::fs::sqlite::table_columns(db, "snapshots").size() == 3);
    }
    musehub::fs::Catalog c(file);
    SnapshotRow delta{SnapshotId{sha256("new")}, 1, to_bytes("delta"), whole.snapshot_id, 1};
    c.insert(std::span<const SnapshotRow>(&delta, 1));
    catalog::Key<SnapshotRow> keys[] = {{whole.snapshot_id}, {delta.snapshot_id}};
    auto got = c.find<SnapshotRow>(std::span<const catalog::Key<SnapshotRow>>(keys));
    CHECK(got[0] == whole);
    CHECK(got[1] == delta);
    std::optional<SnapshotId> base = whole.snapshot_id;
    CHECK(c.find_by<SnapshotRow, 3>(std::span<const std::optional<SnapshotId>>(&base, 1)) ==
          std::vector<SnapshotRow>{delta});
}

namespace {
// `n` object rows with distinct ids, inserted into `c`.
std::vector<catalog::ObjectRow> insert_objects(musehub::fs::Catalog& c, int n) {
    std::vector<catalog::ObjectRow> rows;
    for (int i = 0; i < n; ++i)
        rows.push_back({ObjectId{sha256("object " + std::to_string(i))}, 100, {}});
    c.insert(std::span<const catalog::ObjectRow>(rows));
    return rows;
}
} // namespace

TEST_CASE("fs catalog: a large delete gives its pages back and truncates the log", "[unit][fs]") {
    TempDir dir;
    auto file = dir.path / "hub.db";
    auto wal = stdfs::path(file.string() + "-wal");
    musehub::fs::Catalog c(file);
    using catalog::ObjectRow;
    auto rows = insert_objects(c, 20'000);
    musehub::fs::sqlite::Connection probe(file, {});
    auto pages_full = probe.pragma_int("page_count");
    REQUIRE(pages_full > 200); // ~1 MB of rows

    // A small delete changes nothing on disk: not worth a vacuum.
    std::vector<catalog::Key<ObjectRow>> keys;
    for (std::size_t i = 0; i < 100; ++i)
        keys.emplace_back(rows[i].object_id);
    c.erase<ObjectRow>(std::span<const catalog::Key<ObjectRow>>(keys));
    CHECK(probe.pragma_int("page_count") == pages_full);

    keys.clear();
    for (std::size_t i = 100; i < rows.size(); ++i)
        if (i % 10 != 0) // what a collection leaves: a tenth, spread over every page
            keys.emplace_back(rows[i].object_id);
    c.erase<ObjectRow>(std::span<const catalog::Key<ObjectRow>>(keys));
    CHECK(probe.pragma_int("freelist_count") < 64);
    CHECK(probe.pragma_int("page_count") < pages_full / 2);
    CHECK(stdfs::file_size(wal) == 0);
    // What is left is intact.
    std::vector<catalog::Key<ObjectRow>> kept{{rows[110].object_id}, {rows[111].object_id}};
    auto got = c.find<ObjectRow>(std::span<const catalog::Key<ObjectRow>>(kept));
    CHECK(got[0] == rows[110]);
    CHECK_FALSE(got[1]);
}

TEST_CASE("fs catalog: after a collection that left pages half empty, the file is rewritten",
          "[unit][fs]") {
    TempDir dir;
    auto file = dir.path / "hub.db";
    auto wal = stdfs::path(file.string() + "-wal");
    musehub::fs::Catalog c(file);
    using catalog::ObjectRow;
    auto rows = insert_objects(c, 40'000);
    musehub::fs::sqlite::Connection probe(file, {});
    auto pages_full = probe.pragma_int("page_count");
    REQUIRE(pages_full > 400); // ~2 MB of rows

    // Every other row: no page empties, so none is freed; half of every page is unused.
    std::vector<catalog::Key<ObjectRow>> keys;
    for (std::size_t i = 0; i < rows.size(); i += 2)
        keys.emplace_back(rows[i].object_id);
    c.erase<ObjectRow>(std::span<const catalog::Key<ObjectRow>>(keys));
    CHECK(probe.pragma_int("page_count") == pages_full); // a write alone never rewrites
    CHECK(catalog::compact_storage(c));                  // what GC calls after its deletes
    CHECK(probe.pragma_int("page_count") < pages_full * 3 / 4);
    CHECK(stdfs::file_size(wal) == 0);
    CHECK_FALSE(catalog::compact_storage(c)); // nothing changed since: no second look
    std::vector<catalog::Key<ObjectRow>> probe_keys{{rows[0].object_id}, {rows[1].object_id}};
    auto got = c.find<ObjectRow>(std::span<const catalog::Key<ObjectRow>>(probe_keys));
    CHECK_FALSE(got[0]);
    CHECK(got[1] == rows[1]);
}
