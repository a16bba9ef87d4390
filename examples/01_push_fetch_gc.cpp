// Lesson 1: the four parts of a hub, by hand, on the in-memory backend.
//
// A hub is a wire protocol (how packs become bytes), an object store (where bytes live), a
// catalog (what the bytes mean and who may see them) and a job queue. This lesson drives the
// first three directly through one push, one clone-style fetch and one garbage collection,
// so you can see every step the generic algorithms (include/musehub/algo) automate:
//
//   push:  decode -> verify every id -> store the pack bytes -> insert rows -> move the branch
//   fetch: walk the commit graph -> ranged reads of each object -> encode a pack -> verify
//   gc:    force-move a branch back -> find what no head reaches -> drop refs, rows and bytes
#include <musehub/catalog/record_codec.hpp>
#include <musehub/core/dag.hpp>
#include <musehub/core/muse_ids.hpp>
#include <musehub/core/object_codec.hpp>
#include <musehub/memory/memory.hpp>
#include <musehub/store/batch.hpp>
#include <musehub/store/keys.hpp>
#include <musehub/wire/v1.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

using namespace musehub;
using namespace musehub::catalog;

namespace {

const wire::v1 codec;
const Limits limits;
const std::string repo = "alice/demo";

// ---- a client that makes commits ---------------------------------------------------------
struct Client {
    Pack pack;                             // everything not yet pushed
    std::map<std::string, ObjectId> files; // the working tree: path -> object
    std::optional<CommitId> head;

    void write(const std::string& path, const std::string& content) {
        files[path] = pack.add_object(content).id;
    }
    void erase(const std::string& path) { files.erase(path); }

    CommitId commit(const std::string& message, const std::string& when) {
        std::vector<ManifestEntry> entries;
        for (const auto& [path, id] : files)
            entries.push_back({path, id});
        Snapshot snap{{}, Manifest::from_entries(std::move(entries)), when, {}};
        snap.snapshot_id = snap.manifest.id();
        Commit c;
        c.repo_id = repo;
        c.branch = "main";
        c.snapshot_id = snap.snapshot_id;
        c.message = message;
        c.committed_at = when;
        c.parent_commit_id = head;
        c.author = "Ada <ada@example.com>";
        c.sem_ver_bump = "none";
        c.format_version = 5;
        c.commit_id = commit_id_of(c);
        pack.snapshots.push_back(std::move(snap));
        pack.commits.push_back(c);
        head = c.commit_id;
        return c.commit_id;
    }
};

// ---- the hub side ------------------------------------------------------------------------
struct Hub {
    memory::ObjectStore store;
    memory::Catalog catalog;

    void push(const Bytes& body) {
        auto t0 = std::chrono::steady_clock::now();
        PushRequest req = codec.decode_push(body, limits); // structure and limits checked here
        for (const auto& o : req.pack.objects)
            verify_object(o, limits.max_object_bytes);
        for (const auto& s : req.pack.snapshots)
            verify_snapshot_id(s);
        for (const auto& c : req.pack.commits)
            verify_commit_id(c);

        // Bytes first: the pack is stored under its own hash before any row points into it.
        PackId pack{sha256(body)};
        auto key = keys::pack(pack, "lesson-1"); // one upload, one key: never reused
        store.put(key, body);

        // Rows next, in one short transaction; every object also gets a ref for this repo.
        auto order = topological_order(req.pack.commits);
        CommitId head = order.back()->commit_id;
        std::size_t added = catalog.transact([&](auto& tx) {
            std::vector<ObjectRow> objects;
            std::vector<LocationRow> locations;
            std::vector<ObjectRefRow> refs;
            for (const auto& o : req.pack.objects) {
                auto offset = static_cast<std::uint64_t>(
                    o.stored.data() - reinterpret_cast<const std::byte*>(body.data()));
                objects.push_back({o.id, o.raw_size, now_ms()});
                locations.push_back({o.id, key, offset, o.stored.size(), o.encoding, o.raw_size});
                refs.push_back({repo, o.id, now_ms()});
            }
            std::vector<SnapshotRow> snapshots;
            std::vector<SnapshotRefRow> snapshot_refs;
            for (const auto& s : req.pack.snapshots) {
                snapshots.push_back({s.snapshot_id, s.manifest.size(), encode_record(s)});
                snapshot_refs.push_back({repo, s.snapshot_id, now_ms()});
            }
            std::vector<CommitRow> commits;
            std::vector<CommitRefRow> commit_refs;
            for (const auto* c : order) {
                commits.push_back({c->commit_id, c->snapshot_id, c->parent_commit_id,
                                   c->parent2_commit_id, encode_record(*c)});
                commit_refs.push_back({repo, c->commit_id, now_ms()});
            }
            ContainerRow container{key,
                                   pack,
                                   ContainerFormat::v1_bundle,
                                   body.size(),
                                   req.pack.objects.size(),
                                   req.pack.commits.size(),
                                   req.pack.snapshots.size(),
                                   now_ms()};
            tx.insert(std::span<const ContainerRow>(&container, 1));
            std::size_t n = tx.insert(std::span<const ObjectRow>(objects));
            tx.insert(std::span<const LocationRow>(locations));
            tx.insert(std::span<const ObjectRefRow>(refs));
            tx.insert(std::span<const SnapshotRow>(snapshots));
            tx.insert(std::span<const SnapshotRefRow>(snapshot_refs));
            tx.insert(std::span<const CommitRow>(commits));
            tx.insert(std::span<const CommitRefRow>(commit_refs));
            return n;
        });

        // Last, the branch moves by compare-and-swap: from what it was to the new head.
        auto current = catalog.find<Branch>(std::vector<Key<Branch>>{{repo, req.branch}})[0];
        bool moved = catalog.compare_and_swap<Branch>({repo, req.branch}, current,
                                                      Branch{repo, req.branch, head});
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count();
        std::printf("push   %zu commits, %zu snapshots, %zu objects (%zu new), pack %s… %zu bytes; "
                    "%s -> %s%s (%.2f ms)\n",
                    req.pack.commits.size(), req.pack.snapshots.size(), req.pack.objects.size(),
                    added, pack.hex().substr(0, 12).c_str(), body.size(), req.branch.c_str(),
                    head.hex().substr(0, 12).c_str(), moved ? "" : " (lost the race!)", ms);
    }

