#pragma once
// In-memory Catalog: one ordered map per reflected table plus one ordered set per declared
// secondary index, all derived from catalog/schema.hpp. A shared mutex gives readers
// concurrency and writers serial order; transact() holds the write lock for its whole body and
// undoes every effect if the body throws.

#include "musehub/catalog/concept.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

namespace musehub::memory {

namespace detail {
// Orders tuples, and compares a tuple with any shorter prefix of it, so one ordered container
// serves both point lookups and prefix ranges.
struct PrefixLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        constexpr std::size_t n = std::min(std::tuple_size_v<A>, std::tuple_size_v<B>);
        return less<0, n>(a, b);
    }
    template <std::size_t I, std::size_t N, class A, class B>
    static bool less(const A& a, const B& b) {
        if constexpr (I == N)
            return false;
        else {
            if (std::get<I>(a) < std::get<I>(b))
                return true;
            if (std::get<I>(b) < std::get<I>(a))
                return false;
            return less<I + 1, N>(a, b);
        }
    }
};

// (indexed field, primary key) pairs, so find_by is a prefix range on the field.
template <class Row, std::size_t I>
using Index = std::set<std::tuple<catalog::Field<Row, I>, catalog::Key<Row>>, PrefixLess>;

template <class Row, class Seq = catalog::Indexes<Row>>
struct Table;
template <class Row, std::size_t... I>
struct Table<Row, std::index_sequence<I...>> {
    std::map<catalog::Key<Row>, Row, PrefixLess> rows;
    std::tuple<Index<Row, I>...> indexes;

    template <std::size_t F>
    Index<Row, F>& index() {
        return std::get<Index<Row, F>>(indexes);
    }
    // Sets (or, with nullopt, deletes) the row at `key`, keeping every index in step.
    // Returns the row that was there.
    std::optional<Row> assign(const catalog::Key<Row>& key, const std::optional<Row>& value) {
        std::optional<Row> old;
        auto it = rows.find(key);
        if (it != rows.end()) {
            old = std::move(it->second);
            (index<I>().erase({catalog::field<I>(*old), key}), ...);
            rows.erase(it);
        }
        if (value) {
            rows.emplace(key, *value);
            (index<I>().emplace(catalog::field<I>(*value), key), ...);
        }
        return old;
    }
};

template <class Schema>
struct Tables;
template <class... Rows>
struct Tables<std::tuple<Rows...>> {
    std::tuple<Table<Rows>...> tables;
    template <class Row>
    Table<Row>& of() {
        return std::get<Table<Row>>(tables);
    }
};
} // namespace detail

class Catalog {
    using Undo = std::vector<std::function<void()>>;

    // The operations, on tables the caller has locked; `undo` (when set) records inverses.
    class Ops {
    public:
        Ops(detail::Tables<catalog::Schema>& t, Undo* undo) : t_(t), undo_(undo) {}

