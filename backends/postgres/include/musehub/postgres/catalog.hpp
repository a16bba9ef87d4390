#pragma once
// PostgreSQL Catalog: the server catalog, over libpq (pq.hpp), with every table, index and
// statement DERIVED from the Hana row descriptions of catalog/schema.hpp, as the SQLite
// catalog derives its own: one generic SQL template per operation, no per-table SQL.
//
// Round trips are O(batches), not O(rows): a whole batch travels as one array parameter per
// column and is taken apart on the server by unnest(), so every operation is ONE statement
// whatever the batch size:
//  - insert:      INSERT … SELECT * FROM unnest($1::bytea[], $2::int8[], …) ON CONFLICT DO NOTHING
//  - upsert:      the same, ON CONFLICT (key) DO UPDATE SET every other column (the last row
//                 per key wins, as in the other catalogs; duplicates are dropped client-side,
//                 since one statement may not update a row twice)
//  - erase:       DELETE … USING unnest(key arrays) AS k(…) WHERE key = k.key
//  - erase_exact: DELETE … USING unnest(all arrays) AS v(…) WHERE every column IS NOT
//                 DISTINCT FROM v's (NULL-aware)
//  - find / contains: key = ANY($1) (one key column) or a join with unnest(key arrays);
//                 find_by: field = ANY($1); scan: WHERE leading key = $… ORDER BY key.
// Results are put back in the order the concept promises in C++ (catalog/row.hpp).
//
// compare_and_swap never relies on the isolation level: it is one conditional statement,
// `UPDATE … SET … WHERE key = $k AND every other column IS NOT DISTINCT FROM $expected`
// (INSERT … ON CONFLICT DO NOTHING when nothing is expected, DELETE … WHERE … = $expected
// when nothing is desired), and it won iff the statement changed one row.
//
// Transactions: writers serialise on one transaction-scoped advisory lock (per schema), taken by
// transact() and by every write outside it (BEGIN; SELECT pg_advisory_xact_lock(…); … COMMIT),
// so a transaction sees no other writer commit while it runs — the guarantee the SQLite
// catalog's BEGIN IMMEDIATE gives, and the one the algorithms' epoch checks are written
// against (see catalog/concept.hpp). Reads are single statements and take no lock. Writers of
// different repos therefore wait for each other too; finer locks would need the algorithms to
// name what they lock.
//
// Connections: a pool (pq::Pool). A statement or transaction whose session the server drops
// (a restart, a failover, pg_terminate_backend) is run again on a new connection: the lost
// session committed nothing, so the batch is neither lost nor applied twice, and a push
// carries on. transact(fn) may therefore run fn more than once (catalog/concept.hpp).
//
// Schema versions: the table `musehub_schema` (component → version), migrated under the same
// advisory lock so concurrent starters do not race. Version 1 creates every table and index
// the description names. After migrating, the columns of every table are compared with the
// description, and a database that does not match is refused (errc::unsupported).
//
// Foreign keys: every reference the row descriptions declare (a ref cannot outlive its object,
// snapshot or commit; a location is of a known object; a delta cannot outlive its base) is a
// foreign key, DEFERRABLE INITIALLY DEFERRED: checked when a transaction commits, so the
// algorithms' order of writes inside one does not matter, and a write that would break one
// fails whole (errc::io, SQLSTATE 23503) instead of leaving a dangling row. Migration 2 adds
// them to a database that predates them.

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/row.hpp"
#include "musehub/catalog/schema.hpp"
#include "musehub/catalog/tx_operations.hpp"
#include "musehub/core/error.hpp"
#include "musehub/detail/reflect.hpp"
#include "musehub/detail/sql.hpp"
#include "musehub/postgres/pq.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace musehub::postgres {

