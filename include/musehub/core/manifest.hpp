#pragma once
// A snapshot's manifest: path → object id, kept sorted by path bytes (which is Unicode
// code-point order, the order the Muse snapshot-id formula sorts in). Built only through
// validation, so a Manifest in hand always has unique, safe paths.
//
// Consecutive snapshots of a history differ in a few paths out of thousands, and a hub holds
// many of them at once (a decoded pack, a clone, a chain being rebuilt). So a manifest is a
// list of shared, immutable leaves of about `leaf_entries` entries each: copying a manifest
// copies leaf pointers, and `apply` rebuilds only the leaves a delta touches, sharing the rest
// with its base. `diff` skips the leaves two manifests share without looking inside them.

#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/path.hpp"
#include "musehub/core/sha256.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
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
    // Entries per leaf: small enough that a one-path change copies little, large enough that
    // the leaf list (one pointer per leaf) stays a small fraction of the entries.
    static constexpr std::size_t leaf_entries = 32;

    using Leaf = std::vector<ManifestEntry>;

    // Iterates the entries in path order, across leaves.
    class const_iterator {
    public:
        using iterator_concept = std::forward_iterator_tag;
        using iterator_category = std::forward_iterator_tag;
        using value_type = ManifestEntry;
        using difference_type = std::ptrdiff_t;
        using pointer = const ManifestEntry*;
        using reference = const ManifestEntry&;

        const_iterator() = default;
        reference operator*() const noexcept { return (*leaves_)[leaf_]->operator[](at_); }
        pointer operator->() const noexcept { return &**this; }
        const_iterator& operator++() noexcept {
            if (++at_ == (*leaves_)[leaf_]->size())
                ++leaf_, at_ = 0;
            return *this;
        }
        const_iterator operator++(int) noexcept {
            auto old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept {
            return a.leaf_ == b.leaf_ && a.at_ == b.at_;
        }

        // At the start of a whole leaf: that leaf, else null. Walks over two manifests skip
        // the leaves they share (see diff).
        const Leaf* whole_leaf() const noexcept {
            return at_ == 0 && leaf_ < leaves_->size() ? (*leaves_)[leaf_].get() : nullptr;
        }
        void skip_leaf() noexcept { ++leaf_, at_ = 0; }

    private:
        friend class Manifest;
        using Leaves = std::vector<std::shared_ptr<const Leaf>>;
        const_iterator(const Leaves* leaves, std::size_t leaf, std::size_t at) noexcept
            : leaves_(leaves), leaf_(leaf), at_(at) {}

        const Leaves* leaves_ = nullptr;
        std::size_t leaf_ = 0, at_ = 0;
    };

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
        m.append_split(entries.begin(), entries.end());
        return m;
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const_iterator begin() const noexcept { return {&leaves_, 0, 0}; }
    const_iterator end() const noexcept { return {&leaves_, leaves_.size(), 0}; }
    // A copy of every entry, in path order.
    std::vector<ManifestEntry> entries() const { return {begin(), end()}; }
    // How many leaves hold the entries (for tests and memory accounting).
    std::size_t leaf_count() const noexcept { return leaves_.size(); }
    // Entries held in leaves `other` does not share: what this manifest costs beyond `other`
    // (few, when it was built from `other` by a small delta).
    std::size_t unshared_entries(const Manifest& other) const {
        std::unordered_set<const Leaf*> theirs;
        for (const auto& l : other.leaves_)
            theirs.insert(l.get());
        std::size_t n = 0;
        for (const auto& l : leaves_)
            if (!theirs.count(l.get()))
                n += l->size();
        return n;
    }

    const ObjectId* find(std::string_view path) const noexcept {
        // The leaf that would hold `path`: the last one starting at or before it.
        auto leaf =
            std::upper_bound(leaves_.begin(), leaves_.end(), path,
                             [](std::string_view p, const auto& l) { return p < l->front().path; });
        if (leaf == leaves_.begin())
            return nullptr;
        const Leaf& l = **std::prev(leaf);
        auto it =
            std::lower_bound(l.begin(), l.end(), path,
                             [](const ManifestEntry& e, std::string_view p) { return e.path < p; });
        return it != l.end() && it->path == path ? &it->object : nullptr;
    }

    // The Muse snapshot id: SHA-256 of `path NUL hex` strings, sorted by code point, joined by
    // NUL. Entries are already in that order (NUL sorts before every path byte).
    SnapshotId id() const {
        // Entries are gathered into one buffer and hashed in large updates: per-entry updates
        // and hex strings cost more than the hashing itself.
        Sha256 h;
        std::string buf;
        buf.reserve(64 * 1024);
        bool first = true;
        for (const auto& e : *this) {
            if (!first)
                buf.push_back('\0');
            first = false;
            buf.append(e.path).push_back('\0');
            auto at = buf.size();
            buf.resize(at + 64);
            e.object.digest.hex_to(buf.data() + at);
            if (buf.size() >= 60 * 1024)
                h.update(buf), buf.clear();
        }
        h.update(buf);
        return SnapshotId{h.finish()};
    }

    friend bool operator==(const Manifest& a, const Manifest& b) noexcept {
        if (a.size_ != b.size_)
            return false;
        for (auto x = a.begin(), y = b.begin(); x != a.end();) {
            if (auto l = x.whole_leaf(); l && l == y.whole_leaf())
                x.skip_leaf(), y.skip_leaf();
            else if (*x++ != *y++)
                return false;
        }
        return true;
    }

private:
    friend Manifest apply(const Manifest&, const ManifestDelta&, std::size_t);

    // Appends [first, last) as new leaves of about leaf_entries each (none for an empty range).
    template <class It>
    void append_split(It first, It last) {
        auto n = static_cast<std::size_t>(std::distance(first, last));
        if (n == 0)
            return;
        auto parts = (n + leaf_entries - 1) / leaf_entries;
        for (std::size_t p = 0; p < parts; ++p) {
            auto from = first + static_cast<std::ptrdiff_t>(p * n / parts);
            auto to = first + static_cast<std::ptrdiff_t>((p + 1) * n / parts);
            leaves_.push_back(std::make_shared<const Leaf>(std::make_move_iterator(from),
                                                           std::make_move_iterator(to)));
        }
        size_ += n;
    }
    void append_shared(std::shared_ptr<const Leaf> leaf) {
        size_ += leaf->size();
        leaves_.push_back(std::move(leaf));
    }

    std::vector<std::shared_ptr<const Leaf>> leaves_; // each non-empty, in path order
    std::size_t size_ = 0;
};

