#pragma once
// SQLite Catalog: the embedded default. One SQLite file (WAL, busy timeout, foreign keys on,
// prepared statements compiled once and reused), with every table, index and statement
// DERIVED from the Hana row descriptions of catalog/schema.hpp: there is one generic SQL
// template per operation (detail::Sql<Row>) and no per-table SQL anywhere.
//
// Derivation, for a table<Row> with fields f0…fn-1 of which the first K are the key:
//  - CREATE TABLE name (f0 TYPE NOT NULL, …, PRIMARY KEY (f0…fK-1)) — TYPE from the field's
//    C++ type (sqlite.hpp), NOT NULL unless the field is std::optional. Tables are WITHOUT
//    ROWID (clustered on the key, no second copy of 32-byte ids in a separate index) unless a
//    row carries a Bytes payload (snapshot and commit records), which SQLite stores better in
//    rowid tables.
//  - CREATE INDEX name_by_field ON name (field, key fields…) for each declared index.
//  - insert: INSERT OR IGNORE; upsert: INSERT OR REPLACE; erase: DELETE WHERE key = ?;
//    erase_exact: DELETE WHERE key = ? AND every other field IS ? (NULL-aware);
//    scan: SELECT … WHERE (first P key fields) = ? ORDER BY key; find/contains: SELECT … WHERE
//    key IN (…) for a batch of keys (a join with a VALUES list for compound keys); find_by: SELECT
//    … WHERE field IN (…); compare_and_swap: SELECT by key, compare in C++, then REPLACE or DELETE,
//    all in one transaction.
// Batched lookups bind up to 256 keys per statement execution (statements are compiled for
// 1, 8, 64 and 256 keys; a short batch repeats its last key), so a 10 000-key membership
// query is ~40 executions of one cached statement inside one read transaction.
// Results come back in the memory catalog's order (std::tuple `<` of the C++ key values),
// which SQLite's ORDER BY matches for BLOB ids (memcmp) and BINARY-collated TEXT; results are
// still checked (and sorted if need be) in C++, so an integer key column would stay correct.
//
// Transactions: a call outside transact() is one transaction (BEGIN IMMEDIATE for writes,
// a deferred BEGIN for reads, so a batched read sees one snapshot). transact(fn) is one
// BEGIN IMMEDIATE … COMMIT, rolled back if fn throws; its tx offers the same operations
// without nesting transactions. Writers take the write lock up front so two processes on
// one file wait for each other (busy timeout) instead of failing.
//
// Threads: one connection per Catalog, used under a mutex held for each call (and for the
// whole of a transact()); SQLite serialises writers anyway, and in-process reads are short.
// Processes: several may open the same file; SQLite's locks and the busy timeout order them.
//
// Schema versions: `PRAGMA user_version` (slot 0 of sqlite::migrate; the job queue may share
// the file in slot 1). Version 1 creates every table and index the description names. After
// migrating, the columns of every table are compared with the description, and a file that
// does not match is refused with errc::unsupported naming the table; a change to a row struct
// therefore comes with a new migration step that brings existing files to it (ALTER TABLE).
// Foreign keys: the references the row descriptions declare (catalog::Reference) are not
// emitted here yet — SQLite cannot add a constraint to an existing table without rebuilding
// it, which needs a migration of its own. The algorithms keep them (GC deletes with
// erase_exact, refs before rows), the contract suite checks it, and the PostgreSQL catalog
// enforces them. PRAGMA foreign_keys is on for when they are.

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/row.hpp"
#include "musehub/catalog/schema.hpp"
#include "musehub/catalog/tx_operations.hpp"
#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"
#include "musehub/fs/sqlite.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace musehub::fs {

namespace detail {

// Keys (or index values) bound per execution of a batched lookup.
inline constexpr std::array<std::size_t, 4> batch_sizes{1, 8, 64, 256};
inline std::size_t batch_slot(std::size_t remaining) {
    for (std::size_t s = 0; s < batch_sizes.size(); ++s)
        if (batch_sizes[s] >= remaining)
            return s;
    return batch_sizes.size() - 1;
}

template <class Row, std::size_t... I>
constexpr bool has_bytes(std::index_sequence<I...>) {
    return (std::is_same_v<sqlite::field_type<Row, I>, Bytes> || ...);
}

// The SQL of every operation on table<Row>, derived from its description once per process.
template <class Row>
struct Sql : musehub::detail::sql::Columns<Row, catalog::table<Row>::key_size> {
    using table = catalog::table<Row>;
    using Columns = musehub::detail::sql::Columns<Row, table::key_size>;
    using Columns::all, Columns::cols, Columns::K, Columns::keys, Columns::N;