namespace detail {

namespace reflect = musehub::detail::reflect;
namespace sql = musehub::detail::sql;

// BEGIN, then the lock every writer of the schema takes.
inline std::string begin_write(const pq::Options& options) {
    return "BEGIN; SELECT pg_advisory_xact_lock(" +
           std::to_string(pq::lock_key(options.schema, "writers")) + ")";
}

template <class Row, std::size_t I>
using field_type = reflect::field_type<Row, I>;

template <class Row>
std::string column_defs() {
    auto names = sql::column_names<Row>();
    std::string out;
    reflect::for_each_field<Row>([&](auto i) {
        using T = field_type<Row, decltype(i)::value>;
        out += (i ? ", " : "") + names[i] + " " + pq::column_type<T>() +
               (pq::is_optional<T> ? "" : " NOT NULL");
    });
    return out;
}

// Appends the fields [First, Last) of every row as one array parameter each.
template <std::size_t First, std::size_t Last, class Row>
void add_columns(pq::Params& p, std::span<const Row> rows) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (p.add_array(
             rows, [](const Row& r) -> const auto& { return reflect::member<First + I>(r); }),
         ...);
    }
    (std::make_index_sequence<Last - First>{});
}
// Appends the elements of keys (tuples) as one array parameter per key position.
template <class Key>
void add_key_columns(pq::Params& p, std::span<const Key> keys) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (p.add_array(
             keys, [](const Key& k) -> const auto& { return std::get<I>(k); }),
         ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Key>>{});
}
// Appends fields [First, Last) of one row as scalar parameters.
template <std::size_t First, std::size_t Last, class Row>
void add_fields(pq::Params& p, const Row& r) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (p.add(reflect::member<First + I>(r)), ...);
    }
    (std::make_index_sequence<Last - First>{});
}

template <class Row>
Row read_row(const pq::Result& r, int row) {
    Row out{};
    reflect::for_each_field<Row>([&](auto i) {
        constexpr std::size_t I = decltype(i)::value;
        reflect::member<I>(out) = r.get<field_type<Row, I>>(row, static_cast<int>(I));
    });
    return out;
}
template <class Row>
catalog::Key<Row> read_key(const pq::Result& r, int row) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return catalog::Key<Row>{
            r.get<std::tuple_element_t<I, catalog::Key<Row>>>(row, static_cast<int>(I))...};
    }
    (std::make_index_sequence<catalog::table<Row>::key_size>{});
}

// The SQL of every operation on table<Row>, derived from its description once per process.
template <class Row>
struct Sql : musehub::detail::sql::Columns<Row, catalog::table<Row>::key_size> {
    using table = catalog::table<Row>;
    using Columns = musehub::detail::sql::Columns<Row, table::key_size>;
    using Columns::all, Columns::cols, Columns::K, Columns::keys, Columns::N;

    static std::string name() { return sql::quote(table::name); }
    // "$1::bytea[], $2::int8[], …" for fields [first, last).
    static std::string arrays(std::size_t first, std::size_t last) {
        static const auto types = [] {
            std::vector<std::string> t;
            reflect::for_each_field<Row>([&](auto i) {
                t.push_back(pq::type_of<field_type<Row, decltype(i)::value>>().sql);
            });
            return t;
        }();
        std::string out;
        for (std::size_t i = first; i < last; ++i)
            out +=
                (i > first ? ", $" : "$") + std::to_string(i - first + 1) + "::" + types[i] + "[]";
        return out;
    }
    // "a.c0 = b.c0 AND …" over fields [first, last), with `op` between the sides.
    static std::string match(std::string_view a, std::string_view b, std::size_t first,
                             std::size_t last, std::string_view op = " = ") {
        std::string out;
        for (std::size_t i = first; i < last; ++i)
            out += (i > first ? " AND " : "") + std::string(a) + "." + cols()[i] + std::string(op) +
                   std::string(b) + "." + cols()[i];
        return out;
    }
    // "c0 = $p, c1 = $p+1 …" over fields [first, last), joined by `sep`.
    static std::string equals_params(std::size_t first, std::size_t last, std::size_t p,
                                     std::string_view sep, std::string_view op = " = ") {
        std::string out;
        for (std::size_t i = first; i < last; ++i)
            out += (i > first ? std::string(sep) : std::string()) + cols()[i] + std::string(op) +
                   "$" + std::to_string(p + i - first);
        return out;
    }

    static std::vector<std::string> create() {
        std::vector<std::string> out;
        out.push_back("CREATE TABLE IF NOT EXISTS " + name() + " (" + column_defs<Row>() +
                      ", PRIMARY KEY (" + keys() + "))");
        auto fields = reflect::field_names<Row>();
        for (auto i : table::indexes) {
            std::string columns = cols()[i];
            for (std::size_t k = 0; k < K; ++k)
                if (k != i)
                    columns += ", " + cols()[k];
            out.push_back("CREATE INDEX IF NOT EXISTS " +
                          sql::quote(std::string(table::name) + "_by_" + fields[i]) + " ON " +
                          name() + " (" + columns + ")");
        }
        return out;
    }

