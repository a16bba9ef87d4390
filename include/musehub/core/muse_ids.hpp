#pragma once
// The Muse id formulas (docs/protocol.md, "Identifiers"), and verification of records against
// them. Object: SHA-256 of the raw bytes. Snapshot: see Manifest::id(). Commit: SHA-256 of
// `sorted parents joined by NUL` NUL snapshot NUL message NUL committed_at.

#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace musehub {

inline ObjectId object_id_of(BytesView content) {
    return ObjectId{sha256(content)};
}

inline CommitId commit_id_of(std::vector<CommitId> parents, const SnapshotId& snapshot,
                             std::string_view message, std::string_view committed_at) {
    // Hex strings sort like the digests they spell.
    std::sort(parents.begin(), parents.end());
    constexpr std::string_view nul("\0", 1);
    Sha256 h;
    for (std::size_t i = 0; i < parents.size(); ++i) {
        if (i)
            h.update(nul);
        h.update(parents[i].hex());
    }
    h.update(nul)
        .update(snapshot.hex())
        .update(nul)
        .update(message)
        .update(nul)
        .update(committed_at);
    return CommitId{h.finish()};
}

inline CommitId commit_id_of(const Commit& c) {
    return commit_id_of(c.parents(), c.snapshot_id, c.message, c.committed_at);
}

// Throws errc::bad_commit_id naming the declared and the computed id.
inline void verify_commit_id(const Commit& c) {
    if (auto got = commit_id_of(c); got != c.commit_id)
        fail(errc::bad_commit_id, "commit " + c.commit_id.hex() + " hashes to " + got.hex());
}

// Throws errc::bad_snapshot_id naming the declared and the computed id.
inline void verify_snapshot_id(const Snapshot& s) {
    if (auto got = s.manifest.id(); got != s.snapshot_id)
        fail(errc::bad_snapshot_id, "snapshot " + s.snapshot_id.hex() + " hashes to " + got.hex());
}

} // namespace musehub
