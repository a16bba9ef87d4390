#pragma once
// WireProtocol: how packs and messages become bytes and back, and how ids are spelled.
//
// Semantics every policy keeps:
//  - decode(encode(x)) == x for every value the policy can express;
//  - decoding never trusts a declared count or length: each is checked against `Limits` and
//    against the bytes actually present before anything is allocated for it; bad input is an
//    `musehub::error` (truncated, corrupt, oversized, invalid_id, bad_path…), never a crash;
//  - decoded object bytes are views into the input buffer (zero copy): keep it alive as long
//    as the decoded pack, or hand it to `Pack::hold`;
//  - decoding checks structure, not truth: object hashes and record ids are verified when a
//    pack enters the hub (algo/verify.hpp, once per record), so a decoder stays cheap enough
//    to run anywhere. Delta-encoded snapshots (v2) are rebuilt by the decoder, so a decoded
//    Pack always holds full manifests; their ids are checked with every other snapshot's.
//
// Traits: what the algorithms ask of a wire instead of asking which wire it is. Each is a
// static member of the policy, so a new wire states them where it is defined:
//  - `static constexpr ContainerFormat container_format`: how a pack in this wire is stored
//    (the catalog's ContainerRow::format for a pack pushed or indexed in it);
//  - `static bool is_container(BytesView)`: whether bytes (an upload the index job finds in
//    the store) are a pack of this wire, judged from their first bytes alone; no two wires
//    claim the same bytes (wire/containers.hpp decodes a container of any wire);
//  - `static constexpr bool carries_deltas = true`, optional: its packs may hold deltas;
//  - `static constexpr bool framed_push = true`, optional: a push may arrive as frames
//    (wire/frames.hpp) whose payloads are its packs (FramingWire, for algo/stream_push.hpp);
//  - `read_head` and `with_branch_heads`, optional: a stored pack can answer a fetch as it is,
//    relabeled for the current heads (RelabelsStoredPacks, for algo/fetch.hpp).
// Catalog records are not a wire's business: their stored form is catalog/record_codec.hpp.

#include "musehub/core/bytes.hpp"
#include "musehub/core/container_format.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/model.hpp"
#include "musehub/wire/messages.hpp"

#include <concepts>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub {

template <class W>
concept WireProtocol = requires(const W& w, const Pack& pack, BytesView bytes, const Limits& limits,
                                const Digest& digest, std::string_view text,
                                const PushRequest& push, const FetchRequest& fetch) {
    { W::name } -> std::convertible_to<std::string_view>;
    { W::container_format } -> std::convertible_to<ContainerFormat>;
    { W::is_container(bytes) } -> std::same_as<bool>;
    { w.format_id(digest) } -> std::same_as<std::string>;
    { w.parse_id(text) } -> std::same_as<Digest>;
    { w.encode_pack(pack) } -> std::same_as<Bytes>;
    { w.decode_pack(bytes, limits) } -> std::same_as<Pack>;
    { w.encode_push(push) } -> std::same_as<Bytes>;
    { w.decode_push(bytes, limits) } -> std::same_as<PushRequest>;
    { w.encode_fetch(fetch) } -> std::same_as<Bytes>;
    { w.decode_fetch(bytes, limits) } -> std::same_as<FetchRequest>;
};

// Whether a wire's packs may hold objects as deltas (Encoding::zstd_delta): a wire says so with
// `static constexpr bool carries_deltas = true`. Any other gets every object whole.
template <class W>
inline constexpr bool carries_deltas = requires {
    requires W::carries_deltas;
};

// A wire a stream push can carry: a push may arrive as frames (wire/frames.hpp) whose 'O' and
// 'C' payloads are packs of this wire. A wire says so with `static constexpr bool framed_push =
// true`; a stream push over any other fails to compile, naming this concept.
template <class W>
concept FramingWire = WireProtocol<W> && requires {
    requires W::framed_push;
};

// A wire whose stored packs can answer a fetch as they are: it reads a pack's commits and
// heads without its objects, and rewrites the heads it names without touching the rest.
template <class W>
concept RelabelsStoredPacks = WireProtocol<W> &&
    requires(const W& w, BytesView bytes, const Limits& limits,
             std::map<std::string, CommitId> heads) {
    { w.read_head(bytes, limits).commits } -> std::convertible_to<std::vector<CommitId>>;
    {
        w.read_head(bytes, limits).branch_heads
        } -> std::convertible_to<std::map<std::string, CommitId>>;
    { w.with_branch_heads(bytes, std::move(heads), limits) } -> std::same_as<Bytes>;
};

} // namespace musehub