    static const std::string& insert() {
        static const std::string s = "INSERT INTO " + name() + " (" + all() +
                                     ") SELECT * FROM unnest(" + arrays(0, N) +
                                     ") ON CONFLICT DO NOTHING";
        return s;
    }
    static const std::string& upsert() {
        static const std::string s = [] {
            std::string set;
            for (std::size_t i = K; i < N; ++i)
                set += (i > K ? ", " : "") + cols()[i] + " = EXCLUDED." + cols()[i];
            return "INSERT INTO " + name() + " (" + all() + ") SELECT * FROM unnest(" +
                   arrays(0, N) + ") ON CONFLICT (" + keys() + ") " +
                   (N > K ? "DO UPDATE SET " + set : std::string("DO NOTHING"));
        }();
        return s;
    }
    static const std::string& erase() {
        static const std::string s = "DELETE FROM " + name() + " AS t USING unnest(" +
                                     arrays(0, K) + ") AS k(" + keys() + ") WHERE " +
                                     match("t", "k", 0, K);
        return s;
    }
    static const std::string& erase_exact() {
        static const std::string s =
            "DELETE FROM " + name() + " AS t USING unnest(" + arrays(0, N) + ") AS v(" + all() +
            ") WHERE " + match("t", "v", 0, K) +
            (N > K ? " AND " + match("t", "v", K, N, " IS NOT DISTINCT FROM ") : std::string());
        return s;
    }
    // Rows (or just their keys) whose key is one of the keys given as arrays.
    static const std::string& by_keys(bool whole_rows) {
        static const auto s = [] {
            std::array<std::string, 2> out;
            std::string from;
            if constexpr (K == 1)
                from = " FROM " + name() + " AS t WHERE t." + cols()[0] + " = ANY(" + arrays(0, 1) +
                       ")";
            else
                from = " FROM " + name() + " AS t JOIN unnest(" + arrays(0, K) + ") AS k(" +
                       keys() + ") ON " + match("t", "k", 0, K);
            out[0] = "SELECT t." + sql::join(cols(), 0, K, ", t.") + from;
            out[1] = "SELECT t." + sql::join(cols(), 0, N, ", t.") + from;
            return out;
        }();
        return s[whole_rows ? 1 : 0];
    }
    template <std::size_t I>
    static const std::string& by_field() {
        static const std::string s = [] {
            return "SELECT " + all() + " FROM " + name() + " WHERE " + cols()[I] +
                   " = ANY($1::" + pq::type_of<field_type<Row, I>>().sql + "[])";
        }();
        return s;
    }
    static const std::string& scan(std::size_t p) {
        static const auto s = [] {
            std::array<std::string, K + 1> out;
            for (std::size_t n = 0; n <= K; ++n)
                out[n] = "SELECT " + all() + " FROM " + name() +
                         (n ? " WHERE " + equals_params(0, n, 1, " AND ") : std::string()) +
                         " ORDER BY " + keys();
            return out;
        }();
        return s[p];
    }
    // compare_and_swap's statements; parameters: key, then desired and/or expected fields.
    static const std::string& swap_update() { // key, desired [K, N), expected [K, N)
        static const std::string s = "UPDATE " + name() + " SET " +
                                     equals_params(K, N, K + 1, ", ") + " WHERE " +
                                     equals_params(0, K, 1, " AND ") + " AND " +
                                     equals_params(K, N, N + 1, " AND ", " IS NOT DISTINCT FROM ");
        return s;
    }
    static const std::string& swap_insert() { // desired [0, N)
        static const std::string s = "INSERT INTO " + name() + " (" + all() + ") VALUES (" + [] {
            std::string v;
            for (std::size_t i = 0; i < N; ++i)
                v += (i ? ", $" : "$") + std::to_string(i + 1);
            return v;
        }() + ") ON CONFLICT DO NOTHING";
        return s;
    }
    static const std::string& swap_delete() { // key, expected [K, N)
        static const std::string s =
            "DELETE FROM " + name() + " WHERE " + equals_params(0, K, 1, " AND ") +
            (N > K ? " AND " + equals_params(K, N, K + 1, " AND ", " IS NOT DISTINCT FROM ")
                   : std::string());
        return s;
    }
};

} // namespace detail