// What changes `from` into `to`. Leaves the two share are skipped whole.
inline ManifestDelta diff(const Manifest& from, const Manifest& to) {
    ManifestDelta d;
    auto a = from.begin(), b = to.begin();
    const auto a_end = from.end(), b_end = to.end();
    while (a != a_end || b != b_end) {
        if (auto l = a.whole_leaf(); l && l == b.whole_leaf()) {
            a.skip_leaf(), b.skip_leaf();
        } else if (b == b_end || (a != a_end && a->path < b->path)) {
            d.remove.push_back(a->path);
            ++a;
        } else if (a == a_end || b->path < a->path) {
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

// Applies a delta, sharing every leaf of `base` the delta does not touch. Removing a path the
// base lacks, or upserting and removing the same path, is corrupt input, not something to
// guess about.
inline Manifest apply(const Manifest& base, const ManifestDelta& delta,
                      std::size_t max_path_bytes = 4'096) {
    // The base is valid already: only the paths the delta brings are validated, and the merge
    // of two sorted, unique lists is sorted and unique by construction.
    auto by_path = [](const auto& x, const auto& y) { return x.path < y.path; };
    std::vector<ManifestEntry> ups = delta.upsert;
    for (const auto& u : ups)
        validate_path(u.path, max_path_bytes);
    if (!std::is_sorted(ups.begin(), ups.end(), by_path))
        std::sort(ups.begin(), ups.end(), by_path);
    if (auto d = std::adjacent_find(ups.begin(), ups.end(),
                                    [](const auto& x, const auto& y) { return x.path == y.path; });
        d != ups.end())
        fail(errc::corrupt, "delta upserts '" + d->path + "' twice");
    auto removed = delta.remove;
    if (!std::is_sorted(removed.begin(), removed.end()))
        std::sort(removed.begin(), removed.end());
    if (auto d = std::adjacent_find(removed.begin(), removed.end()); d != removed.end())
        fail(errc::corrupt, "delta removes '" + *d + "' twice");
    for (auto u = ups.cbegin(); const auto& r : removed) {
        while (u != ups.cend() && u->path < r)
            ++u;
        if (u != ups.cend() && u->path == r)
            fail(errc::corrupt, "delta both upserts and removes '" + r + "'");
    }

    // Each leaf of the base takes the changes that fall in its path range (the first leaf also
    // those before it, the last those after it). Untouched leaves are shared; a touched one is
    // merged anew, split when it grew past two leaves' worth, and carried into the next leaf
    // when it shrank below a quarter of one, so leaves stay near their size.
    Manifest m;
    auto u = ups.begin();
    auto r = removed.cbegin();
    std::vector<ManifestEntry> carry;
    const auto& leaves = base.leaves_;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
        const bool last = i + 1 == leaves.size();
        auto in_range = [&](const std::string& p) {
            return last || p < leaves[i + 1]->front().path;
        };
        auto u_end = u;
        auto r_end = r;
        while (u_end != ups.end() && in_range(u_end->path))
            ++u_end;
        while (r_end != removed.end() && in_range(*r_end))
            ++r_end;
        if (u == u_end && r == r_end && carry.empty()) {
            m.append_shared(leaves[i]);
            continue;
        }
        std::vector<ManifestEntry> merged = std::move(carry);
        carry.clear();
        merged.reserve(merged.size() + leaves[i]->size() + static_cast<std::size_t>(u_end - u));
        for (const auto& e : *leaves[i]) {
            while (u != u_end && u->path < e.path)
                merged.push_back(std::move(*u++));
            if (r != r_end && *r < e.path)
                fail(errc::corrupt, "delta removes a path the base lacks: '" + *r + "'");
            if (r != r_end && *r == e.path) {
                ++r;
                continue;
            }
            if (u != u_end && u->path == e.path)
                merged.push_back(std::move(*u++)); // re-pointed
            else
                merged.push_back(e);
        }
        while (u != u_end)
            merged.push_back(std::move(*u++));
        if (r != r_end)
            fail(errc::corrupt, "delta removes a path the base lacks: '" + *r + "'");
        if (!last && merged.size() < Manifest::leaf_entries / 4)
            carry = std::move(merged);
        else if (merged.size() > 2 * Manifest::leaf_entries)
            m.append_split(merged.begin(), merged.end());
        else if (!merged.empty())
            m.append_shared(std::make_shared<const Manifest::Leaf>(std::move(merged)));
    }
    if (leaves.empty()) {
        if (!removed.empty())
            fail(errc::corrupt, "delta removes a path the base lacks: '" + removed.front() + "'");
        m.append_split(ups.begin(), ups.end());
    }
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
