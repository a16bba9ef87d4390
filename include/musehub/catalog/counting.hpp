#pragma once
// CountingCatalog: a decorator that forwards every operation to any Catalog and counts the
// calls, the way LevelDB's EnvWrapper wraps an Env. Each call on a SQL backend is one round
// trip, so tests use it to prove that algorithms speak in batches, never per object; the rows
// the reads return prove what an algorithm's cost scales with (GC of one repo reads that
// repo's rows, whatever else the hub holds).

#include "musehub/catalog/concept.hpp"

#include <algorithm>
#include <atomic>

namespace musehub::catalog {

struct CallCounts {
    std::atomic<std::size_t> reads{0};  // find, contains, find_by, scan
    std::atomic<std::size_t> writes{0}; // insert, upsert, erase, erase_exact, compare_and_swap
    std::atomic<std::size_t> transactions{0}; // transact() bodies
    std::atomic<std::size_t> rows_read{0};    // rows found, scanned, or keys found present
    std::size_t total() const { return reads + writes + transactions; }
    void reset() { reads = 0, writes = 0, transactions = 0, rows_read = 0; }
};

template <musehub::Catalog C>
class CountingCatalog {
    // Wraps the transaction handle too, so calls inside transactions are counted.
    template <class Inner>
    class Ops {
    public:
        Ops(Inner& inner, CallCounts& counts) : inner_(inner), counts_(counts) {}
        template <Reflected Row>
        std::size_t insert(std::span<const Row> rows) {
            return ++counts_.writes, inner_.insert(rows);
        }
        template <Reflected Row>
        void upsert(std::span<const Row> rows) {
            ++counts_.writes, inner_.upsert(rows);
        }
        template <Reflected Row>
        std::vector<std::optional<Row>> find(std::span<const Key<Row>> keys) const {
            ++counts_.reads;
            auto rows = inner_.template find<Row>(keys);
            counts_.rows_read += static_cast<std::size_t>(std::count_if(
                rows.begin(), rows.end(), [](const auto& r) { return r.has_value(); }));
            return rows;
        }
        template <Reflected Row>
        std::vector<bool> contains(std::span<const Key<Row>> keys) const {
            ++counts_.reads;
            auto found = inner_.template contains<Row>(keys);
            counts_.rows_read +=
                static_cast<std::size_t>(std::count(found.begin(), found.end(), true));
            return found;
        }
        template <Reflected Row, std::size_t I>
        std::vector<Row> find_by(std::span<const Field<Row, I>> values) const {
            return counted(inner_.template find_by<Row, I>(values));
        }
        template <Reflected Row>
        std::size_t erase(std::span<const Key<Row>> keys) {
            return ++counts_.writes, inner_.template erase<Row>(keys);
        }
        template <Reflected Row>
        std::size_t erase_exact(std::span<const Row> rows) {
            return ++counts_.writes, inner_.erase_exact(rows);
        }
        template <Reflected Row, class Prefix>
        std::vector<Row> scan(const Prefix& prefix) const {
            return counted(inner_.template scan<Row>(prefix));
        }
        template <Reflected Row>
        bool compare_and_swap(const Key<Row>& key, const std::optional<Row>& expected,
                              const std::optional<Row>& desired) {
            return ++counts_.writes, inner_.template compare_and_swap<Row>(key, expected, desired);
        }

    private:
        template <class Rows>
        Rows counted(Rows rows) const {
            ++counts_.reads;
            counts_.rows_read += rows.size();
            return rows;
        }

        Inner& inner_;
        CallCounts& counts_;
    };

public:
    explicit CountingCatalog(C& inner) : inner_(inner), ops_(inner, counts_) {}

    template <Reflected Row>
    std::size_t insert(std::span<const Row> rows) {
        return ops_.insert(rows);
    }
    template <Reflected Row>
    void upsert(std::span<const Row> rows) {
        ops_.upsert(rows);
    }
    template <Reflected Row>
    std::vector<std::optional<Row>> find(std::span<const Key<Row>> keys) const {
        return ops_.template find<Row>(keys);
    }
    template <Reflected Row>
    std::vector<bool> contains(std::span<const Key<Row>> keys) const {
        return ops_.template contains<Row>(keys);
    }
    template <Reflected Row, std::size_t I>
    std::vector<Row> find_by(std::span<const Field<Row, I>> values) const {
        return ops_.template find_by<Row, I>(values);
    }
    template <Reflected Row>
    std::size_t erase(std::span<const Key<Row>> keys) {
        return ops_.template erase<Row>(keys);
    }
    template <Reflected Row>
    std::size_t erase_exact(std::span<const Row> rows) {
        return ops_.erase_exact(rows);
    }
    template <Reflected Row, class Prefix>
    std::vector<Row> scan(const Prefix& prefix) const {
        return ops_.template scan<Row>(prefix);
    }
    template <Reflected Row>
    bool compare_and_swap(const Key<Row>& key, const std::optional<Row>& expected,
                          const std::optional<Row>& desired) {
        return ops_.template compare_and_swap<Row>(key, expected, desired);
    }
    template <class Fn>
    auto transact(Fn&& fn) {
        ++counts_.transactions;
        return inner_.transact([&](auto& tx) {
            Ops<std::remove_reference_t<decltype(tx)>> counted(tx, counts_);
            return fn(counted);
        });
    }

    // Capabilities pass through uncounted (they are not round trips an algorithm batches).
    bool compact_storage() { return catalog::compact_storage(inner_); }

    CallCounts& counts() { return counts_; }

private:
    C& inner_;
    mutable CallCounts counts_;
    Ops<C> ops_;
};

} // namespace musehub::catalog
