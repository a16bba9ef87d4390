#pragma once
// Building blocks the algorithms share: batching, catalog reads in the shapes the algorithms
// need (parents for graph walks, records decoded), per-phase timing, and unique storage keys.

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/record_codec.hpp"
#include "musehub/core/dag.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/keys.hpp"

#include <range/v3/view/chunk.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace musehub::algo {

// Calls fn(span) for consecutive slices of at most `n` elements.
template <class T, class Fn>
void for_batches(std::span<const T> items, std::size_t n, Fn&& fn) {
    for (auto chunk :
         items | ranges::views::chunk(static_cast<std::ptrdiff_t>(std::max<std::size_t>(n, 1))))
        fn(std::span<const T>(&*chunk.begin(), static_cast<std::size_t>(ranges::distance(chunk))));
}
template <class T, class Fn>
void for_batches(const std::vector<T>& items, std::size_t n, Fn&& fn) {
    for_batches(std::span<const T>(items), n, std::forward<Fn>(fn));
}

// Time spent in each named phase, in order (index jobs and benchmarks report it).
class PhaseTimes {
public:
    struct Phase {
        std::string name;
        double ms = 0;
    };
    // Adds the time from its making to its end to `name`: a phase that is a block of code
    // (`auto phase = times.scope("check");`).
    class Scope {
    public:
        Scope(PhaseTimes& times, std::string name)
            : times_(times), name_(std::move(name)), t0_(std::chrono::steady_clock::now()) {}
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope() {
            times_.add(name_, std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - t0_)
                                  .count());
        }

    private:
        PhaseTimes& times_;
        std::string name_;
        std::chrono::steady_clock::time_point t0_;
    };
    [[nodiscard]] Scope scope(std::string name) { return Scope(*this, std::move(name)); }
    // Runs fn, adding its duration to `name`.
    template <class Fn>
    decltype(auto) time(const std::string& name, Fn&& fn) {
        Scope phase(*this, name);
        return fn();
    }
    void add(const std::string& name, double ms) {
        for (auto& p : phases_)
            if (p.name == name)
                return void(p.ms += ms);
        phases_.push_back({name, ms});
    }
    double total() const {
        double t = 0;
        for (const auto& p : phases_)
            t += p.ms;
        return t;
    }
    const std::vector<Phase>& phases() const { return phases_; }

private:
    std::vector<Phase> phases_;
};

// A fresh suffix for storage keys: every upload gets a key no earlier or later upload uses, so
// bytes GC has retired can never be overwritten by, or mistaken for, a re-upload.
inline std::string nonce() {
    thread_local std::mt19937_64 rng{
        std::random_device{}() ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    auto v = rng();
    for (auto& c : s)
        c = digits[v & 15], v >>= 4;
    return s;
}

// The upload part of a container key: the time it was made (12 hex digits of milliseconds),
// then a nonce. Bytes are stored before the row that claims them, so a writer that dies in
// between leaves bytes no row knows; the time lets GC tell such a stray from an upload still in
// flight without asking the store for ages (see sweep strays in algo/gc.hpp).
inline std::string upload_token(TimePoint made) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(12, '0');
    auto v = static_cast<std::uint64_t>(made.time_since_epoch().count());
    for (auto it = s.rbegin(); it != s.rend(); ++it)
        *it = digits[v & 15], v >>= 4;
    return s + nonce();
}
// When the container under `key` was made, if its key carries an upload token.
inline std::optional<TimePoint> upload_time(std::string_view key) {
    auto dash = key.rfind('-');
    if (dash == std::string_view::npos || key.size() - dash - 1 != 28)
        return std::nullopt;
    std::uint64_t v = 0;
    for (char c : key.substr(dash + 1, 12)) {
        int d = hex_digit_value(c, HexCase::lower);
        if (d < 0)
            return std::nullopt;
        v = v << 4 | static_cast<std::uint64_t>(d);
    }
    return TimePoint(std::chrono::milliseconds(v));
}

inline std::string container_key(const PackId& pack, TimePoint made) {
    return keys::pack(pack, upload_token(made));
}
inline std::string fetch_cache_key(const PackId& pack, TimePoint made) {
    return keys::fetch_pack(pack, upload_token(made));
}

