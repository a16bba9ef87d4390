#pragma once
// What every consumer program does with the Hub it built: push a small history through
// hub.push, fetch it back and check every file of the head, force-push the last commit away,
// collect it, check the files again, run the queued jobs and fsck. Any mismatch is an
// exception; main() turns it into a non-zero exit.

#include <musehub/musehub.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace consumer {

using Files = std::map<std::string, std::string>; // path -> content

inline void expect(bool ok, const std::string& what) {
    if (!ok)
        throw std::runtime_error(what);
}

// A client: a working tree and the commits not yet pushed.
struct Client {
    Files files;
    musehub::Pack pending;
    std::optional<musehub::CommitId> head;

    musehub::CommitId commit(const std::string& message, const std::string& when) {
        std::vector<musehub::ManifestEntry> entries;
        for (const auto& [path, content] : files)
            entries.push_back({path, pending.add_object(content).id});
        musehub::Snapshot s{{}, musehub::Manifest::from_entries(std::move(entries)), when, {}};
        s.snapshot_id = s.manifest.id();
        musehub::Commit c;
        c.snapshot_id = s.snapshot_id;
        c.message = message;
        c.committed_at = when;
        c.parent_commit_id = head;
        c.author = "Ada <ada@example.com>";
        c.format_version = 5;
        c.commit_id = musehub::commit_id_of(c);
        pending.snapshots.push_back(std::move(s));
        pending.commits.push_back(c);
        return *(head = c.commit_id);
    }

    template <class Hub>
    musehub::algo::PushResult push(Hub& hub, const std::string& repo, bool force) {
        auto body =
            hub.wire().encode_push(musehub::PushRequest{std::move(pending), "main", force, {}});
        pending = {};
        return hub.push(repo, body);
    }
};

// Clones `repo` and checks that main's head has exactly `expected`, every object proven
// against its id. Returns how many commits the clone brought.
template <class Hub>
std::size_t check_clone(Hub& hub, const std::string& repo, const Files& expected) {
    auto head = hub.branch_head(repo, "main");
    expect(head.has_value(), "main has no head after the push");
    auto fetched = hub.fetch(repo, musehub::FetchRequest{{*head}, {}});
    auto pack = hub.wire().decode_pack(fetched.bytes, hub.options().limits);
    std::map<musehub::ObjectId, std::string> contents;
    musehub::for_each_verified(pack.objects, hub.options().limits,
                               [&](const musehub::PackObject& o, musehub::BytesView raw) {
                                   contents[o.id].assign(reinterpret_cast<const char*>(raw.data()),
                                                         raw.size());
                               });
    const musehub::Commit* tip = nullptr;
    for (const auto& c : pack.commits)
        if (c.commit_id == *head)
            tip = &c;
    expect(tip != nullptr, "the clone lacks the head commit");
    Files got;
    for (const auto& s : pack.snapshots)
        if (s.snapshot_id == tip->snapshot_id)
            for (const auto& e : s.manifest)
                got[e.path] = contents.at(e.object);
    expect(got == expected, "the clone's files differ from what was pushed");
    return pack.commits.size();
}

template <class Hub>
void history_roundtrip(Hub& hub) {
    const std::string repo = "ada/consumer";
    Client ada;
    ada.files = {{"README.md", "# consumer\n"}, {"song.mid", "notes"}, {"empty.txt", ""}};
    auto first = ada.commit("Initial import", "2026-11-21T09:00:00.000001+00:00");
    ada.files["song.mid"] = "more notes";
    ada.files["secret.txt"] = "hunter2\n";
    ada.commit("Add a secret", "2026-11-21T09:05:00.000002+00:00");
    auto pushed = ada.push(hub, repo, false);
    expect(pushed.commits_new == 2, "the push did not add two commits");
    expect(check_clone(hub, repo, ada.files) == 2, "the clone did not bring two commits");
    std::printf("push + clone: 2 commits, %zu files checked\n", ada.files.size());

    // The secret goes: main rewritten from the first commit, then collected.
    ada.head = first;
    ada.files.erase("secret.txt");
    ada.commit("Without the secret", "2026-11-21T09:10:00.000003+00:00");
    ada.push(hub, repo, true);
    while (hub.run_one_job()) {
    }
    auto gc = hub.gc(repo);
    expect(gc.objects_deleted > 0, "gc deleted nothing after the force-push");
    while (hub.run_one_job()) {
    }
    expect(check_clone(hub, repo, ada.files) == 2, "the clone after gc is not two commits");
    auto fsck = hub.fsck();
    for (const auto& v : fsck.violations)
        std::fprintf(stderr, "fsck: %s: %s\n", v.kind.c_str(), v.detail.c_str());
    expect(fsck.ok(), "fsck found violations");
    std::printf("force-push + gc: %zu objects deleted; clone checked again; fsck clean "
                "(%zu objects hashed)\n",
                gc.objects_deleted, fsck.objects_verified);
}

// Options for a consumer's hub: collect at once (production waits an hour).
inline musehub::HubOptions options() {
    musehub::HubOptions o;
    o.grace = std::chrono::milliseconds(0);
    o.repack.window = std::chrono::milliseconds(0);
    return o;
}

} // namespace consumer
