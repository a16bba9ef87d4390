#pragma once
// Fetch: send a client what it needs to have `want`, given that it has `have`.
//
//   validate -> every wanted commit is in the repo; haves the repo does not know are ignored
//   cache    -> a pack built for the same (repo, want, have, branch heads) and not expired is
//               served as stored: no walk, no assembly
//   walk     -> ancestors of want, excluding have and its ancestors (one batched lookup per
//               generation)
//   select   -> the objects of the sent snapshots, minus those of the have commits' snapshots;
//               the repo must reference every one (a repo never serves what it does not)
//   deltas   -> a stored delta is sent as it is when its base is sent too or the client has it
//               (a thin pack), and the wire carries deltas; any other is resolved, sent whole
//   reuse    -> when one stored pack holds exactly what is to be sent, it is sent as-is
//               (a wire whose stored packs can be relabeled: RelabelsStoredPacks)
//   assemble -> one ranged read per source container covering its wanted objects, the bytes
//               kept as stored (zstd frames stay compressed for v2), encoded in the hub's wire
//               piece by piece (wire/pack_writer.hpp) and sent to the caller's sink as they
//               are made: a clone holds a piece of output, the snapshot chain being written
//               and one batch of sources, never its whole history or its whole answer
//   keep     -> the built pack is written to the cache as it is sent (store/pending_put.hpp)
//               and kept with an expiry; GC collects it afterwards. A hub whose
//               fetch_cache_ttl is zero keeps nothing (a client building its own pushes from
//               its local hub: each pack is asked for once, and a kept copy only fills its disk)
//
// Nothing reaches the sink until the answer is known to be complete in the catalog, so a
// request that fails (unknown commit, missing row) fails before its first byte; only the
// store failing mid-read can cut an answer short, and then the error follows the bytes sent.

#include "musehub/algo/chains.hpp"
#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/snapshots.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/pending_put.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/messages.hpp"
#include "musehub/wire/pack_writer.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace musehub::algo {

struct NegotiateResult {
    std::vector<CommitId> ack;           // the haves the repo knows
    std::optional<CommitId> common_base; // one of them, for clients that want a single base
    bool ready = false;                  // enough is known to fetch
};

// Sources are read about this many bytes at a time: enough requests in flight for a store
// that keeps many, little memory beside the output.
inline constexpr std::uint64_t source_batch_bytes = 8u << 20;

// Where a fetch sends its answer, piece by piece.
using FetchSink = std::function<void(BytesView)>;

// Stored bytes (the cache, a reused pack) go to a sink this many bytes at a time.
inline constexpr std::uint64_t send_piece_bytes = 4u << 20;

struct FetchResult {
    Bytes bytes;            // the pack, when fetched without a sink (else empty)
    std::uint64_t size = 0; // bytes sent
    PackId pack;            // SHA-256 of the bytes sent (a v2 pack's key)
    std::size_t commits = 0, snapshots = 0, objects = 0;
    std::size_t sources_read = 0; // containers read to assemble it
    bool cache_hit = false;       // served from the fetch cache
    bool reused = false;          // a stored pack's objects sent as they are stored
    // Where the answer is kept in the store (its cache entry, or the stored pack reused), for
    // a server that hands out a URL to it instead of the bytes; empty if it was not kept.
    std::string stored;
};

// The Muse client sends haves in batches of 64 until the hub says it is ready.
template <AlgorithmHub H>
NegotiateResult negotiate(const H& hub, const std::string& repo, const FetchRequest& req) {
    NegotiateResult r;
    auto known = hub.catalog().template contains<catalog::CommitRefRow>(
        repo_keys(repo, std::span<const CommitId>(req.have)));
    for (std::size_t i = 0; i < req.have.size(); ++i)
        if (known[i])
            r.ack.push_back(req.have[i]);
    if (!r.ack.empty())
        r.common_base = r.ack.front();
    r.ready = !r.ack.empty() || req.have.size() < 64;
    return r;
}