// Parents from the catalog, for core/dag.hpp walks: one batched lookup per call.
template <Catalog C>
auto catalog_parents(const C& catalog) {
    return [&catalog](std::span<const CommitId> ids) {
        std::vector<catalog::Key<catalog::CommitRow>> keys(ids.begin(), ids.end());
        std::vector<std::pair<CommitId, std::vector<CommitId>>> out;
        out.reserve(ids.size());
        for (auto& row : catalog.template find<catalog::CommitRow>(keys))
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

// Parents from a pack first, then the catalog: walks over history that is half pushed.
template <Catalog C>
auto pack_then_catalog_parents(const C& catalog, const Pack& pack) {
    return [&catalog, in_pack = InMemoryParents(pack.commits)](std::span<const CommitId> ids) {
        auto out = in_pack(ids);
        std::unordered_set<CommitId> found;
        for (const auto& [id, _] : out)
            found.insert(id);
        std::vector<CommitId> rest;
        for (const auto& id : ids)
            if (!found.count(id))
                rest.push_back(id);
        if (!rest.empty())
            for (auto& p : catalog_parents(catalog)(rest))
                out.push_back(std::move(p));
        return out;
    };
}

// Keys for a set of ids (std::tuple<Id>), for batched find/contains.
template <class Id>
std::vector<std::tuple<Id>> keys_of(std::span<const Id> ids) {
    return {ids.begin(), ids.end()};
}
template <class Id>
std::vector<std::tuple<std::string, Id>> repo_keys(std::string_view repo, std::span<const Id> ids) {
    std::vector<std::tuple<std::string, Id>> keys;
    keys.reserve(ids.size());
    for (const auto& id : ids)
        keys.emplace_back(std::string(repo), id);
    return keys;
}

namespace detail {
// Whether locations may (still) point into `container`: it has a row and was never retired.
// Every transaction that writes a location checks this, so a key GC retired is never pointed
// at again, whoever found it earlier (a push filling its own pack, consolidation reusing one).
template <catalog::CatalogTransaction Tx>
bool container_live(Tx& tx, const std::string& container) {
    catalog::Key<catalog::ContainerRow> row{container};
    catalog::Key<catalog::TombstoneRow> tomb{container};
    return catalog::contains_one<catalog::ContainerRow>(tx, row) &&
           !catalog::contains_one<catalog::TombstoneRow>(tx, tomb);
}
} // namespace detail

// Reads the bytes of `locations` with ONE ranged read per source container (covering all of
// its wanted objects), and calls `each(objects, buffer)` per container, the objects (in
// location order) viewing `buffer`, still encoded as stored. Containers are read in batches
// of about `batch_bytes` (at least one container each), so a store that keeps many requests
// in flight gets them, and the memory held at once is one batch, not every source. Returns
// how many containers were read.
template <ObjectStore S, class Each>
std::size_t for_each_source(const S& store, std::span<const catalog::LocationRow> locations,
                            std::uint64_t batch_bytes, Each&& each) {
    std::map<std::string, std::vector<const catalog::LocationRow*>> by_container;
    for (const auto& l : locations)
        by_container[l.container].push_back(&l);
    std::vector<RangeItem> reads;
    std::vector<const std::vector<const catalog::LocationRow*>*> groups;
    std::uint64_t pending = 0;
    auto flush = [&] {
        auto buffers = get_ranges(store, std::span<const RangeItem>(reads));
        for (std::size_t i = 0; i < reads.size(); ++i) {
            auto& got = buffers[i];
            if (!got || got->size() != reads[i].length)
                fail(errc::missing_object,
                     "container " + reads[i].key +
                         " is missing or shorter than its locations say (run fsck)");
            auto buffer = std::make_shared<const Bytes>(std::move(*got));
            std::vector<PackObject> objects;
            objects.reserve(groups[i]->size());
            for (const auto* l : *groups[i])
                objects.push_back(
                    PackObject{l->object_id, l->encoding,
                               BytesView(buffer->data() + (l->offset - reads[i].offset), l->length),
                               l->raw_size});
            each(std::span<const PackObject>(objects), buffer);
        }
        reads.clear(), groups.clear(), pending = 0;
    };
    for (const auto& [container, locs] : by_container) {
        std::uint64_t lo = UINT64_MAX, hi = 0;
        for (const auto* l : locs)
            lo = std::min(lo, l->offset), hi = std::max(hi, l->offset + l->length);
        if (!reads.empty() && pending + (hi - lo) > batch_bytes)
            flush();
        reads.push_back({container, lo, hi - lo});
        groups.push_back(&locs);
        pending += hi - lo;
    }
    if (!reads.empty())
        flush();
    return by_container.size();
}

// Reads the bytes of `locations` as for_each_source does, all at once, and adds each object
// to `pack` (sorted by id) as a view into the buffer it came in, which the pack holds.
template <ObjectStore S>
std::size_t read_grouped(const S& store, std::span<const catalog::LocationRow> locations,
                         Pack& pack) {
    auto n = for_each_source(
        store, locations, UINT64_MAX,
        [&](std::span<const PackObject> objects, const std::shared_ptr<const Bytes>& buffer) {
            pack.objects.insert(pack.objects.end(), objects.begin(), objects.end());
            pack.hold(buffer);
        });
    std::sort(pack.objects.begin(), pack.objects.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    return n;
}

} // namespace musehub::algo
