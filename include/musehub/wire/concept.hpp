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

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/model.hpp"
#include "musehub/wire/messages.hpp"

#include <concepts>
#include <string>
#include <string_view>

namespace musehub {

template <class W>
concept WireProtocol = requires(const W& w, const Pack& pack, BytesView bytes, const Limits& limits,
                                const Digest& digest, std::string_view text,
                                const PushRequest& push, const FetchRequest& fetch) {
    { W::name } -> std::convertible_to<std::string_view>;
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

} // namespace musehub
