#pragma once
// Object encodings inside packs (raw, one zstd frame, or a delta: a base digest and one zstd
// frame with the base as prefix dictionary) and the one place object bytes are checked against
// their id. Compression contexts are reused per thread. Chains of deltas are resolved in
// core/delta_chains.hpp.

#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"

#include <zstd.h>

#include <cstring>
#include <memory>
#include <string>

namespace musehub {

namespace detail {
struct ZstdCCtxDeleter {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
    void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};
} // namespace detail

// One zstd frame with the content size recorded in its header.
inline Bytes zstd_compress(BytesView raw, int level = 3) {
    thread_local std::unique_ptr<ZSTD_CCtx, detail::ZstdCCtxDeleter> ctx{ZSTD_createCCtx()};
    Bytes out(ZSTD_compressBound(raw.size()));
    std::size_t n =
        ZSTD_compressCCtx(ctx.get(), out.data(), out.size(), raw.data(), raw.size(), level);
    if (ZSTD_isError(n))
        fail(errc::io, std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

// Bytes of a delta before its frame: the base object's SHA-256 digest.
inline constexpr std::size_t delta_base_bytes = 32;

// `raw` as a delta against `base_raw` (the raw bytes of object `base`): the base's digest, then
// one zstd frame made with the base as its prefix dictionary (ZSTD_CCtx_refPrefix), so what the
// two share costs almost nothing. The frame records its content size.
inline Bytes zstd_delta_compress(BytesView raw, const ObjectId& base, BytesView base_raw,
                                 int level = 3) {
    thread_local std::unique_ptr<ZSTD_CCtx, detail::ZstdCCtxDeleter> ctx{ZSTD_createCCtx()};
    ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
    // The window must reach back over the whole prefix for matches against it.
    unsigned log = 10;
    while (log < 27 && (std::size_t{1} << log) < base_raw.size() + raw.size())
        ++log;
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_windowLog, static_cast<int>(log));
    Bytes out(delta_base_bytes + ZSTD_compressBound(raw.size()));
    std::memcpy(out.data(), base.digest.bytes.data(), delta_base_bytes);
    std::size_t r = ZSTD_CCtx_refPrefix(ctx.get(), base_raw.data(), base_raw.size());
    if (!ZSTD_isError(r))
        r = ZSTD_compress2(ctx.get(), out.data() + delta_base_bytes, out.size() - delta_base_bytes,
                           raw.data(), raw.size());
    if (ZSTD_isError(r))
        fail(errc::io, std::string("zstd delta compression failed: ") + ZSTD_getErrorName(r));
    out.resize(delta_base_bytes + r);
    return out;
}

// The base a delta names; errc::corrupt when the stored bytes are too short to name one.
inline ObjectId delta_base(const PackObject& o) {
    if (o.stored.size() <= delta_base_bytes)
        fail(errc::corrupt, "object " + o.id.hex() + " is a delta of " +
                                std::to_string(o.stored.size()) +
                                " bytes, too short for its base id and a frame");
    ObjectId base;
    std::memcpy(base.digest.bytes.data(), o.stored.data(), delta_base_bytes);
    return base;
}

namespace detail {
// Decompresses one frame that must declare exactly `o.raw_size` bytes, against `prefix` (the
// base's raw bytes, for a delta) or none.
inline Bytes zstd_decode_frame(const PackObject& o, BytesView frame, BytesView prefix) {
    auto declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN ||
        declared != o.raw_size)
        fail(errc::corrupt, "object " + o.id.hex() + " has a zstd frame that does not declare " +
                                std::to_string(o.raw_size) + " bytes");
    thread_local std::unique_ptr<ZSTD_DCtx, detail::ZstdDCtxDeleter> ctx{ZSTD_createDCtx()};
    ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 27);
    std::size_t n = 0;
    if (!prefix.empty())
        n = ZSTD_DCtx_refPrefix(ctx.get(), prefix.data(), prefix.size());
    Bytes out(o.raw_size);
    if (!ZSTD_isError(n))
        n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != o.raw_size)
        fail(errc::corrupt, "object " + o.id.hex() + " does not decompress: " +
                                (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output"));
    return out;
}
} // namespace detail

// The raw bytes of a delta, given its base's raw bytes (the caller resolved the base).
inline Bytes decode_delta(const PackObject& o, BytesView base_raw, std::uint64_t max_raw_bytes) {
    if (o.raw_size > max_raw_bytes)
        fail(errc::oversized, "object " + o.id.hex() + " is " + std::to_string(o.raw_size) +
                                  " bytes, over the limit of " + std::to_string(max_raw_bytes));
    (void)delta_base(o);
    return detail::zstd_decode_frame(o, o.stored.subspan(delta_base_bytes), base_raw);
}

// The raw bytes of an object, decoding if needed. The declared raw size is checked against
// `max_raw_bytes` before allocating, and against the frame's own header and output.
inline Bytes decode_object(const PackObject& o, std::uint64_t max_raw_bytes) {
    if (o.raw_size > max_raw_bytes)
        fail(errc::oversized, "object " + o.id.hex() + " is " + std::to_string(o.raw_size) +
                                  " bytes, over the limit of " + std::to_string(max_raw_bytes));
    switch (o.encoding) {
    case Encoding::raw:
        if (o.stored.size() != o.raw_size)
            fail(errc::corrupt, "object " + o.id.hex() + " declares " + std::to_string(o.raw_size) +
                                    " bytes but stores " + std::to_string(o.stored.size()));
        return to_bytes(o.stored);
    case Encoding::zstd:
        return detail::zstd_decode_frame(o, o.stored, {});
    case Encoding::zstd_delta:
        fail(errc::invalid_argument,
             "object " + o.id.hex() + " is a delta: resolve its base first (decode_delta)");
    }
    fail(errc::unsupported, "object " + o.id.hex() + " has unknown encoding " +
                                std::to_string(static_cast<int>(o.encoding)));
}

// Proves raw bytes are those of object `id`.
inline void verify_raw(const ObjectId& id, BytesView raw) {
    if (auto got = sha256(raw); got != id.digest)
        fail(errc::hash_mismatch, "object declared as " + id.hex() + " hashes to " + got.hex());
}

// Proves a whole (not delta) object's bytes are what its id says. Raw objects are hashed in
// place.
inline void verify_object(const PackObject& o, std::uint64_t max_raw_bytes) {
    Digest got;
    if (o.encoding == Encoding::raw) {
        if (o.raw_size > max_raw_bytes || o.stored.size() != o.raw_size)
            (void)decode_object(o, max_raw_bytes);
        got = sha256(o.stored);
    } else {
        got = sha256(decode_object(o, max_raw_bytes));
    }
    if (got != o.id.digest)
        fail(errc::hash_mismatch, "object declared as " + o.id.hex() + " hashes to " + got.hex());
}

} // namespace musehub
