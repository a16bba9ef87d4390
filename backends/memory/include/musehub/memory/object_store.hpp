#pragma once
// In-memory ObjectStore: the reference semantics. Values are immutable shared buffers, so a
// put publishes a complete object in one map assignment (atomic visibility) and readers copy
// out under a shared lock.
//
// It is also a PresigningStore, playing the part S3 presigned URLs play for the S3 store:
//
//     memory:///<key>?X-Content-SHA256=<hex>&X-Expires=<t>&X-Method=PUT&X-Signature=<hex>
//     memory:///<key>?X-Expires=<t>&X-Method=GET&X-Signature=<hex>
//
// where <t> is the expiry in unix seconds, the key is percent-encoded (unreserved characters
// and '/' stay as they are), a PUT URL carries the SHA-256 of the only bytes it may write (64
// lowercase hex digits; a GET URL has none), and the signature is HMAC-SHA256(secret, method +
// "\n" + key + "\n" + expires + "\n" + content SHA-256 or ""), in lowercase hex. The secret is 32
// random bytes unless the constructor is given one (stores that must honour each other's URLs
// share it). The URL says everything: presign_put's PresignedPut has no headers.
//
// put_presigned / get_presigned are what a client's HTTP PUT or GET to that URL would do: they
// check the URL's shape, its signature (constant time), its method and its expiry, and refuse
// with errc::invalid_argument naming which of them failed ("malformed presigned URL", "signature
// does not match", "expired at"). put_presigned then hashes the bytes and refuses bytes that are
// not the URL's content with errc::hash_mismatch, storing nothing; the right bytes are put (again:
// a retried upload rewrites the same bytes). So bytes the hub has verified cannot be swapped
// underneath it while the URL is still valid, as with S3 (store/capabilities.hpp).

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/core/time.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace musehub::memory {

class ObjectStore {
public:
    // Presigned URLs expire after at most this long (the limit S3 puts on SigV4 URLs).
    static constexpr std::uint32_t max_presign_expiry_seconds = 7 * 24 * 3600;
    static constexpr std::string_view url_scheme = "memory:///";

    // A fresh random signing secret, and the system clock.
    ObjectStore() : ObjectStore(random_secret()) {}
    // A given secret (non-empty), and a clock for expiry (empty: the system clock).
    explicit ObjectStore(BytesView secret, std::function<TimePoint()> clock = {})
        : secret_(secret.begin(), secret.end()), clock_(std::move(clock)) {
        if (secret_.empty())
            fail(errc::invalid_argument, "a presigning secret must not be empty");
    }

    // Replaces the clock presigned URLs are issued and checked against (tests move it by hand).
    // Not synchronised: set it before the store is shared.
    void set_clock(std::function<TimePoint()> clock) { clock_ = std::move(clock); }

    void put(std::string_view key, BytesView data) {
        auto value = std::make_shared<const Bytes>(data.begin(), data.end());
        std::unique_lock lock(mutex_);
        objects_.insert_or_assign(std::string(key), std::move(value));
    }

    bool put_if_absent(std::string_view key, BytesView data) {
        auto value = std::make_shared<const Bytes>(data.begin(), data.end());
        std::unique_lock lock(mutex_);
        return objects_.try_emplace(std::string(key), std::move(value)).second;
    }

    std::optional<Bytes> get(std::string_view key) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        return *v;
    }

    std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset,
                                   std::uint64_t length) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        auto begin = std::min<std::uint64_t>(offset, v->size());
        auto end = begin + std::min<std::uint64_t>(length, v->size() - begin);
        return Bytes(v->begin() + static_cast<std::ptrdiff_t>(begin),
                     v->begin() + static_cast<std::ptrdiff_t>(end));
    }

    std::optional<std::uint64_t> size(std::string_view key) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        return v->size();
    }

    void remove(std::string_view key) {
        std::unique_lock lock(mutex_);
        if (auto it = objects_.find(key); it != objects_.end())
            objects_.erase(it);
    }

    std::vector<std::string> list(std::string_view prefix) const {
        std::shared_lock lock(mutex_);
        std::vector<std::string> keys;
        for (auto it = objects_.lower_bound(prefix);
             it != objects_.end() && it->first.starts_with(prefix); ++it)
            keys.push_back(it->first);
        return keys;
    }

    // ---- presigned URLs ----------------------------------------------------------------------

    PresignedPut presign_put(std::string_view key, const Digest& content_sha256,
                             std::uint32_t expiry_seconds) const {
        return {presign("PUT", key, expiry_seconds, content_sha256.hex()), {}};
    }
    std::string presign_get(std::string_view key, std::uint32_t expiry_seconds) const {
        return presign("GET", key, expiry_seconds, {});
    }

    // What an HTTP PUT of `data` to a presigned URL does.
    void put_presigned(std::string_view url, BytesView data) {
        auto grant = check(url, "PUT");
        if (auto got = sha256(data); got != grant.content)
            fail(errc::hash_mismatch, "presigned upload refused: the bytes hash to " + got.hex() +
                                          ", not to " + grant.content.hex() +
                                          ", the content the URL was signed for (key '" +
                                          grant.key + "')");
        put(grant.key, data);
    }

    // What an HTTP GET of a presigned URL does: the bytes, or nullopt when the key is absent.
    std::optional<Bytes> get_presigned(std::string_view url) const {
        return get(check(url, "GET").key);
    }

