// Lesson 3: the embedded default — a whole hub in one directory, no server to run.
//
// musehub::fs keeps bytes in files (written to a temp file, fsynced, renamed into place) and
// rows and jobs in one SQLite database, so a hub survives its process: this lesson pushes two
// commits in the wire the Muse client speaks, closes everything, opens the directory again
// (as the next process would), clones, force-pushes, lets the queued repack job run, collects
// garbage (which schedules a repack that rewrites the pack it left half dead), collects the
// retired pack's bytes and checks every invariant with fsck.
//
//   03_embedded_hub [DIR]    the hub directory (default: a fresh one under the temp directory,
//                            removed at the end); run it twice on the same DIR to see a hub
//                            reopened with its history
#include <musehub/fs/catalog.hpp>
#include <musehub/fs/job_queue.hpp>
#include <musehub/fs/object_store.hpp>
#include <musehub/hub.hpp>
#include <musehub/wire/v1.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

using namespace musehub;

namespace {

const std::string repo = "alice/demo";

// A hub directory, opened: the three backends and the Hub over them.
struct EmbeddedHub {
    explicit EmbeddedHub(const std::filesystem::path& dir)
        : store(dir / "objects"), catalog(dir / "hub.db"), queue(dir / "hub.db"),
          hub(wire::v1{}, store, catalog, queue, options()) {}

    static HubOptions options() {
        HubOptions o;
        o.grace = std::chrono::seconds(0); // a lesson: collect at once (production: an hour)
        o.repack.window = std::chrono::seconds(0); // and repack after every push, at once
        return o;
    }

    fs::ObjectStore store; // durable by default: fsync on every write
    fs::Catalog catalog;
    fs::JobQueue queue;
    Hub<wire::v1, fs::ObjectStore, fs::Catalog, fs::JobQueue> hub;
};

// A tiny client: a working tree and the commits not yet pushed.
struct Client {
    std::map<std::string, std::string> files;
    Pack pending;
    std::optional<CommitId> head;

    CommitId commit(const std::string& message, const std::string& when) {
        std::vector<ManifestEntry> entries;
        for (const auto& [path, content] : files)
            entries.push_back({path, pending.add_object(content).id});
        Snapshot s{{}, Manifest::from_entries(std::move(entries)), when, {}};
        s.snapshot_id = s.manifest.id();
        Commit c;
        c.repo_id = repo;
        c.branch = "main";
        c.snapshot_id = s.snapshot_id;
        c.message = message;
        c.committed_at = when;
        c.parent_commit_id = head;
        c.author = "Ada <ada@example.com>";
        c.sem_ver_bump = "none";
        c.format_version = 5;
        c.commit_id = commit_id_of(c);
        pending.snapshots.push_back(std::move(s));
        pending.commits.push_back(c);
        return *(head = c.commit_id);
    }
    Bytes push_body(const wire::v1& wire, bool force = false) {
        Bytes body = wire.encode_push(PushRequest{std::move(pending), "main", force, {}});
        pending = {};
        return body;
    }
};

void report(const char* what, const algo::PushResult& r) {
    std::printf("%-8s %s -> %s (%s): %zu commit(s), %zu object(s), %zu new\n", what,
                r.branch.c_str(), r.head.hex().substr(0, 12).c_str(),
                std::string(to_string(r.outcome)).c_str(), r.commits, r.stored.objects,
                r.stored.fresh);
}

} // namespace

int main(int argc, char** argv) try {
    std::filesystem::path dir;
    bool scratch = argc < 2;
    if (scratch) {
        auto pattern = (std::filesystem::temp_directory_path() / "musehub-lesson3-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        dir = pattern;
    } else {
        dir = argv[1];
    }
    std::printf("hub directory: %s\n", dir.c_str());

    Client ada;
    CommitId first;
    {
        EmbeddedHub h(dir);
        if (auto head = h.hub.branch_head(repo, "main"))
            std::printf("reopened: %s main is at %s\n", repo.c_str(), head->hex().c_str());
        auto run = std::to_string(h.hub.branches(repo).size()); // vary content across runs
        ada.files = {{"README.md", "# demo " + run + "\n"}, {"song.mid", "notes…"}};
        first = ada.commit("Initial import", "2026-11-21T09:00:00.000001+00:00");
        ada.files["song.mid"] = "more notes…";
        ada.files["secret.txt"] = "hunter2\n";
        ada.commit("Add a secret", "2026-11-21T09:05:00.000002+00:00");
        report("push", h.hub.push(repo, ada.push_body(h.hub.wire(), /*force=*/true)));
    } // closed: everything that was acknowledged is on disk

    EmbeddedHub h(dir); // what the next process sees
    auto clone = h.hub.fetch(repo, FetchRequest{{*h.hub.branch_head(repo, "main")}, {}});
    auto pack = h.hub.wire().decode_pack(clone.bytes, h.hub.options().limits);
    for (const auto& o : pack.objects)
        verify_object(o, h.hub.options().limits.max_object_bytes);
    std::printf("clone    %zu commits, %zu objects, %zu bytes after reopening; every id verified\n",
                pack.commits.size(), pack.objects.size(), clone.bytes.size());

    // The secret must go: main back to the first commit, then GC.
    ada.head = first;
    ada.files.erase("secret.txt");
    ada.files["song.mid"] = "notes…";
    ada.commit("Without the secret", "2026-11-21T09:10:00.000003+00:00");
    report("force", h.hub.push(repo, ada.push_body(h.hub.wire(), /*force=*/true)));
    while (auto job = h.hub.run_one_job())
        std::printf("job      %s %s: %s\n", std::string(to_string(job->kind)).c_str(),
                    job->payload.c_str(), std::string(to_string(job->state)).c_str());
    auto gc = h.hub.gc(repo);
    std::printf("gc       live %zu commits, %zu objects; deleted %zu commits, %zu objects; "
                "%zu pack(s) retired\n",
                gc.live_commits, gc.live_objects, gc.commits_deleted, gc.objects_deleted,
                gc.containers_retired);
    // The repack GC scheduled (dead bytes go) and the hub-wide sweep (retired bytes go).
    while (auto job = h.hub.run_one_job())
        std::printf("job      %s %s: %s\n", std::string(to_string(job->kind)).c_str(),
                    job->payload.c_str(), std::string(to_string(job->state)).c_str());
    auto purge = h.hub.sweep(); // what `musehub gc` runs after its repos
    std::printf("sweep    %zu pack(s) purged, %llu bytes\n", purge.tombstones_purged,
                static_cast<unsigned long long>(purge.bytes_purged));
    auto f = h.hub.fsck();
    std::printf("fsck     %s: %zu repos, %zu commits, %zu objects (%zu hashed), %zu containers\n",
                f.ok() ? "ok" : "VIOLATIONS", f.repos, f.commits, f.objects, f.objects_verified,
                f.containers);
    for (const auto& v : f.violations)
        std::printf("  %s: %s\n", v.kind.c_str(), v.detail.c_str());
    if (scratch)
        std::filesystem::remove_all(dir);
    return f.ok() && gc.objects_deleted > 0 ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "03_embedded_hub: %s\n", e.what());
    return 1;
}
