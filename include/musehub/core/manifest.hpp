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

class Manifest;
inline Manifest apply(const Manifest& base, const ManifestDelta& delta, std::size_t max_path_bytes);

class Manifest {
public:
    Manifest() = default;

    // Validates every path, sorts, and rejects duplicate paths.
    static Manifest from_entries(std::vector<ManifestEntry> entries,
                                 std::size_t max_path_bytes = 4'096) {
        for (const auto& e : entries)
            validate_path(e.path, max_path_bytes);
        auto by_path = [](const auto& a, const auto& b) { return a.path < b.path; };
        if (!std::is_sorted(entries.begin(), entries.end(), by_path))
            std::sort(entries.begin(), entries.end(), by_path);
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
        // Entries are gathered into one buffer and hashed in large updates: per-entry updates
        // and hex strings cost more than the hashing itself.
        Sha256 h;
        std::string buf;
        buf.reserve(64 * 1024);
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (i)
                buf.push_back('\0');
            buf.append(entries_[i].path).push_back('\0');
            auto at = buf.size();
            buf.resize(at + 64);
            entries_[i].object.digest.hex_to(buf.data() + at);
            if (buf.size() >= 60 * 1024)
                h.update(buf), buf.clear();
        }
        h.update(buf);
        return SnapshotId{h.finish()};
    }

    friend bool operator==(const Manifest&, const Manifest&) = default;

private:
    friend Manifest apply(const Manifest&, const ManifestDelta&, std::size_t);
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
    // The base is valid already: only the paths the delta brings are validated, and the merge
    // of two sorted, unique lists is sorted and unique by construction.
    auto by_path = [](const auto& x, const auto& y) { return x.path < y.path; };
    std::vector<ManifestEntry> ups = delta.upsert;
    for (const auto& u : ups)
        validate_path(u.path, max_path_bytes);
    std::sort(ups.begin(), ups.end(), by_path);
    if (auto d = std::adjacent_find(ups.begin(), ups.end(),
                                    [](const auto& x, const auto& y) { return x.path == y.path; });
        d != ups.end())
        fail(errc::corrupt, "delta upserts '" + d->path + "' twice");
    auto removed = delta.remove;
    std::sort(removed.begin(), removed.end());
    for (const auto& r : removed) {
        if (!base.find(r))
            fail(errc::corrupt, "delta removes a path the base lacks: '" + r + "'");
        if (std::binary_search(ups.begin(), ups.end(), ManifestEntry{r, {}}, by_path))
            fail(errc::corrupt, "delta both upserts and removes '" + r + "'");
    }
    std::vector<ManifestEntry> merged;
    merged.reserve(base.size() + ups.size());
    auto o = base.begin();
    auto keep = [&](const ManifestEntry& e) {
        if (!std::binary_search(removed.begin(), removed.end(), e.path))
            merged.push_back(e);
    };
    for (auto& u : ups) {
        while (o != base.end() && o->path < u.path)
            keep(*o++);
        if (o != base.end() && o->path == u.path)
            ++o; // replaced
        merged.push_back(std::move(u));
    }
    while (o != base.end())
        keep(*o++);
    Manifest m;
    m.entries_ = std::move(merged);
    return m;
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
