#pragma once
// A v2 pack's objects: how the encoder stores each one (compressed, or as a delta against
// another object of the pack), and where each one's stored bytes lie in an encoded pack
// (ObjectSpan, wire/v2/format.hpp).

#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/wire/v2/format.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace musehub::detail::mpack {

// The object as the encoder sends it: raw bytes of `min_compress_bytes` or more compressed
// when that makes them smaller (`hold` keeps the compressed copy), anything else as given.
inline PackObject compressed(const Options& options, const PackObject& o, Bytes& hold) {
    if (o.encoding != Encoding::raw || o.stored.size() < options.min_compress_bytes)
        return o;
    hold = zstd_compress(o.stored, options.zstd_level);
    if (hold.size() >= o.stored.size())
        return o;
    return PackObject{o.id, Encoding::zstd, BytesView(hold), o.raw_size};
}

// The object as a delta against `base` (both raw) when that is smaller than the object
// compressed alone, else compressed() (`hold` keeps the bytes made).
inline PackObject delta_or_compressed(const Options& options, const PackObject& o,
                                      const PackObject& base, Bytes& hold) {
    if (o.encoding != Encoding::raw || base.encoding != Encoding::raw ||
        o.stored.size() < options.min_compress_bytes)
        return compressed(options, o, hold);
    hold = zstd_delta_compress(o.stored, base.id, base.stored, options.zstd_level);
    if (hold.size() >= o.stored.size() / 2) { // not much of a delta: whole may do better
        Bytes whole = zstd_compress(o.stored, options.zstd_level);
        if (whole.size() <= hold.size()) {
            hold = std::move(whole);
            return PackObject{o.id, Encoding::zstd, BytesView(hold), o.raw_size};
        }
    }
    return PackObject{o.id, Encoding::zstd_delta, BytesView(hold), o.raw_size};
}

// The places of a pack's objects inside `encoded`, the buffer it was decoded from.
inline std::vector<ObjectSpan> object_spans(const Pack& decoded, BytesView encoded) {
    std::vector<ObjectSpan> spans;
    spans.reserve(decoded.objects.size());
    const auto base = reinterpret_cast<std::uintptr_t>(encoded.data());
    for (const auto& o : decoded.objects) {
        const auto at = reinterpret_cast<std::uintptr_t>(o.stored.data());
        if (at < base || at - base > encoded.size() ||
            o.stored.size() > encoded.size() - (at - base))
            fail(errc::invalid_argument,
                 "object " + o.id.hex() + " does not view the buffer its pack was decoded from");
        spans.push_back(ObjectSpan{o.id, o.encoding, at - base, o.stored.size(), o.raw_size});
    }
    return spans;
}

} // namespace musehub::detail::mpack
