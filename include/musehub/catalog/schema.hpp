#pragma once
// The catalog's tables, each described once as a Hana-reflected row struct plus a `table`
// entry: its name, how many leading fields form its primary key, which other fields are
// indexed for `find_by`, and which refer to rows of other tables. The memory catalog derives
// its maps and indexes, the SQL catalogs their DDL (foreign keys included) and statements,
// and the tests their printing from these descriptions, so adding a column is a one-line
// change here.

#include "musehub/core/bytes.hpp"
#include "musehub/core/container_format.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/time.hpp"

#include <boost/hana/adapt_struct.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace musehub::catalog {

// A field whose value must name a row of another table (or is empty, for an optional field):
// an invariant a catalog with foreign keys enforces when a transaction commits.
struct Reference {
    std::size_t field;
    std::string_view table;  // the table referred to
    std::string_view column; // its key column
};

// The shape of a table: the first `Key` fields are the primary key; `Indexed` are the
// positions of further fields that `find_by` may query. A table whose fields refer to other
// rows lists them in `references` (none by default).
template <std::size_t Key, std::size_t... Indexed>
struct keyed {
    static constexpr std::size_t key_size = Key;
    static constexpr std::array<std::size_t, sizeof...(Indexed)> indexes{Indexed...};
    static constexpr std::array<Reference, 0> references{};
};

template <class Row>
struct table;

// A repo. `epoch` counts the transactions that registered anything for it: GC deletes only
// if the epoch it read before scanning is still current, so no push can slip between GC's
// scan and its delete. `gc_epoch` counts GC's deletions: a push moves its branch only if no
// deletion happened since it checked what it builds on.
struct RepoRow {
    std::string repo{};
    std::string default_branch{};
    std::uint64_t epoch{};
    std::uint64_t gc_epoch{};
    friend bool operator==(const RepoRow&, const RepoRow&) = default;
};
template <>
struct table<RepoRow> : keyed<1> {
    static constexpr std::string_view name = "repos";
};

// One row per distinct object, global across repos. `created_at` gives a fresh upload a grace
// period before GC may take it, so bytes uploaded ahead of their push are not collected.
struct ObjectRow {
    ObjectId object_id{};
    std::uint64_t size{}; // raw bytes
    TimePoint created_at{};
    friend bool operator==(const ObjectRow&, const ObjectRow&) = default;
};
template <>
struct table<ObjectRow> : keyed<1> {
    static constexpr std::string_view name = "objects";
};

// A unit of stored bytes: a pack (v1 bundle or v2 MPack) or a loose object. The key is
// unique per upload, so a key GC retires can never be written again by a later upload.
using musehub::ContainerFormat;

struct ContainerRow {
    std::string container{}; // object-store key
    PackId pack{};           // SHA-256 of the bytes
    ContainerFormat format{};
    std::uint64_t size{};
    std::uint64_t objects{};
    std::uint64_t commits{};
    std::uint64_t snapshots{};
    TimePoint created_at{};
    friend bool operator==(const ContainerRow&, const ContainerRow&) = default;
};
template <>
struct table<ContainerRow> : keyed<1, /*pack*/ 1> {
    static constexpr std::string_view name = "containers";
};

// Where an object's bytes are: one ranged read of `length` bytes at `offset` in `container`.
// A delta (encoding zstd_delta) names its `base`, `depth` links above a whole object: the
// base's bytes are needed to read it, so an object that is a live delta's base stays (GC).
struct LocationRow {
    ObjectId object_id{};
    std::string container{};
    std::uint64_t offset{};
    std::uint64_t length{};
    Encoding encoding{};
    std::uint64_t raw_size{};
    std::optional<ObjectId> base{};
    std::uint32_t depth{};
    friend bool operator==(const LocationRow&, const LocationRow&) = default;
};
template <>
struct table<LocationRow> : keyed<1, /*container*/ 1, /*base*/ 6> {
    static constexpr std::string_view name = "locations";
    // A location is of a known object; a delta's base is one too.
    static constexpr std::array references{Reference{0, "objects", "object_id"},
                                           Reference{6, "objects", "object_id"}};
};

// Per-repo membership: a repo may serve exactly the objects, snapshots and commits it refers
// to. `touched` is refreshed by every push that uses the row; GC deletes a ref only if it is
// unchanged since GC read it, so a push racing GC always keeps what it uses.
struct ObjectRefRow {
    std::string repo{};
    ObjectId object_id{};
    TimePoint touched{};
    friend bool operator==(const ObjectRefRow&, const ObjectRefRow&) = default;
};
template <>
struct table<ObjectRefRow> : keyed<2, /*object_id*/ 1> {
    static constexpr std::string_view name = "object_refs";
    // A ref cannot outlive its object.
    static constexpr std::array references{Reference{1, "objects", "object_id"}};
};