class Catalog : public catalog::TxOperations<Catalog> {
public:
    using Options = pq::Options;

    // The operations, on a connection the caller holds (inside a transaction, or not).
    class Tx {
    public:
        explicit Tx(pq::Connection& c) noexcept : c_(c) {}

        template <catalog::Reflected Row>
        std::size_t insert(std::span<const Row> rows) {
            if (rows.empty())
                return 0;
            pq::Params p;
            detail::add_columns<0, detail::Sql<Row>::N>(p, rows);
            return c_.query(detail::Sql<Row>::insert(), p).affected();
        }
        template <catalog::Reflected Row>
        void upsert(std::span<const Row> rows) {
            if (rows.empty())
                return;
            // One statement may not update a row twice: keep each key's last row.
            std::map<catalog::Key<Row>, std::size_t> last;
            for (std::size_t i = 0; i < rows.size(); ++i)
                last[catalog::key_of(rows[i])] = i;
            std::vector<Row> distinct;
            if (last.size() != rows.size()) {
                for (const auto& [key, i] : last)
                    distinct.push_back(rows[i]);
                rows = distinct;
            }
            pq::Params p;
            detail::add_columns<0, detail::Sql<Row>::N>(p, rows);
            c_.query(detail::Sql<Row>::upsert(), p);
        }

        template <catalog::Reflected Row>
        std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) {
            std::vector<std::optional<Row>> out(keys.size());
            if (keys.empty())
                return out;
            pq::Params p;
            detail::add_key_columns(p, keys);
            auto r = c_.query(detail::Sql<Row>::by_keys(true), p);
            std::vector<Row> found;
            found.reserve(static_cast<std::size_t>(r.rows()));
            for (int i = 0; i < r.rows(); ++i)
                found.push_back(detail::read_row<Row>(r, i));
            catalog::answer_find<Row>(keys, found, std::span(out));
            return out;
        }
        template <catalog::Reflected Row>
        std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) {
            std::vector<bool> out(keys.size());
            if (keys.empty())
                return out;
            pq::Params p;
            detail::add_key_columns(p, keys);
            auto r = c_.query(detail::Sql<Row>::by_keys(false), p);
            std::vector<catalog::Key<Row>> found;
            found.reserve(static_cast<std::size_t>(r.rows()));
            for (int i = 0; i < r.rows(); ++i)
                found.push_back(detail::read_key<Row>(r, i));
            catalog::answer_contains<Row>(keys, found, out.begin());
            return out;
        }
        template <catalog::Reflected Row, std::size_t I>
        requires catalog::is_indexed<Row, I> std::vector<Row>
        find_by(std::span<const catalog::Field<Row, I>> values) {
            std::vector<Row> out;
            if (values.empty())
                return out;
            pq::Params p;
            p.add_array(
                values, [](const auto& v) -> const auto& { return v; });
            auto r = c_.query(detail::Sql<Row>::template by_field<I>(), p);
            std::vector<Row> found;
            for (int i = 0; i < r.rows(); ++i)
                found.push_back(detail::read_row<Row>(r, i));
            catalog::answer_find_by<Row, I>(values, found, out);
            return out;
        }

        template <catalog::Reflected Row>
        std::size_t erase(std::span<const catalog::Key<Row>> keys) {
            if (keys.empty())
                return 0;
            pq::Params p;
            detail::add_key_columns(p, keys);
            return c_.query(detail::Sql<Row>::erase(), p).affected();
        }
        template <catalog::Reflected Row>
        std::size_t erase_exact(std::span<const Row> rows) {
            if (rows.empty())
                return 0;
            pq::Params p;
            detail::add_columns<0, detail::Sql<Row>::N>(p, rows);
            return c_.query(detail::Sql<Row>::erase_exact(), p).affected();
        }

        template <catalog::Reflected Row, class Prefix>
        std::vector<Row> scan(const Prefix& prefix) {
            constexpr std::size_t P = std::tuple_size_v<Prefix>;
            static_assert(P <= catalog::table<Row>::key_size, "a scan prefix is part of the key");
            pq::Params p;
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (p.add(std::tuple_element_t<I, catalog::Key<Row>>(std::get<I>(prefix))), ...);
            }
            (std::make_index_sequence<P>{});
            auto r = c_.query(detail::Sql<Row>::scan(P), p);
            std::vector<Row> out;
            out.reserve(static_cast<std::size_t>(r.rows()));
            for (int i = 0; i < r.rows(); ++i)
                out.push_back(detail::read_row<Row>(r, i));
            catalog::sort_if_needed(out, [](const Row& a, const Row& b) {
                return catalog::key_of(a) < catalog::key_of(b);
            });
            return out;
        }

        template <catalog::Reflected Row>
        bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                              const std::optional<Row>& desired) {
            using S = detail::Sql<Row>;
            if (desired && !(catalog::key_of(*desired) == key))
                fail(errc::invalid_argument,
                     "compare_and_swap: the desired row's key is not the key swapped");
            if (expected && !(catalog::key_of(*expected) == key))
                return false; // no row at `key` can equal it
            pq::Params p;
            if (expected && desired) {
                if constexpr (S::N == S::K) // the row is its key: present is all there is
                    return contains<Row>(std::span(&key, 1))[0];
                else {
                    detail::add_fields<0, S::N>(p, *desired);
                    detail::add_fields<S::K, S::N>(p, *expected);
                    return c_.query(S::swap_update(), p).affected() == 1;
                }
            }
            if (desired) {
                detail::add_fields<0, S::N>(p, *desired);
                return c_.query(S::swap_insert(), p).affected() == 1;
            }
            if (expected) {
                detail::add_fields<0, S::N>(p, *expected);
                return c_.query(S::swap_delete(), p).affected() == 1;
            }
            return !contains<Row>(std::span(&key, 1))[0];
        }

    private:
        pq::Connection& c_;
    };

    explicit Catalog(Options options) : pool_(options), begin_write_(detail::begin_write(options)) {
        migrate(options.schema);
        [&]<class... Rows>(std::type_identity<std::tuple<Rows...>>) {
            (verify<Rows>(), ...);
        }(std::type_identity<catalog::Schema>{});
    }
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    // Round trips to the server so far (tests count them per push).
    std::uint64_t round_trips() const noexcept { return pool_.round_trips(); }
    // The server processes behind the pool's open connections (tests terminate them).
    std::vector<int> backend_pids() const { return pool_.backend_pids(); }

