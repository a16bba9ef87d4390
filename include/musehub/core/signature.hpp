#pragma once
// Ed25519 commit signatures (OpenSSL). A commit is signed when `signature` is non-empty and
// `signer_key_id` names an Ed25519 public key as "ed25519:" + 64 hex characters. The message
// signed is the commit id's hex text, so a valid signature binds the whole hashed content.
// `signature` is the 64-byte signature as 128 hex characters. Other key schemes are kept and
// served unchanged but not verified (this build cannot).

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/model.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace musehub {

inline constexpr std::string_view ed25519_prefix = "ed25519:";

namespace detail {
struct PkeyDeleter {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
} // namespace detail

inline bool is_ed25519_signed(const Commit& c) {
    return !c.signature.empty() && c.signer_key_id.starts_with(ed25519_prefix);
}

// Throws errc::bad_signature naming the commit when an Ed25519 signature does not verify.
inline void verify_commit_signature(const Commit& c) {
    if (!is_ed25519_signed(c))
        return;
    auto what = "commit " + c.commit_id.hex();
    auto key =
        decode_hex(std::string_view(c.signer_key_id).substr(ed25519_prefix.size()), HexCase::lower);
    auto sig = decode_hex(c.signature, HexCase::lower);
    if (!key || key->size() != 32)
        fail(errc::bad_signature, what + " names a malformed Ed25519 key");
    if (!sig || sig->size() != 64)
        fail(errc::bad_signature, what + " carries a malformed Ed25519 signature");
    std::unique_ptr<EVP_PKEY, detail::PkeyDeleter> pkey(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key->data(), key->size()));
    std::unique_ptr<EVP_MD_CTX, detail::MdCtxDeleter> ctx(EVP_MD_CTX_new());
    auto msg = c.commit_id.hex();
    if (!pkey || !ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), sig->data(), sig->size(),
                         reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1)
        fail(errc::bad_signature,
             what + " has an Ed25519 signature that does not verify against " + c.signer_key_id);
}

// Signs a commit (whose id is final) with a raw 32-byte Ed25519 private key; fills
// `signature` and `signer_key_id`. For clients, tools and tests.
inline void sign_commit(Commit& c, const std::array<unsigned char, 32>& private_key) {
    std::unique_ptr<EVP_PKEY, detail::PkeyDeleter> pkey(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, private_key.data(), private_key.size()));
    std::unique_ptr<EVP_MD_CTX, detail::MdCtxDeleter> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, 32> pub{};
    std::size_t pub_len = pub.size();
    std::array<unsigned char, 64> sig{};
    std::size_t sig_len = sig.size();
    auto msg = c.commit_id.hex();
    if (!pkey || !ctx || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_len) != 1 ||
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &sig_len,
                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1)
        fail(errc::io, "OpenSSL could not sign commit " + msg);
    c.signature = encode_hex(sig.data(), sig_len);
    c.signer_key_id = std::string(ed25519_prefix) + encode_hex(pub.data(), pub_len);
}

} // namespace musehub
