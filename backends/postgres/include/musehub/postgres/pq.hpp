#pragma once
// A thin RAII layer over libpq, shared by the PostgreSQL catalog and job queue:
//  - Connection: one server session opened with the hub's settings (statement timeout, TCP
//    keepalives, connect timeout), a cache of statements prepared once and reused, and a
//    count of the round trips it made;
//  - Params / Result: parameters and results in libpq's BINARY format, bound and read by C++
//    type, so no value is ever formatted into SQL text or parsed back from it;
//  - Pool: a fixed set of connections handed out one caller at a time, which replaces a
//    connection the server dropped.
// Every failure becomes musehub::error(errc::io, "postgres: <operation>: <message> (SQLSTATE
// xxxxx)"); a failure that lost the session (the server went away, or terminated this
// backend) is a `ConnectionLost`, which callers may answer by starting over on a fresh one.
//
// Type mapping (by C++ type; every value travels in binary):
//   std::string, Bytes      bytea: a std::string holds bytes (a job payload need not be UTF-8,
//                           which text insists on), and bytea orders like its operator<
//   Digest, Id<Tag>         bytea of the 32 digest bytes
//   integers, enums, bool   int8 (std::uint64_t bit-cast to int64: equality is exact)
//   TimePoint               int8 milliseconds since the epoch
//   std::optional<T>        T's type, NULL when empty (the only nullable columns)
//   std::vector<T>          T's array type (one-dimensional), for batches: `unnest($1::…[])`

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/time.hpp"
#include "musehub/detail/sql.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace musehub::postgres::pq {

struct Options {
    std::string conninfo;      // a libpq connection string or URI
    std::string schema;        // where the tables live ("": the search_path's first)
    std::size_t pool_size = 8; // connections kept open
    std::chrono::milliseconds statement_timeout{60'000};
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds keepalive_idle{30};          // TCP keepalives: a dead peer is noticed
    std::size_t reconnect_attempts = 5;               // after a lost session, before giving up
    std::chrono::milliseconds reconnect_backoff{100}; // doubled per attempt
};

// The session is gone: the server closed it or terminated this backend. Nothing the session
// had not committed happened.
struct ConnectionLost : error {
    using error::error;
};

// ---------------------------------------------------------------------------------------------
// Types

using musehub::detail::sql::dependent_false;
using musehub::detail::sql::is_id;
using musehub::detail::sql::is_optional;

struct TypeInfo {
    Oid oid;         // the value's type
    Oid array_oid;   // its one-dimensional array type
    const char* sql; // the type as DDL and casts spell it
};

// How a value of type T is stored (optional<T>: as T).
template <class T>
constexpr TypeInfo type_of() {
    if constexpr (is_optional<T>)
        return type_of<typename T::value_type>();
    else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Bytes> ||
                       std::is_same_v<T, Digest> || is_id<T>)
        return {17, 1001, "bytea"};
    else if constexpr (std::is_integral_v<T> || std::is_enum_v<T> || std::is_same_v<T, TimePoint>)
        return {20, 1016, "int8"};
    else
        static_assert(dependent_false<T>, "musehub::postgres: no column mapping for this type");
}
// The DDL type of a column holding T.
template <class T>
std::string column_type() {
    return type_of<T>().sql;
}

namespace detail {
inline void store_be32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
}
inline void put_be32(std::string& out, std::uint32_t v) {
    out.resize(out.size() + 4);
    store_be32(out.data() + out.size() - 4, v);
}
inline void put_be64(std::string& out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::uint64_t get_be(const char* p, int n) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

using musehub::detail::sql::from_int64;
using musehub::detail::sql::to_int64;

// The binary wire form of a (non-null) value.
template <class T>
void encode(std::string& out, const T& v) {
    if constexpr (std::is_same_v<T, std::string>)
        out.append(v);
    else if constexpr (std::is_same_v<T, Bytes>)
        out.append(reinterpret_cast<const char*>(v.data()), v.size());
    else if constexpr (std::is_same_v<T, Digest>)
        out.append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
    else if constexpr (is_id<T>)
        encode(out, v.digest);
    else
        put_be64(out, static_cast<std::uint64_t>(to_int64(v)));
}
template <class T>
T decode(const char* p, int n, std::string_view column) {
    if constexpr (std::is_same_v<T, std::string>)
        return std::string(p, static_cast<std::size_t>(n));
    else if constexpr (std::is_same_v<T, Bytes>)
        return Bytes(reinterpret_cast<const std::byte*>(p),
                     reinterpret_cast<const std::byte*>(p) + n);
    else if constexpr (std::is_same_v<T, Digest> || is_id<T>) {
        Digest d;
        if (static_cast<std::size_t>(n) != d.bytes.size())
            fail(errc::corrupt,
                 "postgres: column '" + std::string(column) + "' does not hold a 32-byte digest");
        std::memcpy(d.bytes.data(), p, d.bytes.size());
        if constexpr (is_id<T>)
            return T{d};
        else
            return d;
    } else {
        if (n != 8)
            fail(errc::corrupt, "postgres: column '" + std::string(column) + "' is not an int8");
        return from_int64<T>(static_cast<std::int64_t>(get_be(p, 8)));
    }
}
} // namespace detail