        template <catalog::Reflected Row>
        std::size_t insert(std::span<const Row> rows) {
            auto& table = t_.template of<Row>();
            std::size_t added = 0;
            for (const auto& r : rows) {
                auto key = catalog::key_of(r);
                if (table.rows.count(key))
                    continue;
                assign<Row>(key, r);
                ++added;
            }
            return added;
        }
        template <catalog::Reflected Row>
        void upsert(std::span<const Row> rows) {
            for (const auto& r : rows)
                assign<Row>(catalog::key_of(r), r);
        }
        template <catalog::Reflected Row>
        std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) const {
            auto& table = t_.template of<Row>();
            std::vector<std::optional<Row>> out;
            out.reserve(keys.size());
            for (const auto& k : keys) {
                auto it = table.rows.find(k);
                out.push_back(it == table.rows.end() ? std::nullopt
                                                     : std::optional<Row>(it->second));
            }
            return out;
        }
        template <catalog::Reflected Row>
        std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) const {
            auto& table = t_.template of<Row>();
            std::vector<bool> out;
            out.reserve(keys.size());
            for (const auto& k : keys)
                out.push_back(table.rows.count(k) > 0);
            return out;
        }
        template <catalog::Reflected Row, std::size_t I>
        requires catalog::is_indexed<Row, I> std::vector<Row>
        find_by(std::span<const catalog::Field<Row, I>> values)
        const {
            auto& table = t_.template of<Row>();
            auto& index = table.template index<I>();
            std::vector<Row> out;
            for (const auto& v : values) {
                auto [lo, hi] = index.equal_range(std::tuple<const catalog::Field<Row, I>&>(v));
                for (auto it = lo; it != hi; ++it)
                    out.push_back(table.rows.at(std::get<1>(*it)));
            }
            return out;
        }
        template <catalog::Reflected Row>
        std::size_t erase(std::span<const catalog::Key<Row>> keys) {
            std::size_t n = 0;
            for (const auto& k : keys)
                n += assign<Row>(k, std::nullopt) ? 1 : 0;
            return n;
        }
        template <catalog::Reflected Row>
        std::size_t erase_exact(std::span<const Row> rows) {
            auto& table = t_.template of<Row>();
            std::size_t n = 0;
            for (const auto& r : rows) {
                auto key = catalog::key_of(r);
                auto it = table.rows.find(key);
                if (it == table.rows.end() || !(it->second == r))
                    continue;
                assign<Row>(key, std::nullopt);
                ++n;
            }
            return n;
        }
        template <catalog::Reflected Row, class Prefix>
        std::vector<Row> scan(const Prefix& prefix) const {
            auto& table = t_.template of<Row>();
            auto [lo, hi] = table.rows.equal_range(prefix);
            std::vector<Row> out;
            for (auto it = lo; it != hi; ++it)
                out.push_back(it->second);
            return out;
        }
        template <catalog::Reflected Row>
        bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                              const std::optional<Row>& desired) {
            auto& table = t_.template of<Row>();
            auto it = table.rows.find(key);
            bool matches = expected ? (it != table.rows.end() && it->second == *expected)
                                    : it == table.rows.end();
            if (!matches)
                return false;
            assign<Row>(key, desired);
            return true;
        }

    private:
        // Every change goes through here, so the undo log and the indexes stay exact.
        template <class Row>
        std::optional<Row> assign(const catalog::Key<Row>& key, const std::optional<Row>& value) {
            auto& table = t_.template of<Row>();
            auto old = table.assign(key, value);
            if (undo_)
                undo_->push_back([&table, key, old] { table.assign(key, old); });
            return old;
        }
        detail::Tables<catalog::Schema>& t_;
        Undo* undo_;
    };

public:
    template <catalog::Reflected Row>
    std::size_t insert(std::span<const Row> rows) {
        return write([&](Ops& o) { return o.insert(rows); });
    }
    template <catalog::Reflected Row>
    void upsert(std::span<const Row> rows) {
        write([&](Ops& o) {
            o.upsert(rows);
            return 0;
        });
    }
    template <catalog::Reflected Row>
    std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) const {
        return read([&](Ops& o) { return o.template find<Row>(keys); });
    }
    template <catalog::Reflected Row>
    std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) const {
        return read([&](Ops& o) { return o.template contains<Row>(keys); });
    }
    template <catalog::Reflected Row, std::size_t I>
    requires catalog::is_indexed<Row, I> std::vector<Row>
    find_by(std::span<const catalog::Field<Row, I>> values)
    const {
        return read([&](Ops& o) { return o.template find_by<Row, I>(values); });
    }
    template <catalog::Reflected Row>
    std::size_t erase(std::span<const catalog::Key<Row>> keys) {
        return write([&](Ops& o) { return o.template erase<Row>(keys); });
    }
    template <catalog::Reflected Row>
    std::size_t erase_exact(std::span<const Row> rows) {
        return write([&](Ops& o) { return o.erase_exact(rows); });
    }
    template <catalog::Reflected Row, class Prefix>
    std::vector<Row> scan(const Prefix& prefix) const {
        return read([&](Ops& o) { return o.template scan<Row>(prefix); });
    }
    template <catalog::Reflected Row>
    bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                          const std::optional<Row>& desired) {
        return write(
            [&](Ops& o) { return o.template compare_and_swap<Row>(key, expected, desired); });
    }

    // All of fn's effects, or none of them if it throws.
    template <class Fn>
    auto transact(Fn&& fn) {
        std::unique_lock lock(mutex_);
        Undo undo;
        Ops ops(tables_, &undo);
        try {
            return fn(ops);
        } catch (...) {
            for (auto it = undo.rbegin(); it != undo.rend(); ++it)
                (*it)();
            throw;
        }
    }

private:
    template <class Fn>
    auto read(Fn&& fn) const {
        std::shared_lock lock(mutex_);
        Ops ops(tables_, nullptr);
        return fn(ops);
    }
    template <class Fn>
    auto write(Fn&& fn) {
        return transact(std::forward<Fn>(fn));
    }

    mutable std::shared_mutex mutex_;
    mutable detail::Tables<catalog::Schema> tables_;
};

static_assert(musehub::Catalog<Catalog>);

} // namespace musehub::memory
