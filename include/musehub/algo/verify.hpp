#pragma once
// Verification: the one place every byte and record entering the hub is proven to be what it
// claims (invariant 3). Objects are hashed, snapshot and commit ids recomputed, Ed25519
// signatures checked. Nothing here reads or writes the hub: a pack that fails leaves no trace.

#include "musehub/algo/common.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/signature.hpp"
#include "musehub/detail/parallel.hpp"

namespace musehub::algo {

// Both run on every core: hashing a large push is the hub's heaviest CPU work.
inline void verify_objects(const Pack& pack, const Limits& limits) {
    musehub::detail::parallel_for(pack.objects.size(), [&](std::size_t i) {
        verify_object(pack.objects[i], limits.max_object_bytes);
    });
}

inline void verify_history(const Pack& pack) {
    musehub::detail::parallel_for(
        pack.snapshots.size(), [&](std::size_t i) { verify_snapshot_id(pack.snapshots[i]); }, 4);
    musehub::detail::parallel_for(pack.commits.size(), [&](std::size_t i) {
        verify_commit_id(pack.commits[i]);
        verify_commit_signature(pack.commits[i]);
    });
}

} // namespace musehub::algo
