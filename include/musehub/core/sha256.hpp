#pragma once
// SHA-256 through OpenSSL EVP, which uses the CPU's SHA extensions when present. The digest
// method is fetched once per process and contexts are reused per thread: at 64-byte objects
// the setup would otherwise cost more than the hashing.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"

#include <openssl/evp.h>

#include <memory>

namespace musehub {

namespace detail {
inline const EVP_MD* sha256_md() {
    static const EVP_MD* md = [] {
        const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return m ? m : EVP_sha256();
    }();
    return md;
}
struct EvpCtxDeleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using EvpCtx = std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter>;
} // namespace detail

// Streaming hasher: update() any number of times, then finish() once.
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), detail::sha256_md(), nullptr) != 1)
            fail(errc::io, "OpenSSL could not initialise SHA-256");
    }
    Sha256& update(BytesView data) {
        if (!data.empty() && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
            fail(errc::io, "OpenSSL SHA-256 update failed");
        return *this;
    }
    Sha256& update(std::string_view text) { return update(as_bytes(text)); }
    Digest finish() {
        Digest d;
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), d.bytes.data(), &n) != 1 || n != d.bytes.size())
            fail(errc::io, "OpenSSL SHA-256 final failed");
        return d;
    }

private:
    detail::EvpCtx ctx_;
};

// One-shot hash, reusing a per-thread context.
inline Digest sha256(BytesView data) {
    thread_local detail::EvpCtx ctx{EVP_MD_CTX_new()};
    Digest d;
    unsigned int n = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), detail::sha256_md(), nullptr) != 1 ||
        (!data.empty() && EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1) ||
        EVP_DigestFinal_ex(ctx.get(), d.bytes.data(), &n) != 1)
        fail(errc::io, "OpenSSL SHA-256 failed");
    return d;
}
inline Digest sha256(std::string_view text) {
    return sha256(as_bytes(text));
}

} // namespace musehub
