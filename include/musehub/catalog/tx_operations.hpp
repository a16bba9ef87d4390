#pragma once
// The Catalog concept's operations, for a catalog whose operations live on a transaction object:
// each call outside transact() is one transaction of its own, a read or a write, run by the
// derived catalog (`read(fn)` / `write(fn)`, fn taking its transaction object). The SQL catalogs
// (SQLite, PostgreSQL) inherit them and keep only what differs: their Tx and their transactions.
//
//   class Catalog : public catalog::TxOperations<Catalog> {
//       friend class catalog::TxOperations<Catalog>;
//       template <class Fn> auto read(Fn&& fn) const;  // fn(tx) in a read transaction
//       template <class Fn> auto write(Fn&& fn);       // fn(tx) in a write transaction
//   };

#include "musehub/catalog/row.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace musehub::catalog {

template <class Derived>
class TxOperations {
public:
    template <Reflected Row>
    std::size_t insert(std::span<const Row> rows) {
        if (rows.empty())
            return 0;
        return self().write([&](auto& tx) { return tx.insert(rows); });
    }
    template <Reflected Row>
    void upsert(std::span<const Row> rows) {
        if (rows.empty())
            return;
        self().write([&](auto& tx) {
            tx.upsert(rows);
            return 0;
        });
    }
    template <Reflected Row>
    std::vector<std::optional<Row>> find(std::span<const Key<Row>> keys) const {
        if (keys.empty())
            return {};
        return self().read([&](auto& tx) { return tx.template find<Row>(keys); });
    }
    template <Reflected Row>
    std::vector<bool> contains(std::span<const Key<Row>> keys) const {
        if (keys.empty())
            return {};
        return self().read([&](auto& tx) { return tx.template contains<Row>(keys); });
    }
    template <Reflected Row, std::size_t I>
    requires is_indexed<Row, I> std::vector<Row> find_by(std::span<const Field<Row, I>> values)
    const {
        if (values.empty())
            return {};
        return self().read([&](auto& tx) { return tx.template find_by<Row, I>(values); });
    }
    template <Reflected Row>
    std::size_t erase(std::span<const Key<Row>> keys) {
        if (keys.empty())
            return 0;
        return self().write([&](auto& tx) { return tx.template erase<Row>(keys); });
    }
    template <Reflected Row>
    std::size_t erase_exact(std::span<const Row> rows) {
        if (rows.empty())
            return 0;
        return self().write([&](auto& tx) { return tx.erase_exact(rows); });
    }
    template <Reflected Row, class Prefix>
    std::vector<Row> scan(const Prefix& prefix) const {
        return self().read([&](auto& tx) { return tx.template scan<Row>(prefix); });
    }
    template <Reflected Row>
    bool compare_and_swap(const Key<Row>& key, const std::optional<Row>& expected,
                          const std::optional<Row>& desired) {
        return self().write(
            [&](auto& tx) { return tx.template compare_and_swap<Row>(key, expected, desired); });
    }

    // fn(tx) as one write transaction: all of its effects, or none of them if it throws.
    template <class Fn>
    decltype(auto) transact(Fn&& fn) {
        return self().write(fn);
    }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

} // namespace musehub::catalog
