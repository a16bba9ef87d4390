#pragma once
// A thin RAII layer over the SQLite C API, shared by the fs catalog and job queue:
//  - Connection: one database handle opened with the hub's pragmas (WAL, busy timeout,
//    foreign keys, synchronous level), a cache of prepared statements kept for the
//    connection's life, transactions, and schema migrations through `user_version`;
//  - Query: a borrowed cached statement, bound and read by C++ type, reset when it goes away;
//  - the mapping of the hub's column types to SQLite storage classes, and of whole
//    Hana-reflected records to column lists, so callers derive their SQL from a row's one
//    description instead of spelling it per table.
// Every SQLite failure becomes musehub::error(errc::io, "sqlite: <operation>: <message>").
//
// Column mapping (by C++ type):
//   std::string              TEXT (bytes as given; the default BINARY collation orders them
//                            like std::string's operator<)
//   Bytes                    BLOB
//   Id<Tag>, Digest          BLOB of the 32 digest bytes (memcmp order = std::array order)
//   integers, enums, bool    INTEGER (std::uint64_t is stored bit-cast to int64: equality is
//                            exact, but SQL ordering differs above 2^63 — no key is an
//                            integer, and callers that need order sort in C++)
//   TimePoint                INTEGER milliseconds since the epoch
//   std::optional<T>         T's class, NULL when empty (the only NULL-able columns)

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/time.hpp"

#include "musehub/detail/reflect.hpp"
#include "musehub/detail/sql.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace musehub::fs::sqlite {

// How a connection is opened. `durable = false` turns fsync off (synchronous=OFF): for tests
// and benchmarks only, a power loss may then lose or corrupt recent transactions.
struct Options {
    bool durable = true;
    std::chrono::milliseconds busy_timeout{10000};
};

[[noreturn]] inline void fail_db(sqlite3* db, std::string_view operation) {
    fail(errc::io,
         "sqlite: " + std::string(operation) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// ---------------------------------------------------------------------------------------------
// Column types

using musehub::detail::sql::dependent_false;
using musehub::detail::sql::is_id;
using musehub::detail::sql::is_optional;

// The declared SQL type of a column holding T.
template <class T>
constexpr std::string_view sql_type() {
    if constexpr (is_optional<T>)
        return sql_type<typename T::value_type>();
    else if constexpr (std::is_same_v<T, std::string>)
        return "TEXT";
    else if constexpr (std::is_same_v<T, Bytes> || std::is_same_v<T, Digest> || is_id<T>)
        return "BLOB";
    else if constexpr (std::is_integral_v<T> || std::is_enum_v<T> || std::is_same_v<T, TimePoint>)
        return "INTEGER";
    else
        static_assert(dependent_false<T>, "musehub::fs::sqlite: no column mapping for this type");
}

using musehub::detail::sql::from_int64;
using musehub::detail::sql::to_int64;

// ---------------------------------------------------------------------------------------------
// Statements

// A borrowed prepared statement from a Connection's cache. Parameters are 1-based, columns
// 0-based. Text and blob parameters are bound without copying: the bound values must outlive
// the last step(). Resets (and unbinds) the statement when it goes away, so it never holds a
// read snapshot open.
class Query {
public:
    Query(sqlite3* db, sqlite3_stmt* stmt, bool* busy) noexcept : db_(db), s_(stmt), busy_(busy) {
        *busy_ = true;
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    ~Query() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
        *busy_ = false;
    }

    template <class T>
    Query& bind(int i, const T& v) {
        if (bind_value(i, v) != SQLITE_OK)
            fail_db(db_, "bind");
        return *this;
    }

    // One step: true when a row is available, false when the statement is done.
    bool step() {
        int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        fail_db(db_, std::string("step (") + sqlite3_sql(s_) + ")");
    }
    // Runs a statement that returns no rows; returns how many rows it changed.
    std::size_t run() {
        while (step()) {
        }
        return static_cast<std::size_t>(sqlite3_changes(db_));
    }

    template <class T>
    T column(int i) const {
        if constexpr (is_optional<T>) {
            if (sqlite3_column_type(s_, i) == SQLITE_NULL)
                return std::nullopt;
            return column<typename T::value_type>(i);
        } else if constexpr (std::is_same_v<T, std::string>) {
            auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
            auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, i));
            return p ? std::string(p, n) : std::string();
        } else if constexpr (std::is_same_v<T, Bytes>) {
            auto* p = static_cast<const std::byte*>(sqlite3_column_blob(s_, i));
            auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, i));
            return p ? Bytes(p, p + n) : Bytes();
        } else if constexpr (std::is_same_v<T, Digest> || is_id<T>) {
            auto* p = sqlite3_column_blob(s_, i);
            Digest d;
            if (!p || static_cast<std::size_t>(sqlite3_column_bytes(s_, i)) != d.bytes.size())
                fail(errc::corrupt, std::string("sqlite: column '") + column_name(i) +
                                        "' does not hold a 32-byte digest");
            std::memcpy(d.bytes.data(), p, d.bytes.size());
            if constexpr (is_id<T>)
                return T{d};
            else
                return d;
        } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T> ||
                             std::is_same_v<T, TimePoint>)
            return from_int64<T>(sqlite3_column_int64(s_, i));
        else
            static_assert(dependent_false<T>, "musehub::fs::sqlite: no column mapping");
    }
    const char* column_name(int i) const {
        const char* n = sqlite3_column_name(s_, i);
        return n ? n : "?";
    }

    // Makes the statement runnable again with new parameters (bindings stay until rebound).
    void reset() noexcept { sqlite3_reset(s_); }

    sqlite3_stmt* handle() const noexcept { return s_; }

