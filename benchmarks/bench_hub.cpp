// End-to-end runner (not Google Benchmark microbenchmarks): a whole hub with wire v2, driven
// through the Hub facade, on the generated histories of generate.hpp, for each backend asked
// for: the in-memory reference (memory), the embedded default (fs: fs store + SQLite catalog
// and queue in a fresh directory, durable: every write fsynced) and the same without fsync
// (fs-nosync, the documented option for tests and benchmarks). For each size it measures
//
//   1. push + index   the encoded pack(s) put into the object store, then hub.index (the index
//                     job path, MuseHub's "push + index"); and hub.push of the same history
//                     into a fresh hub (the pack-push path, push message decode included)
//   2. clone          hub.fetch(repo, {{head}, {}}) on the pushed repo, cold then again
//   3. GC             after a force-push of the branch back to the commit halfway (half the
//                     history becomes garbage; grace = 0 ms), hub.gc(repo); then the repack it
//                     schedules (hub.repack) and the hub-wide sweep (hub.sweep: it purges what
//                     both retired and compacts the catalog), as `musehub gc` runs them
//   4. peak RSS       getrusage(ru_maxrss), reset through /proc/self/clear_refs before the
//                     first push. The history is generated, encoded and written to files by
//                     a child process, so this process's heap holds only what the hubs
//                     allocated; each pack is read back just before it is pushed, as if it had
//                     just arrived. The allocator is set as the musehub tool sets it
//                     (musehub/allocator.hpp)
//   5. bytes on disk  the store's bytes and (fs) the catalog's files, after the force-push and
//                     after collecting, with the catalog's share
//
// and prints per-phase times (algo::PhaseTimes), rates, and the targets from the issue next to
// the measured value. Every repetition starts from fresh backends; times are medians.
//
//   bench_hub                    S and L, 5 repetitions each
//   bench_hub --xl               also XL (or MUSEHUB_BENCH_XL=1), as 10 incremental packs
//   bench_hub --quick            S only, one repetition (what the test script's smoke phase
//                                runs: any --benchmark_min_time=... means --quick)
//   bench_hub --reps=N --sizes=S,L,XL --backends=memory,fs,fs-nosync,fs-pg,s3-pg
//
// fs-pg (fs store + PostgreSQL catalog and queue: the mixed instantiation) and s3-pg (S3 +
// PostgreSQL: the server pair) need the servers of scripts/servers.sh, and print the
// PostgreSQL round trips, S3 requests and S3 bytes of each operation; by default they run
// whenever MUSEHUB_PG_URL is set: `scripts/servers.sh build/release/benchmarks/bench_hub`.
//
// The fs hubs and the spilled packs live under $MUSEHUB_BENCH_DIR (default: the system temp
// directory); it must be a real disk for the durable figures to mean anything.
//
// Build in Release and pin to one core, see docs/benchmarks.md ("End-to-end").

#include "generate.hpp"

#include "musehub/algo/snapshots.hpp"
#include "musehub/allocator.hpp"
#include "musehub/fs/catalog.hpp"
#include "musehub/fs/job_queue.hpp"
#include "musehub/fs/object_store.hpp"
#include "musehub/hub.hpp"
#include "musehub/memory/memory.hpp"
#include "musehub/postgres/catalog.hpp"
#include "musehub/postgres/job_queue.hpp"
#include "musehub/s3/object_store.hpp"
#include "musehub/wire/v2.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using namespace musehub;
using Steady = std::chrono::steady_clock;

// ---- targets (the issues) ------------------------------------------------------------------
constexpr double kTargetLPushIndexMs = 300;         // memory
constexpr double kTargetLGcMs = 200;                // memory
constexpr double kTargetFsLPushIndexMs = 1'000;     // fs, durable
constexpr double kTargetServerLPushIndexMs = 3'000; // S3 + PostgreSQL on loopback
constexpr double kTargetFsXLPushIndexMs = 5'000;
constexpr double kTargetFsXLRssPerPack = 2; // peak RSS / pack size

double ms_since(Steady::time_point t0) {
    return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}
template <class Fn>
double timed(Fn&& fn) {
    auto t0 = Steady::now();
    fn();
    return ms_since(t0);
}
// Process CPU time: on a shared machine, wall time well above it means the run was preempted.
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
struct Span {
    double wall = 0, cpu = 0;
};
template <class Fn>
Span measure(Fn&& fn) {
    double c0 = cpu_ms();
    double wall = timed(std::forward<Fn>(fn));
    return {wall, cpu_ms() - c0};
}

void check(bool ok, const std::string& what) {
    if (!ok)
        throw std::runtime_error("bench_hub: check failed: " + what);
}

