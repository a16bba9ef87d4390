#pragma once
// Object encodings inside packs (raw or one zstd frame) and the one place object bytes are
// checked against their id. Compression contexts are reused per thread.

#include "musehub/core/error.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"

#include <zstd.h>

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
    case Encoding::zstd: {
        auto declared = ZSTD_getFrameContentSize(o.stored.data(), o.stored.size());
        if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN ||
            declared != o.raw_size)
            fail(errc::corrupt, "object " + o.id.hex() +
                                    " has a zstd frame that does not declare " +
                                    std::to_string(o.raw_size) + " bytes");
        thread_local std::unique_ptr<ZSTD_DCtx, detail::ZstdDCtxDeleter> ctx{ZSTD_createDCtx()};
        Bytes out(o.raw_size);
        std::size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), o.stored.data(),
                                            o.stored.size());
        if (ZSTD_isError(n) || n != o.raw_size)
            fail(errc::corrupt, "object " + o.id.hex() + " does not decompress: " +
                                    (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output"));
        return out;
    }
    }
    fail(errc::unsupported, "object " + o.id.hex() + " has unknown encoding " +
                                std::to_string(static_cast<int>(o.encoding)));
}

// Proves an object's bytes are what its id says. Raw objects are hashed in place.
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
