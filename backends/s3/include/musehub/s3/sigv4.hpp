#pragma once
// AWS Signature Version 4 for the S3 object store: object URLs in path and virtual-host style,
// the SigV4 primitives (signing key, canonical query, canonical request, string to sign),
// presigned URLs, the Authorization header of an ordinary request, and the canonical query of
// a ListObjectsV2 request.
//
// Transport is not here. The S3 store sends its requests through libcurl, whose
// CURLOPT_AWS_SIGV4 signs the query string *verbatim* (libcurl 7.88 does not sort or encode
// it): every query this header builds is therefore already canonical — parameters sorted by
// encoded name then value, encoded with the strict rules below, `name=` for an empty value —
// and can be put on the URL as is. libcurl cannot presign; presign() below does, with OpenSSL.
//
// Encoding (AWS's UriEncode): bytes A-Z a-z 0-9 - _ . ~ are kept, every other byte (including
// each byte of a UTF-8 sequence) becomes %XX with uppercase hex. In an object key '/' is kept
// as the segment separator; in a query name or value it is %2F. S3 signs the path exactly as
// sent: no normalisation and no second encoding, so a key with "." or ".." segments must reach
// the server unchanged (libcurl: set CURLOPT_PATH_AS_IS).
//
// Hosts: the signed `host` is the Host header an HTTP client sends, so a port equal to the
// scheme's default (80 for http, 443 for https) is dropped and the host is lowercased.
//
// Errors: meaningless input (an endpoint that is not http(s)://host[:port], an empty key,
// bucket or region, an expiry outside 1..604800 seconds) is errc::invalid_argument; an
// OpenSSL failure is errc::io.

#include "musehub/core/error.hpp"
#include "musehub/core/sha256.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub::s3 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::optional<std::string> session_token; // temporary credentials (STS) only
};

enum class AddressingStyle {
    path,         // scheme://host/bucket/key — any endpoint, including S3-compatible servers
    virtual_host, // scheme://bucket.host/key — AWS's default; the bucket must be a DNS name
};

struct Endpoint {
    std::string url;    // "https://s3.amazonaws.com", "http://127.0.0.1:4569": no path, no query
    std::string region; // "us-east-1"
    std::string bucket;
    AddressingStyle style = AddressingStyle::path;
};

// Where a request goes: what the URL is made of and what SigV4 signs.
struct Target {
    std::string scheme;        // "http" or "https"
    std::string host;          // the Host header: lowercase, ":port" only when not the default
    std::string canonical_uri; // already encoded path, starting with '/'

    std::string url() const { return scheme + "://" + host + canonical_uri; }
};

// Header or query parameter list: (name, value) in any order.
using Params = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::uint32_t max_presign_expiry = 604800; // 7 days: S3's limit

// --- Encoding ------------------------------------------------------------------------------

namespace detail {
inline constexpr bool unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}
inline void encode_to(std::string& out, std::string_view text, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0xf]);
        }
    }
}
inline std::string lowercase(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}
inline std::string hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(2 * n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    return out;
}
} // namespace detail

// Strict encoding, for query names and values: '/' becomes %2F.
inline std::string uri_encode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    detail::encode_to(out, text, false);
    return out;
}
// Path encoding, for object keys: each '/'-separated segment encoded, '/' kept.
inline std::string uri_encode_path(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    detail::encode_to(out, text, true);
    return out;
}

// --- URLs ----------------------------------------------------------------------------------

namespace detail {
struct Origin {
    std::string scheme;
    std::string host; // lowercase, default port dropped
};
inline Origin parse_origin(std::string_view url) {
    auto bad = [&](std::string_view why) -> Origin {
        fail(errc::invalid_argument, "S3 endpoint '" + std::string(url) + "' " + std::string(why) +
                                         " (expected http://host[:port] or https://host[:port])");
    };
    auto sep = url.find("://");
    if (sep == std::string_view::npos)
        return bad("has no scheme");
    Origin o{lowercase(url.substr(0, sep)), {}};
    if (o.scheme != "http" && o.scheme != "https")
        return bad("has a scheme other than http or https");
    auto rest = url.substr(sep + 3);
    if (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    if (rest.empty())
        return bad("has no host");
    if (rest.find_first_of("/?#@ ") != std::string_view::npos)
        return bad("has a path, query, fragment, user or space after the host");
    // Port: after the last ':' unless that ':' is inside an IPv6 literal "[...]".
    auto colon = rest.rfind(':');
    auto bracket = rest.rfind(']');
    std::string_view host = rest, port;
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad("has a malformed port");
    }
    if (host.empty())
        return bad("has no host");
    o.host = lowercase(host);
    bool default_port =
        (o.scheme == "http" && port == "80") || (o.scheme == "https" && port == "443");
    if (!port.empty() && !default_port)
        o.host += ":" + std::string(port);
    return o;
}
inline void check_bucket(const Endpoint& ep) {
    if (ep.bucket.empty())
        fail(errc::invalid_argument, "S3 endpoint '" + ep.url + "' names no bucket");
    if (ep.style == AddressingStyle::virtual_host &&
        !std::all_of(ep.bucket.begin(), ep.bucket.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        }))
        fail(errc::invalid_argument, "S3 bucket '" + ep.bucket +
                                         "' is not a DNS name: virtual-host addressing needs "
                                         "lowercase letters, digits, '-' and '.' only");
}
} // namespace detail

