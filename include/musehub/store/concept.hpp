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
// has no native batch is served by the one-at-a-time default.

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

// Capability: put_if_absent(key, bytes) creates the key only if it does not exist: exactly one
// of any number of concurrent writers returns true, the others return false and change nothing.
// No algorithm depends on it (hubs coordinate through the catalog, so a store without
// conditional writes, like S3 and the S3-compatible servers that lack them, serves as well);
// a filesystem gets it cheaply from link(2).
template <class S>
concept ExclusiveCreateStore = ObjectStore<S> &&
    requires(S& s, std::string_view key, BytesView data) {
    { s.put_if_absent(key, data) } -> std::same_as<bool>;
};

// What a client needs to upload bytes straight to the store: the URL to PUT them to and the
// HTTP headers to send with them, exactly as given (none when the URL says everything).
struct PresignedPut {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Capability: the store can hand out URLs a client uses to PUT or GET bytes directly.
//  - presign_put(key, content_sha256, expiry_seconds): a PUT bound to its content. The store
//    refuses bytes that do not hash to `content_sha256`, and stores nothing then, so a URL can
//    only ever write the bytes it was made for; writing them again while it is valid is harmless
//    (the same bytes). Bytes verified under a key therefore cannot be swapped through a
//    still-valid URL, and no conditional write is involved. Where the refusal surfaces as a
//    musehub::error (the memory store's put_presigned, the contract suite's HTTP client) it is
//    errc::hash_mismatch; S3 itself answers 400 XAmzContentSHA256Mismatch.
//  - presign_get(key, expiry_seconds): a URL to GET the bytes under `key`.
// Both are pure computation (no request to the store). The signature covers the method, the
// key, the expiry and, for a PUT, the digest: changing any of them voids the URL.
template <class S>
concept PresigningStore = ObjectStore<S> &&
    requires(const S& cs, std::string_view key, const Digest& content_sha256,
             std::uint32_t expiry_seconds) {
    { cs.presign_put(key, content_sha256, expiry_seconds) } -> std::same_as<PresignedPut>;
    { cs.presign_get(key, expiry_seconds) } -> std::same_as<std::string>;
};

template <ObjectStore S>
bool exists(const S& store, std::string_view key) {
    return store.size(key).has_value();
}

} // namespace musehub