namespace detail {
// The cache key: what was asked, and the branch heads the answer carries.
inline std::string request_key(std::string_view wire, std::vector<CommitId> want,
                               std::vector<CommitId> have, const std::vector<Branch>& heads) {
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    Sha256 h;
    h.update("musehub fetch 1\n").update(wire).update("\n");
    for (const auto& w : want)
        h.update(BytesView(reinterpret_cast<const std::byte*>(w.digest.bytes.data()), 32));
    h.update("\nhave\n");
    for (const auto& x : have)
        h.update(BytesView(reinterpret_cast<const std::byte*>(x.digest.bytes.data()), 32));
    h.update("\nheads\n");
    for (const auto& b : heads)
        h.update(b.name).update("\n").update(b.head.hex()).update("\n");
    return h.finish().hex();
}

// Sends the stored bytes under `key` to `sink` in pieces; false (nothing sent) when absent.
template <ObjectStore S>
bool send_stored(const S& store, const std::string& key, const FetchSink& sink, FetchResult& out) {
    Sha256 hash;
    for (std::uint64_t at = 0;; at += send_piece_bytes) {
        auto piece = store.get_range(key, at, send_piece_bytes);
        if (!piece) {
            if (at == 0)
                return false;
            fail(errc::io, "stored pack '" + key + "' vanished while it was being sent");
        }
        if (!piece->empty()) {
            sink(*piece);
            hash.update(*piece);
            out.size += piece->size();
        }
        if (piece->size() < send_piece_bytes)
            break;
    }
    out.pack = PackId{hash.finish()};
    return true;
}
} // namespace detail

