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
#include <vector>

namespace musehub::catalog {

template <class C, class Row, class Seq>
struct IndexOps;
template <class C, class Row, std::size_t... I>
struct IndexOps<C, Row, std::index_sequence<I...>>
    : std::bool_constant<(requires(C& c, std::span<const Field<Row, I>> values) {
    { c.template find_by<Row, I>(values) } -> std::same_as<std::vector<Row>>;
      } && ...)> {};

      template <class C, class Row>
      concept TableOps = requires(C& c, std::span<const Row> rows, std::span<const Key<Row>> keys,
                                  const Key<Row>& key, const std::optional<Row>& row) {
          { c.insert(rows) } -> std::same_as<std::size_t>;
          { c.upsert(rows) } -> std::same_as<void>;
          { c.template find<Row>(keys) } -> std::same_as<std::vector<std::optional<Row>>>;
          { c.template contains<Row>(keys) } -> std::same_as<std::vector<bool>>;
          { c.template erase<Row>(keys) } -> std::same_as<std::size_t>;
          { c.template scan<Row>(std::tuple<>{}) } -> std::same_as<std::vector<Row>>;
          { c.template compare_and_swap<Row>(key, row, row) } -> std::same_as<bool>;
          { c.erase_exact(rows) } -> std::same_as<std::size_t>;
      }
      &&IndexOps<C, Row, Indexes<Row>>::value;

      template <class C, class Tuple>
      struct all_tables;
      template <class C, class... Rows>
      struct all_tables<C, std::tuple<Rows...>> : std::bool_constant<(TableOps<C, Rows> && ...)> {};

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

      template <class C>
      concept Catalog = catalog::all_tables<C, catalog::Schema>::value && requires(C& c) {
          {
              c.transact([](auto&) { return 0; })
              } -> std::same_as<int>;
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