private:
    template <class T>
    int bind_value(int i, const T& v) {
        if constexpr (is_optional<T>)
            return v ? bind_value(i, *v) : sqlite3_bind_null(s_, i);
        else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>)
            return bind_text(i, v.data(), v.size());
        else if constexpr (std::is_convertible_v<const T&, const char*>)
            return bind_value(i, std::string_view(v));
        else if constexpr (std::is_same_v<T, Bytes>)
            return bind_blob(i, v.data(), v.size());
        else if constexpr (std::is_same_v<T, Digest>)
            return bind_blob(i, v.bytes.data(), v.bytes.size());
        else if constexpr (is_id<T>)
            return bind_blob(i, v.digest.bytes.data(), v.digest.bytes.size());
        else if constexpr (std::is_integral_v<T> || std::is_enum_v<T> ||
                           std::is_same_v<T, TimePoint>)
            return sqlite3_bind_int64(s_, i, to_int64(v));
        else
            static_assert(dependent_false<T>, "musehub::fs::sqlite: no parameter mapping");
    }
    // An empty view may have a null data pointer, which SQLite would bind as NULL.
    int bind_text(int i, const char* p, std::size_t n) {
        return sqlite3_bind_text64(s_, i, p ? p : "", n, SQLITE_STATIC, SQLITE_UTF8);
    }
    int bind_blob(int i, const void* p, std::size_t n) {
        return sqlite3_bind_blob64(s_, i, p ? p : "", n, SQLITE_STATIC);
    }

    sqlite3* db_;
    sqlite3_stmt* s_;
    bool* busy_;
};

// ---------------------------------------------------------------------------------------------
// Connection

