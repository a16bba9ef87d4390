#pragma once
// Commit-graph utilities. Walks advance a whole frontier at a time through a *batched*
// parent lookup, so a walk over a catalog costs one round trip per generation, not per commit.
//
// A ParentLookup is callable as `lookup(std::span<const CommitId>)` and returns, for each id
// it knows, a pair {id, parents} (any range of such pairs); ids it does not know are omitted.

#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"

#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace musehub {

using CommitSet = std::unordered_set<CommitId>;

// Orders `commits` parents-first (parents outside the set are ignored), stable for ties in the
// input order. Throws errc::corrupt on a cycle, which valid ids make impossible.
inline std::vector<const Commit*> topological_order(std::span<const Commit> commits) {
    std::unordered_map<CommitId, std::size_t> index;
    index.reserve(commits.size());
    for (std::size_t i = 0; i < commits.size(); ++i)
        index.emplace(commits[i].commit_id, i);
    std::vector<std::size_t> pending(commits.size(), 0);
    std::vector<std::vector<std::size_t>> children(commits.size());
    for (std::size_t i = 0; i < commits.size(); ++i)
        for (const auto& p : commits[i].parents())
            if (auto it = index.find(p); it != index.end()) {
                ++pending[i];
                children[it->second].push_back(i);
            }
    std::vector<const Commit*> out;
    out.reserve(commits.size());
    std::vector<std::size_t> ready;
    for (std::size_t i = commits.size(); i-- > 0;)
        if (pending[i] == 0)
            ready.push_back(i);
    while (!ready.empty()) {
        auto i = ready.back();
        ready.pop_back();
        out.push_back(&commits[i]);
        for (auto c : children[i])
            if (--pending[c] == 0)
                ready.push_back(c);
    }
    if (out.size() != commits.size())
        fail(errc::corrupt, "commit graph has a cycle among " +
                                std::to_string(commits.size() - out.size()) + " commits");
    return out;
}

// Every commit reachable from `starts` through parents, excluding the commits in `stop` and
// all of their ancestors (what a client that has `stop` already has). Returns the reached ids
// in walk order; ids the lookup does not know are returned in `unknown`.
//
// Cost: one batched lookup per generation of each walk. The exclusion walk covers all of
// `stop`'s ancestry; a catalog that records generation numbers can bound it (algo/fetch).
struct Walk {
    std::vector<CommitId> reached;
    std::vector<CommitId> unknown;
};

namespace detail {
// Breadth-first over parents, a whole frontier per lookup. `visit(id, known)` sees each id once.
template <class ParentLookup, class Visit>
void walk_frontier(std::vector<CommitId> frontier, CommitSet& seen, ParentLookup&& lookup,
                   Visit&& visit) {
    while (!frontier.empty()) {
        CommitSet known;
        std::vector<CommitId> next;
        for (auto&& [id, parents] : lookup(std::span<const CommitId>(frontier))) {
            known.insert(id);
            for (const auto& p : parents)
                if (seen.insert(p).second)
                    next.push_back(p);
        }
        for (const auto& id : frontier)
            visit(id, known.count(id) > 0);
        frontier = std::move(next);
    }
}
} // namespace detail

template <class ParentLookup>
Walk walk_ancestors(std::span<const CommitId> starts, ParentLookup&& lookup,
                    const CommitSet& stop = {}) {
    CommitSet excluded;
    if (!stop.empty()) {
        std::vector<CommitId> frontier(stop.begin(), stop.end());
        excluded = stop;
        detail::walk_frontier(std::move(frontier), excluded, lookup, [](const CommitId&, bool) {});
    }
    Walk w;
    CommitSet seen = excluded;
    std::vector<CommitId> frontier;
    for (const auto& s : starts)
        if (seen.insert(s).second)
            frontier.push_back(s);
    detail::walk_frontier(std::move(frontier), seen, lookup, [&](const CommitId& id, bool known) {
        (known ? w.reached : w.unknown).push_back(id);
    });
    return w;
}

// True when `ancestor` is `descendant` or one of its ancestors.
template <class ParentLookup>
bool is_ancestor(const CommitId& ancestor, const CommitId& descendant, ParentLookup&& lookup) {
    if (ancestor == descendant)
        return true;
    CommitSet seen{descendant};
    std::vector<CommitId> frontier{descendant};
    while (!frontier.empty()) {
        std::vector<CommitId> next;
        for (auto&& [id, parents] : lookup(std::span<const CommitId>(frontier)))
            for (const auto& p : parents) {
                if (p == ancestor)
                    return true;
                if (seen.insert(p).second)
                    next.push_back(p);
            }
        frontier = std::move(next);
    }
    return false;
}

// A ParentLookup over commits held in memory (a pack, a test fixture).
class InMemoryParents {
public:
    explicit InMemoryParents(std::span<const Commit> commits) {
        for (const auto& c : commits)
            parents_.emplace(c.commit_id, c.parents());
    }
    std::vector<std::pair<CommitId, std::vector<CommitId>>>
    operator()(std::span<const CommitId> ids) const {
        return ids |
               ranges::views::filter([&](const CommitId& id) { return parents_.count(id) > 0; }) |
               ranges::views::transform([&](const CommitId& id) {
                   return std::pair{id, parents_.at(id)};
               }) |
               ranges::to<std::vector>();
    }

private:
    std::unordered_map<CommitId, std::vector<CommitId>> parents_;
};

} // namespace musehub
