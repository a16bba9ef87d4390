#pragma once
// In-memory Catalog: one ordered map per reflected table, derived from catalog/schema.hpp.
// A shared mutex gives readers concurrency and writers serial order; transact() holds the
// write lock for its whole body and undoes every effect if the body throws.

#include "musehub/catalog/concept.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace musehub::memory {

namespace detail {
// Orders keys, and compares a key with any shorter prefix of it, so one map serves both
// point lookups and prefix scans.
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

template <class Row>
using Table = std::map<catalog::Key<Row>, Row, PrefixLess>;

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
    // The operations, on tables the caller has locked; `undo` (when set) records inverses.
    class Ops {
    public:
        Ops(detail::Tables<catalog::Schema>& t, std::vector<std::function<void()>>* undo)
            : t_(t), undo_(undo) {}

        template <catalog::Reflected Row>
        std::size_t insert(std::span<const Row> rows) {
            auto& table = t_.template of<Row>();
            std::size_t added = 0;
            for (const auto& r : rows) {
                auto [it, fresh] = table.try_emplace(catalog::key_of(r), r);
                if (fresh) {
                    ++added;
                    record([&table, k = it->first] { table.erase(k); });
                }
            }
            return added;
        }
        template <catalog::Reflected Row>
        void upsert(std::span<const Row> rows) {
            for (const auto& r : rows)
                put<Row>(catalog::key_of(r), r);
        }
        template <catalog::Reflected Row>
        std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) const {
            auto& table = t_.template of<Row>();
            std::vector<std::optional<Row>> out;
            out.reserve(keys.size());
            for (const auto& k : keys) {
                auto it = table.find(k);
                out.push_back(it == table.end() ? std::nullopt : std::optional<Row>(it->second));
            }
            return out;
        }
        template <catalog::Reflected Row>
        std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) const {
            auto& table = t_.template of<Row>();
            std::vector<bool> out;
            out.reserve(keys.size());
            for (const auto& k : keys)
                out.push_back(table.count(k) > 0);
            return out;
        }
        template <catalog::Reflected Row>
        std::size_t erase(std::span<const catalog::Key<Row>> keys) {
            std::size_t n = 0;
            for (const auto& k : keys)
                n += put<Row>(k, std::nullopt) ? 1 : 0;
            return n;
        }
        template <catalog::Reflected Row, class Prefix>
        std::vector<Row> scan(const Prefix& prefix) const {
            auto& table = t_.template of<Row>();
            auto [lo, hi] = table.equal_range(prefix);
            std::vector<Row> out;
            for (auto it = lo; it != hi; ++it)
                out.push_back(it->second);
            return out;
        }
        template <catalog::Reflected Row>
        bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                              const std::optional<Row>& desired) {
            auto& table = t_.template of<Row>();
            auto it = table.find(key);
            bool matches =
                expected ? (it != table.end() && it->second == *expected) : it == table.end();
            if (!matches)
                return false;
            put<Row>(key, desired);
            return true;
        }

    private:
        // Sets or deletes one row, recording how to restore the old state. True if a row existed.
        template <class Row>
        bool put(const catalog::Key<Row>& key, const std::optional<Row>& value) {
            auto& table = t_.template of<Row>();
            auto it = table.find(key);
            std::optional<Row> old;
            if (it != table.end())
                old = it->second;
            if (value)
                table.insert_or_assign(key, *value);
            else if (it != table.end())
                table.erase(it);
            if (old || value)
                record([&table, key, old] {
                    if (old)
                        table.insert_or_assign(key, *old);
                    else
                        table.erase(key);
                });
            return old.has_value();
        }
        void record(std::function<void()> f) {
            if (undo_)
                undo_->push_back(std::move(f));
        }
        detail::Tables<catalog::Schema>& t_;
        std::vector<std::function<void()>>* undo_;
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
    template <catalog::Reflected Row>
    std::size_t erase(std::span<const catalog::Key<Row>> keys) {
        return write([&](Ops& o) { return o.template erase<Row>(keys); });
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
        std::vector<std::function<void()>> undo;
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