private:
    static Bytes random_secret() {
        Bytes s(32);
        if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1)
            fail(errc::io, "OpenSSL could not generate a presigning secret");
        return s;
    }

    std::int64_t now_seconds() const {
        auto t = clock_ ? clock_() : now_ms();
        return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    }

    // The last two fields hold no '\n', so the message is unambiguous whatever the key holds.
    std::string signature(std::string_view method, std::string_view key, std::string_view expires,
                          std::string_view content_sha256) const {
        std::string message;
        message.reserve(method.size() + key.size() + expires.size() + content_sha256.size() + 3);
        message.append(method).append("\n").append(key).append("\n").append(expires);
        message.append("\n").append(content_sha256);
        std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
        unsigned int n = 0;
        if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
                  reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                  mac.data(), &n) ||
            n != 32)
            fail(errc::io, "OpenSSL HMAC-SHA256 failed");
        static constexpr char digits[] = "0123456789abcdef";
        std::string hex(2 * n, '0');
        for (unsigned int i = 0; i < n; ++i) {
            hex[2 * i] = digits[mac[i] >> 4];
            hex[2 * i + 1] = digits[mac[i] & 15];
        }
        return hex;
    }

    // content_sha256: the hex digest a PUT URL is bound to, empty for a GET URL.
    std::string presign(std::string_view method, std::string_view key, std::uint32_t expiry_seconds,
                        std::string_view content_sha256) const {
        if (key.empty())
            fail(errc::invalid_argument, "cannot presign an empty key");
        if (expiry_seconds == 0 || expiry_seconds > max_presign_expiry_seconds)
            fail(errc::invalid_argument, "presigned URL expiry must be 1-" +
                                             std::to_string(max_presign_expiry_seconds) +
                                             " seconds, not " + std::to_string(expiry_seconds));
        auto expires = std::to_string(now_seconds() + expiry_seconds);
        std::string url(url_scheme);
        static constexpr char digits[] = "0123456789ABCDEF";
        for (char c : key) {
            auto u = static_cast<unsigned char>(c);
            bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                              c == '~' || c == '/';
            if (unreserved)
                url += c;
            else
                url.append({'%', digits[u >> 4], digits[u & 15]});
        }
        url += '?';
        if (!content_sha256.empty())
            url.append("X-Content-SHA256=").append(content_sha256).append("&");
        url.append("X-Expires=")
            .append(expires)
            .append("&X-Method=")
            .append(method)
            .append("&X-Signature=")
            .append(signature(method, key, expires, content_sha256));
        return url;
    }

    [[noreturn]] static void malformed(const std::string& why) {
        fail(errc::invalid_argument, "malformed presigned URL: " + why);
    }

    // What a presigned URL grants: a key, and for a PUT the only content it may write.
    struct Grant {
        std::string key;
        Digest content;
    };

    // Checks a presigned URL for `method` and returns what it grants.
    Grant check(std::string_view url, std::string_view method) const {
        if (!url.starts_with(url_scheme))
            malformed("it does not start with '" + std::string(url_scheme) + "'");
        url.remove_prefix(url_scheme.size());
        auto q = url.find('?');
        if (q == std::string_view::npos)
            malformed("it has no query");
        if (url.find('#') != std::string_view::npos)
            malformed("it has a fragment");
        auto decoded = decode_percent(url.substr(0, q));
        if (!decoded)
            malformed("bad percent-escape in its key");
        std::string key = std::move(*decoded);
        if (key.empty())
            malformed("it names no key");
        std::optional<std::string_view> content, expires, signed_method, sig;
        auto query = url.substr(q + 1);
        while (true) {
            auto amp = query.find('&');
            auto param = query.substr(0, amp);
            auto eq = param.find('=');
            if (eq == std::string_view::npos)
                malformed("query parameter without '='");
            auto name = param.substr(0, eq), value = param.substr(eq + 1);
            auto* slot = name == "X-Content-SHA256" ? &content
                         : name == "X-Expires"      ? &expires
                         : name == "X-Method"       ? &signed_method
                         : name == "X-Signature"    ? &sig
                                                    : nullptr;
            if (!slot)
                malformed("unknown query parameter '" + std::string(name.substr(0, 40)) + "'");
            if (*slot)
                malformed("query parameter '" + std::string(name) + "' repeated");
            *slot = value;
            if (amp == std::string_view::npos)
                break;
            query.remove_prefix(amp + 1);
        }
        if (!expires || !signed_method || !sig)
            malformed("it needs X-Expires, X-Method and X-Signature");
        // The signature first: nothing else a URL says is believed until it verifies.
        auto expected = signature(*signed_method, key, *expires, content.value_or(""));
        if (sig->size() != expected.size() ||
            CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
            fail(errc::invalid_argument,
                 "presigned URL signature does not match: the URL was changed after it was "
                 "signed, or not signed by this store (key '" +
                     key + "')");
        if (*signed_method != method)
            fail(errc::invalid_argument,
                 "presigned URL signature does not match: it was signed for " +
                     std::string(*signed_method) + ", not " + std::string(method) + " (key '" +
                     key + "')");
        Grant grant{key, {}};
        if (method == "PUT") { // only a signer bug gets past the signature without it
            if (!content)
                malformed("a PUT URL needs X-Content-SHA256");
            auto digest = Digest::try_from_hex(*content);
            if (!digest)
                malformed("X-Content-SHA256 is not 64 lowercase hex digits");
            grant.content = *digest;
        }
        std::int64_t at = 0;
        auto [end, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), at);
        if (ec != std::errc{} || end != expires->data() + expires->size())
            malformed("X-Expires is not a number"); // only a signer bug gets here
        if (auto now = now_seconds(); now > at)
            fail(errc::invalid_argument, "presigned URL expired at " + std::to_string(at) +
                                             " (unix seconds; now " + std::to_string(now) +
                                             ", key '" + key + "')");
        return grant;
    }

    std::shared_ptr<const Bytes> find(std::string_view key) const {
        std::shared_lock lock(mutex_);
        auto it = objects_.find(key);
        return it == objects_.end() ? nullptr : it->second;
    }

    mutable std::shared_mutex mutex_;
    std::map<std::string, std::shared_ptr<const Bytes>, std::less<>> objects_;
    Bytes secret_;
    std::function<TimePoint()> clock_;
};

static_assert(musehub::ObjectStore<ObjectStore>);
static_assert(musehub::PresigningStore<ObjectStore>);

} // namespace musehub::memory