// ---------------------------------------------------------------------------------------------
// Parameters and results

// Positional parameters $1, $2, … in binary format. A value is copied in when added.
class Params {
public:
    template <class T>
    Params& add(const T& v) {
        if constexpr (is_optional<T>) {
            if (!v)
                return null(type_of<T>().oid);
            return add(*v);
        } else {
            values_.emplace_back();
            detail::encode(values_.back(), v);
            types_.push_back(type_of<T>().oid);
            nulls_.push_back(false);
            return *this;
        }
    }
    // A one-dimensional array of `items` mapped by `get` (which may return an optional).
    template <class Items, class Get>
    Params& add_array(const Items& items, Get&& get) {
        using T = std::decay_t<decltype(get(*std::begin(items)))>;
        constexpr TypeInfo info = type_of<T>();
        const auto n = static_cast<std::uint32_t>(std::size(items));
        std::string a;
        detail::put_be32(a, n ? 1 : 0); // dimensions
        detail::put_be32(a, 0);         // has NULLs: set below if one is
        detail::put_be32(a, info.oid);
        if (n) {
            detail::put_be32(a, n); // length
            detail::put_be32(a, 1); // lower bound
        }
        // Each element is its length, then its bytes encoded in place (no copy per element).
        auto element = [&](const auto& v) {
            const auto at = a.size();
            detail::put_be32(a, 0);
            detail::encode(a, v);
            detail::store_be32(a.data() + at, static_cast<std::uint32_t>(a.size() - at - 4));
        };
        for (const auto& item : items) {
            const auto& v = get(item);
            if constexpr (is_optional<T>) {
                if (v) {
                    element(*v);
                    continue;
                }
                detail::put_be32(a, 0xffffffffu); // NULL
                detail::store_be32(a.data() + 4, 1);
            } else {
                element(v);
            }
        }
        values_.push_back(std::move(a));
        types_.push_back(info.array_oid);
        nulls_.push_back(false);
        return *this;
    }
    Params& null(Oid type) {
        values_.emplace_back();
        types_.push_back(type);
        nulls_.push_back(true);
        return *this;
    }

    int size() const noexcept { return static_cast<int>(values_.size()); }
    const Oid* types() const noexcept { return types_.data(); }

    // The pointer, length and format arrays libpq takes; valid while this object is unchanged.
    struct View {
        std::vector<const char*> values;
        std::vector<int> lengths, formats;
    };
    View view() const {
        View v;
        for (std::size_t i = 0; i < values_.size(); ++i) {
            v.values.push_back(nulls_[i] ? nullptr : values_[i].data());
            v.lengths.push_back(static_cast<int>(values_[i].size()));
            v.formats.push_back(1);
        }
        return v;
    }

private:
    std::vector<std::string> values_;
    std::vector<Oid> types_;
    std::vector<bool> nulls_;
};

// A statement's result, owned. Columns are read in binary, by C++ type.
class Result {
public:
    explicit Result(PGresult* r) noexcept : r_(r) {}
    Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    Result& operator=(Result&& o) noexcept {
        std::swap(r_, o.r_);
        return *this;
    }
    ~Result() { PQclear(r_); }

    int rows() const noexcept { return PQntuples(r_); }
    // Rows an INSERT, UPDATE or DELETE changed.
    std::size_t affected() const {
        const char* n = PQcmdTuples(r_);
        return n && *n ? static_cast<std::size_t>(std::stoull(n)) : 0;
    }
    bool is_null(int row, int col) const noexcept { return PQgetisnull(r_, row, col) != 0; }