    static std::string name() { return sqlite::quote(table::name); }
    // "t.c0, t.c1, …" over the first n columns.
    static std::string qualified(std::size_t n) {
        return "t." + sqlite::join(cols(), 0, n, ", t.");
    }
    // "k0 = ? AND k1 = ?" over the first n key columns.
    static std::string key_equals(std::size_t n) {
        return sqlite::join(cols(), 0, n, " AND ", " = ?");
    }

    // ", k0, k1, …": the key columns other than column i.
    static std::string other_keys(std::size_t i) {
        std::string out;
        for (std::size_t k = 0; k < K; ++k)
            if (k != i)
                out += ", " + cols()[k];
        return out;
    }

    static std::vector<std::string> create() {
        std::vector<std::string> out;
        bool rowid = has_bytes<Row>(std::make_index_sequence<N>{});
        out.push_back("CREATE TABLE IF NOT EXISTS " + name() + " (" + sqlite::column_defs<Row>() +
                      ", PRIMARY KEY (" + keys() + "))" + (rowid ? "" : " WITHOUT ROWID"));
        auto fields = sqlite::field_names<Row>();
        for (auto i : table::indexes) {
            std::string columns = cols()[i];
            columns += other_keys(i);
            out.push_back("CREATE INDEX IF NOT EXISTS " +
                          sqlite::quote(std::string(table::name) + "_by_" + fields[i]) + " ON " +
                          name() + " (" + columns + ")");
        }
        return out;
    }

    static const std::string& insert() {
        static const std::string s = "INSERT OR IGNORE INTO " + name() + " (" + all() +
                                     ") VALUES (" + sqlite::placeholders(N) + ")";
        return s;
    }
    static const std::string& upsert() {
        static const std::string s = "INSERT OR REPLACE INTO " + name() + " (" + all() +
                                     ") VALUES (" + sqlite::placeholders(N) + ")";
        return s;
    }
    static const std::string& erase() {
        static const std::string s = "DELETE FROM " + name() + " WHERE " + key_equals(K);
        return s;
    }
    // Key columns compare with `=` (they are NOT NULL and so use the primary key), the rest
    // with `IS`, which treats two NULLs as equal.
    static const std::string& erase_exact() {
        static const std::string s = [] {
            std::string where = key_equals(K);
            for (std::size_t i = K; i < N; ++i)
                where += " AND " + cols()[i] + " IS ?";
            return "DELETE FROM " + name() + " WHERE " + where;
        }();
        return s;
    }
    // Rows whose first `p` key fields equal the bound prefix, in key order.
    static const std::string& scan(std::size_t p) {
        static const auto s = [] {
            std::array<std::string, K + 1> out;
            for (std::size_t n = 0; n <= K; ++n)
                out[n] = "SELECT " + all() + " FROM " + name() +
                         (n ? " WHERE " + key_equals(n) : std::string()) + " ORDER BY " + keys();
            return out;
        }();
        return s[p];
    }
    // Rows (or, for contains, just their keys) whose key is one of batch_sizes[slot] keys.
    static const std::string& by_keys(std::size_t slot, bool whole_rows) {
        static const auto s = [] {
            std::array<std::array<std::string, batch_sizes.size()>, 2> out;
            for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
                // One key column: `k IN (…)`, a primary-key search per value. Compound keys
                // join a VALUES list (`(k0, k1) IN (VALUES …)` would scan the whole table).
                std::string from;
                if constexpr (K == 1)
                    from = " FROM " + name() + " AS t WHERE t." + cols()[0] + " IN (" +
                           sqlite::placeholders(batch_sizes[b]) + ")";
                else {
                    from = " FROM (VALUES ";
                    for (std::size_t i = 0; i < batch_sizes[b]; ++i)
                        from += (i ? ", (" : "(") + sqlite::placeholders(K) + ")";
                    from += ") AS v JOIN " + name() + " AS t ON ";
                    for (std::size_t k = 0; k < K; ++k)
                        from += (k ? " AND t." : "t.") + cols()[k] + " = v.column" +
                                std::to_string(k + 1);
                }
                out[0][b] = "SELECT " + qualified(K) + from;
                out[1][b] = "SELECT " + qualified(N) + from;
            }
            return out;
        }();
        return s[whole_rows ? 1 : 0][slot];
    }
    // Rows whose field I is one of batch_sizes[slot] values.
    template <std::size_t I>
    static const std::string& by_field(std::size_t slot) {
        static const auto s = [] {
            std::array<std::string, batch_sizes.size()> out;
            for (std::size_t b = 0; b < batch_sizes.size(); ++b)
                out[b] = "SELECT " + all() + " FROM " + name() + " WHERE " + cols()[I] + " IN (" +
                         sqlite::placeholders(batch_sizes[b]) + ") ORDER BY " + cols()[I] +
                         other_keys(I);
            return out;
        }();
        return s[slot];
    }
};