class Connection {
public:
    Connection(const std::filesystem::path& file, const Options& options)
        : busy_timeout_(options.busy_timeout) {
        int rc = sqlite3_open_v2(file.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
        if (rc != SQLITE_OK) {
            std::string message = "sqlite: open " + file.string() + ": " +
                                  (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
            sqlite3_close_v2(db_);
            db_ = nullptr;
            fail(errc::io, message);
        }
        try {
            sqlite3_extended_result_codes(db_, 1);
            if (sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count())) !=
                SQLITE_OK)
                fail_db(db_, "busy_timeout");
            // WAL: readers never block the writer nor the writer readers, and a commit is one
            // append to the log. With WAL, synchronous=FULL fsyncs the log at every commit, so
            // a transaction that returned is durable across power loss (NORMAL would only be
            // safe against process crashes); the hub acknowledges pushes on commit, so durable
            // mode pays for FULL.
            // Before the first table exists (a no-op on a file that has tables): pages freed
            // by deletes can be handed back to the file system (compact_if_sparse).
            exec("PRAGMA auto_vacuum = INCREMENTAL");
            set_wal();
            incremental_ = pragma_int("auto_vacuum") == 2;
            exec(options.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
            exec("PRAGMA foreign_keys = ON");
            // SQLite's default page cache is 2 MiB: a push, a fetch or a GC of a history of a
            // few thousand commits touches more than that, and each page it drops is read
            // again with a system call. Up to 64 MiB per connection, taken only as pages are
            // read.
            exec("PRAGMA cache_size = -65536");
        } catch (...) {
            sqlite3_close_v2(db_);
            db_ = nullptr;
            throw;
        }
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        for (auto& [sql, s] : cache_)
            sqlite3_finalize(s.stmt);
        cache_.clear();
        sqlite3_close_v2(db_);
    }

    sqlite3* handle() const noexcept { return db_; }

    // Runs SQL text (one or more statements, no parameters, results ignored) without caching.
    void exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            fail(errc::io, "sqlite: exec (" + sql + "): " + text);
        }
    }

    // The cached prepared statement for `sql`, compiled on first use and kept for the life of
    // the connection. At most one Query per statement text may be alive at a time.
    Query query(const std::string& sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* stmt = nullptr;
            if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                   SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
                fail_db(db_, "prepare (" + sql + ")");
            it = cache_.emplace(sql, Cached{stmt, false}).first;
        }
        if (it->second.busy)
            fail(errc::io, "sqlite: statement already in use: " + sql);
        return Query(db_, it->second.stmt, &it->second.busy);
    }

    std::int64_t pragma_int(std::string_view name) {
        auto q = query("PRAGMA " + std::string(name));
        if (!q.step())
            fail(errc::io, "sqlite: PRAGMA " + std::string(name) + " returned no row");
        return q.column<std::int64_t>(0);
    }

    // Transactions. Writers take the write lock up front (BEGIN IMMEDIATE): in WAL mode a
    // deferred transaction that reads first and then writes fails with SQLITE_BUSY instead of
    // waiting when another connection wrote in between.
    void begin(bool immediate) { query(immediate ? "BEGIN IMMEDIATE" : "BEGIN").run(); }
    void commit() {
        // The busy handler covers most waits; a COMMIT that still reports SQLITE_BUSY (e.g. a
        // checkpoint in another process) stays open and is retried until the busy timeout.
        auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
        for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, max_pause)) {
            auto q = query("COMMIT");
            int rc = sqlite3_step(q.handle());
            if (rc == SQLITE_DONE)
                return;
            if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
                fail_db(db_, "commit");
            std::this_thread::sleep_for(pause);
        }
    }
    void rollback() noexcept {
        if (!sqlite3_get_autocommit(db_))
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    bool in_transaction() const noexcept { return !sqlite3_get_autocommit(db_); }

    // After a write, outside any transaction: pages a delete freed go back to the file system
    // (incremental_vacuum), then the write-ahead log, which holds every page that moved, is
    // truncated. Best effort: a checkpoint that readers block (SQLITE_BUSY) is left to SQLite's
    // automatic ones.
    void compact_if_sparse() {
        if (!in_transaction() && give_back_free_pages())
            truncate_log();
    }

    // After a collection, outside any transaction: deletes mostly leave B-tree pages partly
    // empty, which SQLite never merges until they are nearly empty. Once writes since the last
    // look changed a quarter as many rows as the file held then, dbstat measures the file, and
    // when a quarter of it is unused, VACUUM rewrites it full (fmt's hub after a force-push to
    // the middle: 17 MB, 5 MB of it unused). VACUUM holds the write lock while it copies the
    // file; readers carry on. Either way the log, which holds every page the collection
    // wrote, is truncated. Returns whether it rewrote.
    bool rewrite_if_part_empty() {
        if (in_transaction())
            return false;
        int rc = SQLITE_DONE;
        if (worth_a_look() && mostly_unused()) {
            rc = sqlite3_exec(db_, "VACUUM", nullptr, nullptr, nullptr);
            if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
                fail_db(db_, "VACUUM");
        }
        truncate_log();
        return rc == SQLITE_OK;
    }

private:
    bool give_back_free_pages() {
        if (!incremental_)
            return false;
        auto free_pages = pragma_int("freelist_count");
        if (free_pages < min_free_pages || free_pages * 8 < pragma_int("page_count"))
            return false;
        exec("PRAGMA incremental_vacuum");
        return true;
    }
    bool worth_a_look() {
        auto changes = sqlite3_total_changes64(db_);
        if (changes - changes_at_look_ < std::max(min_changes, cells_at_look_ / 4))
            return false;
        changes_at_look_ = changes;
        return has_dbstat_;
    }
    // Whether a quarter of the file (of at least min_vacuum_bytes) is unused.
    bool mostly_unused() {
        std::int64_t unused = 0;
        try {
            auto q = query("SELECT sum(unused), sum(ncell) FROM dbstat");
            if (!q.step())
                return false;
            unused = q.column<std::int64_t>(0);
            cells_at_look_ = q.column<std::int64_t>(1);
        } catch (const musehub::error&) {
            has_dbstat_ = false; // a SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
            return false;
        }
        auto page_size = pragma_int("page_size");
        auto file = pragma_int("page_count") * page_size;
        unused += pragma_int("freelist_count") * page_size;
        return file >= min_vacuum_bytes && unused * 4 >= file;
    }
    void truncate_log() {
        int rc =
            sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            fail_db(db_, "wal_checkpoint(TRUNCATE)");
    }

    // Switching a fresh file to WAL needs an exclusive lock, and SQLite reports SQLITE_BUSY
    // without calling the busy handler when another process holds one (two processes opening
    // a new hub at once): retry until the busy timeout. Once in WAL, the mode is persistent.
    void set_wal() {
        auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
        for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, max_pause)) {
            int rc = sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
            if (rc == SQLITE_OK)
                break;
            if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
                fail_db(db_, "PRAGMA journal_mode = WAL");
            std::this_thread::sleep_for(pause);
        }
        std::string mode;
        {
            auto q = query("PRAGMA journal_mode");
            if (q.step())
                mode = q.column<std::string>(0);
        }
        if (mode != "wal")
            fail(errc::io, "sqlite: PRAGMA journal_mode = WAL: the file stays in '" + mode +
                               "' mode (WAL needs a local file system with shared memory)");
    }

    static constexpr std::chrono::milliseconds max_pause{50};
    static constexpr std::int64_t min_free_pages = 16; // 64 KiB of 4 KiB pages
    static constexpr std::int64_t min_changes = 1024;  // rows changed before dbstat looks again
    static constexpr std::int64_t min_vacuum_bytes = 1 << 20;
    struct Cached {
        sqlite3_stmt* stmt;
        bool busy;
    };
    sqlite3* db_ = nullptr;
    std::chrono::milliseconds busy_timeout_;
    bool incremental_ = false;         // auto_vacuum = INCREMENTAL (files made before it have none)
    std::int64_t changes_at_look_ = 0; // sqlite3_total_changes64 when dbstat last measured
    std::int64_t cells_at_look_ = 0;   // rows and index entries it counted then
    bool has_dbstat_ = true;
    std::unordered_map<std::string, Cached> cache_;
};

