#pragma once
// The repo's epoch: every write transaction of a push bumps it, and GC deletes only if the
// epoch it scanned at is still current (algo/gc.hpp).

#include "musehub/catalog/concept.hpp"
#include "musehub/core/error.hpp"

#include <string>

namespace musehub::algo::detail {

// Bumps the repo's epoch inside a write transaction, creating the repo on first use.
template <catalog::CatalogTransaction Tx>
void bump_epoch(Tx& tx, const std::string& repo, const std::string& default_branch) {
    using catalog::RepoRow;
    catalog::Key<RepoRow> key{repo};
    auto row = catalog::find_one<RepoRow>(tx, key);
    RepoRow next = row ? *row : RepoRow{repo, {}, 0};
    if (next.default_branch.empty())
        next.default_branch = default_branch; // the first branch pushed
    ++next.epoch;
    if (!tx.template compare_and_swap<RepoRow>(key, row, next))
        fail(errc::conflict, "repo '" + repo + "' changed inside a transaction");
}

} // namespace musehub::algo::detail
