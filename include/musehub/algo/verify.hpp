#pragma once
// Verification: the one place every byte and record entering the hub is proven to be what it
// claims (invariant 3). Objects are hashed, snapshot and commit ids recomputed, Ed25519
// signatures checked. Nothing here reads or writes the hub: a pack that fails leaves no trace.

#include "musehub/algo/common.hpp"
#include "musehub/core/delta_chains.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/signature.hpp"
#include "musehub/detail/parallel.hpp"

namespace musehub::algo {

// Both run on every core: hashing a large push is the hub's heaviest CPU work. A delta is
// proven by resolving its chain, once, and hashing the result; `external(ids)` supplies the
// raw bytes of bases the pack does not carry (a thin pack), or throws.
template <class External>
void verify_objects(const Pack& pack, const Limits& limits, External&& external) {
    resolve_chains(
        std::span<const PackObject>(pack.objects), limits, external,
        [&](std::size_t i, BytesView raw) { verify_raw(pack.objects[i].id, raw); },
        [](std::size_t, BytesView) {});
}

// A pack that carries every base its deltas need.
inline void verify_objects(const Pack& pack, const Limits& limits) {
    verify_objects(pack, limits, [](std::span<const ObjectId> ids) -> std::vector<SharedBytes> {
        fail(errc::missing_object,
             "object " + ids[0].hex() + " is the base of a delta but not in the pack");
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
