#pragma once
// Sweep: the hub-wide half of collection, split from GC so that `gc(repo)` costs that repo's
// live history and nothing else (algo/gc.hpp). What it cleans belongs to no repo, or to a repo
// nobody collects:
//
//   expire      -> fetch-cache entries past their expiry, in every repo
//   uploads     -> presigned uploads nobody confirmed, in every repo
//   temporaries -> what writers killed mid-put left in stores that can leave any
//   strays      -> bytes a writer stored and then died before a row claimed them
//   purge       -> bytes of retired containers whose grace period is over (algo/purge.hpp)
//   compact     -> a catalog that keeps the space deleted rows leave (SQLite) gives it back
//                  when a large share of its file is unused (catalog::compact_storage)
//
// A GC or repack that retired anything schedules one (algo/follow_up.hpp), one job per window,
// due when the grace period of what it retired is over; `musehub gc` runs one after its repos.
// Cost is O(rows of the hub-wide tables + keys listed), paid once, not once per repo.

#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"
#include "musehub/algo/purge.hpp"
#include "musehub/store/batch.hpp"

#include <string>
#include <unordered_set>
#include <vector>

namespace musehub::algo {

struct SweepResult {
    std::size_t cache_entries_expired = 0;
    std::size_t uploads_abandoned = 0; // presigned uploads never confirmed
    std::size_t temporaries_swept = 0; // leftovers of writers that crashed (store capability)
    std::size_t strays_swept = 0;      // stored bytes no row ever claimed (a writer crashed)
    std::size_t tombstones_purged = 0;
    std::uint64_t bytes_purged = 0;  // bytes removed from the object store
    bool catalog_compacted = false;  // the catalog rewrote its files (catalog::compact_storage)
    std::vector<std::string> errors; // non-fatal: the next run retries them
    PhaseTimes times;
};

namespace detail {
// Retires the fetch-cache entries under `prefix` (a repo, or the whole hub) that are past
// their expiry, or all of them with `all`; their bytes go when purged. Returns how many.
template <class H, class Prefix>
std::size_t expire_fetch_cache(H& hub, const Prefix& prefix, bool all) {
    using catalog::FetchCacheRow;
    const auto now = hub.now();
    std::vector<FetchCacheRow> expired;
    for (auto& row : hub.catalog().template scan<FetchCacheRow>(prefix))
        if (row.expires_at <= now || all)
            expired.push_back(std::move(row));
    if (expired.empty())
        return 0;
    return hub.catalog().transact([&](auto& tx) {
        std::vector<catalog::TombstoneRow> tombs;
        for (const auto& e : expired)
            tombs.push_back({e.container, now});
        auto n = tx.erase_exact(std::span<const FetchCacheRow>(expired));
        tx.insert(std::span<const catalog::TombstoneRow>(tombs));
        return n;
    });
}

// Removes the bytes of presigned uploads under `prefix` whose URLs expired a grace period ago
// without a confirm registering them, then their rows. Returns how many; failures go to
// `errors` and are retried by the next run.
template <class H, class Prefix>
std::size_t sweep_abandoned_uploads(H& hub, const Prefix& prefix,
                                    std::vector<std::string>& errors) {
    using catalog::UploadRow;
    const auto now = hub.now();
    std::vector<UploadRow> abandoned;
    for (auto& u : hub.catalog().template scan<UploadRow>(prefix))
        if (u.expires_at + hub.options().grace <= now)
            abandoned.push_back(std::move(u));
    if (abandoned.empty())
        return 0;
    std::vector<catalog::Key<catalog::ContainerRow>> keys;
    for (const auto& u : abandoned)
        keys.emplace_back(u.container);
    auto registered = hub.catalog().template contains<catalog::ContainerRow>(keys);
    std::vector<std::string> remove;
    for (std::size_t i = 0; i < abandoned.size(); ++i)
        if (!registered[i])
            remove.push_back(abandoned[i].container);
    try {
        remove_many(hub.store(), std::span<const std::string>(remove));
    } catch (const std::exception& e) {
        errors.push_back(std::string("removing abandoned uploads failed (will retry): ") +
                         e.what());
        return 0;
    }
    hub.catalog().erase_exact(std::span<const UploadRow>(abandoned));
    return remove.size();
}

// Every container key some row knows: registered, retired, cached or being uploaded.
template <class C>
std::unordered_set<std::string> known_containers(C& cat) {
    using namespace catalog;
    std::unordered_set<std::string> known;
    for (auto& c : cat.template scan<ContainerRow>(std::tuple{}))
        known.insert(std::move(c.container));
    for (auto& t : cat.template scan<TombstoneRow>(std::tuple{}))
        known.insert(std::move(t.container));
    for (auto& f : cat.template scan<FetchCacheRow>(std::tuple{}))
        known.insert(std::move(f.container));
    for (auto& u : cat.template scan<UploadRow>(std::tuple{}))
        known.insert(std::move(u.container));
    return known;
}

// Retires stored keys no row claims, in a transaction that proves it; the writer checks the
// same tombstone when it inserts its row, so exactly one of them wins. Returns how many.
template <class C>
std::size_t retire_strays(C& cat, const std::vector<std::string>& strays, TimePoint since) {
    using namespace catalog;
    return cat.transact([&](auto& tx) {
        std::vector<Key<ContainerRow>> rows(strays.begin(), strays.end());
        std::vector<Key<TombstoneRow>> tombs(strays.begin(), strays.end());
        auto claimed = tx.template contains<ContainerRow>(rows);
        auto retired = tx.template contains<TombstoneRow>(tombs);
        std::unordered_set<std::string> cached;
        for (auto& f : tx.template scan<FetchCacheRow>(std::tuple{}))
            cached.insert(std::move(f.container));
        std::vector<TombstoneRow> out;
        for (std::size_t i = 0; i < strays.size(); ++i)
            if (!claimed[i] && !retired[i] && !cached.count(strays[i]))
                out.push_back({strays[i], since});
        tx.insert(std::span<const TombstoneRow>(out));
        return out.size();
    });
}

// Strays: bytes a writer stored and then died before a row claimed them. Only keys whose
// upload token is older than the grace period (and ten minutes, as for temporaries): a
// younger one may be an upload about to register. Nothing ever read a stray, so its
// tombstone is dated a grace period back and the purge that follows removes it now.
template <class H>
std::size_t sweep_strays(H& hub, std::vector<std::string>& errors) {
    const auto now = hub.now();
    const auto age =
        std::max<std::chrono::milliseconds>(hub.options().grace, std::chrono::minutes(10));
    auto known = known_containers(hub.catalog());
    std::vector<std::string> strays;
    try {
        for (auto kind : {"/packs/", "/fetch/"})
            for (auto& k : hub.store().list(std::string(keys::layout) + kind))
                if (auto made = upload_time(k); made && *made + age <= now && !known.count(k))
                    strays.push_back(std::move(k));
    } catch (const std::exception& e) {
        errors.push_back(std::string("listing strays failed (will retry): ") + e.what());
        return 0;
    }
    if (strays.empty())
        return 0;
    return retire_strays(hub.catalog(), strays, now - hub.options().grace);
}
} // namespace detail

template <AlgorithmHub H>
SweepResult sweep(H& hub) {
    const auto& opt = hub.options();
    SweepResult r;
    r.times.time("expire cache", [&] {
        r.cache_entries_expired = detail::expire_fetch_cache(hub, std::tuple{}, false);
    });
    r.times.time("sweep uploads", [&] {
        r.uploads_abandoned = detail::sweep_abandoned_uploads(hub, std::tuple{}, r.errors);
    });
    r.times.time("sweep temporaries", [&] {
        try {
            auto age = std::max(std::chrono::duration_cast<std::chrono::seconds>(opt.grace),
                                std::chrono::seconds(600));
            r.temporaries_swept = sweep_temporaries(hub.store(), age);
        } catch (const std::exception& e) {
            r.errors.push_back(std::string("sweeping temporaries failed (will retry): ") +
                               e.what());
        }
    });
    r.times.time("sweep strays", [&] { r.strays_swept = detail::sweep_strays(hub, r.errors); });
    r.times.time("purge", [&] {
        auto p = purge_retired(hub);
        r.tombstones_purged = p.tombstones_purged;
        r.bytes_purged = p.bytes_purged;
        r.errors.insert(r.errors.end(), p.errors.begin(), p.errors.end());
    });
    // Last, so the space every delete above and before it left is given back in one go.
    r.times.time("compact catalog", [&] {
        try {
            r.catalog_compacted = catalog::compact_storage(hub.catalog());
        } catch (const std::exception& e) {
            r.errors.push_back(std::string("compacting the catalog failed (will retry): ") +
                               e.what());
        }
    });
    return r;
}

} // namespace musehub::algo
