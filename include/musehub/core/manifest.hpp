#pragma once
// A snapshot's manifest: path → object id, kept sorted by path bytes (which is Unicode
// code-point order, the order the Muse snapshot-id formula sorts in). Built only through
// validation, so a Manifest in hand always has unique, safe paths.

#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/path.hpp"
#include "musehub/core/sha256.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace musehub {

struct ManifestEntry {
    std::string path;
    ObjectId object;
    friend bool operator==(const ManifestEntry&, const ManifestEntry&) = default;
};

// The change from one manifest to another: paths added or re-pointed, and paths removed.
struct ManifestDelta {
    std::vector<ManifestEntry> upsert; // sorted by path
    std::vector<std::string> remove;   // sorted
    friend bool operator==(const ManifestDelta&, const ManifestDelta&) = default;
};

class Manifest {
public:
    Manifest() = default;

    // Validates every path, sorts, and rejects duplicate paths.
    static Manifest from_entries(std::vector<ManifestEntry> entries,
                                 std::size_t max_path_bytes = 4'096) {
        for (const auto& e : entries)
            validate_path(e.path, max_path_bytes);
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.path < b.path; });
        auto dup =
            std::adjacent_find(entries.begin(), entries.end(),
                               [](const auto& a, const auto& b) { return a.path == b.path; });
        if (dup != entries.end())
            fail(errc::bad_path, "duplicate manifest path: '" + dup->path + "'");
        Manifest m;
        m.entries_ = std::move(entries);
        return m;
    }

    const std::vector<ManifestEntry>& entries() const noexcept { return entries_; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    auto begin() const noexcept { return entries_.begin(); }
    auto end() const noexcept { return entries_.end(); }

    const ObjectId* find(std::string_view path) const noexcept {
        auto it =
            std::lower_bound(entries_.begin(), entries_.end(), path,
                             [](const ManifestEntry& e, std::string_view p) { return e.path < p; });
        return it != entries_.end() && it->path == path ? &it->object : nullptr;
    }

    // The Muse snapshot id: SHA-256 of `path NUL hex` strings, sorted by code point, joined by
    // NUL. Entries are already in that order (NUL sorts before every path byte).
    SnapshotId id() const {
        Sha256 h;
        bool first = true;
        for (const auto& e : entries_) {
            if (!first)
                h.update(std::string_view("\0", 1));
            first = false;
            h.update(e.path).update(std::string_view("\0", 1)).update(e.object.hex());
        }
        return SnapshotId{h.finish()};
    }

    friend bool operator==(const Manifest&, const Manifest&) = default;

private:
    std::vector<ManifestEntry> entries_;
};

// What changes `from` into `to`.
inline ManifestDelta diff(const Manifest& from, const Manifest& to) {
    ManifestDelta d;
    auto a = from.begin(), b = to.begin();
    while (a != from.end() || b != to.end()) {
        if (b == to.end() || (a != from.end() && a->path < b->path)) {
            d.remove.push_back(a->path);
            ++a;
        } else if (a == from.end() || b->path < a->path) {
            d.upsert.push_back(*b);
            ++b;
        } else {
            if (a->object != b->object)
                d.upsert.push_back(*b);
            ++a, ++b;
        }
    }
    return d;
}

// Applies a delta. Removing a path the base lacks, or upserting and removing the same path,
// is corrupt input, not something to guess about.
inline Manifest apply(const Manifest& base, const ManifestDelta& delta,
                      std::size_t max_path_bytes = 4'096) {
    std::vector<ManifestEntry> out;
    out.reserve(base.size() + delta.upsert.size());
    auto removed = delta.remove;
    std::sort(removed.begin(), removed.end());
    for (const auto& r : removed)
        if (!base.find(r))
            fail(errc::corrupt, "delta removes a path the base lacks: '" + r + "'");
    for (const auto& e : base) {
        if (std::binary_search(removed.begin(), removed.end(), e.path))
            continue;
        out.push_back(e);
    }
    for (const auto& u : delta.upsert) {
        if (std::binary_search(removed.begin(), removed.end(), u.path))
            fail(errc::corrupt, "delta both upserts and removes '" + u.path + "'");
    }
    // Upserts replace existing paths; from_entries rejects duplicates, so drop replaced ones.
    std::vector<ManifestEntry> ups = delta.upsert;
    std::sort(ups.begin(), ups.end(), [](const auto& x, const auto& y) { return x.path < y.path; });
    std::vector<ManifestEntry> merged;
    merged.reserve(out.size() + ups.size());
    auto o = out.begin();
    for (auto& u : ups) {
        while (o != out.end() && o->path < u.path)
            merged.push_back(std::move(*o++));
        if (o != out.end() && o->path == u.path)
            ++o;
        merged.push_back(std::move(u));
    }
    while (o != out.end())
        merged.push_back(std::move(*o++));
    return Manifest::from_entries(std::move(merged), max_path_bytes);
}

// Rebuilds a manifest from a base and a delta, and proves it is the snapshot it claims to be.
inline Manifest rebuild_and_verify(const Manifest& base, const ManifestDelta& delta,
                                   const SnapshotId& expected, std::size_t max_path_bytes = 4'096) {
    Manifest m = apply(base, delta, max_path_bytes);
    if (auto got = m.id(); got != expected)
        fail(errc::bad_snapshot_id,
             "rebuilt manifest hashes to " + got.hex() + ", not snapshot " + expected.hex());
    return m;
}

} // namespace musehub
