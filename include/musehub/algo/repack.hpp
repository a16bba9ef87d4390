#pragma once
// Repack: rewrite the containers a repo's objects live in when that reclaims bytes or keeps
// their number small; consolidate is the same algorithm told to rewrite everything.
//
//   usage   -> every container holding the repo's objects: its size, and the objects of any
//              repo whose locations point into it (the live ones: GC deletes dead locations)
//   choose  -> containers whose dead share is above `RepackOptions::dead_share` (restic's
//              prune), plus the smallest packs git's `repack --geometric=2` would roll up, so
//              N pushes rewrite O(N log N) bytes; consolidate: all of them, into one
//   pack    -> the live objects of the chosen containers, sorted by id, encoded
//              deterministically (wire v2, each object as stored: a delta stays a delta), so
//              the same content always gives the same pack id: a rerun reuses the pack it made;
//              written to the store as it is encoded (store/pending_put.hpp)
//   store   -> bytes first, under a key no other upload uses
//   repoint -> each object's location moves to the new pack only if it is still exactly where
//              it was read from (a concurrent repack or GC wins, nothing is lost)
//   retire  -> a source container goes to a tombstone only when no location points into it

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/detail/retire.hpp"
#include "musehub/algo/follow_up.hpp"
#include "musehub/hub_options.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/pending_put.hpp"
#include "musehub/wire/v2.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

namespace musehub::algo {

struct RepackResult {
    std::string repo;
    bool skipped = false;
    std::string reason;
    std::size_t sources = 0;           // containers the repo's objects were in
    std::size_t rewritten = 0;         // of them, the ones this run rewrote
    std::size_t objects = 0;           // objects in the new pack
    std::size_t relocated = 0;         // locations re-pointed
    std::size_t retired = 0;           // source containers retired
    std::string container;             // the new pack's key
    PackId pack;                       // its content hash
    std::uint64_t bytes = 0;           // its size
    std::uint64_t bytes_rewritten = 0; // the sizes of the containers it replaces
    PhaseTimes times;
};
using ConsolidateResult = RepackResult;

// What a container holds, as repack weighs it.
struct ContainerUsage {
    std::string container;
    std::uint64_t size = 0;       // bytes stored
    std::uint64_t live = 0;       // bytes its live objects take in a pack, framing included
    std::size_t live_objects = 0; // objects of any repo located in it
    bool clean = false;           // a pack of objects only, every one live: nothing to reclaim
    double dead_share() const {
        return size == 0
                   ? 0.0
                   : 1.0 - static_cast<double>(std::min(live, size)) / static_cast<double>(size);
    }
};

enum class RepackScope : std::uint8_t {
    policy,     // what RepackOptions says pays (the follow-up job after pushes and GC)
    everything, // every container into one pack, unless that would change nothing (consolidate)
};

namespace detail {
// The smallest containers to roll up so that, by live bytes, each one left is at least
// `factor` times all smaller ones together (git's geometric repack): sorted ascending, the
// roll-up is everything up to the last container that breaks the progression.
inline std::vector<std::size_t> geometric_rollup(const std::vector<ContainerUsage>& usage,
                                                 const std::vector<std::size_t>& candidates,
                                                 double factor) {
    auto order = candidates;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(usage[a].live, usage[a].container) <
               std::tie(usage[b].live, usage[b].container);
    });
    std::size_t cut = 0; // roll up order[0, cut)
    double below = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (i > 0 && static_cast<double>(usage[order[i]].live) < factor * below)
            cut = i + 1;
        below += static_cast<double>(usage[order[i]].live);
    }
    order.resize(cut < 2 ? 0 : cut);
    return order;
}
} // namespace detail

