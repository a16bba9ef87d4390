#pragma once
// Verification: the one place every byte and record entering the hub is proven to be what it
// claims (invariant 3). Objects are hashed, snapshot and commit ids recomputed, Ed25519
// signatures checked. Nothing here reads or writes the hub: a pack that fails leaves no trace.

#include "musehub/algo/common.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/signature.hpp"

namespace musehub::algo {

inline void verify_objects(const Pack& pack, const Limits& limits) {
    for (const auto& o : pack.objects)
        verify_object(o, limits.max_object_bytes);
}

inline void verify_history(const Pack& pack) {
    for (const auto& s : pack.snapshots)
        verify_snapshot_id(s);
    for (const auto& c : pack.commits) {
        verify_commit_id(c);
        verify_commit_signature(c);
    }
}

} // namespace musehub::algo