// One transaction; rolled back unless commit() was reached (an exception unwinding through it
// undoes every effect).
class Transaction {
public:
    enum Mode { read, write };
    Transaction(Connection& db, Mode mode) : db_(db) { db_.begin(mode == write); }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
        if (!done_)
            db_.rollback();
    }
    void commit() {
        db_.commit();
        done_ = true;
    }

private:
    Connection& db_;
    bool done_ = false;
};

// ---------------------------------------------------------------------------------------------
// Reflected records as column lists

using musehub::detail::reflect::field_count;
using musehub::detail::reflect::field_names;
using musehub::detail::reflect::field_type;
using musehub::detail::reflect::member;
using musehub::detail::sql::column_names;
using musehub::detail::sql::join;
using musehub::detail::sql::quote;

// `"a" TEXT NOT NULL, "b" INTEGER, …`: every field as a column definition.
template <class Row>
std::string column_defs() {
    auto names = column_names<Row>();
    std::string out;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((out += (I ? ", " : "") + names[I] + " " + std::string(sql_type<field_type<Row, I>>()) +
                 (is_optional<field_type<Row, I>> ? "" : " NOT NULL")),
         ...);
    }
    (std::make_index_sequence<field_count<Row>>{});
    return out;
}

// "?, ?, ?" (n placeholders).
inline std::string placeholders(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += i ? ", ?" : "?";
    return out;
}