// A snapshot: its full record, or a delta against `base` (algo/snapshots.hpp says how, and
// who writes which). `depth` counts the links down to a full record.
struct SnapshotRow {
    SnapshotId snapshot_id{};
    std::uint64_t entries{};
    Bytes record{}; // full or delta (algo/snapshots.hpp), compressed (stored_record.hpp)
    std::optional<SnapshotId> base{};
    std::uint32_t depth{};
    friend bool operator==(const SnapshotRow&, const SnapshotRow&) = default;
};
template <>
struct table<SnapshotRow> : keyed<1, /*base*/ 3> {
    static constexpr std::string_view name = "snapshots";
    // A delta cannot outlive its base.
    static constexpr std::array references{Reference{3, "snapshots", "snapshot_id"}};
};

struct SnapshotRefRow {
    std::string repo{};
    SnapshotId snapshot_id{};
    TimePoint touched{};
    friend bool operator==(const SnapshotRefRow&, const SnapshotRefRow&) = default;
};
template <>
struct table<SnapshotRefRow> : keyed<2, /*snapshot_id*/ 1> {
    static constexpr std::string_view name = "snapshot_refs";
    static constexpr std::array references{Reference{1, "snapshots", "snapshot_id"}};
};

struct CommitRow {
    CommitId commit_id{};
    SnapshotId snapshot_id{};
    std::optional<CommitId> parent{};
    std::optional<CommitId> parent2{};
    Bytes record{}; // the v1 record, compressed (catalog/stored_record.hpp)
    friend bool operator==(const CommitRow&, const CommitRow&) = default;
};
template <>
struct table<CommitRow> : keyed<1> {
    static constexpr std::string_view name = "commits";
};

struct CommitRefRow {
    std::string repo{};
    CommitId commit_id{};
    TimePoint touched{};
    friend bool operator==(const CommitRefRow&, const CommitRefRow&) = default;
};
template <>
struct table<CommitRefRow> : keyed<2, /*commit_id*/ 1> {
    static constexpr std::string_view name = "commit_refs";
    static constexpr std::array references{Reference{1, "commits", "commit_id"}};
};

template <>
struct table<Branch> : keyed<2> {
    static constexpr std::string_view name = "branches";
};

// A container whose bytes are to be deleted once `since` is older than the grace period
// (which lets in-flight readers finish). Written in the same transaction that removed the
// container's last location.
struct TombstoneRow {
    std::string container{};
    TimePoint since{};
    friend bool operator==(const TombstoneRow&, const TombstoneRow&) = default;
};
template <>
struct table<TombstoneRow> : keyed<1> {
    static constexpr std::string_view name = "tombstones";
};

// A presigned upload handed out and not yet confirmed. GC removes the bytes of one still
// unconfirmed after its URL expired and the grace period passed (abandoned uploads).
struct UploadRow {
    std::string repo{};
    std::string container{}; // the object-store key the URL writes
    TimePoint expires_at{};
    friend bool operator==(const UploadRow&, const UploadRow&) = default;
};
template <>
struct table<UploadRow> : keyed<2> {
    static constexpr std::string_view name = "uploads";
};

// A fetch pack built for (repo, request), kept until `expires_at`.
struct FetchCacheRow {
    std::string repo{};
    std::string request{}; // hex digest of the sorted want and have sets
    std::string container{};
    TimePoint expires_at{};
    friend bool operator==(const FetchCacheRow&, const FetchCacheRow&) = default;
};
template <>
struct table<FetchCacheRow> : keyed<2> {
    static constexpr std::string_view name = "fetch_cache";
};

// Every table, in dependency order (rows that others point at come first).
using Schema = std::tuple<RepoRow, ObjectRow, ContainerRow, LocationRow, ObjectRefRow, SnapshotRow,
                          SnapshotRefRow, CommitRow, CommitRefRow, Branch, TombstoneRow, UploadRow,
                          FetchCacheRow>;

} // namespace musehub::catalog

// Reflection: the field lists the codecs, catalogs and printers derive everything from.
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::RepoRow, repo, default_branch, epoch, gc_epoch);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::ObjectRow, object_id, size, created_at);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::ContainerRow, container, pack, format, size, objects,
                        commits, snapshots, created_at);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::LocationRow, object_id, container, offset, length,
                        encoding, raw_size, base, depth);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::ObjectRefRow, repo, object_id, touched);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::SnapshotRow, snapshot_id, entries, record, base, depth);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::SnapshotRefRow, repo, snapshot_id, touched);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::CommitRow, commit_id, snapshot_id, parent, parent2,
                        record);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::CommitRefRow, repo, commit_id, touched);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::TombstoneRow, container, since);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::UploadRow, repo, container, expires_at);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::FetchCacheRow, repo, request, container, expires_at);