    template <class T>
    T get(int row, int col) const {
        if constexpr (is_optional<T>) {
            if (is_null(row, col))
                return std::nullopt;
            return get<typename T::value_type>(row, col);
        } else {
            if (is_null(row, col))
                fail(errc::corrupt, std::string("postgres: column '") + PQfname(r_, col) +
                                        "' is NULL where a value is required");
            return detail::decode<T>(PQgetvalue(r_, row, col), PQgetlength(r_, row, col),
                                     PQfname(r_, col));
        }
    }

private:
    PGresult* r_;
};

// ---------------------------------------------------------------------------------------------
// Connection

class Connection {
public:
    Connection(const Options& options, std::atomic<std::uint64_t>* round_trips)
        : round_trips_(round_trips) {
        // Settings go in as connection options, so they hold from the first statement and
        // survive nothing but the session itself.
        std::string settings =
            "-c client_min_messages=warning -c statement_timeout=" +
            std::to_string(options.statement_timeout.count()) +
            " -c idle_in_transaction_session_timeout=" +
            std::to_string(std::max<std::int64_t>(options.statement_timeout.count() * 2, 1000));
        if (!options.schema.empty())
            settings += " -c search_path=" + options.schema;
        const std::string connect = std::to_string(options.connect_timeout.count());
        const std::string idle = std::to_string(options.keepalive_idle.count());
        const char* keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                              "keepalives_interval", "keepalives_count", "options",
                              "application_name",    "dbname",           nullptr};
        const char* values[] = {
            connect.c_str(),          "1",    idle.c_str(), "10", "3", settings.c_str(), "musehub",
            options.conninfo.c_str(), nullptr};
        // expand_dbname = 1: `dbname` (last) may be a whole connection string or URI, whose own
        // settings then win over ours where it names them.
        c_ = PQconnectdbParams(keys, values, 1);
        if (!c_ || PQstatus(c_) != CONNECTION_OK) {
            std::string message = c_ ? PQerrorMessage(c_) : "out of memory";
            PQfinish(c_);
            c_ = nullptr;
            throw ConnectionLost(errc::io, "postgres: connect: " + trim(message));
        }
        // Notices and warnings are the server talking to a person; a library has none at hand,
        // and everything that matters arrives as an error.
        PQsetNoticeProcessor(
            c_, [](void*, const char*) {}, nullptr);
        count();
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { PQfinish(c_); }

    bool broken() const noexcept { return PQstatus(c_) != CONNECTION_OK; }
    int backend_pid() const noexcept { return PQbackendPID(c_); }

    // Runs `sql` (no parameters, possibly several statements) as one simple query.
    void exec(const std::string& sql) {
        count();
        check(PQexec(c_, sql.c_str()), sql);
    }

    // Runs `sql` with `params`, prepared on first use and reused after; results in binary.
    Result query(const std::string& sql, const Params& params = {}) {
        auto it = prepared_.find(sql);
        if (it == prepared_.end()) {
            auto name = "s" + std::to_string(prepared_.size());
            count();
            check(PQprepare(c_, name.c_str(), sql.c_str(), params.size(), params.types()), sql);
            it = prepared_.emplace(sql, std::move(name)).first;
        }
        auto v = params.view();
        count();
        return check(PQexecPrepared(c_, it->second.c_str(), params.size(), v.values.data(),
                                    v.lengths.data(), v.formats.data(), 1),
                     sql);
    }

private:
    void count() noexcept {
        if (round_trips_)
            round_trips_->fetch_add(1, std::memory_order_relaxed);
    }
    static std::string trim(std::string s) {
        while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
            s.pop_back();
        return s;
    }
    Result check(PGresult* raw, const std::string& sql) {
        Result r(raw);
        auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            return r;
        const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
        std::string message = trim(raw ? PQresultErrorMessage(raw) : PQerrorMessage(c_));
        if (message.empty())
            message = trim(PQerrorMessage(c_));
        std::string text = "postgres: " + sql.substr(0, 200) + ": " + message;
        if (state)
            text += " (SQLSTATE " + std::string(state) + ")";
        // Every error the server sends carries a SQLSTATE; one without is libpq's own, about
        // the connection ("server closed the connection unexpectedly"). Class 08 is a
        // connection exception; 57P01-57P03: the server is shutting down or terminated this
        // backend (pg_terminate_backend).
        const bool lost = broken() || !state || std::strncmp(state, "08", 2) == 0 ||
                          std::strncmp(state, "57P0", 4) == 0;
        if (lost)
            throw ConnectionLost(errc::io, text);
        fail(errc::io, text);
    }

    PGconn* c_ = nullptr;
    std::atomic<std::uint64_t>* round_trips_;
    std::unordered_map<std::string, std::string> prepared_; // sql → statement name
};

