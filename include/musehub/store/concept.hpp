#pragma once
// ObjectStore: where bytes live (packs, loose objects, cached fetch packs), by string key.
//
// Semantics every backend keeps (the contract suite in tests/contract pins each one):
//  - put(key, bytes): atomic visibility: a reader sees all of the new bytes or none of them,
//    never a prefix; a put that fails leaves no partial object. Putting the same key again
//    replaces it atomically (keys are content addresses, so in practice with equal bytes).
//  - get(key): all bytes, or nullopt when absent. get_range(key, offset, length): the bytes in
//    [offset, offset+length) clipped to the object's end (a range past the end yields fewer or
//    zero bytes, not an error), or nullopt when absent.
//  - size(key): the stored length, or nullopt when absent.
//  - remove(key): idempotent; removing an absent key is not an error.
//  - list(prefix): every key that starts with `prefix`, byte-wise, sorted. Keys are opaque:
//    "a/" never lists "ab/x".
//  Failures of the medium are `musehub::error` with errc::io.
//
// Batched forms (store/batch.hpp) let a backend keep many requests in flight; a store that
// has no native batch is served by the one-at-a-time default. What a store can do beyond this
// concept (presigning, conditional create, streaming puts, native batches, sweeping
// temporaries) is named in store/capabilities.hpp.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub {

template <class S>
concept ObjectStore = requires(S& s, const S& cs, std::string_view key, BytesView data,
                               std::uint64_t offset, std::uint64_t length) {
    { s.put(key, data) } -> std::same_as<void>;
    { cs.get(key) } -> std::same_as<std::optional<Bytes>>;
    { cs.get_range(key, offset, length) } -> std::same_as<std::optional<Bytes>>;
    { cs.size(key) } -> std::same_as<std::optional<std::uint64_t>>;
    { s.remove(key) } -> std::same_as<void>;
    { cs.list(key) } -> std::same_as<std::vector<std::string>>;
};

template <ObjectStore S>
bool exists(const S& store, std::string_view key) {
    return store.size(key).has_value();
}

} // namespace musehub

// The capability concepts (PresigningStore, ExclusiveCreateStore, ...) were declared here
// before store/capabilities.hpp gathered them; code that includes this header still sees them.
#include "musehub/store/capabilities.hpp"
