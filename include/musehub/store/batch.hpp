#pragma once
// Batched object-store operations. A store with a native batch member (S3 keeps many requests
// in flight) is called through it; any other store gets the one-at-a-time default, so
// algorithms always speak in batches and never care which.

#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <chrono>
#include <span>

namespace musehub {

template <ObjectStore S>
void put_many(S& store, std::span<const PutItem> items) {
    if constexpr (BatchPutStore<S>)
        store.put_many(items);
    else
        for (const auto& i : items)
            store.put(i.key, i.bytes);
}

template <ObjectStore S>
std::vector<std::optional<Bytes>> get_ranges(const S& store, std::span<const RangeItem> items) {
    if constexpr (BatchRangeStore<S>)
        return store.get_ranges(items);
    else {
        std::vector<std::optional<Bytes>> out;
        out.reserve(items.size());
        for (const auto& i : items)
            out.push_back(store.get_range(i.key, i.offset, i.length));
        return out;
    }
}

template <ObjectStore S>
std::vector<std::optional<std::uint64_t>> sizes(const S& store, std::span<const std::string> keys) {
    if constexpr (BatchSizeStore<S>)
        return store.sizes(keys);
    else {
        std::vector<std::optional<std::uint64_t>> out;
        out.reserve(keys.size());
        for (const auto& k : keys)
            out.push_back(store.size(k));
        return out;
    }
}

template <ObjectStore S>
void remove_many(S& store, std::span<const std::string> keys) {
    if constexpr (BatchRemoveStore<S>)
        store.remove_many(keys);
    else
        for (const auto& k : keys)
            store.remove(k);
}

// A store whose writers can leave temporaries behind when they crash (TemporarySweepingStore)
// sweeps those older than `age`. Stores without such leftovers have nothing to do. Returns how
// many were removed.
template <ObjectStore S>
std::size_t sweep_temporaries(S& store, std::chrono::seconds age) {
    if constexpr (TemporarySweepingStore<S>)
        return store.remove_stale_temps(age);
    else
        return 0;
}

} // namespace musehub
