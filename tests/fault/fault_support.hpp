#pragma once
// What the fault tests share: an fs hub opened on a directory the way each process opens it,
// writers whose histories are a pure function of their name (so the process that checks can
// replay what the process that pushed did, without being told), a page of memory shared with
// forked children, and the checks that what a hub acknowledged is there, byte for byte.

#include "contract/history.hpp"

#include "musehub/core/delta_chains.hpp"
#include "musehub/fs/catalog.hpp"
#include "musehub/fs/job_queue.hpp"
#include "musehub/fs/object_store.hpp"
#include "musehub/hub.hpp"
#include "musehub/wire/v2.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <string>

namespace fault {

using namespace musehub;
using contract::Client;

using FsHubType = Hub<wire::v2, fs::ObjectStore, fs::Catalog, fs::JobQueue>;

// Everything of one hub directory, opened (durable unless told) by the process that holds it.
struct FsHub {
    explicit FsHub(const std::filesystem::path& dir, HubOptions options = {}, bool durable = true)
        : store(dir / "objects", fs::ObjectStore::Options{.durable = durable}),
          catalog(dir / "hub.db", fs::sqlite::Options{.durable = durable}),
          queue(dir / "hub.db", fs::sqlite::Options{.durable = durable}),
          hub(wire::v2{}, store, catalog, queue, std::move(options)) {}

    fs::ObjectStore store;
    fs::Catalog catalog;
    fs::JobQueue queue;
    FsHubType hub;
};

// A page shared by a parent and the children it forks: survives the children being killed.
template <class T>
class SharedPage {
public:
    SharedPage() {
        void* p =
            ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            throw std::bad_alloc();
        value_ = new (p) T{};
    }
    ~SharedPage() {
        value_->~T();
        ::munmap(value_, sizeof(T));
    }
    SharedPage(const SharedPage&) = delete;
    SharedPage& operator=(const SharedPage&) = delete;
    T* operator->() const { return value_; }
    T& operator*() const { return *value_; }

private:
    T* value_;
};

// splitmix64: the contents of a writer's files, from (writer, step, file) alone.
inline std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
inline std::uint64_t seed_of(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ull;
    return h;
}
inline std::string content(std::uint64_t seed, std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        auto v = mix(seed + i);
        for (std::size_t j = 0; j < 8 && i + j < size; ++j)
            s[i + j] = static_cast<char>('a' + (v >> (j * 8)) % 26);
    }
    return s;
}

// One writer's history on one branch. Commit i rewrites three of a bounded set of paths (so
// trees stay small however long a test runs) and one file every writer shares (so pushes of
// different writers race to store the same objects). A rewound commit starts from the commit
// two before the head: pushing it is a force push that leaves garbage for GC.
class Writer {
public:
    struct Commit {
        CommitId head;
        std::optional<CommitId> base; // what the hub already has of it (nullopt: nothing)
        bool force = false;
    };

    explicit Writer(std::string name) : name_(std::move(name)), client_(name_) {}

    Commit next(bool rewind) {
        std::optional<CommitId> base =
            heads_.empty() ? std::nullopt : std::optional<CommitId>(heads_.back());
        bool force = rewind && heads_.size() >= 3;
        if (force) {
            heads_.resize(heads_.size() - 2);
            base = heads_.back();
            client_.checkout(*base);
        }
        auto i = static_cast<std::uint64_t>(count_++);
        auto seed = seed_of(name_) ^ (i << 20);
        for (std::uint64_t j = 0; j < 3; ++j)
            client_.write("f" + std::to_string((i * 3 + j) % 16) + ".bin",
                          content(mix(seed + j), 16 + mix(seed ^ j) % 6000));
        client_.write("shared.txt", content(i % 5, 3000)); // the same for every writer
        heads_.push_back(client_.commit(name_ + " #" + std::to_string(i)));
        return {heads_.back(), base, force};
    }

    // Everything a push of `c` carries: the commits the hub lacks, whole snapshots.
    Pack pack(const Commit& c) const {
        return client_.pack(c.head,
                            c.base ? std::vector<CommitId>{*c.base} : std::vector<CommitId>{});
    }
    // What a clone of `head` must hold: path -> bytes.
    std::map<std::string, std::string> tree(const CommitId& head) const {
        std::map<std::string, std::string> t;
        for (const auto& [path, id] : client_.tree_of(head))
            t[path] = client_.content(id);
        return t;
    }

private:
    std::string name_;
    Client client_;
    std::vector<CommitId> heads_; // the branch as the hub has it after each push, in order
    int count_ = 0;
};

// Clones `branch` of `repo` as a client would (every id verified by the wire) and returns the
// tree of its head: path -> bytes. Empty optional when the branch does not exist.
inline std::optional<std::pair<CommitId, std::map<std::string, std::string>>>
clone(FsHubType& hub, const std::string& repo, const std::string& branch) {
    auto head = hub.branch_head(repo, branch);
    if (!head)
        return std::nullopt;
    auto r = hub.fetch(repo, FetchRequest{{*head}, {}});
    auto pack = hub.wire().decode_pack(r.bytes, hub.options().limits);
    std::map<ObjectId, std::string> bytes;
    for_each_verified(
        std::span<const PackObject>(pack.objects), hub.options().limits,
        [&](const PackObject& o, BytesView raw) { bytes[o.id] = std::string(as_chars(raw)); });
    for (const auto& c : pack.commits)
        verify_commit_id(c);
    std::map<std::string, std::string> tree;
    for (const auto& c : pack.commits)
        if (c.commit_id == *head)
            for (const auto& s : pack.snapshots)
                if (s.snapshot_id == c.snapshot_id)
                    for (const auto& e : s.manifest)
                        tree[e.path] = bytes.at(e.object);
    return std::pair{*head, std::move(tree)};
}

// Every fsck violation, one per line, for a failure message.
inline std::string describe(const algo::FsckResult& r) {
    std::string s;
    for (const auto& v : r.violations)
        s += v.kind + ": " + v.detail + "\n";
    return s;
}

// Files a crashed writer left mid-put, anywhere under the store's root.
inline std::vector<std::filesystem::path> temporaries(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root))
        if (e.is_regular_file() && e.path().filename().string().starts_with(".tmp-"))
            out.push_back(e.path());
    return out;
}

inline long env_or(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtol(v, nullptr, 10) : fallback;
}

} // namespace fault
