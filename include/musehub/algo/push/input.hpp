#pragma once
// What a push names, checked before anything is read: valid repo and branch names, and the
// commit the branch moves to; and ids listed in the errors that refuse it.

#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/path.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace musehub::algo::detail {

inline void validate_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > 255 || name.find('\0') != std::string_view::npos ||
        !is_valid_utf8(name))
        fail(errc::invalid_argument, std::string(what) +
                                         " must be 1-255 bytes of UTF-8 without NUL: '" +
                                         std::string(name.substr(0, 80)) + "'");
}

inline std::string list_ids(const std::vector<std::string>& ids, std::size_t max = 5) {
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < max; ++i)
        s += (i ? ", " : "") + ids[i];
    if (ids.size() > max)
        s += ", … (" + std::to_string(ids.size() - max) + " more)";
    return s;
}

// The commit a push moves its branch to: the pack's branch_heads entry, else its only tip.
inline CommitId pick_head(const Pack& pack, const std::string& branch) {
    if (auto it = pack.branch_heads.find(branch); it != pack.branch_heads.end())
        return it->second;
    if (pack.commits.empty())
        fail(errc::invalid_argument, "push to '" + branch + "' carries no commits");
    std::unordered_set<CommitId> parents;
    for (const auto& c : pack.commits)
        for (const auto& p : c.parents())
            parents.insert(p);
    std::vector<CommitId> tips;
    for (const auto& c : pack.commits)
        if (!parents.count(c.commit_id))
            tips.push_back(c.commit_id);
    std::sort(tips.begin(), tips.end());
    tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
    if (tips.size() != 1)
        fail(errc::invalid_argument, "push to '" + branch + "' has " + std::to_string(tips.size()) +
                                         " tips and no branch_heads entry naming the head");
    return tips[0];
}

} // namespace musehub::algo::detail
