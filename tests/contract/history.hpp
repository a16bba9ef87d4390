#pragma once
// Test-side Muse client: builds commits over a working tree and hands out packs of what it has
// not pushed yet, the way the real client does. Also: a settable clock, and a full dump of a
// hub's state for "the hub is exactly as before" checks.

#include "musehub/catalog/schema.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/store/concept.hpp"

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace contract {

using namespace musehub;

class Client {
public:
    explicit Client(std::string name = "tester") : name_(std::move(name)) {}

    void write(const std::string& path, const std::string& content) {
        files_[path] = object_id_of(as_bytes(content));
        contents_[files_[path]] = content;
    }
    void remove(const std::string& path) { files_.erase(path); }

    CommitId commit(const std::string& message, std::vector<CommitId> extra_parents = {}) {
        Snapshot s;
        std::vector<ManifestEntry> entries;
        for (const auto& [p, id] : files_)
            entries.push_back({p, id});
        s.manifest = Manifest::from_entries(std::move(entries));
        s.snapshot_id = s.manifest.id();
        s.created_at = stamp();
        Commit c;
        c.repo_id = name_;
        c.branch = "main";
        c.snapshot_id = s.snapshot_id;
        c.message = message;
        c.committed_at = stamp();
        c.author = name_;
        c.sem_ver_bump = "none";
        c.format_version = 5;
        if (head_)
            c.parent_commit_id = head_;
        if (!extra_parents.empty())
            c.parent2_commit_id = extra_parents[0];
        c.commit_id = commit_id_of(c);
        snapshots_[s.snapshot_id] = s;
        commits_[c.commit_id] = c;
        trees_[c.commit_id] = files_;
        head_ = c.commit_id;
        return c.commit_id;
    }

    // Moves the working tree to an earlier commit (to branch or rewrite from there).
    void checkout(const CommitId& c) {
        head_ = c;
        files_ = trees_.at(c);
    }
    const CommitId& head() const { return *head_; }
    const std::map<std::string, ObjectId>& tree_of(const CommitId& c) const { return trees_.at(c); }
    const std::string& content(const ObjectId& id) const { return contents_.at(id); }

    // Every commit from `tip` back to (excluding) `since` and their ancestors, with their
    // snapshots and (unless told otherwise) every object those snapshots name.
    Pack pack(const CommitId& tip, const std::vector<CommitId>& since = {},
              bool with_objects = true) const {
        std::set<CommitId> stop;
        std::vector<CommitId> frontier(since.begin(), since.end());
        while (!frontier.empty()) {
            auto c = frontier.back();
            frontier.pop_back();
            if (!stop.insert(c).second)
                continue;
            for (const auto& p : commits_.at(c).parents())
                frontier.push_back(p);
        }
        Pack p;
        std::set<CommitId> seen;
        std::set<SnapshotId> snaps;
        std::set<ObjectId> objs;
        frontier = {tip};
        while (!frontier.empty()) {
            auto c = frontier.back();
            frontier.pop_back();
            if (stop.count(c) || !seen.insert(c).second)
                continue;
            const auto& commit = commits_.at(c);
            p.commits.push_back(commit);
            if (snaps.insert(commit.snapshot_id).second) {
                p.snapshots.push_back(snapshots_.at(commit.snapshot_id));
                for (const auto& e : snapshots_.at(commit.snapshot_id).manifest)
                    if (with_objects && objs.insert(e.object).second)
                        p.add_object(contents_.at(e.object));
            }
            for (const auto& parent : commit.parents())
                frontier.push_back(parent);
        }
        return p;
    }
    // Mutable access for tests that forge records.
    Commit& commit_record(const CommitId& c) { return commits_.at(c); }

private:
    std::string stamp() {
        char buf[64];
        std::snprintf(buf, sizeof buf, "2026-11-21T10:%02d:%02d.%06d+00:00", (tick_ / 60) % 60,
                      tick_ % 60, tick_);
        ++tick_;
        return buf;
    }
    std::string name_;
    int tick_ = 0;
    std::optional<CommitId> head_;
    std::map<std::string, ObjectId> files_;
    std::map<ObjectId, std::string> contents_;
    std::map<CommitId, Commit> commits_;
    std::map<SnapshotId, Snapshot> snapshots_;
    std::map<CommitId, std::map<std::string, ObjectId>> trees_;
};

// A clock tests move by hand.
struct TestClock {
    std::shared_ptr<std::atomic<std::int64_t>> ms =
        std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
    TimePoint operator()() const { return TimePoint{std::chrono::milliseconds{ms->load()}}; }
    void advance(std::chrono::milliseconds d) const { *ms += d.count(); }
};

// Everything a hub holds: every row of every table and every stored byte.
template <class Tuple>
struct Rows;
template <class... R>
struct Rows<std::tuple<R...>> {
    using type = std::tuple<std::vector<R>...>;
};
struct HubState {
    Rows<catalog::Schema>::type rows;
    std::map<std::string, Bytes> bytes;
    friend bool operator==(const HubState&, const HubState&) = default;
};
template <class C, class S>
HubState state_of(const C& catalog, const S& store) {
    HubState s;
    std::apply(
        [&](auto&... tables) {
            ((tables = catalog.template scan<typename std::decay_t<decltype(tables)>::value_type>(
                  std::tuple{})),
             ...);
        },
        s.rows);
    for (const auto& k : store.list(""))
        s.bytes[k] = *store.get(k);
    return s;
}

} // namespace contract