double median(std::vector<double> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}
std::string ms_str(double ms) {
    return fmt(ms < 10 ? "%.2f" : ms < 1000 ? "%.1f" : "%.0f", ms);
}
std::string mb(double bytes) {
    return fmt("%.2f MB", bytes / 1e6);
}
std::string per_s(double count, double ms) {
    double r = ms > 0 ? count / (ms / 1e3) : 0;
    return r >= 1e6 ? fmt("%.2f M", r / 1e6) : r >= 1e3 ? fmt("%.1f k", r / 1e3) : fmt("%.0f", r);
}
std::string mb_s(double bytes, double ms) {
    return ms > 0 ? fmt("%.1f", bytes / 1e6 / (ms / 1e3)) : "-";
}
std::string group(std::uint64_t n) {
    auto s = std::to_string(n);
    for (auto i = static_cast<std::ptrdiff_t>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

// ---- peak RSS, per size ----------------------------------------------------------------------
// Writing 5 to /proc/self/clear_refs resets the process's RSS high-water mark (Linux >= 4.0),
// which getrusage reports as ru_maxrss for a single-threaded process.
bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    if (!f)
        return false;
    f << "5";
    f.flush();
    return static_cast<bool>(f);
}
double current_rss_mb() {
    std::ifstream f("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    f >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}
double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) * 1024 / 1e6; // ru_maxrss is in KiB on Linux
}

// ---- phase tables --------------------------------------------------------------------------
using Phases = std::vector<std::pair<std::string, double>>;
void add(Phases& into, const std::string& name, double ms) {
    for (auto& [n, v] : into)
        if (n == name)
            return void(v += ms);
    into.emplace_back(name, ms);
}
void add(Phases& into, const algo::PhaseTimes& t) {
    for (const auto& p : t.phases())
        add(into, p.name, p.ms);
}
// Median of each phase over repetitions, in order of first appearance.
Phases median_phases(const std::vector<Phases>& reps) {
    std::vector<std::string> names;
    for (const auto& r : reps)
        for (const auto& [n, _] : r)
            if (std::find(names.begin(), names.end(), n) == names.end())
                names.push_back(n);
    Phases out;
    for (const auto& n : names) {
        std::vector<double> v;
        for (const auto& r : reps) {
            double x = 0;
            for (const auto& [m, ms] : r)
                if (m == n)
                    x = ms;
            v.push_back(x);
        }
        out.emplace_back(n, median(v));
    }
    return out;
}
std::optional<double> lookup(const Phases& p, const std::string& name) {
    for (const auto& [n, v] : p)
        if (n == name)
            return v;
    return std::nullopt;
}

// ---- one size --------------------------------------------------------------------------------
struct SizeCase {
    std::string name;
    bench::HistoryParams params;
    std::size_t parts = 1; // incremental packs the history is pushed in
    int reps = 5;
};

// ---- backends --------------------------------------------------------------------------------
std::filesystem::path bench_root() {
    const char* d = std::getenv("MUSEHUB_BENCH_DIR");
    return d && *d ? std::filesystem::path(d) : std::filesystem::temp_directory_path();
}
// A fresh directory under bench_root(), removed with everything in it.
class ScratchDir {
public:
    ScratchDir() {
        auto pattern = (bench_root() / "musehub-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("bench_hub: mkdtemp " + pattern + ": " + std::strerror(errno));
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct MemoryBackends {
    using Store = memory::ObjectStore;
    using Catalog = memory::Catalog;
    using Queue = memory::JobQueue;
    explicit MemoryBackends(bool /*durable*/) {}
    Store store;
    Catalog catalog;
    Queue queue;
};
struct FsBackends {
    using Store = fs::ObjectStore;
    using Catalog = fs::Catalog;
    using Queue = fs::JobQueue;
    explicit FsBackends(bool durable)
        : store(dir.path() / "objects", Store::Options{.durable = durable}),
          catalog(dir.path() / "hub.db", fs::sqlite::Options{.durable = durable}),
          queue(dir.path() / "hub.db", fs::sqlite::Options{.durable = durable}) {}
    ScratchDir dir; // first: removed after the three are closed
    Store store;
    Catalog catalog;
    Queue queue;
};
// The server backends run against the servers scripts/servers.sh starts (MUSEHUB_PG_URL and
// the S3 variables). Each instance gets a PostgreSQL schema and an S3 key prefix of its own,
// removed with it.
std::string server_scratch_name() {
    static int n = 0;
    return "bench_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}
postgres::pq::Options pg_options(const std::string& schema) {
    const char* url = std::getenv("MUSEHUB_PG_URL");
    if (!url || !*url)
        throw std::runtime_error("bench_hub: MUSEHUB_PG_URL is not set: run the server backends "
                                 "under scripts/servers.sh");
    postgres::pq::Options o;
    o.conninfo = url;
    o.schema = schema;
    return o;
}
// Drops its schema when the catalog and queue using it are gone.
struct PgSchema {
    std::string name;
    ~PgSchema() {
        try {
            postgres::pq::Connection c(pg_options(""), nullptr);
            c.exec("DROP SCHEMA IF EXISTS " + name + " CASCADE");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_hub: dropping schema %s: %s\n", name.c_str(), e.what());
        }
    }
};
// The server traffic a backend has caused so far.
struct Traffic {
    std::uint64_t pg_round_trips = 0, s3_requests = 0, s3_bytes = 0;
    Traffic operator-(const Traffic& o) const {
        return {pg_round_trips - o.pg_round_trips, s3_requests - o.s3_requests,
                s3_bytes - o.s3_bytes};
    }
};
template <class B>
Traffic traffic_of(const B& b) {
    Traffic t;
    if constexpr (requires { b.catalog.round_trips(); })
        t.pg_round_trips = b.catalog.round_trips() + b.queue.round_trips();
    if constexpr (requires { b.store.requests(); })
        t.s3_requests = b.store.requests(), t.s3_bytes = b.store.bytes_transferred();
    return t;
}

struct FsPgBackends { // the mixed instantiation: fs store, PostgreSQL catalog and queue
    using Store = fs::ObjectStore;
    using Catalog = postgres::Catalog;
    using Queue = postgres::JobQueue;
    explicit FsPgBackends(bool durable)
        : store(dir.path() / "objects", Store::Options{.durable = durable}),
          catalog(pg_options(schema.name)), queue(pg_options(schema.name)) {}
    ScratchDir dir;
    PgSchema schema{server_scratch_name()};
    Store store;
    Catalog catalog;
    Queue queue;
};
struct S3PgBackends { // the server pair
    using Store = s3::ObjectStore;
    using Catalog = postgres::Catalog;
    using Queue = postgres::JobQueue;
    explicit S3PgBackends(bool)
        : store(s3_options()), catalog(pg_options(schema.name)), queue(pg_options(schema.name)) {}
    ~S3PgBackends() {
        try {
            auto keys = store.list("");
            store.remove_many(keys);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_hub: emptying the S3 prefix: %s\n", e.what());
        }
    }
    s3::ObjectStore::Options s3_options() const {
        auto o = s3::ObjectStore::Options::from_env();
        o.key_prefix += schema.name + "/";
        return o;
    }
    PgSchema schema{server_scratch_name()};
    Store store;
    Catalog catalog;
    Queue queue;
};

template <class B>
using HubOf = Hub<wire::v2, typename B::Store, typename B::Catalog, typename B::Queue>;

enum class Kind { memory, fs, fs_nosync, fs_pg, s3_pg };
struct BackendChoice {
    std::string name;
    Kind kind = Kind::memory;
    bool durable() const { return kind == Kind::fs || kind == Kind::fs_pg; }
    bool server() const { return kind == Kind::fs_pg || kind == Kind::s3_pg; }
    std::string describe() const {
        switch (kind) {
        case Kind::memory:
            return "Hub<wire::v2, memory::ObjectStore, memory::Catalog, memory::JobQueue>";
        case Kind::fs:
            return "Hub<wire::v2, fs::ObjectStore, fs::Catalog, fs::JobQueue> (durable: fsync on "
                   "every write)";
        case Kind::fs_nosync:
            return "Hub<wire::v2, fs::ObjectStore, fs::Catalog, fs::JobQueue> (no fsync)";
        case Kind::fs_pg:
            return "Hub<wire::v2, fs::ObjectStore, postgres::Catalog, postgres::JobQueue> (fs "
                   "durable; PostgreSQL on loopback)";
        case Kind::s3_pg:
            return "Hub<wire::v2, s3::ObjectStore, postgres::Catalog, postgres::JobQueue> (S3 and "
                   "PostgreSQL on loopback)";
        }
        return "?";
    }
};
const std::vector<std::pair<std::string, Kind>> kBackendNames{{"memory", Kind::memory},
                                                              {"fs", Kind::fs},
                                                              {"fs-nosync", Kind::fs_nosync},
                                                              {"fs-pg", Kind::fs_pg},
                                                              {"s3-pg", Kind::s3_pg}};

struct FetchSummary {
    double ms = 0, cpu = 0;
    std::size_t bytes = 0, commits = 0, snapshots = 0, objects = 0, sources_read = 0;
    bool cache_hit = false, reused = false;
};

// What a hub keeps: the store's bytes, and the catalog's files where it has them (fs: the
// SQLite file with its -wal and -shm; a server catalog's bytes are the server's).
struct Disk {
    std::uint64_t store = 0;
    std::optional<std::uint64_t> catalog;
    std::uint64_t total() const { return store + catalog.value_or(0); }
};
template <class B>
Disk disk_of(B& b) {
    Disk d;
    for (const auto& key : b.store.list(""))
        d.store += b.store.size(key).value_or(0);
    if constexpr (requires { b.catalog.file(); }) {
        d.catalog = 0;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::error_code ec;
            auto n = std::filesystem::file_size(b.catalog.file().string() + suffix, ec);
            *d.catalog += ec ? 0 : n;
        }
    }
    return d;
}

struct Rep {
    Phases index_phases, push_phases, gc_phases, sweep_phases, repack_phases;
    double index_ms = 0, put_ms = 0, push_ms = 0, index_cpu = 0, push_cpu = 0;
    std::size_t index_fresh = 0, push_fresh = 0;
    std::uint64_t push_stored_bytes = 0;
    FetchSummary cold, warm;
    double force_ms = 0, gc_ms = 0, gc_cpu = 0, sweep_ms = 0, repack_ms = 0;
    algo::GcResult gc;
    algo::SweepResult swept;
    algo::RepackResult repacked;
    // Bytes on disk once pushed (after the force-push) and once collected (GC, the repack it
    // schedules, the sweep that purges what both retired).
    Disk disk_pushed, disk_collected;
    // The high-water mark once each operation is done (it only grows: the first repetition's
    // are each operation's own peak, on top of those before it).
    double peak_push = 0, peak_clone = 0, peak_gc = 0;
    // Server traffic of push + index (the index path), the cold clone, and the first GC.
    Traffic push_traffic, clone_traffic, gc_traffic;
};

HubOptions hub_options() {
    HubOptions o;
    o.grace = std::chrono::milliseconds(0); // GC after the force-push may collect at once
    return o;
}

template <class H>
FetchSummary fetch_once(H& hub, const std::string& repo, const CommitId& head) {
    FetchSummary s;
    algo::FetchResult r;
    // Streamed, as a server sends it to its client: the answer is never held whole.
    auto t = measure([&] {
        r = hub.fetch(repo, FetchRequest{{head}, {}},
                      [&](BytesView piece) { s.bytes += piece.size(); });
    });
    s.ms = t.wall;
    s.cpu = t.cpu;
    check(s.bytes == r.size, "fetch sent other than it reports");
    s.commits = r.commits;
    s.snapshots = r.snapshots;
    s.objects = r.objects;
    s.sources_read = r.sources_read;
    s.cache_hit = r.cache_hit;
    s.reused = r.reused;
    return s;
}

// What the repetitions need. The generated history itself (for XL, gigabytes of full
// manifests) is dropped once encoded, so the peak RSS measured afterwards is the hub's.
// A pack is read back from its file just before it is pushed, as if it had just arrived.
std::filesystem::path spill(const std::filesystem::path& file, const Bytes& bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    check(static_cast<bool>(out), "writing " + file.string());
    return file;
}
Bytes load(const std::filesystem::path& file) {
    Bytes bytes(std::filesystem::file_size(file));
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    check(static_cast<bool>(in), "reading " + file.string());
    return bytes;
}

struct Prepared {
    std::unique_ptr<ScratchDir> dir;            // holds the files below
    std::vector<std::filesystem::path> encoded; // encode_pack of each part (the index path)
    std::vector<std::filesystem::path> bodies;  // encode_push of each part (the pack-push path)
    std::vector<CommitId> part_heads;           // head after each part
    std::filesystem::path force_body;           // force-push of the branch back to `middle`
    CommitId head, middle;
    std::size_t commits = 0, snapshots = 0, objects = 0;
    std::size_t kept_commits = 0; // commits reachable after the force-push
    std::uint64_t object_bytes = 0, encoded_bytes = 0, body_bytes = 0;
    std::uint64_t record_bytes = 0; // the snapshots as whole v1 records
    std::uint64_t row_bytes = 0;    // the snapshot rows the catalog keeps (mostly deltas)
};

// What a child's prepare() hands its parent, as text: the files are in the shared directory.
void save_summary(const Prepared& p, const std::filesystem::path& file) {
    std::ofstream out(file);
    out << p.encoded.size() << ' ' << p.head.hex() << ' ' << p.middle.hex() << ' ' << p.commits
        << ' ' << p.snapshots << ' ' << p.objects << ' ' << p.kept_commits << ' ' << p.object_bytes
        << ' ' << p.encoded_bytes << ' ' << p.body_bytes << ' ' << p.record_bytes << ' '
        << p.row_bytes;
    for (const auto& h : p.part_heads)
        out << ' ' << h.hex();
    out << '\n';
    check(static_cast<bool>(out), "writing " + file.string());
}
void load_summary(Prepared& p, const std::filesystem::path& file) {
    std::ifstream in(file);
    std::size_t parts = 0;
    std::string head, middle;
    in >> parts >> head >> middle >> p.commits >> p.snapshots >> p.objects >> p.kept_commits >>
        p.object_bytes >> p.encoded_bytes >> p.body_bytes >> p.record_bytes >> p.row_bytes;
    p.head = CommitId::from_hex(head);
    p.middle = CommitId::from_hex(middle);
    for (std::size_t i = 0; i < parts; ++i) {
        std::string h;
        in >> h;
        p.part_heads.push_back(CommitId::from_hex(h));
        p.encoded.push_back(p.dir->path() / ("pack-" + std::to_string(i)));
        p.bodies.push_back(p.dir->path() / ("push-" + std::to_string(i)));
    }
    p.force_body = p.dir->path() / "force";
    check(static_cast<bool>(in), "reading " + file.string());
}

Prepared prepare(const SizeCase& sc, const wire::v2& wire, const std::filesystem::path& dir) {
    Prepared p; // its files go to `dir`
    bench::GeneratedHistory history;
    double gen_ms = timed([&] { history = bench::generate_pack(sc.params); });
    double split_ms = 0;
    std::vector<Pack> split; // parts > 1: the incremental packs (they view `history`)
    if (sc.parts > 1)
        split_ms = timed([&] { split = bench::split_incremental(history, sc.parts); });
    std::vector<Pack*> packs;
    if (sc.parts > 1)
        for (auto& part : split)
            packs.push_back(&part);
    else
        packs.push_back(&history.pack);
    double enc_ms = timed([&] {
        for (auto* pack : packs) {
            auto n = std::to_string(p.encoded.size());
            auto encoded = wire.encode_pack(*pack);
            p.encoded_bytes += encoded.size();
            p.encoded.push_back(spill(dir / ("pack-" + n), encoded));
            p.part_heads.push_back(pack->branch_heads.at("main"));
            PushRequest req{std::move(*pack), "main", false, {}};
            auto body = wire.encode_push(req);
            p.body_bytes += body.size();
            p.bodies.push_back(spill(dir / ("push-" + n), body));
            *pack = std::move(req.pack);
        }
    });
    const auto& pack = history.pack;
    p.commits = pack.commits.size();
    p.snapshots = pack.snapshots.size();
    p.objects = pack.objects.size();
    p.object_bytes = history.object_bytes;
    p.head = pack.branch_heads.at("main");
    p.kept_commits = p.commits / 2;
    check(p.kept_commits >= 1, "history too short to force-push halfway");
    p.middle = pack.commits[p.kept_commits - 1].commit_id;
    { // the rows a push writes: each snapshot against its commit's parent's (the history is
      // linear), and what the same snapshots would be whole
        std::unordered_map<SnapshotId, const Snapshot*> by_id;
        for (const auto& s : pack.snapshots)
            by_id.emplace(s.snapshot_id, &s);
        std::unordered_map<CommitId, const Snapshot*> snapshot_of;
        std::unordered_map<SnapshotId, std::uint32_t> depth;
        for (const auto& c : topological_order(pack.commits)) {
            const auto* s = by_id.at(c->snapshot_id);
            snapshot_of.emplace(c->commit_id, s);
            if (depth.count(s->snapshot_id))
                continue;
            const Snapshot* base =
                c->parent_commit_id ? snapshot_of.at(*c->parent_commit_id) : nullptr;
            auto row = algo::snapshot_row(*s, base, base ? depth.at(base->snapshot_id) : 0);
            depth.emplace(s->snapshot_id, row.depth);
            p.row_bytes += row.record.size();
            p.record_bytes += catalog::encode_record(*s).size();
        }
    }
    Pack back;
    back.branch_heads.emplace("main", p.middle);
    p.force_body =
        spill(dir / "force", wire.encode_push(PushRequest{std::move(back), "main", true, {}}));

    std::printf("\n== %s: %zu commits, %zu objects (%s raw), %s manifest entries, %zu files at "
                "head\n",
                sc.name.c_str(), p.commits, p.objects,
                mb(static_cast<double>(p.object_bytes)).c_str(),
                group(history.manifest_entries).c_str(), history.final_files);
    std::printf("   its snapshots as the catalog stores them: %s (whole, they would be %s)\n",
                mb(static_cast<double>(p.row_bytes)).c_str(),
                mb(static_cast<double>(p.record_bytes)).c_str());
    std::printf("   %zu pack(s), %s encoded (v2), push bodies %s; generated in %s ms, %sencoded "
                "(packs and push bodies) in %s ms, all untimed; peak RSS meanwhile %s\n",
                packs.size(), mb(static_cast<double>(p.encoded_bytes)).c_str(),
                mb(static_cast<double>(p.body_bytes)).c_str(), ms_str(gen_ms).c_str(),
                sc.parts > 1 ? (ms_str(split_ms) + " ms split, ").c_str() : "",
                ms_str(enc_ms).c_str(), fmt("%.0f MB", peak_rss_mb()).c_str());
    return p;
}

// Prepares in a child process: the generator allocates and frees gigabytes of manifests (XL),
// which would leave this process's heap large and fragmented, so the hub's allocations would
// land on scattered pages and its peak RSS would measure the bench, not the hub. The child
// writes the packs and a summary into the scratch directory this process owns.
Prepared prepare_isolated(const SizeCase& sc, const wire::v2& wire) {
    Prepared p;
    p.dir = std::make_unique<ScratchDir>();
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    check(pid >= 0, std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        int rc = 0;
        try {
            auto child = prepare(sc, wire, p.dir->path());
            save_summary(child, p.dir->path() / "summary");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_hub: preparing %s failed: %s\n", sc.name.c_str(), e.what());
            rc = 1;
        }
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(rc); // no destructors: the scratch directory is the parent's
    }
    int status = 0;
    check(::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "preparing " + sc.name + " failed (see above)");
    load_summary(p, p.dir->path() / "summary");
    return p;
}

template <class B>
Rep run_rep(const SizeCase& sc, const Prepared& p, bool first, bool durable) {
    Rep rep;
    const std::string repo = "bench/" + sc.name;
    const auto opts = hub_options();

    // 1a. push + index: upload each pack to the store, run the index job inline.
    auto a = std::make_unique<B>(durable);
    HubOf<B> hub{wire::v2{}, a->store, a->catalog, a->queue, opts};
    auto traffic = traffic_of(*a);
    for (std::size_t i = 0; i < p.encoded.size(); ++i) {
        auto bytes = load(p.encoded[i]);
        auto key = algo::container_key(PackId{sha256(bytes)}, hub.now()); // the presigned URL's key
        algo::PushResult r;
        double put_ms = 0;
        auto t = measure([&] {
            put_ms = timed([&] { hub.store().put(key, bytes); });
            Bytes{}.swap(bytes); // the uploader's copy: the hub holds only what the job reads
            r = hub.index(algo::IndexRequest{repo, "main", false, key});
        });
        const double ms = t.wall;
        rep.index_cpu += t.cpu;
        check(r.head == p.part_heads[i], "index moved the branch to the wrong head");
        check(r.outcome == (i == 0 ? algo::PushOutcome::created : algo::PushOutcome::fast_forward),
              "index outcome");
        rep.index_ms += ms;
        rep.put_ms += put_ms;
        rep.index_fresh += r.stored.fresh;
        add(rep.index_phases, "store.put (upload)", put_ms);
        add(rep.index_phases, r.times);
    }
    check(hub.branch_head(repo, "main") == p.head, "branch head after index");
    rep.push_traffic = traffic_of(*a) - traffic;

    // 1b. the pack-push path, into a second repo of a fresh hub.
    {
        auto b = std::make_unique<B>(durable);
        HubOf<B> hub2{wire::v2{}, b->store, b->catalog, b->queue, opts};
        for (std::size_t i = 0; i < p.bodies.size(); ++i) {
            algo::PushResult r;
            const auto body = load(p.bodies[i]);
            auto t = measure([&] { r = hub2.push(repo + "-push", body); });
            const double ms = t.wall;
            rep.push_cpu += t.cpu;
            check(r.head == p.part_heads[i], "push moved the branch to the wrong head");
            rep.push_ms += ms;
            rep.push_fresh += r.stored.fresh;
            rep.push_stored_bytes += r.stored.bytes;
            add(rep.push_phases, r.times);
            add(rep.push_phases, "decode_push + rest", ms - r.times.total());
        }
    }

    rep.peak_push = peak_rss_mb();

    // 2. clone, cold then again.
    traffic = traffic_of(*a);
    rep.cold = fetch_once(hub, repo, p.head);
    rep.clone_traffic = traffic_of(*a) - traffic;
    rep.warm = fetch_once(hub, repo, p.head);
    check(rep.cold.commits == p.commits && rep.cold.snapshots == p.snapshots &&
              rep.cold.objects == p.objects,
          "clone did not send the whole history");
    if (first && sc.parts == 1) { // the clone decodes to the pushed history (XL: too slow)
        auto bytes = hub.fetch(repo, FetchRequest{{p.head}, {}}).bytes;
        auto got = hub.wire().decode_pack(bytes, opts.limits);
        check(got.commits.size() == p.commits && got.objects.size() == p.objects &&
                  got.branch_heads.at("main") == p.head,
              "cloned pack differs from the pushed history");
    }

    rep.peak_clone = peak_rss_mb();

    // 3. force-push back to the middle, then GC.
    {
        algo::PushResult r;
        const auto body = load(p.force_body);
        rep.force_ms = timed([&] { r = hub.push(repo, body); });
        check(r.outcome == algo::PushOutcome::forced && r.head == p.middle, "force-push");
    }
    rep.disk_pushed = disk_of(*a);
    {
        traffic = traffic_of(*a);
        auto t = measure([&] { rep.gc = hub.gc(repo); });
        rep.gc_traffic = traffic_of(*a) - traffic;
        rep.gc_ms = t.wall;
        rep.gc_cpu = t.cpu;
    }
    check(!rep.gc.skipped, "GC skipped: " + rep.gc.reason);
    check(rep.gc.errors.empty(), "GC reported errors");
    check(rep.gc.live_commits == p.kept_commits, "GC live commits != commits kept");
    check(rep.gc.objects_deleted > 0, "GC deleted no objects");
    add(rep.gc_phases, rep.gc.times);
    // The repack the GC scheduled and the sweep, run here instead of by a worker: the sweep
    // purges what both retired (grace 0) and compacts the catalog.
    rep.repack_ms = timed([&] { rep.repacked = hub.repack(repo); });
    add(rep.repack_phases, rep.repacked.times);
    rep.sweep_ms = timed([&] { rep.swept = hub.sweep(); });
    check(rep.swept.errors.empty(), "the sweep reported errors");
    add(rep.sweep_phases, rep.swept.times);
    rep.disk_collected = disk_of(*a);
    rep.peak_gc = peak_rss_mb();
    {
        auto again = fetch_once(hub, repo, p.middle);
        check(again.commits == p.kept_commits, "clone after GC");
    }
    if (first && sc.name == "S") {
        auto f = hub.fsck();
        check(f.ok(), "fsck after GC: " + (f.violations.empty() ? std::string()
                                                                : f.violations[0].kind + " " +
                                                                      f.violations[0].detail));
    }
    return rep;
}

struct Verdict {
    std::string what;
    double measured, target;
    std::string spread;
    std::string unit = "ms";
};

void print_phase_table(const Phases& index, Span index_total, const Phases& push, Span push_total) {
    std::vector<std::string> names;
    for (const auto* ph : {&index, &push})
        for (const auto& [n, _] : *ph)
            if (std::find(names.begin(), names.end(), n) == names.end())
                names.push_back(n);
    std::printf("   %-24s %14s %14s\n", "phase (ms)", "push + index", "pack push");
    for (const auto& n : names) {
        auto a = lookup(index, n), b = lookup(push, n);
        std::printf("   %-24s %14s %14s\n", n.c_str(), a ? ms_str(*a).c_str() : "-",
                    b ? ms_str(*b).c_str() : "-");
    }
    std::printf("   %-24s %14s %14s\n", "total (wall)", ms_str(index_total.wall).c_str(),
                ms_str(push_total.wall).c_str());
    std::printf("   %-24s %14s %14s\n", "total (process CPU)", ms_str(index_total.cpu).c_str(),
                ms_str(push_total.cpu).c_str());
}

void print_disk(const Rep& r, double raw) {
    std::printf("\n-- 5. bytes on disk (first repetition; the raw objects: %s)\n", mb(raw).c_str());
    std::printf("   %-34s %12s %12s %12s %14s\n", "", "store", "catalog", "total", "catalog share");
    for (auto [label, d] : {std::pair{"pushed (after the force-push)", r.disk_pushed},
                            {"collected (GC, repack, GC)", r.disk_collected}}) {
        auto cat = d.catalog ? group(*d.catalog) : std::string("no file");
        auto share = d.catalog ? fmt("%.0f %%", 100.0 * static_cast<double>(*d.catalog) /
                                                    static_cast<double>(d.total()))
                               : std::string("-");
        std::printf("   %-34s %12s %12s %12s %14s\n", label, group(d.store).c_str(), cat.c_str(),
                    group(d.total()).c_str(), share.c_str());
    }
}

void run_backend(const SizeCase& sc, const Prepared& p, const BackendChoice& backend,
                 std::vector<Verdict>& verdicts) {
    // From here on, the peak is the hub's: the packs wait in files.
    malloc_trim(0);
    const double baseline = current_rss_mb();
    bool reset = reset_peak_rss();
    std::printf("\n== %s on %s\n   %d repetition(s), medians; RSS before the first push %s\n",
                sc.name.c_str(), backend.describe().c_str(), sc.reps,
                fmt("%.0f MB", baseline).c_str());
    std::vector<Rep> reps;
    for (int i = 0; i < sc.reps; ++i)
        switch (backend.kind) {
        case Kind::memory:
            reps.push_back(run_rep<MemoryBackends>(sc, p, i == 0, false));
            break;
        case Kind::fs:
        case Kind::fs_nosync:
            reps.push_back(run_rep<FsBackends>(sc, p, i == 0, backend.durable()));
            break;
        case Kind::fs_pg:
            reps.push_back(run_rep<FsPgBackends>(sc, p, i == 0, backend.durable()));
            break;
        case Kind::s3_pg:
            reps.push_back(run_rep<S3PgBackends>(sc, p, i == 0, backend.durable()));
            break;
        }

    auto med = [&](auto get) {
        std::vector<double> v;
        for (const auto& r : reps)
            v.push_back(get(r));
        return median(v);
    };
    auto spread = [&](auto get) { // "min-max" over the repetitions
        double lo = 1e300, hi = 0;
        for (const auto& r : reps)
            lo = std::min(lo, get(r)), hi = std::max(hi, get(r));
        return reps.size() < 2 ? std::string("-") : ms_str(lo) + "-" + ms_str(hi);
    };
    auto collect = [&](auto get) {
        std::vector<Phases> v;
        for (const auto& r : reps)
            v.push_back(get(r));
        return median_phases(v);
    };
    const double objects = static_cast<double>(p.objects);
    const double raw = static_cast<double>(p.object_bytes);
    const double enc = static_cast<double>(p.encoded_bytes);
    const double body = static_cast<double>(p.body_bytes);
    const double index_ms = med([](const Rep& r) { return r.index_ms; });
    const double push_ms = med([](const Rep& r) { return r.push_ms; });
    const Rep& r0 = reps.front();

    std::printf("\n-- 1. push + index (store.put + hub.index) and pack push (hub.push), "
                "%zu pack(s)\n",
                p.encoded.size());
    print_phase_table(collect([](const Rep& r) { return r.index_phases; }),
                      {index_ms, med([](const Rep& r) { return r.index_cpu; })},
                      collect([](const Rep& r) { return r.push_phases; }),
                      {push_ms, med([](const Rep& r) { return r.push_cpu; })});
    std::printf("   %-24s %14s %14s\n", "objects stored (fresh)", group(r0.index_fresh).c_str(),
                group(r0.push_fresh).c_str());
    std::printf("\n   %-14s %10s %14s %12s %14s %12s\n", "", "ms", "min-max", "objects/s",
                "MB/s (pack)", "MB/s (raw)");
    std::printf("   %-14s %10s %14s %12s %14s %12s\n", "push + index", ms_str(index_ms).c_str(),
                spread([](const Rep& r) { return r.index_ms; }).c_str(),
                per_s(objects, index_ms).c_str(), mb_s(enc, index_ms).c_str(),
                mb_s(raw, index_ms).c_str());
    std::printf(
        "   %-14s %10s %14s %12s %14s %12s   (MB/s (pack) counts the push bodies)\n", "pack push",
        ms_str(push_ms).c_str(), spread([](const Rep& r) { return r.push_ms; }).c_str(),
        per_s(objects, push_ms).c_str(), mb_s(body, push_ms).c_str(), mb_s(raw, push_ms).c_str());

    std::printf("\n-- 2. clone: hub.fetch(repo, {{head}, {}})\n");
    std::printf("   %-8s %10s %10s %12s %12s %8s %8s %7s %7s %7s\n", "", "ms", "cpu ms",
                "pack bytes", "MB/s (pack)", "MB/s raw", "objects", "sources", "cached", "reused");
    for (auto [label, get] :
         {std::pair<const char*, std::function<const FetchSummary&(const Rep&)>>{
              "cold", [](const Rep& r) -> const FetchSummary& { return r.cold; }},
          {"again", [](const Rep& r) -> const FetchSummary& { return r.warm; }}}) {
        double ms = med([&](const Rep& r) { return get(r).ms; });
        double cpu = med([&](const Rep& r) { return get(r).cpu; });
        const auto& f = get(r0);
        std::printf("   %-8s %10s %10s %12s %12s %8s %8zu %7zu %7s %7s\n", label,
                    ms_str(ms).c_str(), ms_str(cpu).c_str(), group(f.bytes).c_str(),
                    mb_s(static_cast<double>(f.bytes), ms).c_str(), mb_s(raw, ms).c_str(),
                    f.objects, f.sources_read, f.cache_hit ? "yes" : "no", f.reused ? "yes" : "no");
    }

    const double force_ms = med([](const Rep& r) { return r.force_ms; });
    const double gc_ms = med([](const Rep& r) { return r.gc_ms; });
    const double sweep_ms = med([](const Rep& r) { return r.sweep_ms; });
    const double repack_ms = med([](const Rep& r) { return r.repack_ms; });
    std::printf("\n-- 3. GC after a force-push back to commit %zu of %zu (grace 0 ms)\n",
                p.kept_commits, p.commits);
    std::printf("   force-push (hub.push, empty pack): %s ms\n", ms_str(force_ms).c_str());
    auto gc_phases = collect([](const Rep& r) { return r.gc_phases; });
    auto sweep_phases = collect([](const Rep& r) { return r.sweep_phases; });
    std::printf("   %-24s %14s %14s\n", "phase (ms)", "hub.gc", "hub.sweep");
    for (const auto& [n, v] : gc_phases)
        std::printf("   %-24s %14s %14s\n", n.c_str(), ms_str(v).c_str(), "-");
    for (const auto& [n, v] : sweep_phases)
        std::printf("   %-24s %14s %14s\n", n.c_str(), "-", ms_str(v).c_str());
    std::printf("   %-24s %14s %14s\n", "total (wall)", ms_str(gc_ms).c_str(),
                ms_str(sweep_ms).c_str());
    std::printf("   %-24s %14s %14s\n", "total (process CPU)",
                ms_str(med([](const Rep& r) { return r.gc_cpu; })).c_str(), "");
    std::printf("   %-24s %14s %14s\n", "total min-max (wall)",
                spread([](const Rep& r) { return r.gc_ms; }).c_str(),
                spread([](const Rep& r) { return r.sweep_ms; }).c_str());
    const auto& g = r0.gc;
    std::printf("   live: %s commits, %s snapshots, %s objects\n", group(g.live_commits).c_str(),
                group(g.live_snapshots).c_str(), group(g.live_objects).c_str());
    std::printf("   refs dropped: %s commit, %s snapshot, %s object\n",
                group(g.commit_refs_dropped).c_str(), group(g.snapshot_refs_dropped).c_str(),
                group(g.object_refs_dropped).c_str());
    std::printf("   deleted: %s commits, %s snapshots, %s objects (%s raw); %zu container(s) "
                "retired; swept: %zu tombstone(s) purged (%s)\n",
                group(g.commits_deleted).c_str(), group(g.snapshots_deleted).c_str(),
                group(g.objects_deleted).c_str(),
                mb(static_cast<double>(g.object_bytes_deleted)).c_str(), g.containers_retired,
                r0.swept.tombstones_purged, mb(static_cast<double>(r0.swept.bytes_purged)).c_str());
    const auto& c = r0.repacked;
    if (c.skipped)
        std::printf("   repack (between the GCs): %s ms (skipped: %s)\n", ms_str(repack_ms).c_str(),
                    c.reason.c_str());
    else
        std::printf("   repack (between the GCs): %s ms, %zu of %zu pack(s) (%s) -> 1 pack of %s "
                    "objects, %s; %zu retired\n",
                    ms_str(repack_ms).c_str(), c.rewritten, c.sources,
                    mb(static_cast<double>(c.bytes_rewritten)).c_str(), group(c.objects).c_str(),
                    mb(static_cast<double>(c.bytes)).c_str(), c.retired);

    const double peak = peak_rss_mb();
    std::printf("\n-- 4. peak RSS (ru_maxrss) during the %s hub operations: %s, %.1fx the "
                "encoded pack(s)%s\n",
                sc.name.c_str(), fmt("%.0f MB", peak).c_str(), peak * 1e6 / enc,
                reset ? "" : " (could not reset the high-water mark: cumulative)");
    std::printf("   high-water mark after push + index and pack push %s (%.1fx), after clone %s, "
                "after GC and repack %s\n",
                fmt("%.0f MB", r0.peak_push).c_str(), r0.peak_push * 1e6 / enc,
                fmt("%.0f MB", r0.peak_clone).c_str(), fmt("%.0f MB", r0.peak_gc).c_str());

    print_disk(r0, raw);

    if (backend.server()) {
        auto line = [&](const char* what, const Traffic& t) {
            std::printf("   %-28s %10s PostgreSQL round trips, %8s S3 requests, %s\n", what,
                        group(t.pg_round_trips).c_str(), group(t.s3_requests).c_str(),
                        mb(static_cast<double>(t.s3_bytes)).c_str());
        };
        std::printf("\n-- 6. server traffic (first repetition)\n");
        line("push + index", r0.push_traffic);
        line("clone (cold)", r0.clone_traffic);
        line("GC after force-push", r0.gc_traffic);
    }

    auto index_spread = spread([](const Rep& r) { return r.index_ms; });
    auto on = " (" + backend.name + ")";
    if (backend.kind == Kind::s3_pg && sc.name == "L")
        verdicts.push_back(
            {"L push + index" + on, index_ms, kTargetServerLPushIndexMs, index_spread});
    if (sc.name == "L" && backend.kind == Kind::memory) {
        verdicts.push_back({"L push + index" + on, index_ms, kTargetLPushIndexMs, index_spread});
        verdicts.push_back({"L GC after force-push" + on, gc_ms, kTargetLGcMs,
                            spread([](const Rep& r) { return r.gc_ms; })});
    }
    if (backend.kind == Kind::fs && sc.name == "L")
        verdicts.push_back({"L push + index" + on, index_ms, kTargetFsLPushIndexMs, index_spread});
    if (backend.kind == Kind::fs && sc.name == "XL") {
        verdicts.push_back(
            {"XL push + index" + on, index_ms, kTargetFsXLPushIndexMs, index_spread});
        verdicts.push_back(
            {"XL peak RSS / pack size" + on, peak * 1e6 / enc, kTargetFsXLRssPerPack, "-", "x"});
    }
}

void run_size(const SizeCase& sc, const std::vector<BackendChoice>& backends,
              std::vector<Verdict>& verdicts) {
    reset_peak_rss();
    auto p = prepare_isolated(sc, wire::v2{});
    for (const auto& b : backends)
        run_backend(sc, p, b, verdicts);
}

struct Config {
    bool quick = false, xl = false;
    int reps = 0; // 0: per size default
    std::vector<std::string> sizes;
    std::vector<BackendChoice> backends;
};

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at <= s.size();) {
        auto comma = s.find(',', at);
        if (comma == std::string::npos)
            comma = s.size();
        if (comma > at)
            out.push_back(s.substr(at, comma - at));
        at = comma + 1;
    }
    return out;
}

Config parse(int argc, char** argv) {
    Config c;
    if (const char* e = std::getenv("MUSEHUB_BENCH_XL"); e && std::string_view(e) == "1")
        c.xl = true;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick" || a.starts_with("--benchmark_min_time"))
            c.quick = true;
        else if (a == "--xl")
            c.xl = true;
        else if (a.starts_with("--reps="))
            c.reps = std::atoi(std::string(a.substr(7)).c_str());
        else if (a.starts_with("--sizes="))
            c.sizes = split_commas(std::string(a.substr(8)));
        else if (a.starts_with("--backends=")) {
            for (const auto& b : split_commas(std::string(a.substr(11)))) {
                auto it = std::find_if(kBackendNames.begin(), kBackendNames.end(),
                                       [&](const auto& n) { return n.first == b; });
                if (it == kBackendNames.end()) {
                    std::fprintf(stderr,
                                 "bench_hub: unknown backend '%s' (memory, fs, fs-nosync, fs-pg, "
                                 "s3-pg)\n",
                                 b.c_str());
                    std::exit(2);
                }
                c.backends.push_back({b, it->second});
            }
        } else if (a.starts_with("--benchmark_"))
            ; // Google Benchmark flags from generic runners: ignored
        else if (a == "--help" || a == "-h") {
            std::puts("usage: bench_hub [--quick] [--xl] [--reps=N] [--sizes=S,L,XL]\n"
                      "                 [--backends=memory,fs,fs-nosync,fs-pg,s3-pg]\n"
                      "  default backends: memory, fs, fs-nosync, and fs-pg and s3-pg when\n"
                      "  MUSEHUB_PG_URL is set (run under scripts/servers.sh)\n"
                      "  default: S and L; XL with --xl or MUSEHUB_BENCH_XL=1\n"
                      "  --quick (or --benchmark_min_time=...): S only, one repetition");
            std::exit(0);
        } else {
            std::fprintf(stderr, "bench_hub: unknown argument '%s' (try --help)\n", argv[i]);
            std::exit(2);
        }
    }
    if (c.backends.empty()) {
        c.backends = {{"memory", Kind::memory}, {"fs", Kind::fs}, {"fs-nosync", Kind::fs_nosync}};
        if (const char* pg = std::getenv("MUSEHUB_PG_URL"); pg && *pg)
            c.backends.insert(c.backends.end(), {{"fs-pg", Kind::fs_pg}, {"s3-pg", Kind::s3_pg}});
    }
    if (c.sizes.empty()) {
        if (c.quick)
            c.sizes = {"S"};
        else {
            c.sizes = {"S", "L"};
            if (c.xl)
                c.sizes.push_back("XL");
        }
    }
    return c;
}

} // namespace