    // Parents from the catalog, one batched lookup per generation of the walk.
    auto parents() const {
        return [this](std::span<const CommitId> ids) {
            std::vector<Key<CommitRow>> keys(ids.begin(), ids.end());
            std::vector<std::pair<CommitId, std::vector<CommitId>>> out;
            for (const auto& row : catalog.find<CommitRow>(keys))
                if (row) {
                    std::vector<CommitId> ps;
                    if (row->parent)
                        ps.push_back(*row->parent);
                    if (row->parent2)
                        ps.push_back(*row->parent2);
                    out.emplace_back(row->commit_id, std::move(ps));
                }
            return out;
        };
    }

    Bytes fetch(const std::string& branch) const {
        auto head = catalog.find<Branch>(std::vector<Key<Branch>>{{repo, branch}})[0]->head;
        auto walk = walk_ancestors(std::vector<CommitId>{head}, parents());
        Pack pack;
        std::set<ObjectId> wanted;
        std::vector<Key<CommitRow>> commit_keys(walk.reached.begin(), walk.reached.end());
        std::vector<Key<SnapshotRow>> snapshot_keys;
        for (const auto& row : catalog.find<CommitRow>(commit_keys)) {
            pack.commits.push_back(decode_record<Commit>(row->record, limits));
            snapshot_keys.emplace_back(row->snapshot_id);
        }
        for (const auto& row : catalog.find<SnapshotRow>(snapshot_keys)) {
            pack.snapshots.push_back(decode_record<Snapshot>(row->record, limits));
            for (const auto& e : pack.snapshots.back().manifest)
                wanted.insert(e.object);
        }
        // One ranged read per object, batched (a store that can keep requests in flight will).
        std::vector<Key<LocationRow>> location_keys(wanted.begin(), wanted.end());
        std::vector<RangeItem> reads;
        std::vector<LocationRow> locations;
        for (const auto& loc : catalog.find<LocationRow>(location_keys)) {
            reads.push_back({loc->container, loc->offset, loc->length});
            locations.push_back(*loc);
        }
        auto bytes = get_ranges(store, std::span<const RangeItem>(reads));
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            PackObject stored{locations[i].object_id, locations[i].encoding, *bytes[i],
                              locations[i].raw_size};
            pack.add_object(decode_object(stored, limits.max_object_bytes));
        }
        pack.branch_heads[branch] = head;
        return codec.encode_pack(pack);
    }

