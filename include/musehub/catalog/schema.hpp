#pragma once
// The catalog's tables, each described once as a Hana-reflected row struct plus a `table`
// entry naming it and saying how many leading fields form its primary key. The memory
// catalog derives its containers, the SQL catalogs their DDL and statements, and the tests
// their printing from these descriptions, so adding a column is a one-line change here.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/model.hpp"

#include <boost/hana/adapt_struct.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace musehub::catalog {

// Which table a row type is, and its primary key: the first `key_size` fields.
template <class Row>
struct table;

// One row per distinct object, global across repos.
struct ObjectRow {
    ObjectId object_id{};
    std::uint64_t size{}; // raw bytes
    friend bool operator==(const ObjectRow&, const ObjectRow&) = default;
};
template <>
struct table<ObjectRow> {
    static constexpr std::string_view name = "objects";
    static constexpr std::size_t key_size = 1;
};

// Where an object's bytes are: one ranged read of `length` bytes at `offset` in `container`
// (a pack key, or a loose object's own key with offset 0).
struct LocationRow {
    ObjectId object_id{};
    std::string container{};
    std::uint64_t offset{};
    std::uint64_t length{};
    Encoding encoding{};
    std::uint64_t raw_size{};
    friend bool operator==(const LocationRow&, const LocationRow&) = default;
};
template <>
struct table<LocationRow> {
    static constexpr std::string_view name = "locations";
    static constexpr std::size_t key_size = 1;
};

struct PackRow {
    PackId pack{};
    std::string key{}; // object-store key
    std::uint64_t size{};
    std::uint64_t objects{};
    friend bool operator==(const PackRow&, const PackRow&) = default;
};
template <>
struct table<PackRow> {
    static constexpr std::string_view name = "packs";
    static constexpr std::size_t key_size = 1;
};

// Per-repo membership: a repo may serve exactly the objects, snapshots and commits it refers to.
struct ObjectRefRow {
    std::string repo{};
    ObjectId object_id{};
    friend bool operator==(const ObjectRefRow&, const ObjectRefRow&) = default;
};
template <>
struct table<ObjectRefRow> {
    static constexpr std::string_view name = "object_refs";
    static constexpr std::size_t key_size = 2;
};

struct SnapshotRow {
    SnapshotId snapshot_id{};
    std::uint64_t entries{};
    Bytes record{}; // the full record, msgpack, as the v1 wire spells it
    friend bool operator==(const SnapshotRow&, const SnapshotRow&) = default;
};
template <>
struct table<SnapshotRow> {
    static constexpr std::string_view name = "snapshots";
    static constexpr std::size_t key_size = 1;
};

struct SnapshotRefRow {
    std::string repo{};
    SnapshotId snapshot_id{};
    friend bool operator==(const SnapshotRefRow&, const SnapshotRefRow&) = default;
};
template <>
struct table<SnapshotRefRow> {
    static constexpr std::string_view name = "snapshot_refs";
    static constexpr std::size_t key_size = 2;
};

struct CommitRow {
    CommitId commit_id{};
    SnapshotId snapshot_id{};
    std::optional<CommitId> parent{};
    std::optional<CommitId> parent2{};
    Bytes record{}; // the full record, msgpack, as the v1 wire spells it
    friend bool operator==(const CommitRow&, const CommitRow&) = default;
};
template <>
struct table<CommitRow> {
    static constexpr std::string_view name = "commits";
    static constexpr std::size_t key_size = 1;
};

struct CommitRefRow {
    std::string repo{};
    CommitId commit_id{};
    friend bool operator==(const CommitRefRow&, const CommitRefRow&) = default;
};
template <>
struct table<CommitRefRow> {
    static constexpr std::string_view name = "commit_refs";
    static constexpr std::size_t key_size = 2;
};

template <>
struct table<Branch> {
    static constexpr std::string_view name = "branches";
    static constexpr std::size_t key_size = 2;
};

struct RepoRow {
    std::string repo{};
    std::string default_branch{};
    friend bool operator==(const RepoRow&, const RepoRow&) = default;
};
template <>
struct table<RepoRow> {
    static constexpr std::string_view name = "repos";
    static constexpr std::size_t key_size = 1;
};

// Every table, in dependency order (rows that others point at come first).
using Schema = std::tuple<RepoRow, ObjectRow, PackRow, LocationRow, ObjectRefRow, SnapshotRow,
                          SnapshotRefRow, CommitRow, CommitRefRow, Branch>;

} // namespace musehub::catalog

// Reflection: the field lists the codecs, catalogs and printers derive everything from.
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::ObjectRow, object_id, size);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::LocationRow, object_id, container, offset, length,
                        encoding, raw_size);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::PackRow, pack, key, size, objects);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::ObjectRefRow, repo, object_id);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::SnapshotRow, snapshot_id, entries, record);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::SnapshotRefRow, repo, snapshot_id);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::CommitRow, commit_id, snapshot_id, parent, parent2,
                        record);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::CommitRefRow, repo, commit_id);
BOOST_HANA_ADAPT_STRUCT(musehub::catalog::RepoRow, repo, default_branch);
