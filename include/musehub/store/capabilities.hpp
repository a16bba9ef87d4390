#pragma once
// What an ObjectStore can do beyond the concept (store/concept.hpp), each named as a concept
// here. Algorithms ask through the generic forms (store/batch.hpp, store/pending_put.hpp),
// which use the native member when a store has one and a one-at-a-time default otherwise;
// only presigned push needs a capability outright (algo::PresigningHub). The contract suite's
// fixtures state each one as a flag, checked against these concepts (tests/contract).

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/store/concept.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub {

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

// Capability: begin_put() returns a writer with write(BytesView) and commit(key), for a put
// whose key is known only once its bytes are (store/pending_put.hpp).
template <class S>
concept StreamingPutStore = ObjectStore<S> && requires(S& s, BytesView data, std::string_view key) {
    s.begin_put().write(data);
    s.begin_put().commit(key);
};

// Capability: a store whose writers can leave temporaries behind when they crash (a
// filesystem store's half-written temp files) sweeps those older than `age`, returning how
// many it removed (store/batch.hpp's sweep_temporaries).
template <class S>
concept TemporarySweepingStore = ObjectStore<S> && requires(S& s, std::chrono::seconds age) {
    { s.remove_stale_temps(age) } -> std::same_as<std::size_t>;
};

// The items of the batched forms (store/batch.hpp).
struct PutItem {
    std::string key;
    BytesView bytes;
};
struct RangeItem {
    std::string key;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// Capabilities: native batches, keeping many requests in flight (S3) or sharing one sync
// (the fs store). Each has the semantics of its one-at-a-time operation, item by item.
template <class S>
concept BatchPutStore = ObjectStore<S> && requires(S& s, std::span<const PutItem> items) {
    s.put_many(items);
};
template <class S>
concept BatchRangeStore = ObjectStore<S> &&
    requires(const S& cs, std::span<const RangeItem> items) {
    { cs.get_ranges(items) } -> std::same_as<std::vector<std::optional<Bytes>>>;
};
template <class S>
concept BatchSizeStore = ObjectStore<S> &&
    requires(const S& cs, std::span<const std::string> keys) {
    { cs.sizes(keys) } -> std::same_as<std::vector<std::optional<std::uint64_t>>>;
};
template <class S>
concept BatchRemoveStore = ObjectStore<S> && requires(S& s, std::span<const std::string> keys) {
    s.remove_many(keys);
};

} // namespace musehub