    void gc() {
        // Live = everything reachable from any branch head of the repo.
        std::vector<CommitId> heads;
        for (const auto& b : catalog.scan<Branch>(std::tuple{repo}))
            heads.push_back(b.head);
        auto live = walk_ancestors(heads, parents()).reached;
        std::set<CommitId> live_commits(live.begin(), live.end());
        std::set<SnapshotId> live_snapshots;
        std::set<ObjectId> live_objects;
        for (const auto& row :
             catalog.find<CommitRow>(std::vector<Key<CommitRow>>(live.begin(), live.end())))
            live_snapshots.insert(row->snapshot_id);
        for (const auto& row : catalog.find<SnapshotRow>(
                 std::vector<Key<SnapshotRow>>(live_snapshots.begin(), live_snapshots.end())))
            for (const auto& e : decode_record<Snapshot>(row->record, limits).manifest)
                live_objects.insert(e.object);

        // Drop this repo's refs to what is dead.
        std::vector<Key<CommitRefRow>> dead_commits;
        for (const auto& r : catalog.scan<CommitRefRow>(std::tuple{repo}))
            if (!live_commits.count(r.commit_id))
                dead_commits.emplace_back(repo, r.commit_id);
        std::vector<Key<SnapshotRefRow>> dead_snapshots;
        for (const auto& r : catalog.scan<SnapshotRefRow>(std::tuple{repo}))
            if (!live_snapshots.count(r.snapshot_id))
                dead_snapshots.emplace_back(repo, r.snapshot_id);
        std::vector<Key<ObjectRefRow>> dead_refs;
        for (const auto& r : catalog.scan<ObjectRefRow>(std::tuple{repo}))
            if (!live_objects.count(r.object_id))
                dead_refs.emplace_back(repo, r.object_id);
        catalog.erase<CommitRefRow>(dead_commits);
        catalog.erase<SnapshotRefRow>(dead_snapshots);
        catalog.erase<ObjectRefRow>(dead_refs);

        // An object no repo refers to any more loses its rows. (Its bytes share a pack with live
        // objects here; repacking them away is consolidation's job, lesson 3.)
        std::set<ObjectId> referenced;
        for (const auto& ref : catalog.scan<ObjectRefRow>(std::tuple{}))
            referenced.insert(ref.object_id);
        std::vector<Key<ObjectRow>> orphans;
        std::size_t bytes = 0;
        for (const auto& [r, id] : dead_refs)
            if (!referenced.count(id))
                orphans.emplace_back(id);
        for (const auto& loc : catalog.find<LocationRow>(orphans))
            bytes += loc ? loc->raw_size : 0;
        std::size_t objects = catalog.erase<ObjectRow>(orphans);
        catalog.erase<LocationRow>(orphans);
        std::printf(
            "gc     live: %zu commits, %zu snapshots, %zu objects; dropped refs to %zu commits, "
            "%zu snapshots, %zu objects; deleted %zu objects (%zu bytes)\n",
            live_commits.size(), live_snapshots.size(), live_objects.size(), dead_commits.size(),
            dead_snapshots.size(), dead_refs.size(), objects, bytes);
    }
};

} // namespace

int main() {
    Hub hub;
    Client ada;
    ada.write("README.md", "# demo\n");
    ada.write("src/main.cpp", "int main() { return 0; }\n");
    ada.write("empty.txt", "");
    auto c1 = ada.commit("Initial import", "2026-11-21T09:00:00.000001+00:00");
    ada.write("README.md", "# demo\n\nNow with words.\n");
    ada.commit("Explain the demo", "2026-11-21T09:05:00.000002+00:00");
    hub.push(codec.encode_push({std::move(ada.pack), "main", false}));

    ada.pack = {};
    ada.write("secrets.txt", "hunter2\n");
    ada.erase("empty.txt");
    auto c3 = ada.commit("Oops: committed a secret", "2026-11-21T09:10:00.000003+00:00");
    hub.push(codec.encode_push({std::move(ada.pack), "main", false}));

    // A clone: fetch everything main needs, then check every object against its id.
    auto body = hub.fetch("main");
    auto clone = codec.decode_pack(body, limits);
    for (const auto& o : clone.objects)
        verify_object(o, limits.max_object_bytes);
    for (const auto& c : clone.commits)
        verify_commit_id(c);
    std::printf("fetch  %zu commits, %zu snapshots, %zu objects, %zu bytes; every id verified\n",
                clone.commits.size(), clone.snapshots.size(), clone.objects.size(), body.size());

    // Ada force-pushes main back to the first commit, and the secret becomes garbage.
    bool moved = hub.catalog.compare_and_swap<Branch>({repo, "main"}, Branch{repo, "main", c3},
                                                      Branch{repo, "main", c1});
    std::printf("force  main -> %s (%s)\n", c1.hex().substr(0, 12).c_str(),
                moved ? "moved" : "FAILED");
    hub.gc();
    auto after = codec.decode_pack(hub.fetch("main"), limits);
    std::printf("fetch  %zu commits, %zu objects after gc\n", after.commits.size(),
                after.objects.size());
    return moved && after.commits.size() == 1 && after.objects.size() == 3 ? 0 : 1;
}