// Which containers to rewrite, by name (sorted): empty when nothing would change.
inline std::vector<std::string> choose_rewrites(const std::vector<ContainerUsage>& usage,
                                                RepackScope scope, const RepackOptions& o) {
    std::vector<std::string> out;
    if (scope == RepackScope::everything) {
        bool all_clean = std::all_of(usage.begin(), usage.end(), [](auto& u) { return u.clean; });
        if (usage.size() >= 2 || !all_clean)
            for (const auto& u : usage)
                out.push_back(u.container);
    } else {
        std::vector<std::size_t> rest;
        for (std::size_t i = 0; i < usage.size(); ++i) {
            if (!usage[i].clean && usage[i].dead_share() >= o.dead_share)
                out.push_back(usage[i].container);
            else
                rest.push_back(i);
        }
        for (auto i : detail::geometric_rollup(usage, rest, o.geometric_factor))
            out.push_back(usage[i].container);
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace detail {
// The containers the repo's objects live in and how much of each is live; `located` gets every
// location in them (any repo's). A container mid-retirement has no row: it is left out.
template <class H>
std::vector<ContainerUsage> container_usage(H& hub, const std::string& repo,
                                            std::vector<catalog::LocationRow>& located) {
    using namespace catalog;
    auto& cat = hub.catalog();
    const auto batch_rows = hub.options().batch_rows;
    std::vector<ObjectId> ids;
    for (const auto& ref : cat.template scan<ObjectRefRow>(std::tuple{repo}))
        ids.push_back(ref.object_id);
    std::set<std::string> names;
    for_batches(ids, batch_rows, [&](std::span<const ObjectId> batch) {
        for (auto& l : cat.template find<LocationRow>(keys_of(batch)))
            if (l)
                names.insert(l->container); // an object mid-GC has none: leave it be
    });
    std::vector<std::string> list(names.begin(), names.end());
    std::vector<ContainerRow> rows;
    for_batches(list, batch_rows, [&](std::span<const std::string> batch) {
        std::vector<Key<ContainerRow>> keys(batch.begin(), batch.end());
        for (auto& row : cat.template find<ContainerRow>(keys))
            if (row)
                rows.push_back(std::move(*row));
        for (auto& l : cat.template find_by<LocationRow, 1>(batch))
            located.push_back(std::move(l));
    });
    std::unordered_map<std::string, ContainerUsage> by_name;
    for (const auto& l : located) {
        auto& u = by_name[l.container];
        u.live += l.length + wire::v2::object_header_bytes;
        ++u.live_objects;
    }
    std::vector<ContainerUsage> usage;
    for (const auto& row : rows) {
        auto u = by_name[row.container];
        u.container = row.container;
        u.size = row.size;
        u.clean = row.format == ContainerFormat::v2_pack && row.commits == 0 &&
                  row.snapshots == 0 && row.objects == u.live_objects;
        usage.push_back(std::move(u));
    }
    return usage;
}
} // namespace detail

namespace detail {
// Encodes the objects of `sources` (sorted by id, as stored) into one v2 pack written to the
// store as it is made, and keeps the new pack (or the identical one an earlier run made).
// Returns where each object landed; false when a source went while being read.
template <class H>
bool write_repacked(H& hub, std::span<const catalog::LocationRow> sources, RepackResult& r,
                    std::vector<wire::v2::ObjectSpan>& spans, bool& uploaded) {
    using namespace catalog;
    auto& store = hub.store();
    Pack pack;
    try {
        r.times.time("read", [&] { read_grouped(store, sources, pack); });
    } catch (const error& e) {
        // GC retired a source after its locations were read (only possible once the grace
        // period has run out on this read): nothing is lost, this run has nothing sure to merge.
        if (e.code() != errc::missing_object)
            throw;
        return false;
    }
    // Raw objects are compressed first, as encode_pack would, since the layout needs every
    // object's stored size before the first byte. The sources are held; the output never is.
    const wire::v2 codec;
    std::optional<decltype(begin_put(store))> put(begin_put(store));
    r.times.time("pack", [&] {
        std::vector<Bytes> held(pack.objects.size());
        std::uint64_t stored = 0;
        for (std::size_t i = 0; i < pack.objects.size(); ++i) {
            pack.objects[i] = codec.compressed(pack.objects[i], held[i]);
            stored += pack.objects[i].stored.size();
        }
        Sha256 hash;
        auto writer = codec.pack_writer([&](BytesView piece) {
            put->write(piece);
            hash.update(piece);
            r.bytes += piece.size();
        });
        writer.objects(pack.objects.size(), stored);
        spans.reserve(pack.objects.size());
        for (const auto& o : pack.objects)
            spans.push_back({o.id, o.encoding, writer.add(o), o.stored.size(), o.raw_size});
        std::move(writer).finish();
        r.pack = PackId{hash.finish()};
    });
    r.objects = spans.size();
    // A key is only ever given a row by the upload that created it: a reused pack is used only
    // while its own row lives (checked in every repoint transaction), never revived.
    r.times.time("store", [&] {
        auto& cat = hub.catalog();
        for (const auto& c :
             cat.template find_by<ContainerRow, 1>(std::span<const PackId>(&r.pack, 1)))
            if (store.size(c.container) == r.bytes)
                r.container = c.container;
        if (r.container.empty()) {
            r.container = container_key(r.pack, hub.now());
            put->commit(r.container);
            uploaded = true;
        }
        put.reset(); // uncommitted (an earlier run's pack is used): nothing becomes visible
    });
    return true;
}

// Points each source location that is still exactly as read at its place in the new pack,
// a batch per transaction, never into a retired pack. A fresh key gets its row first, unless
// GC swept it as a stray (this run stood still past the grace period): then nothing moves.
template <class H>
std::size_t repoint(H& hub, std::span<const catalog::LocationRow> sources, const RepackResult& r,
                    const std::vector<wire::v2::ObjectSpan>& spans, bool uploaded) {
    using namespace catalog;
    auto& cat = hub.catalog();
    auto now = hub.now();
    if (uploaded)
        cat.transact([&](auto& tx) {
            ContainerRow row{
                r.container, r.pack, ContainerFormat::v2_pack, r.bytes, spans.size(), 0, 0, now};
            Key<TombstoneRow> tomb{r.container};
            if (catalog::contains_one<TombstoneRow>(tx, tomb))
                return 0;
            return static_cast<int>(tx.insert(std::span<const ContainerRow>(&row, 1)));
        });
    std::unordered_map<ObjectId, const wire::v2::ObjectSpan*> span_of;
    for (const auto& s : spans)
        span_of.emplace(s.id, &s);
    std::size_t relocated = 0;
    for_batches(sources, hub.options().batch_rows, [&](std::span<const LocationRow> batch) {
        relocated += cat.transact([&](auto& tx) -> std::size_t {
            if (!container_live(tx, r.container))
                return 0;
            std::vector<Key<LocationRow>> keys;
            for (const auto& l : batch)
                keys.emplace_back(l.object_id);
            auto current = tx.template find<LocationRow>(keys);
            std::vector<LocationRow> moved;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (!current[i] || !(*current[i] == batch[i]))
                    continue; // moved or gone meanwhile
                const auto& s = *span_of.at(batch[i].object_id);
                // As stored, so a delta keeps its base and depth.
                moved.push_back({s.id, r.container, s.offset, s.length, s.encoding, s.raw_size,
                                 current[i]->base, current[i]->depth});
            }
            tx.upsert(std::span<const LocationRow>(moved));
            return moved.size();
        });
    });
    return relocated;
}
} // namespace detail

// Rewrites what `scope` chooses of the containers `repo`'s objects live in into one pack.
template <AlgorithmHub H>
RepackResult repack(H& hub, const std::string& repo, RepackScope scope = RepackScope::policy) {
    RepackResult r;
    r.repo = repo;
    std::vector<catalog::LocationRow> located;
    auto usage = r.times.time("usage", [&] { return detail::container_usage(hub, repo, located); });
    r.sources = usage.size();
    auto chosen = choose_rewrites(usage, scope, hub.options().repack);
    if (chosen.empty()) {
        r.skipped = true;
        r.reason = "repo '" + repo + "' has " + std::to_string(usage.size()) +
                   " pack(s), none worth rewriting";
        return r;
    }
    r.rewritten = chosen.size();
    for (const auto& u : usage)
        if (std::binary_search(chosen.begin(), chosen.end(), u.container))
            r.bytes_rewritten += u.size;
    std::vector<catalog::LocationRow> sources;
    for (auto& l : located)
        if (std::binary_search(chosen.begin(), chosen.end(), l.container))
            sources.push_back(std::move(l));
    std::vector<wire::v2::ObjectSpan> spans;
    bool uploaded = false;
    if (!detail::write_repacked(hub, sources, r, spans, uploaded)) {
        r.skipped = true;
        r.reason =
            "a source pack of '" + repo + "' was collected while being read; run the repack again";
        return r;
    }
    r.relocated = r.times.time("repoint", [&] {
        return detail::repoint(hub, std::span<const catalog::LocationRow>(sources), r, spans,
                               uploaded);
    });
    r.times.time("retire", [&] {
        // The sources, and the new pack itself if nothing moved into it (raced GC).
        std::vector<std::string> old;
        for (const auto& c : chosen)
            if (c != r.container)
                old.push_back(c);
        if (r.relocated == 0)
            old.push_back(r.container);
        r.retired = hub.catalog().transact(
            [&](auto& tx) { return detail::retire_empty_containers(tx, old, hub.now()); });
    });
    if (r.retired > 0) // their bytes go, and the space the re-pointing left, in the sweep
        schedule_sweep(hub);
    return r;
}

// Every container the repo's objects live in, merged into one pack (skipped when they already
// are one pack with nothing dead in it).
template <AlgorithmHub H>
ConsolidateResult consolidate(H& hub, const std::string& repo) {
    return repack(hub, repo, RepackScope::everything);
}

} // namespace musehub::algo
