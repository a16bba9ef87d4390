#pragma once
// Choosing delta bases for the objects of a pack, the way git does what it does well: an
// object's natural base is the previous version of the same path (the manifests say which),
// or, for a path new in a commit, an object of a path that commit removed with the same file
// name (a move); chains stay within `max_depth` links of a whole object. Only objects the pack
// carries raw are considered, and only bases it carries raw: the result decodes on its own.
//
//   auto bases = plan_delta_bases(pack, max_depth);   // bases[i]: index of i's base, or none
//
// Commits are visited parents first, so every base is decided (and its depth known) before the
// objects built on it: no cycles, by construction.

#include "musehub/core/dag.hpp"
#include "musehub/core/model.hpp"

#include <cstddef>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace musehub::detail {

inline std::string_view file_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

class DeltaPlanner {
public:
    DeltaPlanner(const Pack& pack, std::uint32_t max_depth)
        : pack_(pack), max_depth_(max_depth), base_(pack.objects.size(), SIZE_MAX),
          depth_(pack.objects.size(), 0), decided_(pack.objects.size(), false) {
        for (std::size_t i = 0; i < pack.objects.size(); ++i)
            if (pack.objects[i].encoding == Encoding::raw)
                index_.emplace(pack.objects[i].id, i);
        for (const auto& s : pack.snapshots)
            snapshots_.emplace(s.snapshot_id, &s);
        for (const auto& c : pack.commits)
            snapshot_of_.emplace(c.commit_id, c.snapshot_id);
    }

    std::vector<std::size_t> plan() && {
        for (const auto* c : topological_order(pack_.commits)) {
            const Snapshot* s = snapshot(c->snapshot_id);
            if (!s)
                continue;
            const Snapshot* parent = nullptr;
            if (c->parent_commit_id)
                if (auto p = snapshot_of_.find(*c->parent_commit_id); p != snapshot_of_.end())
                    parent = snapshot(p->second);
            visit(*s, parent);
        }
        return std::move(base_);
    }

private:
    const Snapshot* snapshot(const SnapshotId& id) const {
        auto it = snapshots_.find(id);
        return it == snapshots_.end() ? nullptr : it->second;
    }
    std::size_t index(const ObjectId& id) const {
        auto it = index_.find(id);
        return it == index_.end() ? no_base : it->second;
    }

    // Decides the objects `s` brings that `parent` did not have.
    void visit(const Snapshot& s, const Snapshot* parent) {
        if (!parent) {
            for (const auto& e : s.manifest)
                decide(index(e.object), no_base);
            return;
        }
        auto delta = diff(parent->manifest, s.manifest);
        std::unordered_map<std::string_view, std::size_t> moved; // file name -> removed object
        for (const auto& path : delta.remove)
            if (const auto* gone = parent->manifest.find(path))
                moved.emplace(file_name(path), index(*gone));
        for (const auto& e : delta.upsert) {
            std::size_t base = no_base;
            if (const auto* before = parent->manifest.find(e.path))
                base = index(*before);
            else if (auto m = moved.find(file_name(e.path)); m != moved.end())
                base = m->second;
            decide(index(e.object), base);
        }
    }

    // The first decision for an object stands: it is the one its earliest version made.
    void decide(std::size_t i, std::size_t base) {
        if (i == no_base || decided_[i])
            return;
        decided_[i] = true;
        if (base == no_base || base == i || !decided_[base] || depth_[base] + 1 > max_depth_)
            return;
        base_[i] = base;
        depth_[i] = depth_[base] + 1;
    }

    const Pack& pack_;
    std::uint32_t max_depth_;
    std::vector<std::size_t> base_;
    std::vector<std::uint32_t> depth_;
    std::vector<bool> decided_;
    std::unordered_map<ObjectId, std::size_t> index_;
    std::unordered_map<SnapshotId, const Snapshot*> snapshots_;
    std::unordered_map<CommitId, SnapshotId> snapshot_of_;

private:
    static constexpr std::size_t no_base = SIZE_MAX;
};

} // namespace musehub::detail

namespace musehub::wire {

inline constexpr std::size_t no_base = SIZE_MAX;

// For each object of `pack`, the index of the object to encode it against, or no_base.
inline std::vector<std::size_t> plan_delta_bases(const Pack& pack, std::uint32_t max_depth) {
    return musehub::detail::DeltaPlanner(pack, max_depth).plan();
}

} // namespace musehub::wire