// Calls fn(first, count, slot) for consecutive batches covering [0, n).
template <class Fn>
void for_batches(std::size_t n, Fn&& fn) {
    for (std::size_t first = 0; first < n;) {
        auto slot = batch_slot(n - first);
        auto count = std::min(batch_sizes[slot], n - first);
        fn(first, count, slot);
        first += count;
    }
}

// Binds the elements of a tuple to parameters first, first+1, …
template <class Tuple>
void bind_tuple(sqlite::Query& q, const Tuple& t, int first) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (q.bind(first + static_cast<int>(I), std::get<I>(t)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

template <class Row>
catalog::Key<Row> read_key(const sqlite::Query& q) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return catalog::Key<Row>{
            q.template column<std::tuple_element_t<I, catalog::Key<Row>>>(static_cast<int>(I))...};
    }
    (std::make_index_sequence<catalog::table<Row>::key_size>{});
}

} // namespace detail

class Catalog : public catalog::TxOperations<Catalog> {
public:
    using Options = sqlite::Options;

    // The operations, run on the connection inside a transaction the caller holds.
    class Tx {
    public:
        explicit Tx(sqlite::Connection& db) noexcept : db_(db) {}

        template <catalog::Reflected Row>
        std::size_t insert(std::span<const Row> rows) {
            return each(detail::Sql<Row>::insert(), rows);
        }
        template <catalog::Reflected Row>
        void upsert(std::span<const Row> rows) {
            each(detail::Sql<Row>::upsert(), rows);
        }

        template <catalog::Reflected Row>
        std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) {
            std::vector<std::optional<Row>> out(keys.size());
            std::vector<Row> found;
            detail::for_batches(keys.size(),
                                [&](std::size_t first, std::size_t count, std::size_t slot) {
                                    auto q = db_.query(detail::Sql<Row>::by_keys(slot, true));
                                    bind_keys<Row>(q, keys, first, count, slot);
                                    found.clear();
                                    while (q.step())
                                        found.push_back(sqlite::read_row<Row>(q));
                                    catalog::answer_find<Row>(keys.subspan(first, count), found,
                                                              std::span(out).subspan(first, count));
                                });
            return out;
        }