// The advisory lock key of a named purpose within a schema: FNV-1a of "musehub/<schema>/<what>",
// the same in every process and build, so everyone using one schema agrees on it.
inline std::int64_t lock_key(std::string_view schema, std::string_view what) {
    std::uint64_t h = 0xcbf29ce484222325u;
    auto mix = [&](std::string_view s) {
        for (unsigned char ch : s)
            h = (h ^ ch) * 0x100000001b3u;
    };
    mix("musehub/"), mix(schema), mix("/"), mix(what);
    return static_cast<std::int64_t>(h);
}

// ---------------------------------------------------------------------------------------------
// Pool

// `pool_size` connections, each used by one caller at a time. `with(fn)` lends one to fn; if
// fn fails because the session was lost, the connection is replaced and fn runs again on the
// new one (up to `reconnect_attempts` times, with backoff), so fn must be safe to start over:
// a lost session committed nothing fn had not already committed.
class Pool {
public:
    explicit Pool(Options options) : options_(std::move(options)) {
        if (options_.conninfo.empty())
            fail(errc::invalid_argument, "postgres: no connection string given");
        // The schema travels in the connection's options string, unquoted: keep it plain.
        if (!std::all_of(options_.schema.begin(), options_.schema.end(), [](char ch) {
                return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
            }))
            fail(errc::invalid_argument, "postgres: schema '" + options_.schema +
                                             "' must be lowercase letters, digits and '_'");
        if (options_.pool_size == 0)
            fail(errc::invalid_argument, "postgres: pool_size must be at least 1");
        idle_.push_back(std::make_unique<Connection>(options_, &round_trips_)); // fail early
        opened_ = 1;
    }

    template <class Fn>
    decltype(auto) with(Fn&& fn) {
        auto backoff = options_.reconnect_backoff;
        for (std::size_t attempt = 0;; ++attempt) {
            Lease lease(*this);
            try {
                return fn(*lease.conn);
            } catch (const ConnectionLost&) {
                lease.discard();
                if (attempt >= options_.reconnect_attempts)
                    throw;
                std::this_thread::sleep_for(backoff);
                backoff *= 2;
            }
        }
    }

    // Round trips to the server so far, over every connection (tests count them).
    std::uint64_t round_trips() const noexcept {
        return round_trips_.load(std::memory_order_relaxed);
    }
    // Server process ids of the open connections (tests terminate them).
    std::vector<int> backend_pids() const {
        std::lock_guard lock(mutex_);
        std::vector<int> out;
        for (const auto& c : idle_)
            out.push_back(c->backend_pid());
        for (int pid : busy_pids_)
            out.push_back(pid);
        return out;
    }
    const Options& options() const noexcept { return options_; }

private:
    class Lease {
    public:
        explicit Lease(Pool& pool) : pool_(pool), conn(pool.acquire()), pid_(conn->backend_pid()) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool_.release(std::move(conn), pid_, discard_); }
        void discard() noexcept { discard_ = true; }

    private:
        Pool& pool_;

    public:
        std::unique_ptr<Connection> conn;

    private:
        int pid_;
        bool discard_ = false;
    };

    // An idle connection, or a new one while fewer than pool_size are open. One the server
    // dropped while it sat idle is replaced.
    std::unique_ptr<Connection> acquire() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !idle_.empty() || opened_ < options_.pool_size; });
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            if (!c->broken()) {
                busy_pids_.push_back(c->backend_pid());
                return c;
            }
            --opened_;
        }
        ++opened_;
        lock.unlock();
        std::unique_ptr<Connection> c;
        try {
            c = std::make_unique<Connection>(options_, &round_trips_);
        } catch (...) {
            lock.lock();
            --opened_;
            cv_.notify_one();
            throw;
        }
        lock.lock();
        busy_pids_.push_back(c->backend_pid());
        return c;
    }
    void release(std::unique_ptr<Connection> c, int pid, bool discard) noexcept {
        std::lock_guard lock(mutex_);
        if (auto it = std::find(busy_pids_.begin(), busy_pids_.end(), pid); it != busy_pids_.end())
            busy_pids_.erase(it);
        if (discard || c->broken())
            --opened_;
        else
            idle_.push_back(std::move(c));
        cv_.notify_one();
    }

    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::vector<int> busy_pids_;
    std::size_t opened_ = 0;
    std::atomic<std::uint64_t> round_trips_{0};
};

} // namespace musehub::postgres::pq