// The bucket itself (ListObjectsV2 and other bucket requests): "/bucket" or "/" on bucket.host.
inline Target bucket_target(const Endpoint& ep) {
    detail::check_bucket(ep);
    auto o = detail::parse_origin(ep.url);
    if (ep.style == AddressingStyle::virtual_host)
        return {std::move(o.scheme), ep.bucket + "." + o.host, "/"};
    return {std::move(o.scheme), std::move(o.host), "/" + uri_encode(ep.bucket)};
}

// One object: "/bucket/<encoded key>" or "/<encoded key>" on bucket.host.
inline Target object_target(const Endpoint& ep, std::string_view key) {
    if (key.empty())
        fail(errc::invalid_argument, "S3 object key is empty");
    detail::check_bucket(ep);
    auto o = detail::parse_origin(ep.url);
    if (ep.style == AddressingStyle::virtual_host)
        return {std::move(o.scheme), ep.bucket + "." + o.host, "/" + uri_encode_path(key)};
    return {std::move(o.scheme), std::move(o.host),
            "/" + uri_encode(ep.bucket) + "/" + uri_encode_path(key)};
}

inline std::string object_url(const Endpoint& ep, std::string_view key) {
    return object_target(ep, key).url();
}

// --- SigV4 primitives ----------------------------------------------------------------------

using SigningKey = std::array<unsigned char, 32>;

namespace detail {
inline SigningKey hmac(const unsigned char* key, std::size_t key_len, std::string_view data) {
    SigningKey out{};
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, static_cast<int>(key_len),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &n) ||
        n != out.size())
        fail(errc::io, "OpenSSL HMAC-SHA256 failed");
    return out;
}
inline SigningKey hmac(const SigningKey& key, std::string_view data) {
    return hmac(key.data(), key.size(), data);
}
} // namespace detail

inline std::string sha256_hex(std::string_view data) {
    return musehub::sha256(data).hex();
}

// "20130524T000000Z" and "20130524", in UTC.
struct AmzTime {
    std::string date_time;
    std::string date;
};
inline AmzTime amz_time(std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    auto day = floor<days>(now);
    year_month_day ymd{day};
    hh_mm_ss hms{floor<seconds>(now - day)};
    auto put = [](std::string& out, long long v, int width) {
        std::string digits(static_cast<std::size_t>(width), '0');
        for (int i = width - 1; i >= 0 && v > 0; --i, v /= 10)
            digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
        out += digits;
    };
    AmzTime t;
    put(t.date, static_cast<int>(ymd.year()), 4);
    put(t.date, static_cast<unsigned>(ymd.month()), 2);
    put(t.date, static_cast<unsigned>(ymd.day()), 2);
    t.date_time = t.date + "T";
    put(t.date_time, hms.hours().count(), 2);
    put(t.date_time, hms.minutes().count(), 2);
    put(t.date_time, hms.seconds().count(), 2);
    t.date_time += "Z";
    return t;
}

// "20130524/us-east-1/s3/aws4_request"
inline std::string credential_scope(std::string_view date, std::string_view region,
                                    std::string_view service = "s3") {
    std::string s;
    s.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
    return s;
}

// HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
inline SigningKey derive_signing_key(std::string_view secret_access_key, std::string_view date,
                                     std::string_view region, std::string_view service = "s3") {
    std::string k0 = "AWS4";
    k0.append(secret_access_key);
    auto k_date = detail::hmac(reinterpret_cast<const unsigned char*>(k0.data()), k0.size(), date);
    return detail::hmac(detail::hmac(detail::hmac(k_date, region), service), "aws4_request");
}

// Each name and value encoded strictly, sorted by encoded name then encoded value, joined as
// "a=1&b=&c=3". The result is also what goes on the wire.
inline std::string canonical_query(const Params& params) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(params.size());
    for (const auto& [name, value] : params)
        encoded.emplace_back(uri_encode(name), uri_encode(value));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty())
            out += '&';
        out.append(name).append("=").append(value);
    }
    return out;
}