int main(int argc, char** argv) try {
    auto cfg = parse(argc, argv);
    // As the musehub tool does: pack-sized buffers go back to the OS when freed.
    // MUSEHUB_BENCH_ALLOCATOR=default keeps glibc's defaults, for comparison.
    const char* alloc = std::getenv("MUSEHUB_BENCH_ALLOCATOR");
    const bool tuned =
        !(alloc && std::string_view(alloc) == "default") && return_large_buffers_to_os();
    std::printf("musehub end-to-end benchmark, wire v2; hubs and spilled packs under %s; "
                "allocator: %s%s\n",
                bench_root().c_str(),
                tuned ? "buffers of 512 KiB or more mmapped (musehub/allocator.hpp)" : "defaults",
#ifdef NDEBUG
                ""
#else
                " -- ASSERTIONS ON (not a Release build): numbers are not meaningful"
#endif
    );
    std::vector<Verdict> verdicts;
    for (const auto& name : cfg.sizes) {
        SizeCase sc;
        sc.name = name;
        if (name == "S")
            sc.params = bench::HistoryParams::S(), sc.reps = 5;
        else if (name == "L")
            sc.params = bench::HistoryParams::L(), sc.reps = 5;
        else if (name == "XL")
            sc.params = bench::HistoryParams::XL(), sc.reps = 1, sc.parts = 10;
        else {
            std::fprintf(stderr, "bench_hub: unknown size '%s' (S, L, XL)\n", name.c_str());
            return 2;
        }
        if (cfg.quick)
            sc.reps = 1;
        if (cfg.reps > 0)
            sc.reps = cfg.reps;
        run_size(sc, cfg.backends, verdicts);
    }
    if (!verdicts.empty()) {
        std::printf("\n== targets\n");
        for (const auto& v : verdicts)
            std::printf("   %-36s %10s %s (median; min-max %s)   target < %s %s   %s\n",
                        v.what.c_str(), ms_str(v.measured).c_str(), v.unit.c_str(),
                        v.spread.c_str(), ms_str(v.target).c_str(), v.unit.c_str(),
                        v.measured < v.target ? "PASS" : "MISS");
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_hub: %s\n", e.what());
    return 1;
}
