// Lesson 2: the same hub, through the Hub facade and the generic algorithms.
//
// Lesson 1 did every step by hand. Here `musehub::Hub` binds the four policies and each line is
// one algorithm from include/musehub/algo, with the checks lesson 1 skipped: fast-forward,
// closure, GC that cannot race a push, fetches that send only what the client lacks.
#include <musehub/hub.hpp>
#include <musehub/memory/memory.hpp>
#include <musehub/wire/v2.hpp>

#include <cstdio>
#include <map>

using namespace musehub;

namespace {

// A tiny client: a working tree and the commits made on it.
struct Client {
    std::map<std::string, std::string> files;
    std::vector<Commit> commits;
    std::vector<Snapshot> snapshots;
    std::optional<CommitId> head;

    CommitId commit(const std::string& message, const std::string& when) {
        std::vector<ManifestEntry> entries;
        for (const auto& [path, content] : files)
            entries.push_back({path, object_id_of(as_bytes(content))});
        Snapshot s{{}, Manifest::from_entries(std::move(entries)), when, {}};
        s.snapshot_id = s.manifest.id();
        Commit c;
        c.snapshot_id = s.snapshot_id;
        c.message = message;
        c.committed_at = when;
        c.parent_commit_id = head;
        c.format_version = 5;
        c.commit_id = commit_id_of(c);
        snapshots.push_back(std::move(s));
        commits.push_back(c);
        return *(head = c.commit_id);
    }
    // The commits made since the last push, with their snapshots and every file they name
    // (the hub skips objects it already has).
    Pack take() {
        Pack p;
        p.commits = std::move(commits);
        p.snapshots = std::move(snapshots);
        for (const auto& [path, content] : files)
            p.add_object(content);
        commits.clear(), snapshots.clear();
        return p;
    }
};

void report(const char* what, const algo::PushResult& r) {
    std::printf("%-8s %s -> %s (%s): %zu new commits, %zu of %zu objects new, %.2f ms\n", what,
                r.branch.c_str(), r.head.hex().substr(0, 12).c_str(),
                std::string(algo::to_string(r.outcome)).c_str(), r.commits_new, r.stored.fresh,
                r.stored.objects, r.times.total());
}

} // namespace

int main() {
    memory::ObjectStore store;
    memory::Catalog catalog;
    memory::JobQueue queue;
    HubOptions options;
    options.grace = std::chrono::milliseconds(0);         // collect at once, for the lesson
    options.repack.window = std::chrono::milliseconds(0); // follow-up repacks run at once too
    Hub hub{wire::v2{}, store, catalog, queue, options};
    const std::string repo = "ada/lesson";

    Client ada;
    ada.files = {{"README.md", "# lesson\n"}, {"src/main.cpp", "int main() {}\n"}};
    auto first = ada.commit("Start", "2026-11-21T09:00:00+00:00");
    report("push", hub.push(repo, hub.wire().encode_push({ada.take(), "main", false})));

    ada.files["README.md"] = "# lesson\n\nTwo.\n";
    ada.files["secret.txt"] = "hunter2\n";
    auto second = ada.commit("Oops", "2026-11-21T09:05:00+00:00");
    report("push", hub.push(repo, hub.wire().encode_push({ada.take(), "main", false})));

    // A client that has the first commit fetches only what it lacks.
    auto pull = hub.fetch(repo, {{second}, {first}});
    std::printf("fetch    %zu commit(s), %zu object(s), %zu bytes, from %zu source pack(s)\n",
                pull.commits, pull.objects, pull.bytes.size(), pull.sources_read);

    // Rewriting history without force is refused, with a typed error.
    ada.head = first;
    ada.files.erase("secret.txt");
    ada.commit("Without the secret", "2026-11-21T09:10:00+00:00");
    auto rewrite = ada.take();
    try {
        hub.push(repo, hub.wire().encode_push({rewrite, "main", false}));
    } catch (const error& e) {
        std::printf("refused  %s\n", e.what());
    }
    report("force", hub.push(repo, hub.wire().encode_push({rewrite, "main", true})));

    auto gc = hub.gc(repo);
    std::printf("gc       live %zu commits / %zu objects; deleted %zu objects (%llu bytes), "
                "retired %zu pack(s)\n",
                gc.live_commits, gc.live_objects, gc.objects_deleted,
                static_cast<unsigned long long>(gc.object_bytes_deleted), gc.containers_retired);
    auto merged = hub.consolidate(repo);
    std::printf("merge    %s\n",
                merged.skipped ? merged.reason.c_str()
                               : ("packs " + std::to_string(merged.sources) + " -> 1").c_str());
    while (auto job = hub.run_one_job())
        std::printf("job      %s: %s\n", job->id.c_str(),
                    std::string(to_string(job->state)).c_str());
    auto check = hub.fsck();
    std::printf("fsck     %s: %zu objects verified, %zu violations\n",
                check.ok() ? "clean" : "VIOLATIONS", check.objects_verified,
                check.violations.size());
    return check.ok() ? 0 : 1;
}