        template <catalog::Reflected Row>
        std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) {
            std::vector<bool> out(keys.size());
            std::vector<catalog::Key<Row>> found;
            detail::for_batches(
                keys.size(), [&](std::size_t first, std::size_t count, std::size_t slot) {
                    auto q = db_.query(detail::Sql<Row>::by_keys(slot, false));
                    bind_keys<Row>(q, keys, first, count, slot);
                    found.clear();
                    while (q.step())
                        found.push_back(detail::read_key<Row>(q));
                    catalog::answer_contains<Row>(keys.subspan(first, count), found,
                                                  out.begin() + static_cast<std::ptrdiff_t>(first));
                });
            return out;
        }

        // For each value in order, the rows whose field I equals it, in key order (a value
        // given twice answers twice, as in the memory catalog).
        template <catalog::Reflected Row, std::size_t I>
        requires catalog::is_indexed<Row, I> std::vector<Row>
        find_by(std::span<const catalog::Field<Row, I>> values) {
            std::vector<Row> out, found;
            detail::for_batches(
                values.size(), [&](std::size_t first, std::size_t count, std::size_t slot) {
                    auto q = db_.query(detail::Sql<Row>::template by_field<I>(slot));
                    for (std::size_t j = 0; j < detail::batch_sizes[slot]; ++j)
                        q.bind(static_cast<int>(j + 1), values[first + std::min(j, count - 1)]);
                    found.clear();
                    while (q.step())
                        found.push_back(sqlite::read_row<Row>(q));
                    catalog::answer_find_by<Row, I>(values.subspan(first, count), found, out);
                });
            return out;
        }

        template <catalog::Reflected Row>
        std::size_t erase(std::span<const catalog::Key<Row>> keys) {
            if (keys.empty())
                return 0;
            auto q = db_.query(detail::Sql<Row>::erase());
            std::size_t n = 0;
            for (const auto& k : keys) {
                detail::bind_tuple(q, k, 1);
                n += q.run();
                q.reset();
            }
            return n;
        }

        template <catalog::Reflected Row>
        std::size_t erase_exact(std::span<const Row> rows) {
            return each(detail::Sql<Row>::erase_exact(), rows);
        }

        // Every row whose key starts with `prefix` (leading key fields), in key order.
        template <catalog::Reflected Row, class Prefix>
        std::vector<Row> scan(const Prefix& prefix) {
            constexpr std::size_t P = std::tuple_size_v<Prefix>;
            static_assert(P <= catalog::table<Row>::key_size, "a scan prefix is part of the key");
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                static_assert((std::is_convertible_v<std::tuple_element_t<I, Prefix>,
                                                     std::tuple_element_t<I, catalog::Key<Row>>> &&
                               ...),
                              "a scan prefix holds the leading key fields' types");
            }
            (std::make_index_sequence<P>{});
            auto q = db_.query(detail::Sql<Row>::scan(P));
            detail::bind_tuple(q, prefix, 1);
            std::vector<Row> out;
            while (q.step())
                out.push_back(sqlite::read_row<Row>(q));
            catalog::sort_if_needed(out, [](const Row& a, const Row& b) {
                return catalog::key_of(a) < catalog::key_of(b);
            });
            return out;
        }

        template <catalog::Reflected Row>
        bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                              const std::optional<Row>& desired) {
            if (desired && !(catalog::key_of(*desired) == key))
                fail(errc::invalid_argument,
                     "compare_and_swap: the desired row's key is not the key swapped");
            auto current = find<Row>(std::span<const catalog::Key<Row>>(&key, 1))[0];
            bool matches = expected ? (current && *current == *expected) : !current;
            if (!matches)
                return false;
            if (desired) {
                if (!(current && *current == *desired))
                    upsert(std::span<const Row>(&*desired, 1));
            } else if (current) {
                erase<Row>(std::span<const catalog::Key<Row>>(&key, 1));
            }
            return true;
        }

    private:
        // Runs `sql` once per row with the row's fields bound in order; returns rows changed.
        template <class Row>
        std::size_t each(const std::string& sql, std::span<const Row> rows) {
            if (rows.empty())
                return 0;
            auto q = db_.query(sql);
            std::size_t n = 0;
            for (const auto& r : rows) {
                sqlite::bind_fields(q, r);
                n += q.run();
                q.reset();
            }
            return n;
        }
        // Binds keys[first, first+count) to a statement compiled for batch_sizes[slot] keys,
        // repeating the last key to fill it.
        template <class Row>
        static void bind_keys(sqlite::Query& q, std::span<const catalog::Key<Row>> keys,
                              std::size_t first, std::size_t count, std::size_t slot) {
            constexpr int K = static_cast<int>(catalog::table<Row>::key_size);
            for (std::size_t j = 0; j < detail::batch_sizes[slot]; ++j)
                detail::bind_tuple(q, keys[first + std::min(j, count - 1)],
                                   1 + static_cast<int>(j) * K);
        }

        sqlite::Connection& db_;
    };

    explicit Catalog(std::filesystem::path db_file, Options options = {})
        : file_(std::move(db_file)), db_(file_, options) {
        static const std::array<sqlite::Migration, 3> steps{
            // 1: every table and index of the description (as it is now: later steps must
            // find their change already made on a file created fresh).
            [](sqlite::Connection& db) {
                [&]<class... Rows>(std::type_identity<std::tuple<Rows...>>) {
                    (create<Rows>(db), ...);
                }(std::type_identity<catalog::Schema>{});
            },
            // 2: snapshots may be deltas against a base snapshot (algo/snapshots.hpp).
            [](sqlite::Connection& db) {
                add_columns(db, "snapshots",
                            {{"base", "BLOB"}, {"depth", "INTEGER NOT NULL DEFAULT 0"}});
                create<catalog::SnapshotRow>(db); // IF NOT EXISTS: just the new index
            },
            // 3: objects may be deltas against a base object (core/object_codec.hpp).
            [](sqlite::Connection& db) {
                add_columns(db, "locations",
                            {{"base", "BLOB"}, {"depth", "INTEGER NOT NULL DEFAULT 0"}});
                create<catalog::LocationRow>(db); // IF NOT EXISTS: just the new index
            },
        };
        sqlite::migrate(db_, 0, steps, "catalog");
        [&]<class... Rows>(std::type_identity<std::tuple<Rows...>>) {
            (verify<Rows>(), ...);
        }(std::type_identity<catalog::Schema>{});
    }

    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