namespace detail {
struct CanonicalHeaders {
    std::string text;    // "name:value\n" per header
    std::string signed_; // "name;name"
};
// Names lowercased; values trimmed with inner runs of spaces collapsed; sorted by name;
// repeated names joined with ','.
inline CanonicalHeaders canonical_headers(const Params& headers) {
    std::vector<std::pair<std::string, std::string>> hs;
    hs.reserve(headers.size());
    for (const auto& [name, value] : headers) {
        std::string v;
        bool space = false;
        for (char c : value) {
            if (c == ' ' || c == '\t') {
                space = !v.empty();
                continue;
            }
            if (space)
                v += ' ';
            space = false;
            v += c;
        }
        hs.emplace_back(lowercase(name), std::move(v));
    }
    std::stable_sort(hs.begin(), hs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    CanonicalHeaders out;
    for (std::size_t i = 0; i < hs.size(); ++i) {
        if (i > 0 && hs[i].first == hs[i - 1].first) {
            out.text.pop_back(); // the '\n'
            out.text.append(",").append(hs[i].second).append("\n");
            continue;
        }
        if (!out.signed_.empty())
            out.signed_ += ';';
        out.signed_ += hs[i].first;
        out.text.append(hs[i].first).append(":").append(hs[i].second).append("\n");
    }
    return out;
}
} // namespace detail

// The "name;name" list of the headers canonical_request() signs.
inline std::string signed_headers(const Params& headers) {
    return detail::canonical_headers(headers).signed_;
}

// METHOD \n URI \n QUERY \n HEADERS (each ending in \n) \n SIGNED-HEADERS \n PAYLOAD-HASH
inline std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                                     std::string_view canonical_query, const Params& headers,
                                     std::string_view payload_hash) {
    auto h = detail::canonical_headers(headers);
    std::string r;
    r.append(method).append("\n");
    r.append(canonical_uri).append("\n");
    r.append(canonical_query).append("\n");
    r.append(h.text).append("\n");
    r.append(h.signed_).append("\n");
    r.append(payload_hash);
    return r;
}

// ALGORITHM \n DATE-TIME \n SCOPE \n hex(SHA-256(canonical request))
inline std::string string_to_sign(std::string_view amz_date_time, std::string_view scope,
                                  std::string_view canonical_request) {
    std::string s;
    s.append(algorithm).append("\n");
    s.append(amz_date_time).append("\n");
    s.append(scope).append("\n");
    s.append(sha256_hex(canonical_request));
    return s;
}

inline std::string signature(const SigningKey& key, std::string_view string_to_sign) {
    auto mac = detail::hmac(key, string_to_sign);
    return detail::hex(mac.data(), mac.size());
}

// --- Requests ------------------------------------------------------------------------------

// The Authorization header value of an ordinary (header-signed) request. `headers` are the
// headers to sign: they must include `host` and, when present, an `x-amz-date` equal to
// amz_time(now).date_time (the caller sends the same headers; for temporary credentials it
// also sends and signs x-amz-security-token). payload_hash is the hex SHA-256 of the body or
// UNSIGNED-PAYLOAD, and S3 wants it sent as x-amz-content-sha256 too.
inline std::string authorization(std::string_view method, std::string_view canonical_uri,
                                 std::string_view canonical_query, const Params& headers,
                                 std::string_view payload_hash, const Credentials& creds,
                                 std::string_view region, std::chrono::system_clock::time_point now,
                                 std::string_view service = "s3") {
    auto t = amz_time(now);
    bool host = false;
    for (const auto& [name, value] : headers) {
        auto n = detail::lowercase(name);
        host = host || n == "host";
        if (n == "x-amz-date" && value != t.date_time)
            fail(errc::invalid_argument,
                 "x-amz-date header '" + value + "' is not the signing time " + t.date_time);
    }
    if (!host)
        fail(errc::invalid_argument, "a SigV4-signed request must sign its host header");
    auto scope = credential_scope(t.date, region, service);
    auto creq = canonical_request(method, canonical_uri, canonical_query, headers, payload_hash);
    auto sig = signature(derive_signing_key(creds.secret_access_key, t.date, region, service),
                         string_to_sign(t.date_time, scope, creq));
    std::string a;
    a.append(algorithm).append(" Credential=").append(creds.access_key_id).append("/");
    a.append(scope).append(", SignedHeaders=").append(signed_headers(headers));
    a.append(", Signature=").append(sig);
    return a;
}

