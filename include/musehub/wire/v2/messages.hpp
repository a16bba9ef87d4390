#pragma once
// The v2 push and fetch messages: a push is one msgpack map {branch, force, pack} with the
// encoded pack as bin; a fetch is v1's {want, have} with ids spelled "sha256:" + hex.

#include "musehub/core/error.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/messages.hpp"
#include "musehub/wire/v2/decode.hpp"
#include "musehub/wire/v2/format.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace musehub::detail::mpack {

// The push message around a pack already encoded (a hub's own fetch, a pack on disk):
// wrapped as it is, never decoded or encoded again.
inline Bytes encode_push(std::string_view branch, bool force, BytesView encoded_pack) {
    if (encoded_pack.size() > std::numeric_limits<std::uint32_t>::max())
        fail(errc::oversized, "v2 push: a pack of " + std::to_string(encoded_pack.size()) +
                                  " bytes does not fit a msgpack bin; use the stream push");
    Bytes out;
    out.reserve(encoded_pack.size() + branch.size() + 32);
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(3);
    detail::pack_str(p, "branch");
    detail::pack_str(p, branch);
    detail::pack_str(p, "force");
    force ? p.pack_true() : p.pack_false();
    detail::pack_str(p, "pack");
    detail::pack_bin(p, encoded_pack);
    return out;
}

// The pack is decoded in place: its object bytes view `bytes`.
inline PushRequest decode_push(BytesView bytes, const Limits& limits) {
    auto handle = detail::unpack_bounded(bytes, limits, "v2 push");
    const auto& m = detail::as_map(handle.get(), "v2 push");
    PushRequest push;
    push.branch = detail::as_str(detail::require_key(m, "branch", "v2 push"), "v2 push 'branch'");
    if (auto* f = detail::find_key(m, "force"); f && !f->is_nil())
        push.force = detail::as_bool(*f, "v2 push 'force'");
    push.encoded_pack = detail::as_bin(detail::require_key(m, "pack", "v2 push"), "v2 push 'pack'");
    push.pack = decode_pack(push.encoded_pack, limits);
    return push;
}

inline Bytes encode_fetch(const FetchRequest& fetch) {
    return detail::encode_fetch_message<IdText>(fetch.want, fetch.have);
}

inline FetchRequest decode_fetch(BytesView bytes, const Limits& limits) {
    auto [want, have] = detail::decode_fetch_message<IdText>(bytes, limits, "v2 fetch");
    return FetchRequest{std::move(want), std::move(have)};
}

} // namespace musehub::detail::mpack
