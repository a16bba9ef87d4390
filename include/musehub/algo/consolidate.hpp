#pragma once
// Consolidate: merge the containers a repo's objects live in into one v2 pack.
//
//   gather  -> the repo's objects and where they are; skip when they are in <= 1 container
//   read    -> one ranged read per source container
//   pack    -> objects sorted by id, encoded deterministically (wire v2), so the same content
//              always gives the same pack id: a rerun finds the pack it made and reuses it;
//              written to the store as it is encoded (store/pending_put.hpp)
//   store   -> bytes first, under a key no other upload uses
//   repoint -> each object's location moves to the new pack only if it is still exactly where
//              it was read from (a concurrent consolidation or GC wins, nothing is lost)
//   retire  -> a source container goes to a tombstone only when no location points into it
//              (another repo's objects may still live there)

#include "musehub/algo/common.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/pending_put.hpp"
#include "musehub/wire/v2.hpp"

#include <memory>
#include <optional>
#include <set>

namespace musehub::algo {

struct ConsolidateResult {
    std::string repo;
    bool skipped = false;
    std::string reason;
    std::size_t sources = 0;   // containers the repo's objects were in
    std::size_t objects = 0;   // objects in the new pack
    std::size_t relocated = 0; // locations re-pointed
    std::size_t retired = 0;   // source containers retired
    std::string container;     // the new pack's key
    PackId pack;               // its content hash
    std::uint64_t bytes = 0;   // its size
    PhaseTimes times;
};

template <class H>
ConsolidateResult consolidate(H& hub, const std::string& repo) {
    using namespace catalog;
    auto& cat = hub.catalog();
    auto& store = hub.store();
    const auto& opt = hub.options();
    ConsolidateResult r;
    r.repo = repo;

    std::vector<ObjectId> ids;
    std::vector<LocationRow> locations;
    r.times.time("gather", [&] {
        for (const auto& ref : cat.template scan<ObjectRefRow>(std::tuple{repo}))
            ids.push_back(ref.object_id);
        for_batches(ids, opt.batch_rows, [&](std::span<const ObjectId> batch) {
            for (auto& l : cat.template find<LocationRow>(keys_of(batch)))
                if (l)
                    locations.push_back(std::move(*l)); // an object mid-GC has none: leave it be
        });
    });
    std::set<std::string> sources;
    for (const auto& l : locations)
        sources.insert(l.container);
    r.sources = sources.size();
    if (sources.size() <= 1) {
        r.skipped = true;
        r.reason = "repo '" + repo + "' has " + std::to_string(sources.size()) +
                   " pack(s): nothing to merge";
        return r;
    }

    // ---- read every source once, build the pack -------------------------------------------
    Pack pack;
    try {
        r.times.time("read",
                     [&] { read_grouped(store, std::span<const LocationRow>(locations), pack); });
    } catch (const error& e) {
        // GC retired a source after its locations were read (only possible once the grace
        // period has run out on this read): nothing is lost, this run has nothing sure to merge.
        if (e.code() != errc::missing_object)
            throw;
        r.skipped = true;
        r.reason = "a source pack of '" + repo +
                   "' was collected while being read; run consolidation again";
        return r;
    }
    // Written as it is encoded: the sources are held (sorted by id), the output never is.
    // Raw objects are compressed first, as encode_pack would, since the layout needs every
    // object's stored size before the first byte.
    const wire::v2 codec;
    std::optional<decltype(begin_put(store))> put(begin_put(store));
    std::vector<wire::v2::ObjectSpan> spans;
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
    pack = Pack{}; // the sources

    // ---- store (or find the pack an earlier run made) -------------------------------------
    // A key is only ever given a row by the upload that created it: a reused pack is used only
    // while its own row lives (checked in every repoint transaction), never revived.
    bool uploaded = false;
    r.times.time("store", [&] {
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

    // ---- repoint, then retire what nothing points into -------------------------------------
    std::unordered_map<ObjectId, const wire::v2::ObjectSpan*> span_of;
    for (const auto& s : spans)
        span_of.emplace(s.id, &s);
    auto now = hub.now();
    r.times.time("repoint", [&] {
        ContainerRow row{r.container, r.pack, ContainerFormat::v2_pack, r.bytes, spans.size(), 0,
                         0,           now};
        // A fresh key gets its row unless GC swept it as a stray first (this run then stood
        // still past the grace period): then nothing moves, and retire below drops it.
        if (uploaded)
            cat.transact([&](auto& tx) {
                Key<TombstoneRow> tomb{r.container};
                if (tx.template contains<TombstoneRow>(
                        std::span<const Key<TombstoneRow>>(&tomb, 1))[0])
                    return 0;
                return static_cast<int>(tx.insert(std::span<const ContainerRow>(&row, 1)));
            });
        for_batches(std::span<const LocationRow>(locations), opt.batch_rows,
                    [&](std::span<const LocationRow> batch) {
                        r.relocated += cat.transact([&](auto& tx) -> std::size_t {
                            if (!detail::container_live(tx, r.container))
                                return 0; // never into a retired pack
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
                                moved.push_back({s.id, r.container, s.offset, s.length, s.encoding,
                                                 s.raw_size, current[i]->base, current[i]->depth});
                            }
                            tx.upsert(std::span<const LocationRow>(moved));
                            return moved.size();
                        });
                    });
    });
    r.times.time("retire", [&] {
        // The sources, and the new pack itself if nothing moved into it (raced GC).
        std::vector<std::string> old;
        for (const auto& c : sources)
            if (c != r.container)
                old.push_back(c);
        if (r.relocated == 0)
            old.push_back(r.container);
        r.retired =
            cat.transact([&](auto& tx) { return detail::retire_empty_containers(tx, old, now); });
    });
    return r;
}

} // namespace musehub::algo
