#pragma once
// Objects stored as deltas, read back whole: the locations of a set of objects and of every
// base down their chains (one batched catalog read per link), the bytes with one ranged read
// per container, and the chains resolved once each (core/delta_chains.hpp), every result
// proven against its id as it is handed out.
//
//   chain_locations(catalog, ids, batch_rows, max_depth)   -> locations, bases included
//   read_resolved(catalog, store, ids, options, each)       -> each(id, raw) for each of ids

#include "musehub/algo/common.hpp"
#include "musehub/core/delta_chains.hpp"
#include "musehub/hub_options.hpp"

#include <unordered_map>
#include <unordered_set>

namespace musehub::algo {

// The location of each of `ids` and of every base its chain needs, each once. An id without a
// location is errc::missing_object, as is a chain longer than `max_depth` links (a cycle).
template <Catalog C>
std::vector<catalog::LocationRow> chain_locations(const C& cat, std::span<const ObjectId> ids,
                                                  std::size_t batch_rows, std::uint32_t max_depth) {
    std::vector<catalog::LocationRow> out;
    std::unordered_set<ObjectId> seen;
    std::vector<ObjectId> next;
    for (const auto& id : ids)
        if (seen.insert(id).second)
            next.push_back(id);
    for (std::uint32_t link = 0; !next.empty(); ++link) {
        if (link > max_depth + 1)
            fail(errc::corrupt, "object " + next.front().hex() +
                                    " lies on a delta chain longer than max_delta_depth = " +
                                    std::to_string(max_depth) + " (run fsck)");
        std::vector<ObjectId> bases;
        for_batches(next, batch_rows, [&](std::span<const ObjectId> batch) {
            auto locs = cat.template find<catalog::LocationRow>(keys_of(batch));
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (!locs[i])
                    fail(errc::missing_object,
                         "object " + batch[i].hex() + " has no location (run fsck)");
                if (locs[i]->base && seen.insert(*locs[i]->base).second)
                    bases.push_back(*locs[i]->base);
                out.push_back(std::move(*locs[i]));
            }
        });
        next = std::move(bases);
    }
    return out;
}

// Calls each(id, raw) for every distinct id of `ids`, on the calling thread, with its raw
// bytes proven against the id; bases read only to resolve a chain are not handed out.
template <Catalog C, ObjectStore S, class Each>
void read_resolved(const C& cat, const S& store, std::span<const ObjectId> ids,
                   const HubOptions& opt, Each&& each) {
    auto locations = chain_locations(cat, ids, opt.batch_rows, opt.limits.max_delta_depth);
    std::unordered_set<ObjectId> wanted(ids.begin(), ids.end());
    Pack held; // the stored bytes, viewed by `objects`
    std::vector<PackObject> objects;
    objects.reserve(locations.size());
    for_each_source(store, std::span<const catalog::LocationRow>(locations), UINT64_MAX,
                    [&](std::span<const PackObject> got, const std::shared_ptr<const Bytes>& buf) {
                        objects.insert(objects.end(), got.begin(), got.end());
                        held.hold(buf);
                    });
    auto limits = opt.limits;
    for (const auto& o : objects) // what is stored was accepted once: read it back whole
        limits.max_object_bytes = std::max(limits.max_object_bytes, o.raw_size);
    resolve_chains(
        std::span<const PackObject>(objects), limits,
        [&](std::span<const ObjectId> missing) -> std::vector<SharedBytes> {
            fail(errc::missing_object, "object " + missing[0].hex() +
                                           " is the base of a stored delta but has no location "
                                           "(run fsck)");
        },
        [&](std::size_t i, BytesView raw) {
            if (sha256(raw) != objects[i].id.digest)
                fail(errc::hash_mismatch,
                     "object " + objects[i].id.hex() + " read back with other bytes (run fsck)");
        },
        [&](std::size_t i, BytesView raw) {
            if (wanted.count(objects[i].id))
                each(objects[i].id, raw);
        });
}

} // namespace musehub::algo
