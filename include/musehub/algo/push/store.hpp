#pragma once
// Push, store phase: the container's bytes under a key no other upload uses, before any row;
// then its row, and object, location and per-repo ref rows in short batched transactions.

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/detail/retire.hpp"
#include "musehub/algo/push/deltas.hpp"
#include "musehub/algo/push/epoch.hpp"
#include "musehub/algo/push/result.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/hub_options.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace musehub::algo {

namespace detail {
// A container's distinct objects, bases first, and the bytes they view.
struct ContainerObjects {
    ContainerObjects(const Pack& p, BytesView container, const Limits& limits)
        : pack(p), bytes(container), objects(bases_first(p, limits)), pack_id{sha256(container)} {
        for (const auto* o : objects)
            ids.push_back(o->id);
    }
    // Where `o` lies in the container; an object outside it is refused.
    std::uint64_t offset_of(const PackObject& o) const {
        auto off = o.stored.data() - bytes.data();
        if (off < 0 || static_cast<std::size_t>(off) + o.stored.size() > bytes.size())
            fail(errc::invalid_argument,
                 "object " + o.id.hex() + " does not lie inside its container");
        return static_cast<std::uint64_t>(off);
    }

    const Pack& pack;
    BytesView bytes;
    std::vector<const PackObject*> objects;
    std::vector<ObjectId> ids;
    PackId pack_id;
};

// Which of `ids` the hub has already.
template <class C>
std::vector<bool> known_objects(const C& cat, const std::vector<ObjectId>& ids,
                                std::size_t batch_rows) {
    std::vector<bool> known;
    for_batches(ids, batch_rows, [&](std::span<const ObjectId> batch) {
        auto k = cat.template contains<catalog::ObjectRow>(keys_of(batch));
        known.insert(known.end(), k.begin(), k.end());
    });
    return known;
}

// Whether the container under `key` has been retired.
template <class C>
bool is_retired(const C& cat, const std::string& key) {
    catalog::Key<catalog::TombstoneRow> tomb{key};
    return catalog::contains_one<catalog::TombstoneRow>(cat, tomb);
}

// Stores the container's bytes under a fresh key, and returns the key.
template <class H>
std::string upload_container(H& hub, const ContainerObjects& c, PhaseTimes& times,
                             StoredObjects& out) {
    auto key = container_key(c.pack_id, hub.now());
    times.time("store bytes", [&] { hub.store().put(key, c.bytes); });
    out.bytes = c.bytes.size();
    return key;
}

// The row of the container under `key`, before any location points into it.
template <class C>
void insert_container_row(C& cat, const std::string& repo, const std::string& key,
                          const ContainerObjects& c, catalog::ContainerFormat format,
                          TimePoint now) {
    catalog::ContainerRow row{key,
                              c.pack_id,
                              format,
                              c.bytes.size(),
                              c.ids.size(),
                              c.pack.commits.size(),
                              c.pack.snapshots.size(),
                              now};
    cat.transact([&](auto& tx) {
        bump_epoch(tx, repo, "");
        // GC sweeps bytes no row claims once they are old enough: if it took
        // ours for a stray, upload again under a new key.
        catalog::Key<catalog::TombstoneRow> tomb{key};
        if (catalog::contains_one<catalog::TombstoneRow>(tx, tomb))
            throw Retry{};
        return tx.insert(std::span<const catalog::ContainerRow>(&row, 1));
    });
}

// The objects [first, first + n) of `c`, registered inside one transaction: object and
// location rows for those the hub lacks (located in `key`), refs for all. Returns how many
// were new.
template <catalog::CatalogTransaction Tx>
std::size_t register_object_batch(Tx& tx, const std::string& repo, const std::string& key,
                                  const ContainerObjects& c,
                                  const std::vector<std::uint32_t>& depths, std::size_t first,
                                  std::size_t n, TimePoint now) {
    using catalog::LocationRow;
    using catalog::ObjectRefRow;
    using catalog::ObjectRow;
    std::span<const ObjectId> batch(c.ids.data() + first, n);
    bump_epoch(tx, repo, "");
    // A repack may have emptied and retired our pack since the last
    // batch: then upload what is still missing under a new key.
    if (!key.empty() && !container_live(tx, key))
        throw Retry{};
    auto present = tx.template contains<ObjectRow>(keys_of(batch));
    std::vector<ObjectRow> rows;
    std::vector<LocationRow> locations;
    for (std::size_t i = 0; i < n; ++i) {
        if (present[i])
            continue;
        if (key.empty())
            throw Retry{}; // collected since we looked
        const auto& o = *c.objects[first + i];
        rows.push_back({o.id, o.raw_size, now});
        std::optional<ObjectId> base;
        if (o.encoding == Encoding::zstd_delta)
            base = delta_base(o);
        locations.push_back({o.id, key, c.offset_of(o), o.stored.size(), o.encoding, o.raw_size,
                             base, depths[first + i]});
    }
    // A base stored before this push must still be there (GC keeps it
    // from now on: a delta's row names it).
    if (!bases_present(tx, rows, locations))
        throw Retry{};
    std::vector<ObjectRefRow> refs;
    refs.reserve(n);
    for (const auto& id : batch)
        refs.push_back({repo, id, now});
    tx.insert(std::span<const ObjectRow>(rows));
    tx.insert(std::span<const LocationRow>(locations));
    tx.upsert(std::span<const ObjectRefRow>(refs));
    return rows.size();
}

// Every object of `c` registered for `repo`, a batch per transaction. Returns how many were new.
template <class C>
std::size_t register_objects(C& cat, const HubOptions& opt, const std::string& repo,
                             const std::string& key, const ContainerObjects& c,
                             const std::vector<std::uint32_t>& depths, TimePoint now) {
    std::size_t fresh = 0;
    for (std::size_t first = 0; first < c.objects.size(); first += opt.batch_rows) {
        auto n = std::min(opt.batch_rows, c.objects.size() - first);
        fresh += cat.transact([&](auto& tx) {
            return register_object_batch(tx, repo, key, c, depths, first, n, now);
        });
    }
    return fresh;
}

// One try at store_objects; throws Retry when something it relied on was collected under it.
// `existing` is cleared once that upload turns out retired.
template <class H>
void store_once(H& hub, const std::string& repo, const ContainerObjects& c,
                catalog::ContainerFormat format, PhaseTimes& times, const std::string*& existing,
                StoredObjects& out) {
    auto& cat = hub.catalog();
    const auto& opt = hub.options();
    // An uploaded pack retired since (an earlier run of this index job registered it and
    // a repack or GC has moved on) is never pointed at again: what it holds that the
    // hub lacks now goes up under a fresh key, as a pack push's would.
    if (existing && is_retired(cat, *existing))
        existing = nullptr;
    const auto known =
        times.time("object rows", [&] { return known_objects(cat, c.ids, opt.batch_rows); });
    bool any_fresh = std::find(known.begin(), known.end(), false) != known.end();
    const auto depths = times.time("object rows", [&] {
        return delta_depths(cat, std::span<const PackObject* const>(c.objects), known, opt);
    });
    std::string key;
    if (any_fresh)
        key = existing ? *existing : upload_container(hub, c, times, out);
    {
        auto phase = times.scope("object rows");
        auto now = hub.now();
        if (!key.empty())
            insert_container_row(cat, repo, key, c, format, now);
        out.fresh = register_objects(cat, opt, repo, key, c, depths, now);
        // Concurrent pushes of the same objects: if every one of ours lost the race, our
        // container holds nothing anyone points at: retire it now.
        if (!key.empty() && !existing)
            retire_unused_upload(cat, key, now);
    }
    // An uploaded pack that brought nothing new is not needed: retire it.
    if (existing && key.empty())
        retire_unused_upload(cat, *existing, hub.now());
    out.container = key;
}
} // namespace detail

// Stores the bytes of a container whose objects `pack.objects` view, and registers those
// objects for `repo`. With `existing`, the bytes are already in the store under that key (an
// index job): nothing is uploaded. Objects the hub already has are not stored again.
template <AlgorithmHub H>
StoredObjects store_objects(H& hub, const std::string& repo, const Pack& pack, BytesView container,
                            catalog::ContainerFormat format, PhaseTimes& times,
                            const std::string* existing = nullptr) {
    StoredObjects out;
    if (pack.objects.empty())
        return out;
    // Distinct objects, each with its place in the container, bases first.
    const detail::ContainerObjects objects(pack, container, hub.options().limits);
    out.objects = objects.ids.size();
    for (int attempt = 0;; ++attempt) {
        try {
            detail::store_once(hub, repo, objects, format, times, existing, out);
            return out;
        } catch (const detail::Retry&) {
            if (attempt >= 3)
                fail(errc::conflict,
                     "objects kept vanishing while being registered (GC race); retry the push");
        }
    }
}

} // namespace musehub::algo