// Binds fields [0, count) of a record to parameters first, first+1, …
template <class Row, std::size_t Count = field_count<Row>>
void bind_fields(Query& q, const Row& r, int first = 1) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (q.bind(first + static_cast<int>(I), member<I>(r)), ...);
    }
    (std::make_index_sequence<Count>{});
}

// Reads a record from the current row, its fields from columns first, first+1, …
template <class Row>
Row read_row(const Query& q, int first = 0) {
    Row r{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((member<I>(r) = q.column<field_type<Row, I>>(first + static_cast<int>(I))), ...);
    }
    (std::make_index_sequence<field_count<Row>>{});
    return r;
}

// The column names a table has in the database, in order (empty if it does not exist).
inline std::vector<std::string> table_columns(Connection& db, std::string_view table) {
    std::vector<std::string> out;
    auto q = db.query("SELECT name FROM pragma_table_info(?1) ORDER BY cid");
    std::string name(table);
    q.bind(1, name);
    while (q.step())
        out.push_back(quote(q.column<std::string>(0)));
    return out;
}

// ---------------------------------------------------------------------------------------------
// Schema versions

// Several components may keep their tables in one database file (the catalog and the job
// queue of a hub do), so `PRAGMA user_version` packs one 16-bit schema version per component:
// slot 0 in bits 0–15, slot 1 in bits 16–31. `steps[v]` migrates the component's tables from
// version v to v+1; migrate() applies the missing steps in one write transaction, so two
// processes opening a fresh file at once migrate it exactly once. A file whose version is
// newer than this build knows is refused.
using Migration = std::function<void(Connection&)>;

inline void migrate(Connection& db, unsigned slot, std::span<const Migration> steps,
                    std::string_view component) {
    const unsigned shift = 16 * slot;
    auto version = [&] {
        auto all = static_cast<std::uint32_t>(db.pragma_int("user_version"));
        return std::pair{all, (all >> shift) & 0xffffu};
    };
    auto check = [&](std::uint32_t have) {
        if (have > steps.size())
            fail(errc::unsupported, "sqlite: " + std::string(component) + " schema version " +
                                        std::to_string(have) + " is newer than this build's (" +
                                        std::to_string(steps.size()) + ")");
    };
    if (auto [all, have] = version(); have == steps.size())
        return;
    Transaction tx(db, Transaction::write);
    auto [all, have] = version();
    check(have);
    for (auto v = have; v < steps.size(); ++v)
        steps[v](db);
    if (have != steps.size()) {
        all = (all & ~(0xffffu << shift)) | (static_cast<std::uint32_t>(steps.size()) << shift);
        db.exec("PRAGMA user_version = " + std::to_string(static_cast<std::int32_t>(all)));
    }
    tx.commit();
}

} // namespace musehub::fs::sqlite