namespace detail {
// Takes out of `locations` the deltas that cannot go as stored (the wire carries none, or their
// base neither goes in this answer nor is the client's) and returns them.
template <bool Deltas>
std::vector<catalog::LocationRow>
split_unsendable_deltas(std::vector<catalog::LocationRow>& locations,
                        std::span<const ObjectId> sent,
                        const std::unordered_set<ObjectId>& client_has) {
    std::vector<catalog::LocationRow> whole;
    std::unordered_set<ObjectId> going;
    if constexpr (Deltas)
        going.insert(sent.begin(), sent.end());
    std::erase_if(locations, [&](catalog::LocationRow& l) {
        if (!l.base || (Deltas && (going.count(*l.base) || client_has.count(*l.base))))
            return false;
        whole.push_back(std::move(l));
        return true;
    });
    return whole;
}

// The objects of `whole` read back resolved, each compressed alone where the wire carries
// compression (as an encoder would send it), else raw; `bytes` holds what they view.
template <bool Compress, class C, ObjectStore S>
void resolve_whole(const C& cat, const S& store, const HubOptions& opt,
                   const std::vector<catalog::LocationRow>& whole, std::vector<PackObject>& objects,
                   std::vector<Bytes>& bytes) {
    std::vector<ObjectId> ids;
    for (const auto& l : whole)
        ids.push_back(l.object_id);
    bytes.reserve(ids.size());
    read_resolved(
        cat, store, std::span<const ObjectId>(ids), opt, [&](const ObjectId& id, BytesView raw) {
            Encoding encoding = Encoding::raw;
            if constexpr (Compress) {
                auto z = zstd_compress(raw);
                if (z.size() < raw.size()) {
                    bytes.push_back(std::move(z));
                    encoding = Encoding::zstd;
                }
            }
            if (encoding == Encoding::raw)
                bytes.emplace_back(raw.begin(), raw.end());
            objects.push_back(PackObject{id, encoding, BytesView(bytes.back()), raw.size()});
        });
    std::sort(objects.begin(), objects.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
}
// A stored pack in the hub's wire that holds exactly the answer's objects, snapshots and
// commits, read whole. `relabeled` when the heads it names are not the current ones: it then
// names the current ones (the wire's with_branch_heads), its objects still neither decoded nor
// copied into a new pack. A pack that names no heads goes as it is (clients then read heads
// from the refs).
struct StoredAnswer {
    Bytes bytes;
    std::string container;
    bool relabeled = false;
};
template <class H>
std::optional<StoredAnswer>
stored_answer(H& hub, const std::string& container, std::span<const CommitId> commit_ids,
              std::size_t snapshots, std::size_t objects, const std::vector<Branch>& heads) {
    using namespace catalog;
    const auto& limits = hub.options().limits;
    Key<ContainerRow> key{container};
    auto c = catalog::find_one<ContainerRow>(hub.catalog(), key);
    if (!c || c->format != H::container_format || c->objects != objects ||
        c->commits != commit_ids.size() || c->snapshots != snapshots)
        return std::nullopt;
    auto bytes = hub.store().get(c->container);
    if (!bytes)
        return std::nullopt;
    auto head = hub.wire().read_head(*bytes, limits);
    std::sort(head.commits.begin(), head.commits.end());
    std::vector<CommitId> wanted(commit_ids.begin(), commit_ids.end());
    std::sort(wanted.begin(), wanted.end());
    if (head.commits != wanted)
        return std::nullopt;
    std::map<std::string, CommitId> now_heads;
    for (const auto& h : heads)
        now_heads[h.name] = h.head;
    StoredAnswer answer{std::move(*bytes), c->container};
    if (!head.branch_heads.empty() && head.branch_heads != now_heads) {
        answer.bytes = hub.wire().with_branch_heads(answer.bytes, std::move(now_heads), limits);
        answer.relabeled = true;
    }
    return answer;
}
} // namespace detail

// The answer goes to `sink` as it is made; see the top of this file.
template <AlgorithmHub H>
FetchResult fetch(H& hub, const std::string& repo, const FetchRequest& req, const FetchSink& sink) {
    using namespace catalog;
    auto& cat = hub.catalog();
    auto& store = hub.store();
    const auto& opt = hub.options();
    FetchResult out;
    if (req.want.empty())
        fail(errc::invalid_argument, "fetch from '" + repo + "' wants nothing");
    if (req.want.size() > opt.limits.max_commits || req.have.size() > opt.limits.max_commits)
        fail(errc::oversized,
             "fetch names more than " + std::to_string(opt.limits.max_commits) + " commits");

    auto wanted_known =
        cat.template contains<CommitRefRow>(repo_keys(repo, std::span<const CommitId>(req.want)));
    for (std::size_t i = 0; i < req.want.size(); ++i)
        if (!wanted_known[i])
            fail(errc::not_found, "commit " + req.want[i].hex() + " is not in repo '" + repo + "'");
    std::vector<CommitId> have;
    auto have_known =
        cat.template contains<CommitRefRow>(repo_keys(repo, std::span<const CommitId>(req.have)));
    for (std::size_t i = 0; i < req.have.size(); ++i)
        if (have_known[i])
            have.push_back(req.have[i]);

    auto heads = cat.template scan<Branch>(std::tuple{repo});
    auto now = hub.now();
    auto request = detail::request_key(H::wire_type::name, req.want, have, heads);
    Key<FetchCacheRow> cache_key{repo, request};
    const bool keep = opt.fetch_cache_ttl.count() > 0;
    if (auto cached = keep ? catalog::find_one<FetchCacheRow>(cat, cache_key) : std::nullopt;
        cached && cached->expires_at > now &&
        detail::send_stored(store, cached->container, sink, out)) {
        out.cache_hit = true;
        out.stored = cached->container;
        return out;
    }

    // ---- walk and select ------------------------------------------------------------------
    auto walk = walk_ancestors(std::span<const CommitId>(req.want), catalog_parents(cat),
                               CommitSet(have.begin(), have.end()));
    if (!walk.unknown.empty())
        fail(errc::missing_object, "repo '" + repo + "' lacks " +
                                       std::to_string(walk.unknown.size()) +
                                       " commit row(s) its history needs, e.g. " +
                                       walk.unknown.front().hex() + " (run fsck)");
    // Commits and snapshots go into the writer as they are read, so a clone never holds its
    // history's manifests at once: only the chain being rebuilt and the previous snapshot.
    // Once the objects are declared, the pack goes to the caller and into the cache at once.
    // (The cache's put begins with the first piece: a request that fails or reuses a stored
    // pack never starts one.)
    std::optional<decltype(begin_put(store))> cache;
    Sha256 hash;
    auto emit = [&](BytesView piece) {
        sink(piece);
        if (keep && !cache)
            cache.emplace(begin_put(store));
        if (cache)
            cache->write(piece);
        hash.update(piece);
        out.size += piece.size();
    };
    auto writer = wire::pack_writer(hub.wire(), emit);
    std::vector<CommitId> commit_ids;
    std::vector<SnapshotId> snapshot_ids;
    {
        std::unordered_set<SnapshotId> seen;
        for_batches(walk.reached, opt.batch_rows, [&](std::span<const CommitId> batch) {
            auto rows = cat.template find<CommitRow>(keys_of(batch));
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (!rows[i])
                    fail(errc::missing_object, "commit " + batch[i].hex() + " of repo '" + repo +
                                                   "' has no row (run fsck)");
                writer.add(catalog::decode_stored<Commit>(rows[i]->record, opt.limits));
                commit_ids.push_back(batch[i]);
                if (seen.insert(rows[i]->snapshot_id).second)
                    snapshot_ids.push_back(rows[i]->snapshot_id);
            }
        });
    }
    auto load_snapshots = [&](std::span<const SnapshotId> ids, auto&& each) {
        for_each_snapshot(cat, ids, opt.batch_rows, opt.limits,
                          [&](const SnapshotId& id, const Snapshot* s) {
                              if (!s)
                                  fail(errc::missing_object, "snapshot " + id.hex() + " of repo '" +
                                                                 repo + "' has no row (run fsck)");
                              each(*s);
                          });
    };
    std::unordered_set<ObjectId> client_has;
    if (!have.empty()) {
        std::vector<SnapshotId> have_snapshots;
        for (auto& row : cat.template find<CommitRow>(keys_of(std::span<const CommitId>(have))))
            if (row)
                have_snapshots.push_back(row->snapshot_id);
        load_snapshots(have_snapshots, [&](const Snapshot& s) {
            for (const auto& e : s.manifest)
                client_has.insert(e.object);
        });
    }
    // Snapshots come along their delta chains (for_each_snapshot's order), so each is written
    // against the one before it, usually its parent's: a small delta.
    // Oldest first (the walk reached them newest first), so each chain comes base first.
    std::reverse(snapshot_ids.begin(), snapshot_ids.end());
    std::vector<ObjectId> ids;
    {
        std::unordered_set<ObjectId> seen;
        load_snapshots(snapshot_ids, [&](const Snapshot& s) {
            for (const auto& e : s.manifest)
                if (!client_has.count(e.object) && seen.insert(e.object).second)
                    ids.push_back(e.object);
            writer.add(s);
        });
    }
    std::sort(ids.begin(), ids.end());
    std::vector<LocationRow> locations;
    locations.reserve(ids.size());
    std::uint64_t stored_bytes = 0;
    for_batches(ids, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto refs = cat.template contains<ObjectRefRow>(repo_keys(repo, batch));
        auto locs = cat.template find<LocationRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!refs[i] || !locs[i])
                fail(errc::missing_object, "repo '" + repo + "' cannot serve object " +
                                               batch[i].hex() +
                                               (refs[i] ? ": it has no location (run fsck)"
                                                        : ": the repo does not reference it"));
            stored_bytes += locs[i]->length;
            locations.push_back(std::move(*locs[i]));
        }
    });
    out.commits = commit_ids.size();
    out.snapshots = snapshot_ids.size();
    out.objects = ids.size();
    // A stored delta goes as it is when its base goes too or the client has it (a thin pack)
    // and the wire carries deltas; any other is resolved and sent whole.
    auto whole = detail::split_unsendable_deltas<carries_deltas<typename H::wire_type>>(
        locations, std::span<const ObjectId>(ids), client_has);
    std::vector<Bytes> whole_bytes;
    std::vector<PackObject> whole_objects;
    if (!whole.empty())
        detail::resolve_whole<carries_deltas<typename H::wire_type>>(cat, store, opt, whole,
                                                                     whole_objects, whole_bytes);
    for (const auto& l : whole)
        stored_bytes -= l.length;
    for (const auto& o : whole_objects)
        stored_bytes += o.stored.size();

    // ---- reuse a stored pack that is exactly the answer -----------------------------------
    std::optional<detail::StoredAnswer> stored;
    if constexpr (RelabelsStoredPacks<typename H::wire_type>) {
        std::set<std::string> sources;
        for (const auto& l : locations)
            sources.insert(l.container);
        if (sources.size() == 1 && whole.empty())
            stored = detail::stored_answer(hub, *sources.begin(), commit_ids, snapshot_ids.size(),
                                           ids.size(), heads);
    }
    if (stored) {
        out.reused = true;
        out.sources_read = 1;
    }
    if (stored && !stored->relabeled) { // already kept: the stored pack is the answer
        sink(stored->bytes);
        out.size = stored->bytes.size();
        out.pack = PackId{sha256(stored->bytes)};
        out.stored = stored->container;
        return out;
    }
    if (stored) { // relabeled: sent and kept as an answer assembled here is
        emit(stored->bytes);
    } else {
        // ---- assemble: one ranged read per source, a batch of sources at a time -----------
        std::map<std::string, CommitId> branch_heads;
        for (const auto& b : heads)
            branch_heads[b.name] = b.head;
        writer.set_branch_heads(std::move(branch_heads));
        writer.objects(ids.size(), stored_bytes);
        out.sources_read =
            for_each_source(store, std::span<const LocationRow>(locations), source_batch_bytes,
                            [&](std::span<const PackObject> objects, const auto&) {
                                for (const auto& o : objects)
                                    writer.add(o);
                            });
        for (const auto& o : whole_objects)
            writer.add(o);
        std::move(writer).finish();
    }
    out.pack = PackId{hash.finish()};

    // ---- keep it for the next identical request -------------------------------------------
    if (!keep)
        return out;
    auto key = fetch_cache_key(out.pack, now);
    if (!cache) // (every pack has a header, so a built one always began its put)
        cache.emplace(begin_put(store));
    cache->commit(key);
    FetchCacheRow row{repo, request, key, now + opt.fetch_cache_ttl};
    out.stored = key;
    cat.transact([&](auto& tx) {
        Key<TombstoneRow> tomb{key};
        if (catalog::contains_one<TombstoneRow>(tx, tomb)) {
            out.stored.clear(); // swept as a stray meanwhile: serve it, do not cache it
            return 0;
        }
        auto old = catalog::find_one<FetchCacheRow>(tx, cache_key);
        if (old) {
            TombstoneRow t{old->container, now};
            tx.insert(std::span<const TombstoneRow>(&t, 1));
        }
        tx.upsert(std::span<const FetchCacheRow>(&row, 1));
        return 0;
    });
    return out;
}

// The answer collected: FetchResult::bytes holds the pack.
template <AlgorithmHub H>
FetchResult fetch(H& hub, const std::string& repo, const FetchRequest& req) {
    Bytes bytes;
    auto out = fetch(hub, repo, req, [&](BytesView piece) {
        bytes.insert(bytes.end(), piece.begin(), piece.end());
    });
    out.bytes = std::move(bytes);
    return out;
}

} // namespace musehub::algo
