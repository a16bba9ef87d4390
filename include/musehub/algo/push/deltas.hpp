#pragma once
// The delta bases of a push's objects: the order their rows go in (each base before the deltas
// on it), the depth each delta will be stored at, and whether the bases already stored are
// still there.

#include "musehub/algo/common.hpp"
#include "musehub/core/delta_chains.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/hub_options.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace musehub::algo::detail {

// Whether every base the `locations` name is among `rows` (going in now) or already stored.
template <catalog::CatalogTransaction Tx>
bool bases_present(Tx& tx, const std::vector<catalog::ObjectRow>& rows,
                   const std::vector<catalog::LocationRow>& locations) {
    std::unordered_set<ObjectId> now;
    for (const auto& r : rows)
        now.insert(r.object_id);
    std::vector<catalog::Key<catalog::ObjectRow>> stored;
    for (const auto& l : locations)
        if (l.base && !now.count(*l.base))
            stored.emplace_back(*l.base);
    auto present = tx.template contains<catalog::ObjectRow>(stored);
    return std::find(present.begin(), present.end(), false) == present.end();
}

// Distinct objects of a pack, each base before the deltas on it: a delta's row goes in with
// or after its base's, which must exist when the delta's transaction commits.
inline std::vector<const PackObject*> bases_first(const Pack& pack, const Limits& limits) {
    std::vector<const PackObject*> objects;
    std::unordered_set<ObjectId> seen;
    for (const auto& o : pack.objects)
        if (seen.insert(o.id).second)
            objects.push_back(&o);
    std::vector<PackObject> flat;
    flat.reserve(objects.size());
    for (const auto* o : objects)
        flat.push_back(*o);
    auto plan =
        musehub::detail::plan_chains(std::span<const PackObject>(flat), limits.max_delta_depth);
    std::vector<std::size_t> order(objects.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return plan.level[a] < plan.level[b]; });
    std::vector<const PackObject*> out;
    out.reserve(objects.size());
    for (auto i : order)
        out.push_back(objects[i]);
    return out;
}

// The stored depth each delta of `objects` (bases first) will have: one more than its base's,
// whether the base comes in this push (not `known` to the hub) or is stored already. A chain
// that would pass max_delta_depth, or a base the hub does not have, is refused.
template <class C>
std::vector<std::uint32_t> delta_depths(const C& cat, std::span<const PackObject* const> objects,
                                        const std::vector<bool>& known, const HubOptions& opt) {
    std::unordered_map<ObjectId, std::size_t> fresh_at;
    std::vector<ObjectId> stored_bases;
    for (std::size_t i = 0; i < objects.size(); ++i)
        if (!known[i])
            fresh_at.emplace(objects[i]->id, i);
    for (std::size_t i = 0; i < objects.size(); ++i)
        if (!known[i] && objects[i]->encoding == Encoding::zstd_delta)
            if (auto b = delta_base(*objects[i]); !fresh_at.count(b))
                stored_bases.push_back(b);
    std::unordered_map<ObjectId, std::uint32_t> stored_depth;
    for_batches(stored_bases, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto locs = cat.template find<catalog::LocationRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (locs[i])
                stored_depth.emplace(batch[i], locs[i]->depth);
    });
    std::vector<std::uint32_t> depth(objects.size(), 0);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (known[i] || objects[i]->encoding != Encoding::zstd_delta)
            continue;
        auto b = delta_base(*objects[i]);
        if (auto f = fresh_at.find(b); f != fresh_at.end())
            depth[i] = depth[f->second] + 1;
        else if (auto s = stored_depth.find(b); s != stored_depth.end())
            depth[i] = s->second + 1;
        else
            fail(errc::missing_object, "object " + objects[i]->id.hex() + " is a delta against " +
                                           b.hex() + ", which is neither in the push nor stored");
        if (depth[i] > opt.limits.max_delta_depth)
            fail(errc::oversized, "object " + objects[i]->id.hex() +
                                      " would be stored at the end of a delta chain of " +
                                      std::to_string(depth[i]) + " links, over max_delta_depth = " +
                                      std::to_string(opt.limits.max_delta_depth) +
                                      "; send it whole or against a nearer base");
    }
    return depth;
}

} // namespace musehub::algo::detail