// A presigned URL: query authentication with X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token for temporary credentials, and the
// X-Amz-Signature last. `extra_query` parameters (e.g. response-content-disposition) are signed
// too. Expiry: 1 to 604800 seconds.
//
// `headers` are headers the client must send with the request, exactly: they are signed beside
// host (X-Amz-SignedHeaders=host;<their lowercase names>), so S3 refuses the request when one is
// missing or has another value (SignatureDoesNotMatch). The canonical request's hashed payload
// is UNSIGNED-PAYLOAD, unless `headers` has x-amz-content-sha256: then it is that header's
// value, which is what S3 uses when a presigned request carries the header (as for a
// header-signed one), and S3 also hashes the body it receives and refuses one that differs
// (400 XAmzContentSHA256Mismatch), storing nothing. A URL signed so can only PUT those bytes.
// Refused with errc::invalid_argument: a header named host (presign signs the target's) or
// named twice, a name that is not letters, digits and '-', a value with a control character,
// and an x-amz-content-sha256 that is not 64 lowercase hex digits.
inline std::string presign(std::string_view method, const Target& target, const Credentials& creds,
                           std::string_view region, std::chrono::system_clock::time_point now,
                           std::uint32_t expiry_seconds, const Params& extra_query = {},
                           const Params& headers = {}) {
    if (expiry_seconds < 1 || expiry_seconds > max_presign_expiry)
        fail(errc::invalid_argument, "presigned URL expiry " + std::to_string(expiry_seconds) +
                                         " s is outside 1.." + std::to_string(max_presign_expiry) +
                                         " s");
    if (region.empty())
        fail(errc::invalid_argument, "SigV4 needs a region");
    auto t = amz_time(now);
    auto scope = credential_scope(t.date, region);
    Params q = extra_query;
    for (const auto& [name, value] : q) {
        auto n = detail::lowercase(name);
        for (std::string_view own :
             {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
              "x-amz-signedheaders", "x-amz-security-token", "x-amz-signature"})
            if (n == own)
                fail(errc::invalid_argument,
                     "extra query parameter '" + name + "' is one presign() sets itself");
    }
    Params signed_hs{{"host", target.host}};
    std::string payload_hash(unsigned_payload);
    for (const auto& [name, value] : headers) {
        auto n = detail::lowercase(name);
        if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            }))
            fail(errc::invalid_argument,
                 "presigned header name '" + name.substr(0, 80) + "' is not letters, digits, '-'");
        if (std::any_of(value.begin(), value.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            fail(errc::invalid_argument,
                 "presigned header '" + name + "' has a control character in its value");
        for (const auto& h : signed_hs)
            if (detail::lowercase(h.first) == n)
                fail(errc::invalid_argument,
                     "presigned header '" + name +
                         (n == "host" ? "' is the target's, which presign() signs itself"
                                      : "' is named twice"));
        if (n == "x-amz-content-sha256") {
            if (!Digest::is_hex(value))
                fail(errc::invalid_argument, "presigned x-amz-content-sha256 '" +
                                                 value.substr(0, 80) +
                                                 "' is not 64 lowercase hex digits");
            payload_hash = value;
        }
        signed_hs.emplace_back(name, value);
    }
    q.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    q.emplace_back("X-Amz-Credential", creds.access_key_id + "/" + scope);
    q.emplace_back("X-Amz-Date", t.date_time);
    q.emplace_back("X-Amz-Expires", std::to_string(expiry_seconds));
    q.emplace_back("X-Amz-SignedHeaders", signed_headers(signed_hs));
    if (creds.session_token)
        q.emplace_back("X-Amz-Security-Token", *creds.session_token);
    auto query = canonical_query(q);
    auto creq = canonical_request(method, target.canonical_uri, query, signed_hs, payload_hash);
    auto sig = signature(derive_signing_key(creds.secret_access_key, t.date, region),
                         string_to_sign(t.date_time, scope, creq));
    return target.url() + "?" + query + "&X-Amz-Signature=" + sig;
}

// Presigned URL for one object of the endpoint's bucket (what presign_put/presign_get serve),
// for a client that sends `headers` (see presign()).
inline std::string presign_object(std::string_view method, const Endpoint& ep, std::string_view key,
                                  const Credentials& creds,
                                  std::chrono::system_clock::time_point now,
                                  std::uint32_t expiry_seconds, const Params& headers = {}) {
    return presign(method, object_target(ep, key), creds, ep.region, now, expiry_seconds, {},
                   headers);
}

// The canonical query of a ListObjectsV2 request, ready to follow '?' for CURLOPT_AWS_SIGV4:
// "continuation-token=…&list-type=2&max-keys=…&prefix=…". An empty prefix is left out, as are
// the continuation token and max-keys when not given.
inline std::string list_objects_v2_query(std::string_view prefix,
                                         std::optional<std::string_view> continuation_token = {},
                                         std::optional<std::uint32_t> max_keys = {}) {
    Params q{{"list-type", "2"}};
    if (!prefix.empty())
        q.emplace_back("prefix", std::string(prefix));
    if (continuation_token)
        q.emplace_back("continuation-token", std::string(*continuation_token));
    if (max_keys)
        q.emplace_back("max-keys", std::to_string(*max_keys));
    return canonical_query(q);
}

} // namespace musehub::s3