private:
    // Adds the columns `table` lacks (a file made fresh by step 1 has them all already).
    static void add_columns(sqlite::Connection& db, const std::string& table,
                            std::initializer_list<std::pair<const char*, const char*>> columns) {
        auto have = sqlite::table_columns(db, table);
        for (auto [column, type] : columns)
            if (std::find(have.begin(), have.end(), sqlite::quote(column)) == have.end())
                db.exec("ALTER TABLE " + sqlite::quote(table) + " ADD COLUMN " +
                        sqlite::quote(column) + " " + type);
    }

public:
    const std::filesystem::path& file() const noexcept { return file_; }

    // Capability (catalog::compact_storage): after a collection, rewrites the file if its
    // deletes left a quarter of it unused (sqlite::Connection::rewrite_if_part_empty).
    bool compact_storage() {
        std::lock_guard lock(mutex_);
        return db_.rewrite_if_part_empty();
    }

private:
    friend class catalog::TxOperations<Catalog>;

    template <class Fn>
    std::invoke_result_t<Fn&, Tx&> read(Fn&& fn) const {
        return run(sqlite::Transaction::read, fn);
    }
    // A write, then (outside it) the compaction a large delete calls for.
    template <class Fn>
    std::invoke_result_t<Fn&, Tx&> write(Fn&& fn) {
        if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Tx&>>) {
            run(sqlite::Transaction::write, fn);
            compact();
        } else {
            auto result = run(sqlite::Transaction::write, fn);
            compact();
            return result;
        }
    }
    void compact() {
        std::lock_guard lock(mutex_);
        db_.compact_if_sparse();
    }
    template <class Fn>
    std::invoke_result_t<Fn&, Tx&> run(sqlite::Transaction::Mode mode, Fn& fn) const {
        std::lock_guard lock(mutex_);
        sqlite::Transaction transaction(db_, mode);
        Tx tx(db_);
        if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Tx&>>) {
            fn(tx);
            transaction.commit();
        } else {
            auto result = fn(tx);
            transaction.commit();
            return result;
        }
    }

    template <class Row>
    static void create(sqlite::Connection& db) {
        for (const auto& sql : detail::Sql<Row>::create())
            db.exec(sql);
    }
    // The table in the file has exactly the columns the description names, in order.
    template <class Row>
    void verify() {
        auto have = sqlite::table_columns(db_, catalog::table<Row>::name);
        const auto& want = detail::Sql<Row>::cols();
        if (have != want)
            fail(errc::unsupported, "sqlite: " + file_.string() + ": table '" +
                                        std::string(catalog::table<Row>::name) + "' has columns (" +
                                        sqlite::join(have, 0, have.size(), ", ") +
                                        ") but this build describes (" +
                                        sqlite::join(want, 0, want.size(), ", ") + ")");
    }

    std::filesystem::path file_;
    mutable std::mutex mutex_;
    mutable sqlite::Connection db_;
};

static_assert(musehub::Catalog<Catalog>);

} // namespace musehub::fs
