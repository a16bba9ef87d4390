#pragma once
// A pack of any wire this library speaks, told apart by its first bytes (each wire's
// is_container, wire/concept.hpp): what the index job needs for an upload that may be in
// either wire, whatever the hub's own wire is.

#include "musehub/core/bytes.hpp"
#include "musehub/core/container_format.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/model.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/v1.hpp"
#include "musehub/wire/v2.hpp"

#include <optional>
#include <utility>

namespace musehub::wire {

struct DecodedContainer {
    Pack pack; // its object bytes view the decoded buffer (wire/concept.hpp)
    ContainerFormat format{};
};

} // namespace musehub::wire

// (In musehub::detail, not wire::detail: the wire policies' bodies say `detail::` for it.)
namespace musehub::detail {

template <WireProtocol W>
std::optional<wire::DecodedContainer> decode_if_claimed(BytesView bytes, const Limits& limits) {
    if (!W::is_container(bytes))
        return std::nullopt;
    return wire::DecodedContainer{W{}.decode_pack(bytes, limits), W::container_format};
}

// The wires tried in turn; the last also decodes bytes no wire claims, so its decoder's error
// names what is wrong with them.
template <WireProtocol W, WireProtocol... Rest>
wire::DecodedContainer decode_any_container(BytesView bytes, const Limits& limits) {
    if constexpr (sizeof...(Rest) == 0) {
        return wire::DecodedContainer{W{}.decode_pack(bytes, limits), W::container_format};
    } else {
        if (auto decoded = decode_if_claimed<W>(bytes, limits))
            return std::move(*decoded);
        return decode_any_container<Rest...>(bytes, limits);
    }
}

} // namespace musehub::detail

namespace musehub::wire {

// The pack `bytes` hold and the format they are stored as: an MPack (v2) when they start with
// its magic, else a v1 bundle (whose decoder reports bytes that are neither).
inline DecodedContainer decode_container(BytesView bytes, const Limits& limits) {
    return musehub::detail::decode_any_container<v2, v1>(bytes, limits);
}

} // namespace musehub::wire
