#pragma once
// Catalog: the hub's metadata (objects and where their bytes are, packs, snapshots, commits,
// per-repo membership, branches), spoken in the reflected row types of catalog/schema.hpp.
// Keeping the vocabulary to a handful of row-generic operations keeps the concept small as
// the algorithms grow: an algorithm step is a query over rows, not a new catalog method.
//
// Semantics every backend keeps (pinned by tests/contract):
//  - insert(rows): insert-or-ignore by primary key; returns how many rows were new. Repeating
//    an insert changes nothing and never duplicates a row. One call is one short transaction.
//  - upsert(rows): insert, or replace the row with the same key.
//  - find<Row>(keys) / contains<Row>(keys): one batched lookup, results in key order. Never
//    call these once per object; pass the whole batch.
//  - erase<Row>(keys): returns how many existed; erasing an absent key is not an error.
//  - scan<Row>(prefix): every row whose key starts with `prefix` (a tuple of leading key
//    fields; `std::tuple{}` for the whole table), in key order.
//  - find_by<Row, I>(values): every row whose field I (a position the table declares in
//    `indexes`) equals one of `values`; one batched query. GC asks "who still refers to
//    these objects?" this way.
//  - erase_exact(rows): deletes each row only if it is still exactly as given (every field,
//    timestamps included); returns how many it deleted. GC deletes what it scanned this way,
//    so a row a concurrent push refreshed in between survives.
//  - compare_and_swap<Row>(key, expected, desired): atomically, if the row at `key` equals
//    `expected` (nullopt: absent), make it `desired` (nullopt: delete) and return true;
//    otherwise change nothing and return false. Branches move only through this.
//  - transact(fn): runs fn(tx), where tx offers the same operations, as one transaction: all
//    of its effects become visible together or, if fn throws, none do. Keep it short and
//    never do object-store I/O inside it.
//  Failures of the database are `musehub::error` with errc::io.

#include "musehub/catalog/row.hpp"

#include <concepts>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace musehub::catalog {

// A table's reads, on `R&` (R may be const: a const hub reads through a const catalog).
template <class R, class Row, std::size_t I>
concept IndexRead = requires(R& r, std::span<const Field<Row, I>> values) {
    { r.template find_by<Row, I>(values) } -> std::same_as<std::vector<Row>>;
};
template <class R, class Row, class Seq>
inline constexpr bool reads_indexes = false;
template <class R, class Row, std::size_t... I>
inline constexpr bool reads_indexes<R, Row, std::index_sequence<I...>> = (IndexRead<R, Row, I> &&
                                                                          ...);

template <class R, class Row>
concept TableReads = requires(R& r, std::span<const Key<Row>> keys) {
    { r.template find<Row>(keys) } -> std::same_as<std::vector<std::optional<Row>>>;
    { r.template contains<Row>(keys) } -> std::same_as<std::vector<bool>>;
    { r.template scan<Row>(std::tuple<>{}) } -> std::same_as<std::vector<Row>>;
}
&&reads_indexes<R, Row, Indexes<Row>>;

// A table's writes.
template <class W, class Row>
concept TableWrites = requires(W& w, std::span<const Row> rows, std::span<const Key<Row>> keys,
                               const Key<Row>& key, const std::optional<Row>& row) {
    { w.insert(rows) } -> std::same_as<std::size_t>;
    { w.upsert(rows) } -> std::same_as<void>;
    { w.template erase<Row>(keys) } -> std::same_as<std::size_t>;
    { w.erase_exact(rows) } -> std::same_as<std::size_t>;
    { w.template compare_and_swap<Row>(key, row, row) } -> std::same_as<bool>;
};

template <class C, class Row>
concept TableOps = TableReads<C, Row> && TableWrites<C, Row>;

template <class R, class Tuple>
inline constexpr bool reads_all_tables = false;
template <class R, class... Rows>
inline constexpr bool reads_all_tables<R, std::tuple<Rows...>> = (TableReads<R, Rows> && ...);

template <class C, class Tuple>
inline constexpr bool operates_all_tables = false;
template <class C, class... Rows>
inline constexpr bool operates_all_tables<C, std::tuple<Rows...>> = (TableOps<C, Rows> && ...);

// What a reader offers: find, contains, find_by and scan on every table of the Schema.
template <class R>
concept CatalogReader = reads_all_tables<R, Schema>;

// What the handle transact(fn) passes to fn offers, and what the algorithms call on it (their
// `Tx`): every operation of the vocabulary above, on every table of the Schema. A catalog
// offers the same operations itself, each call one transaction of its own.
// The first table is checked on its own first: a fold over the tables is one atomic constraint,
// so the compiler could not say which operation is missing; TableOps can.
template <class Tx>
concept CatalogTransaction = TableOps<Tx, std::tuple_element_t<0, Schema>> && CatalogReader<Tx> &&
    operates_all_tables<Tx, Schema>;

namespace detail {
// Passed to transact() by the Catalog concept: returns the type of the handle it was given,
// so the concept can check that handle, not only what transact() returns.
struct TransactionProbe {
    template <class Tx>
    std::type_identity<Tx> operator()(Tx&) const {
        return {};
    }
};
template <class T>
concept NamesTransaction =
    std::same_as<T, std::type_identity<typename T::type>> && CatalogTransaction<typename T::type>;
} // namespace detail

// One-key lookups on a catalog or a transaction handle: find<Row> and contains<Row>
// with a single key, for the places that really have one (a repo row, a branch).
template <class Row, class Reader>
std::optional<Row> find_one(Reader& r, const Key<Row>& key) {
    return r.template find<Row>(std::span<const Key<Row>>(&key, 1))[0];
}
template <class Row, class Reader>
bool contains_one(Reader& r, const Key<Row>& key) {
    return r.template contains<Row>(std::span<const Key<Row>>(&key, 1))[0];
}

} // namespace musehub::catalog

namespace musehub {

// A catalog: every operation on every table, const reads (a const hub reads through a const
// catalog), and transact(fn), which passes fn a CatalogTransaction handle and returns what fn
// returns.
template <class C>
concept Catalog = catalog::CatalogTransaction<C> && catalog::CatalogReader<const C> &&
    requires(C& c) {
    { c.transact(catalog::detail::TransactionProbe{}) } -> catalog::detail::NamesTransaction;
};

namespace catalog {
// Capability: a catalog whose files keep the space deleted rows leave (SQLite's partly empty
// pages) gives it back when that is worth it; GC calls this once it has deleted. Returns
// whether it rewrote anything. Catalogs that reclaim on their own (memory; PostgreSQL, whose
// autovacuum makes dead rows' space reusable) have nothing to do.
template <Catalog C>
bool compact_storage(C& c) {
    if constexpr (requires { c.compact_storage(); })
        return c.compact_storage();
    else
        return false;
}
} // namespace catalog

} // namespace musehub
