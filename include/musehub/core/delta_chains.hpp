#pragma once
// Resolving chains of deltas: every object of a set to its raw bytes, each base before the
// deltas built on it, every chain once. A delta's base is another object of the set, or one the
// caller supplies from elsewhere (a hub's storage: a thin pack's bases). Bad chains are typed
// errors naming the object: a base neither in the set nor supplied (missing_object), a cycle or
// a chain deeper than the limit (corrupt / oversized), a frame that does not decode (corrupt).
//
//   resolve_chains(objects, limits, external, check, each)
//
// runs level by level (whole objects and deltas on supplied bases first, then the deltas on
// those, …), each level in slices decoded on every core, where `check(index, raw)` runs too
// (hashing: on every core), then hands each object's raw bytes to `each(index, raw)` on the
// calling thread, in level order. A base's raw bytes are kept only until the last
// delta on it is decoded, so memory is one slice plus the bases still needed.

#include "musehub/core/limits.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/detail/parallel.hpp"

#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace musehub {

// Raw bytes of a base from outside the set, shared by the deltas on it.
using SharedBytes = std::shared_ptr<const Bytes>;

namespace detail {

// Where each object's base is: in the set (its index), outside it (supplied), or none.
struct ChainPlan {
    static constexpr std::size_t none = SIZE_MAX;
    std::vector<std::size_t> base;                      // index of the in-set base, or none
    std::vector<std::uint32_t> level;                   // 0: decodes without an in-set base
    std::vector<std::uint32_t> dependents;              // in-set deltas on each object
    std::vector<ObjectId> external;                     // bases outside the set, distinct
    std::vector<std::optional<ObjectId>> external_base; // per object
};

// Levels by walking each chain down to its root; a chain that comes back on itself is a cycle.
inline void assign_levels(std::span<const PackObject> objects, ChainPlan& plan,
                          std::uint32_t max_depth) {
    constexpr std::uint32_t unknown = UINT32_MAX, visiting = UINT32_MAX - 1;
    plan.level.assign(objects.size(), unknown);
    std::vector<std::size_t> path;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        std::size_t at = i;
        path.clear();
        while (plan.level[at] == unknown && plan.base[at] != ChainPlan::none) {
            plan.level[at] = visiting;
            path.push_back(at);
            at = plan.base[at];
        }
        if (plan.level[at] == visiting)
            fail(errc::corrupt, "object " + objects[at].id.hex() +
                                    " is a delta in a cycle of deltas: no base is whole");
        std::uint32_t level = plan.level[at] == unknown ? 0 : plan.level[at];
        if (plan.level[at] == unknown)
            plan.level[at] = 0;
        for (auto it = path.rbegin(); it != path.rend(); ++it) {
            if (++level > max_depth)
                fail(errc::oversized, "object " + objects[*it].id.hex() +
                                          " is a delta at the end of a chain deeper than " +
                                          "max_delta_depth = " + std::to_string(max_depth));
            plan.level[*it] = level;
        }
    }
}

inline ChainPlan plan_chains(std::span<const PackObject> objects, std::uint32_t max_depth) {
    ChainPlan plan;
    plan.base.assign(objects.size(), ChainPlan::none);
    plan.dependents.assign(objects.size(), 0);
    plan.external_base.resize(objects.size());
    std::unordered_map<ObjectId, std::size_t> index;
    index.reserve(objects.size());
    for (std::size_t i = 0; i < objects.size(); ++i)
        index.emplace(objects[i].id, i); // the first of duplicates is the one bases point at
    std::unordered_map<ObjectId, bool> outside;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (objects[i].encoding != Encoding::zstd_delta)
            continue;
        auto base = delta_base(objects[i]);
        if (base == objects[i].id)
            fail(errc::corrupt, "object " + base.hex() + " is a delta against itself");
        if (auto at = index.find(base); at != index.end()) {
            plan.base[i] = at->second;
            ++plan.dependents[at->second];
        } else {
            plan.external_base[i] = base;
            if (outside.emplace(base, true).second)
                plan.external.push_back(base);
        }
    }
    assign_levels(objects, plan, max_depth);
    return plan;
}

} // namespace detail

// `external(ids)` returns the raw bytes of each id (same order), or throws; it is called once,
// with every base outside `objects`, before anything is decoded. (A caller that stores deltas
// on supplied bases bounds the stored chain itself: the limit here is the chain in the set.)
template <class External, class Check, class Each>
void resolve_chains(std::span<const PackObject> objects, const Limits& limits, External&& external,
                    Check&& check, Each&& each) {
    auto plan = detail::plan_chains(objects, limits.max_delta_depth);
    std::unordered_map<ObjectId, SharedBytes> supplied;
    if (!plan.external.empty()) {
        std::vector<SharedBytes> got = external(std::span<const ObjectId>(plan.external));
        for (std::size_t i = 0; i < plan.external.size(); ++i)
            supplied.emplace(plan.external[i], std::move(got.at(i)));
    }
    std::uint32_t top = 0;
    for (auto l : plan.level)
        top = std::max(top, l);
    std::vector<std::vector<std::size_t>> by_level(objects.empty() ? 0 : top + 1);
    for (std::size_t i = 0; i < objects.size(); ++i)
        by_level[plan.level[i]].push_back(i);

    std::vector<SharedBytes> kept(objects.size()); // raw bytes of bases still needed
    auto base_of = [&](std::size_t i) -> BytesView {
        if (plan.base[i] != detail::ChainPlan::none)
            return *kept[plan.base[i]];
        return *supplied.at(*plan.external_base[i]);
    };
    constexpr std::uint64_t slice_bytes = 64u << 20;
    for (const auto& level : by_level) {
        for (std::size_t first = 0; first < level.size();) {
            std::size_t last = first;
            for (std::uint64_t bytes = 0;
                 last < level.size() && (last == first || bytes < slice_bytes); ++last)
                bytes += objects[level[last]].raw_size;
            std::vector<Bytes> raw(last - first);
            musehub::detail::parallel_for(
                last - first,
                [&](std::size_t k) {
                    const auto& o = objects[level[first + k]];
                    raw[k] =
                        o.encoding == Encoding::zstd_delta
                            ? decode_delta(o, base_of(level[first + k]), limits.max_object_bytes)
                            : decode_object(o, limits.max_object_bytes);
                    check(level[first + k], BytesView(raw[k]));
                },
                1);
            for (std::size_t k = 0; k < raw.size(); ++k) {
                const auto i = level[first + k];
                each(i, BytesView(raw[k]));
                if (plan.dependents[i] > 0)
                    kept[i] = std::make_shared<const Bytes>(std::move(raw[k]));
                if (auto b = plan.base[i];
                    b != detail::ChainPlan::none && --plan.dependents[b] == 0)
                    kept[b].reset();
            }
            first = last;
        }
    }
}

// Every object of `objects`, whose bases are all among them, raw and proven against its id:
// each(object, raw) on the calling thread. For readers of a whole pack (a client's clone).
template <class Each>
void for_each_verified(std::span<const PackObject> objects, const Limits& limits, Each&& each) {
    resolve_chains(
        objects, limits,
        [&](std::span<const ObjectId> missing) -> std::vector<SharedBytes> {
            fail(errc::missing_object,
                 "object " + missing[0].hex() + " is the base of a delta but not in the pack");
        },
        [&](std::size_t i, BytesView raw) { verify_raw(objects[i].id, raw); },
        [&](std::size_t i, BytesView raw) { each(objects[i], raw); });
}

} // namespace musehub
