#pragma once
// Every size a hub accepts from the outside, in one place. Decoders check these against the
// counts and lengths an input *declares*, before allocating for them; anything over a limit
// is an `errc::oversized` error that names the limit. Defaults follow the reference Muse hub
// where it published one; all are configurable.

#include <cstddef>
#include <cstdint>

namespace musehub {

struct Limits {
    std::size_t max_commits = 10'000;            // per push / pack
    std::size_t max_snapshots = 10'000;          // per push / pack
    std::size_t max_objects = 1'000'000;         // per pack
    std::size_t max_tags = 10'000;               // per pack
    std::uint64_t max_object_bytes = 38'000'000; // one object, uncompressed
    std::uint64_t max_pack_bytes = 4ull << 30;   // one encoded pack
    std::size_t max_path_bytes = 4'096;          // one manifest path, UTF-8 bytes
    std::size_t max_manifest_entries = 100'000;  // one snapshot
    std::size_t max_record_bytes = 64u << 20;    // one encoded commit or snapshot record
    std::size_t max_nesting = 64;                // msgpack nesting depth
    std::size_t max_elements = 16'000'000;       // msgpack array/map elements in one message
    std::uint32_t max_delta_depth = 50;          // deltas on deltas down to a whole object (git's)
};

} // namespace musehub