private:
    friend class catalog::TxOperations<Catalog>;

    // One statement, no transaction of its own: it is atomic, and reads take no lock.
    template <class Fn>
    std::invoke_result_t<Fn&, Tx&> read(Fn&& fn) const {
        return pool_.with([&](pq::Connection& c) {
            Tx tx(c);
            return fn(tx);
        });
    }
    template <class Fn>
    std::invoke_result_t<Fn&, Tx&> write(Fn&& fn) {
        return pool_.with([&](pq::Connection& c) -> std::invoke_result_t<Fn&, Tx&> {
            c.exec(begin_write_);
            try {
                Tx tx(c);
                if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Tx&>>) {
                    fn(tx);
                    c.exec("COMMIT");
                } else {
                    auto result = fn(tx);
                    c.exec("COMMIT");
                    return result;
                }
            } catch (const pq::ConnectionLost&) {
                throw; // the server ended the session, and the transaction with it
            } catch (...) {
                rollback(c);
                throw;
            }
        });
    }
    static void rollback(pq::Connection& c) noexcept {
        try {
            c.exec("ROLLBACK");
        } catch (...) {
            // A connection that cannot roll back is broken; the pool replaces it.
        }
    }

    void migrate(const std::string& schema) {
        static const std::array<std::function<void(pq::Connection&)>, 3> steps{
            // 1: every table and index of the description.
            [](pq::Connection& c) {
                [&]<class... Rows>(std::type_identity<std::tuple<Rows...>>) {
                    (create<Rows>(c), ...);
                }(std::type_identity<catalog::Schema>{});
            },
            // 2: the references the description declares, as foreign keys checked when a
            // transaction commits (so the order of writes inside one does not matter).
            [](pq::Connection& c) {
                [&]<class... Rows>(std::type_identity<std::tuple<Rows...>>) {
                    (add_references<Rows>(c), ...);
                }(std::type_identity<catalog::Schema>{});
            },
            // 3: objects may be deltas against a base object, which must exist (a database
            // made fresh by steps 1 and 2 has all of this already).
            [](pq::Connection& c) {
                c.exec("ALTER TABLE " + detail::Sql<catalog::LocationRow>::name() +
                       " ADD COLUMN IF NOT EXISTS base bytea, ADD COLUMN IF NOT EXISTS depth int8 "
                       "NOT NULL DEFAULT 0");
                create<catalog::LocationRow>(c); // IF NOT EXISTS: just the new index
                auto r = c.query("SELECT 1 FROM pg_constraint WHERE conname = 'locations_base_fk' "
                                 "AND connamespace = current_schema()::regnamespace");
                if (r.rows() == 0)
                    add_references<catalog::LocationRow>(c, 1);
            },
        };
        pool_.with([&](pq::Connection& c) {
            c.exec(begin_write_);
            try {
                if (!schema.empty())
                    c.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
                c.exec("CREATE TABLE IF NOT EXISTS musehub_schema (component text PRIMARY KEY, "
                       "version int8 NOT NULL)");
                auto r = c.query("SELECT version FROM musehub_schema WHERE component = 'catalog'");
                std::size_t have =
                    r.rows() ? static_cast<std::size_t>(r.get<std::int64_t>(0, 0)) : 0;
                if (have > steps.size())
                    fail(errc::unsupported,
                         "postgres: catalog schema version " + std::to_string(have) +
                             " is newer than this build's (" + std::to_string(steps.size()) + ")");
                for (auto v = have; v < steps.size(); ++v)
                    steps[v](c);
                pq::Params q;
                q.add(static_cast<std::int64_t>(steps.size()));
                c.query("INSERT INTO musehub_schema VALUES ('catalog', $1) ON CONFLICT "
                        "(component) DO UPDATE SET version = EXCLUDED.version",
                        q);
                c.exec("COMMIT");
            } catch (const pq::ConnectionLost&) {
                throw;
            } catch (...) {
                rollback(c);
                throw;
            }
        });
    }
    template <class Row>
    static void create(pq::Connection& c) {
        for (const auto& s : detail::Sql<Row>::create())
            c.exec(s);
    }
    // Foreign keys for the table's references, from the `first`.
    template <class Row>
    static void add_references(pq::Connection& c, std::size_t first = 0) {
        auto fields = musehub::detail::reflect::field_names<Row>();
        for (std::size_t i = first; i < catalog::table<Row>::references.size(); ++i) {
            const auto& r = catalog::table<Row>::references[i];
            auto name = std::string(catalog::table<Row>::name) + "_" + fields[r.field] + "_fk";
            c.exec("ALTER TABLE " + detail::Sql<Row>::name() + " ADD CONSTRAINT " +
                   musehub::detail::sql::quote(name) + " FOREIGN KEY (" +
                   detail::Sql<Row>::cols()[r.field] + ") REFERENCES " +
                   musehub::detail::sql::quote(r.table) + " (" +
                   musehub::detail::sql::quote(r.column) + ") DEFERRABLE INITIALLY DEFERRED");
        }
    }
    // The table has exactly the columns the description names, in order.
    template <class Row>
    void verify() {
        auto have = pool_.with([&](pq::Connection& c) {
            // The table name is ours (schema.hpp), never input: it may be spelled in the SQL.
            auto r =
                c.query("SELECT column_name::text FROM information_schema.columns WHERE "
                        "table_schema = current_schema() AND table_name = '" +
                        std::string(catalog::table<Row>::name) + "' ORDER BY ordinal_position");
            std::vector<std::string> names;
            for (int i = 0; i < r.rows(); ++i)
                names.push_back(musehub::detail::sql::quote(r.get<std::string>(i, 0)));
            return names;
        });
        const auto& want = detail::Sql<Row>::cols();
        if (have != want)
            fail(errc::unsupported,
                 "postgres: table '" + std::string(catalog::table<Row>::name) + "' has columns (" +
                     musehub::detail::sql::join(have, 0, have.size(), ", ") +
                     ") but this build describes (" +
                     musehub::detail::sql::join(want, 0, want.size(), ", ") + ")");
    }

    mutable pq::Pool pool_;
    std::string begin_write_;
};

static_assert(musehub::Catalog<Catalog>);

} // namespace musehub::postgres
