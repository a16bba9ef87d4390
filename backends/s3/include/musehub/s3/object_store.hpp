#pragma once
// S3 ObjectStore: the object store of the server backend, over libcurl, for AWS S3 and
// S3-compatible servers (MinIO, Ceph RGW, s3rver…). Header-only; link libcurl and OpenSSL.
//
// Requests. Every request is signed by libcurl (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3", the
// access key and secret as user name and password); queries are built already canonical by
// sigv4.hpp, because libcurl 7.88 signs the query string verbatim, and CURLOPT_PATH_AS_IS keeps
// keys with "." or ".." segments as they are. Every request carries x-amz-content-sha256: the
// SHA-256 of the empty payload for GET, HEAD and DELETE, and the real SHA-256 of the body for
// PUT and DeleteObjects. For a PUT that costs one pass of SHA-256 over bytes that were just in
// cache (GB/s with SHA-NI; nothing next to the network), and buys integrity: S3 recomputes the
// hash of what it received and refuses a body damaged on the way (XAmzContentSHA256Mismatch),
// and the signature covers the content, not only the headers. Temporary credentials send
// x-amz-security-token. Addressing is path style ("http://host/bucket/key", any server) or
// virtual-host style ("https://bucket.host/key", AWS's default); bucket requests go to
// "/bucket?query", with no slash before the '?'.
//
// Keys are arbitrary non-empty strings of at most 1024 bytes once Options::key_prefix is put
// in front (S3's limit). The key prefix is prepended to every key on the wire and stripped from
// list() results, so one bucket can hold many stores that never see each other's keys.
//
// Semantics (store/concept.hpp):
//  - put: one PUT; S3 makes it visible atomically, whole or not at all. At most 5 GiB (S3's
//    limit for a single PUT; larger objects would need multipart uploads, which no algorithm
//    here produces), refused with errc::oversized before anything is sent.
//  - get: GET; 404 NoSuchKey is nullopt. get_range: GET with "Range: bytes=A-B". S3 answers
//    416 when A is at or past the end; a HEAD then tells an existing object (empty result)
//    from an absent one (nullopt). A zero-length range sends no Range at all: a HEAD decides.
//    A server that ignores Range (200 with the whole object) is cut to the range here.
//  - size: HEAD's Content-Length; 404 is nullopt.
//  - remove: DELETE, idempotent (S3 answers 204 for absent keys too).
//  - list: ListObjectsV2 with encoding-type=url (XML 1.0 cannot carry every byte a key may
//    hold) page after page by continuation token; keys are URL-decoded only when the response
//    says <EncodingType>url</EncodingType> (servers that ignore the parameter send them raw),
//    XML entities are decoded, and the result is sorted byte-wise. A 404 with NoSuchBucket is
//    an error everywhere, never "absent": a wrong bucket must not look like an empty store.
//  - No put_if_absent: nothing depends on S3 conditional writes (store/concept.hpp).
//  - No remove_stale_temps: a failed PUT leaves nothing behind.
//
// Batches (store/batch.hpp): put_many, get_ranges, sizes and remove_many keep up to
// Options::max_in_flight requests in flight on one curl multi handle. remove_many sends
// DeleteObjects (POST /bucket?delete=) with up to 1000 keys each, several at once, with the
// Content-MD5 header real S3 requires (base64 of MD5 via OpenSSL EVP); keys that XML 1.0 cannot
// carry (control characters) are deleted one by one instead. Per-key <Error> entries of the
// answer fail the call with their Code and Message, except NoSuchKey (already gone) and the
// transient ones (InternalError, SlowDown, ServiceUnavailable), which are retried.
//
// Retries: up to Options::max_attempts attempts per request, with exponential backoff and full
// jitter (a delay drawn uniformly from [0, min(max_backoff, base_backoff * 2^(attempt-1))]),
// on 5xx but 501 (503 SlowDown included), 429, 408, S3's 400 RequestTimeout, and on transport
// failures (timeouts, refused or reset connections, connections closed early, short bodies, TLS
// handshake failures, name resolution). Anything else, and the last failure once the attempts
// are spent, is a musehub::error errc::io whose message names the method, the key, the status
// and S3's <Code> and <Message>, e.g.
//     S3 PUT packs/ab/cd/…: 403 SignatureDoesNotMatch: The request signature we calculated…
// A batch stops at its first such failure (requests still in flight are abandoned) and throws.
//
// Memory: a GET whose answer announces its Content-Length (S3's always do) gets a buffer of
// exactly that size before the first byte arrives, and the bytes are appended into it: one
// allocation, no copies as it grows. Error answers keep at most 64 KiB.
//
// Timeouts: connect_timeout bounds each connection attempt; request_timeout bounds how long a
// request may make no progress at all (no byte sent or received), not its total duration, so a
// multi-gigabyte pack is not cut off while a stalled connection is still abandoned and retried.
//
// Threads. Every member may be called from any number of threads at once. The curl machinery
// (a multi handle, its connection cache and a pool of easy handles) lives in an "engine"; a
// call borrows an idle engine from a mutex-guarded pool for its duration (making one if none is
// idle) and gives it back, so no curl handle is ever used by two threads at once. The pool lends
// the engine returned last, so a lone caller gets its own back, connections still open. The
// pool grows to the largest number of concurrent calls seen; each engine keeps at most
// max_in_flight connections (CURLMOPT_MAX_HOST_CONNECTIONS and CURLMOPT_MAXCONNECTS).
// Presigning touches no engine: it is pure computation (sigv4.hpp, OpenSSL HMAC).
//
// Presigned URLs (store/concept.hpp PresigningStore): presign_get signs host only
// (UNSIGNED-PAYLOAD); presign_put also signs the header x-amz-content-sha256 with the content's
// hex SHA-256, which the client must send: S3 checks the body against it and refuses other bytes
// (400 XAmzContentSHA256Mismatch), so a URL can only ever write the object it was made for.
// This needs no conditional write: S3 still overwrites, but only with the same bytes.

#include "musehub/core/error.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/s3/detail/curl.hpp"
#include "musehub/s3/sigv4.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/concept.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace musehub::s3 {

namespace detail {

// ---- small text helpers -----------------------------------------------------------------------

// A key or other text, printable and bounded, for error messages.
inline std::string printable(std::string_view text, std::size_t limit = 300) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        auto u = static_cast<unsigned char>(text[i]);
        if (u < 0x20 || u == 0x7f || u == '\\')
            out.append({'\\', 'x', digits[u >> 4], digits[u & 15]});
        else
            out += text[i];
    }
    if (text.size() > limit)
        out += "...";
    return out;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// ---- the little XML S3 speaks ----------------------------------------------------------------
// S3's answers are flat and regular: elements without attributes (bar the root's xmlns), no
// CDATA, no comments. Reading them needs no general parser, only these two functions.
namespace xml {

[[noreturn]] inline void malformed(std::string_view why, std::string_view near) {
    fail(errc::io, "S3 sent malformed XML: " + std::string(why) + " near '" +
                       printable(near.substr(0, 60)) + "'");
}

// Character data with its entities decoded: &amp; &lt; &gt; &quot; &apos; &#N; &#xH;.
inline std::string unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        auto end = text.find(';', i);
        if (end == std::string_view::npos || end - i > 12)
            malformed("an unterminated entity", text.substr(i));
        auto name = text.substr(i + 1, end - i - 1);
        if (name == "amp")
            out += '&';
        else if (name == "lt")
            out += '<';
        else if (name == "gt")
            out += '>';
        else if (name == "quot")
            out += '"';
        else if (name == "apos")
            out += '\'';
        else if (name.size() >= 2 && name[0] == '#') {
            bool hex = name[1] == 'x' || name[1] == 'X';
            auto digits = name.substr(hex ? 2 : 1);
            if (digits.empty())
                malformed("an empty character reference", text.substr(i));
            std::uint32_t cp = 0;
            for (char c : digits) {
                int v = c >= '0' && c <= '9'          ? c - '0'
                        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                      : -1;
                if (v < 0)
                    malformed("a bad character reference", text.substr(i));
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
                if (cp > 0x10ffff)
                    malformed("a character reference past U+10FFFF", text.substr(i));
            }
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                malformed("a character reference to NUL or a surrogate", text.substr(i));
            append_utf8(out, cp);
        } else {
            malformed("an unknown entity", text.substr(i));
        }
        i = end;
    }
    return out;
}

// The raw content of the next <name>…</name> (or <name/>) at or after `from`, which moves past
// it; nullopt when there is none.
inline std::optional<std::string_view> next(std::string_view doc, std::string_view name,
                                            std::size_t& from) {
    std::string open = "<" + std::string(name);
    while (true) {
        auto at = doc.find(open, from);
        if (at == std::string_view::npos) {
            from = doc.size();
            return std::nullopt;
        }
        auto after = at + open.size();
        if (after >= doc.size())
            malformed("a document that ends inside a tag", doc.substr(at));
        char c = doc[after];
        if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            from = after; // a longer name: <KeyCount> is not <Key>
            continue;
        }
        auto gt = doc.find('>', after);
        if (gt == std::string_view::npos)
            malformed("an unterminated tag", doc.substr(at));
        if (doc[gt - 1] == '/') {
            from = gt + 1;
            return std::string_view{};
        }
        std::string close = "</" + std::string(name) + ">";
        auto end = doc.find(close, gt + 1);
        if (end == std::string_view::npos)
            malformed("an unclosed <" + std::string(name) + ">", doc.substr(at));
        from = end + close.size();
        return doc.substr(gt + 1, end - gt - 1);
    }
}

// The decoded text of the first <name> in `doc`, or nullopt.
inline std::optional<std::string> first(std::string_view doc, std::string_view name) {
    std::size_t from = 0;
    auto raw = next(doc, name, from);
    if (!raw)
        return std::nullopt;
    return unescape(*raw);
}

// `text` escaped for an XML element: & < > " ' and TAB, LF, CR (as character references, so no
// parser normalises them away). Other control characters cannot be written in XML 1.0 at all:
// nullopt.
inline std::optional<std::string> escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\t':
            out += "&#9;";
            break;
        case '\n':
            out += "&#10;";
            break;
        case '\r':
            out += "&#13;";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                return std::nullopt;
            out += c;
        }
    }
    return out;
}

} // namespace xml

// Percent-decoding as S3's encoding-type=url uses it ('+' is a space, as in a form).
inline std::string url_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1;
            int lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                fail(errc::io,
                     "S3 sent a URL-encoded key with a bad escape: '" + printable(text) + "'");
            out += static_cast<char>(hi << 4 | lo);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// base64(MD5(data)): the Content-MD5 header.
inline std::string content_md5(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int n = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_md5(), nullptr) != 1 || n != 16)
        fail(errc::io, "OpenSSL MD5 failed");
    std::array<unsigned char, 32> b64{};
    int len = EVP_EncodeBlock(b64.data(), md.data(), 16);
    return std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(len));
}

// ---- requests and the engine that runs them ---------------------------------------------------

enum class Method { get, head, put, del, post };

inline const char* method_name(Method m) noexcept {
    switch (m) {
    case Method::get:
        return "GET";
    case Method::head:
        return "HEAD";
    case Method::put:
        return "PUT";
    case Method::del:
        return "DELETE";
    case Method::post:
        return "POST";
    }
    return "?";
}

// What every request of one store shares.
// Requests sent (every attempt counts) and bytes moved (bodies both ways), for benchmarks and
// operators; shared by every engine of one store.
struct Traffic {
    std::atomic<std::uint64_t> requests{0}, bytes{0};
};

struct Config {
    std::shared_ptr<Traffic> traffic;
    std::string sigv4;         // "aws:amz:REGION:s3"
    std::string user, secret;  // CURLOPT_USERNAME / CURLOPT_PASSWORD
    std::string token_header;  // "x-amz-security-token: …", or empty
    std::size_t max_in_flight; // per call
    int max_attempts;
    std::chrono::milliseconds base_backoff, max_backoff;
    std::chrono::seconds request_timeout, connect_timeout;
};

// One request, across all its attempts. `subject` names it in messages (the key on the wire,
// or what a bucket request is for). Calls are not moved while an engine runs them: libcurl
// holds pointers into them.
struct Call {
    Method method = Method::get;
    std::string url;
    std::string subject;
    BytesView body;                           // PUT
    std::string post_body;                    // POST (DeleteObjects)
    std::optional<std::uint64_t> range_first; // "Range: bytes=first-[last]"
    std::optional<std::uint64_t> range_last;
    bool absent_ok = false;        // 404 NoSuchKey (or a 404 without a body) is an answer
    bool unsatisfiable_ok = false; // 416 is an answer

    // Outcome of the last attempt.
    long status = 0;
    Bytes response;
    curl_off_t content_length = -1;
    std::optional<std::uint64_t> range_total; // the "/T" of a 206's Content-Range, when known

    // Attempt state.
    int attempts = 0;
    bool prepared = false;
    Slist headers;
    std::size_t sent = 0;
    bool sized = false;
    bool keep_all = true; // false for an error answer: only its start is kept
    bool out_of_memory = false;
    CURL* handle = nullptr;
    std::array<char, CURL_ERROR_SIZE> errbuf{};

    bool ok() const noexcept { return status >= 200 && status < 300; }
    bool absent() const noexcept { return status == 404; }
};

// A finished request's S3 error document: its <Code> and <Message>, when it has one.
struct S3Error {
    std::string code, message, extra;
};
inline S3Error parse_error(const Call& c) {
    S3Error e;
    auto doc = as_chars(c.response);
    if (doc.find("<Error") == std::string_view::npos)
        return e;
    try {
        e.code = xml::first(doc, "Code").value_or("");
        e.message = xml::first(doc, "Message").value_or("");
        if (auto ep = xml::first(doc, "Endpoint"))
            e.extra = " (endpoint " + *ep + ")";
    } catch (const error&) {
        // A garbled error body: report the status alone.
    }
    return e;
}

inline std::string describe_status(const Call& c) {
    std::string m = "S3 " + std::string(method_name(c.method)) + " " + c.subject + ": " +
                    std::to_string(c.status);
    auto e = parse_error(c);
    if (!e.code.empty())
        m += " " + e.code;
    if (!e.message.empty())
        m += ": " + e.message;
    m += e.extra;
    if (e.code.empty() && e.message.empty())
        m += c.method == Method::head ? " (HEAD answers carry no error details)"
                                      : " (no S3 error document in the answer)";
    return m;
}

inline bool retryable(CURLcode rc) noexcept {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

inline bool retryable_status(const Call& c) {
    if ((c.status >= 500 && c.status != 501) || c.status == 429 || c.status == 408)
        return true;
    if (c.status == 400) {
        auto code = parse_error(c).code;
        return code == "RequestTimeout" || code == "SlowDown" || code == "InternalError";
    }
    return false;
}

// libcurl callbacks: they never let an exception through libcurl's C frames.
inline constexpr std::size_t max_error_body = 64 * 1024;

inline std::size_t on_write(char* data, std::size_t, std::size_t size_in, void* user) noexcept {
    auto& c = *static_cast<Call*>(user);
    std::size_t n = size_in;
    try {
        if (!c.sized) {
            // The headers are in: when this is the object (2xx) and its length is announced,
            // make room for all of it at once.
            c.sized = true;
            long code = 0;
            curl_off_t length = -1;
            curl_easy_getinfo(c.handle, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_getinfo(c.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
            c.keep_all = code >= 200 && code < 300;
            if (c.keep_all && length > 0)
                c.response.reserve(static_cast<std::size_t>(length));
        }
        if (!c.keep_all) // an S3 error document is small; whatever else answered may not be
            n = std::min(n, max_error_body - std::min(max_error_body, c.response.size()));
        auto* p = reinterpret_cast<const std::byte*>(data);
        c.response.insert(c.response.end(), p, p + n);
        return size_in;
    } catch (...) {
        c.out_of_memory = true;
        return 0; // CURLE_WRITE_ERROR
    }
}
inline std::size_t on_header(char* data, std::size_t, std::size_t n, void* user) noexcept {
    auto& c = *static_cast<Call*>(user);
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
        c.range_total.reset(); // a new response (after a 100 Continue, say)
        return n;
    }
    constexpr std::string_view name = "content-range:";
    if (line.size() < name.size())
        return n;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
            return n;
    auto slash = line.find('/');
    if (slash == std::string_view::npos)
        return n;
    std::uint64_t total = 0;
    auto digits = line.substr(slash + 1);
    auto end = std::from_chars(digits.data(), digits.data() + digits.size(), total);
    if (end.ec == std::errc{} && end.ptr != digits.data())
        c.range_total = total;
    return n;
}
inline std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* user) noexcept {
    auto& c = *static_cast<Call*>(user);
    std::size_t k = std::min(size * n, c.body.size() - c.sent);
    if (k > 0)
        std::memcpy(buffer, c.body.data() + c.sent, k);
    c.sent += k;
    return k;
}
inline int on_seek(void* user, curl_off_t offset, int origin) noexcept {
    auto& c = *static_cast<Call*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > c.body.size())
        return CURL_SEEKFUNC_CANTSEEK;
    c.sent = static_cast<std::size_t>(offset);
    return CURL_SEEKFUNC_OK;
}

// A multi handle, its easy handles, and the loop that keeps up to max_in_flight requests in
// flight with retries. Used by one thread at a time (see the pool below).
class Engine {
public:
    static constexpr std::size_t small_put_bytes = 1024 * 1024;

    explicit Engine(const Config& config)
        : config_(config), rng_(std::random_device{}() ^ reinterpret_cast<std::uintptr_t>(this)) {
        auto n = static_cast<long>(config_.max_in_flight);
        multi_.setopt(CURLMOPT_MAX_HOST_CONNECTIONS, n, "CURLMOPT_MAX_HOST_CONNECTIONS");
        multi_.setopt(CURLMOPT_MAXCONNECTS, n, "CURLMOPT_MAXCONNECTS");
    }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine() { abandon(); }

    // Runs every call to an answer: success, or the "absent"/"unsatisfiable" answers the call
    // accepts. Throws the first failure that is not retryable or has used up its attempts.
    void run(std::span<Call> calls) {
        try {
            drive(calls);
        } catch (...) {
            abandon();
            throw;
        }
    }

    // Full-jitter backoff before attempt `attempts + 1`.
    std::chrono::milliseconds backoff(int attempts) {
        auto cap = config_.base_backoff.count();
        for (int i = 1; i < attempts && cap < config_.max_backoff.count(); ++i)
            cap *= 2;
        cap = std::min<std::int64_t>(cap, config_.max_backoff.count());
        if (cap <= 0)
            return std::chrono::milliseconds(0);
        std::uniform_int_distribution<std::int64_t> pick(0, cap);
        return std::chrono::milliseconds(pick(rng_));
    }

private:
    using Clock = std::chrono::steady_clock;
    struct Delayed {
        Clock::time_point at;
        std::size_t index;
        bool operator>(const Delayed& o) const noexcept { return at > o.at; }
    };

    void drive(std::span<Call> calls) {
        std::size_t next = 0;
        std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed;
        while (true) {
            auto now = Clock::now();
            while (active_.size() < config_.max_in_flight) {
                if (!delayed.empty() && delayed.top().at <= now) {
                    auto i = delayed.top().index;
                    delayed.pop();
                    start(calls[i]);
                } else if (next < calls.size()) {
                    start(calls[next++]);
                } else {
                    break;
                }
            }
            if (active_.empty()) {
                if (delayed.empty())
                    return;
                std::this_thread::sleep_until(delayed.top().at);
                continue;
            }
            multi_.perform();
            bool finished = false;
            while (CURLMsg* msg = multi_.next_done()) {
                finished = true;
                CURL* h = msg->easy_handle;
                CURLcode rc = msg->data.result;
                char* priv = nullptr;
                curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
                auto* call = reinterpret_cast<Call*>(priv);
                auto easy = release(h);
                call->status = easy->response_code();
                call->content_length = easy->content_length();
                config_.traffic->requests.fetch_add(1, std::memory_order_relaxed);
                config_.traffic->bytes.fetch_add(call->body.size() + call->post_body.size() +
                                                     call->response.size(),
                                                 std::memory_order_relaxed);
                call->handle = nullptr;
                idle_.push_back(std::move(easy));
                if (!settle(*call, rc)) {
                    auto index = static_cast<std::size_t>(call - calls.data());
                    delayed.push({Clock::now() + backoff(call->attempts), index});
                }
            }
            if (finished)
                continue; // start the next ones before waiting
            int timeout_ms = 1000;
            if (!delayed.empty() && active_.size() < config_.max_in_flight) {
                auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(delayed.top().at -
                                                                                  Clock::now())
                                .count();
                timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait, 0, 1000));
            }
            multi_.poll(timeout_ms);
        }
    }

    // Judges a finished attempt: true when the call is answered, false to retry it; throws
    // when it failed for good.
    bool settle(Call& c, CURLcode rc) {
        if (c.out_of_memory)
            fail(errc::io, "S3 " + std::string(method_name(c.method)) + " " + c.subject +
                               ": out of memory storing the answer");
        if (rc == CURLE_PARTIAL_FILE && c.status == 206 && c.range_total == 0u) {
            // Some servers (s3rver) answer a range of an empty object with 206, Content-Range
            // "bytes 0-0/0" and a Content-Length of 1 they never send; S3 answers 416. Either
            // way the object is empty.
            c.response.clear();
            return true;
        }
        if (rc != CURLE_OK) {
            if (retryable(rc) && c.attempts < config_.max_attempts)
                return false;
            std::string m = "S3 " + std::string(method_name(c.method)) + " " + c.subject + ": " +
                            curl_easy_strerror(rc);
            if (c.errbuf[0] != '\0')
                m += " (" + std::string(c.errbuf.data()) + ")";
            give_up(c, std::move(m));
        }
        if (c.ok())
            return true;
        if (c.status == 404 && c.absent_ok) {
            auto code = parse_error(c).code;
            if (code.empty() || code == "NoSuchKey")
                return true; // NoSuchBucket and the like are failures
        }
        if (c.status == 416 && c.unsatisfiable_ok)
            return true;
        if (retryable_status(c) && c.attempts < config_.max_attempts)
            return false;
        give_up(c, describe_status(c));
    }

    [[noreturn]] static void give_up(const Call& c, std::string message) {
        if (c.attempts > 1)
            message += " (gave up after " + std::to_string(c.attempts) + " attempts)";
        fail(errc::io, message);
    }

    void prepare(Call& c) {
        if (c.prepared)
            return;
        std::string hash;
        if (c.method == Method::put)
            hash = musehub::sha256(c.body).hex();
        else if (c.method == Method::post)
            hash = musehub::sha256(std::string_view(c.post_body)).hex();
        else
            hash = std::string(empty_payload_sha256);
        c.headers.append("x-amz-content-sha256: " + hash);
        if (!config_.token_header.empty())
            c.headers.append(config_.token_header);
        if (c.range_first) {
            std::string r = "Range: bytes=" + std::to_string(*c.range_first) + "-";
            if (c.range_last)
                r += std::to_string(*c.range_last);
            c.headers.append(r);
        }
        if (c.method == Method::post) {
            c.headers.append("Content-Type: application/xml");
            c.headers.append("Content-MD5: " + content_md5(c.post_body));
        }
        c.prepared = true;
    }

    void start(Call& c) {
        prepare(c);
        std::unique_ptr<Easy> easy;
        if (idle_.empty()) {
            easy = std::make_unique<Easy>();
        } else {
            easy = std::move(idle_.back());
            idle_.pop_back();
        }
        configure(*easy, c);
        multi_.add(*easy);
        ++c.attempts;
        active_.push_back(std::move(easy));
    }

    void configure(Easy& e, Call& c) {
        e.reset();
        c.status = 0;
        c.response.clear();
        c.content_length = -1;
        c.range_total.reset();
        c.sent = 0;
        c.sized = false;
        c.keep_all = true;
        c.out_of_memory = false;
        c.errbuf[0] = '\0';
        c.handle = e.get();
        e.setopt(CURLOPT_URL, c.url.c_str(), "CURLOPT_URL");
        e.setopt(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
        e.setopt(CURLOPT_PATH_AS_IS, 1L, "CURLOPT_PATH_AS_IS");
        e.setopt(CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
        e.setopt(CURLOPT_AWS_SIGV4, config_.sigv4.c_str(), "CURLOPT_AWS_SIGV4");
        e.setopt(CURLOPT_USERNAME, config_.user.c_str(), "CURLOPT_USERNAME");
        e.setopt(CURLOPT_PASSWORD, config_.secret.c_str(), "CURLOPT_PASSWORD");
        e.setopt(CURLOPT_HTTPHEADER, c.headers.get(), "CURLOPT_HTTPHEADER");
        e.setopt(CURLOPT_CONNECTTIMEOUT_MS,
                 static_cast<long>(std::chrono::milliseconds(config_.connect_timeout).count()),
                 "CURLOPT_CONNECTTIMEOUT_MS");
        e.setopt(CURLOPT_LOW_SPEED_LIMIT, 1L, "CURLOPT_LOW_SPEED_LIMIT");
        e.setopt(CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.request_timeout.count()),
                 "CURLOPT_LOW_SPEED_TIME");
        e.setopt(CURLOPT_TCP_KEEPALIVE, 1L, "CURLOPT_TCP_KEEPALIVE");
        e.setopt(CURLOPT_BUFFERSIZE, 128L * 1024, "CURLOPT_BUFFERSIZE");
        e.setopt(CURLOPT_ERRORBUFFER, c.errbuf.data(), "CURLOPT_ERRORBUFFER");
        e.setopt(CURLOPT_PRIVATE, static_cast<void*>(&c), "CURLOPT_PRIVATE");
        e.setopt(CURLOPT_WRITEFUNCTION, &on_write, "CURLOPT_WRITEFUNCTION");
        e.setopt(CURLOPT_WRITEDATA, static_cast<void*>(&c), "CURLOPT_WRITEDATA");
        if (c.range_first) {
            e.setopt(CURLOPT_HEADERFUNCTION, &on_header, "CURLOPT_HEADERFUNCTION");
            e.setopt(CURLOPT_HEADERDATA, static_cast<void*>(&c), "CURLOPT_HEADERDATA");
        }
        switch (c.method) {
        case Method::get:
            e.setopt(CURLOPT_HTTPGET, 1L, "CURLOPT_HTTPGET");
            break;
        case Method::head:
            e.setopt(CURLOPT_NOBODY, 1L, "CURLOPT_NOBODY");
            break;
        case Method::put:
            e.setopt(CURLOPT_UPLOAD, 1L, "CURLOPT_UPLOAD");
            e.setopt(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(c.body.size()),
                     "CURLOPT_INFILESIZE_LARGE");
            e.setopt(CURLOPT_READFUNCTION, &on_read, "CURLOPT_READFUNCTION");
            e.setopt(CURLOPT_READDATA, static_cast<void*>(&c), "CURLOPT_READDATA");
            e.setopt(CURLOPT_SEEKFUNCTION, &on_seek, "CURLOPT_SEEKFUNCTION");
            e.setopt(CURLOPT_SEEKDATA, static_cast<void*>(&c), "CURLOPT_SEEKDATA");
            // libcurl sends "Expect: 100-continue" with every PUT body. A small body follows
            // its headers at once instead of costing a round trip for the 100; a large one
            // waits for it (up to libcurl's 1 s), so a refused request uploads nothing. (The
            // header cannot be removed with "Expect:": libcurl 7.88 would sign it regardless.)
            if (c.body.size() <= small_put_bytes)
                e.setopt(CURLOPT_EXPECT_100_TIMEOUT_MS, 0L, "CURLOPT_EXPECT_100_TIMEOUT_MS");
            break;
        case Method::del:
            e.setopt(CURLOPT_CUSTOMREQUEST, "DELETE", "CURLOPT_CUSTOMREQUEST");
            break;
        case Method::post:
            e.setopt(CURLOPT_POST, 1L, "CURLOPT_POST");
            e.setopt(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.post_body.size()),
                     "CURLOPT_POSTFIELDSIZE_LARGE");
            e.setopt(CURLOPT_POSTFIELDS, c.post_body.data(), "CURLOPT_POSTFIELDS");
            break;
        }
    }

    // Detaches the easy handle `h` from the multi handle and from the active list.
    std::unique_ptr<Easy> release(CURL* h) {
        auto it = std::find_if(active_.begin(), active_.end(),
                               [&](const auto& e) { return e->get() == h; });
        std::unique_ptr<Easy> easy = std::move(*it);
        active_.erase(it);
        multi_.remove(*easy);
        return easy;
    }

    // Drops every transfer in flight (after a failure): their connections are closed.
    void abandon() noexcept {
        for (auto& e : active_) {
            multi_.remove(*e);
            char* priv = nullptr;
            curl_easy_getinfo(e->get(), CURLINFO_PRIVATE, &priv);
            if (priv)
                reinterpret_cast<Call*>(priv)->handle = nullptr;
        }
        active_.clear(); // those handles may hold half-done state: not reused
    }

    const Config& config_;
    std::mt19937_64 rng_;
    Multi multi_;
    std::vector<std::unique_ptr<Easy>> active_;
    std::vector<std::unique_ptr<Easy>> idle_;
};

// Idle engines; a call borrows one for its duration. Last returned, first lent: a thread
// calling again gets back the engine whose connections it just used.
class EnginePool {
public:
    explicit EnginePool(Config config) : config_(std::move(config)) {}

    class Lease {
    public:
        Lease(EnginePool& pool, std::unique_ptr<Engine> engine)
            : pool_(pool), engine_(std::move(engine)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool_.give_back(std::move(engine_)); }
        Engine& operator*() const noexcept { return *engine_; }
        Engine* operator->() const noexcept { return engine_.get(); }

    private:
        EnginePool& pool_;
        std::unique_ptr<Engine> engine_;
    };

    Lease lease() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto e = std::move(idle_.back());
                idle_.pop_back();
                return Lease(*this, std::move(e));
            }
        }
        return Lease(*this, std::make_unique<Engine>(config_));
    }

    const Config& config() const noexcept { return config_; }

private:
    void give_back(std::unique_ptr<Engine> e) noexcept {
        try {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(e));
        } catch (...) {
            // Could not keep it (out of memory): it is destroyed, its connections closed.
        }
    }

    Config config_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Engine>> idle_;
};

} // namespace detail

class ObjectStore {
public:
    struct Options {
        Endpoint endpoint;
        Credentials credentials;
        // Prepended to every key on the wire and stripped from list() results ("hub-a/").
        std::string key_prefix;
        std::size_t max_in_flight = 64; // requests in flight per batched call
        int max_attempts = 6;           // per request, the first included
        std::chrono::milliseconds base_backoff{50}, max_backoff{2000};
        // request_timeout: the longest a request may make no progress (see the header comment).
        std::chrono::seconds request_timeout{60}, connect_timeout{10};
        // The date presigned URLs are signed with; empty: the system clock. S3 checks a URL's
        // expiry against its own clock, so a test signs in the past to see one refused as
        // expired without waiting for it.
        std::function<std::chrono::system_clock::time_point()> signing_clock;

        // From the environment:
        //   MUSEHUB_S3_BUCKET (required)
        //   MUSEHUB_S3_REGION, else AWS_REGION, else AWS_DEFAULT_REGION (required)
        //   MUSEHUB_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's
        //     https://s3.REGION.amazonaws.com
        //   MUSEHUB_S3_ADDRESSING "path" or "virtual"; by default virtual for AWS's own
        //     endpoint when the bucket name allows it (no '.', DNS characters), else path
        //   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required), AWS_SESSION_TOKEN (optional)
        //   MUSEHUB_S3_KEY_PREFIX (optional)
        // An empty variable counts as unset. A missing required value or a meaningless one is
        // errc::invalid_argument naming the variable. The other fields keep their defaults.
        static Options from_env() {
            return from_env([](const std::string& name) -> std::optional<std::string> {
                const char* v = std::getenv(name.c_str());
                if (!v)
                    return std::nullopt;
                return std::string(v);
            });
        }
        // The same, reading variables through `lookup` (tests pass a map).
        static Options
        from_env(const std::function<std::optional<std::string>(const std::string&)>& lookup) {
            auto get = [&](const std::string& name) -> std::optional<std::string> {
                auto v = lookup(name);
                if (v && v->empty())
                    return std::nullopt;
                return v;
            };
            auto missing = [](const std::string& what, const std::string& why) {
                fail(errc::invalid_argument, what + " is not set: " + why);
            };
            Options o;
            auto bucket = get("MUSEHUB_S3_BUCKET");
            if (!bucket)
                missing("MUSEHUB_S3_BUCKET", "name the S3 bucket the hub keeps its objects in");
            auto region = get("MUSEHUB_S3_REGION");
            if (!region)
                region = get("AWS_REGION");
            if (!region)
                region = get("AWS_DEFAULT_REGION");
            if (!region)
                missing("MUSEHUB_S3_REGION (nor AWS_REGION, AWS_DEFAULT_REGION)",
                        "name the bucket's region, e.g. us-east-1");
            auto key_id = get("AWS_ACCESS_KEY_ID");
            if (!key_id)
                missing("AWS_ACCESS_KEY_ID", "S3 requests need credentials");
            auto secret = get("AWS_SECRET_ACCESS_KEY");
            if (!secret)
                missing("AWS_SECRET_ACCESS_KEY", "S3 requests need credentials");
            auto url = get("MUSEHUB_S3_ENDPOINT");
            if (!url)
                url = get("AWS_ENDPOINT_URL_S3");
            if (!url)
                url = get("AWS_ENDPOINT_URL");
            bool aws = !url;
            if (aws)
                url = "https://s3." + *region + ".amazonaws.com";
            AddressingStyle style = AddressingStyle::path;
            if (auto a = get("MUSEHUB_S3_ADDRESSING")) {
                if (*a == "path")
                    style = AddressingStyle::path;
                else if (*a == "virtual" || *a == "virtual-host")
                    style = AddressingStyle::virtual_host;
                else
                    fail(errc::invalid_argument,
                         "MUSEHUB_S3_ADDRESSING is '" + *a + "': expected 'path' or 'virtual'");
            } else if (aws && std::all_of(bucket->begin(), bucket->end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                       })) {
                style = AddressingStyle::virtual_host;
            }
            o.endpoint = Endpoint{*url, *region, *bucket, style};
            o.credentials = Credentials{*key_id, *secret, get("AWS_SESSION_TOKEN")};
            o.key_prefix = get("MUSEHUB_S3_KEY_PREFIX").value_or("");
            return o;
        }
    };

    static constexpr std::size_t max_key_bytes = 1024;                        // S3's limit
    static constexpr std::uint64_t max_put_bytes = 5ull * 1024 * 1024 * 1024; // one PUT
    static constexpr std::size_t max_delete_batch = 1000;                     // DeleteObjects

    explicit ObjectStore(Options options) : options_(std::move(options)) {
        const auto& o = options_;
        auto bad = [](const std::string& why) { fail(errc::invalid_argument, "S3 store: " + why); };
        bucket_url_ = bucket_target(o.endpoint).url(); // checks the endpoint and the bucket
        if (o.endpoint.region.empty())
            bad("the endpoint names no region");
        if (o.credentials.access_key_id.empty() || o.credentials.secret_access_key.empty())
            bad("the access key id and the secret access key must not be empty");
        if (o.credentials.access_key_id.find(':') != std::string::npos)
            bad("the access key id contains ':'");
        if (o.max_in_flight < 1 || o.max_in_flight > 10000)
            bad("max_in_flight must be 1-10000, not " + std::to_string(o.max_in_flight));
        if (o.max_attempts < 1)
            bad("max_attempts must be at least 1");
        if (o.base_backoff.count() < 0 || o.max_backoff < o.base_backoff)
            bad("backoffs must satisfy 0 <= base_backoff <= max_backoff");
        if (o.request_timeout.count() < 1 || o.connect_timeout.count() < 1)
            bad("request_timeout and connect_timeout must be at least one second");
        if (o.key_prefix.size() >= max_key_bytes)
            bad("key_prefix is " + std::to_string(o.key_prefix.size()) +
                " bytes, leaving no room for keys");
        detail::Config c{traffic_,
                         "aws:amz:" + o.endpoint.region + ":s3",
                         o.credentials.access_key_id,
                         o.credentials.secret_access_key,
                         o.credentials.session_token
                             ? "x-amz-security-token: " + *o.credentials.session_token
                             : std::string(),
                         o.max_in_flight,
                         o.max_attempts,
                         o.base_backoff,
                         o.max_backoff,
                         o.request_timeout,
                         o.connect_timeout};
        pool_ = std::make_unique<detail::EnginePool>(std::move(c));
    }

    ObjectStore(const ObjectStore&) = delete;
    ObjectStore& operator=(const ObjectStore&) = delete;
    ObjectStore(ObjectStore&&) noexcept = default;
    ObjectStore& operator=(ObjectStore&&) noexcept = default;

    const Options& options() const noexcept { return options_; }
    void set_signing_clock(std::function<std::chrono::system_clock::time_point()> clock) {
        options_.signing_clock = std::move(clock);
    }

    void put(std::string_view key, BytesView data) {
        std::array<detail::Call, 1> calls{put_call(key, data)};
        run(calls);
    }

    std::optional<Bytes> get(std::string_view key) const {
        std::array<detail::Call, 1> calls{object_call(detail::Method::get, key)};
        calls[0].absent_ok = true;
        run(calls);
        if (calls[0].absent())
            return std::nullopt;
        return std::move(calls[0].response);
    }

    std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset,
                                   std::uint64_t length) const {
        RangeItem item{std::string(key), offset, length};
        return std::move(get_ranges(std::span<const RangeItem>(&item, 1))[0]);
    }

    std::optional<std::uint64_t> size(std::string_view key) const {
        std::array<detail::Call, 1> calls{object_call(detail::Method::head, key)};
        calls[0].absent_ok = true;
        run(calls);
        return size_of(calls[0]);
    }

    void remove(std::string_view key) {
        std::array<detail::Call, 1> calls{object_call(detail::Method::del, key)};
        calls[0].absent_ok = true;
        run(calls);
    }

    std::vector<std::string> list(std::string_view prefix) const {
        std::string wire_prefix = options_.key_prefix + std::string(prefix);
        std::vector<std::string> keys;
        std::optional<std::string> token;
        auto engine = pool_->lease();
        while (true) {
            Params q{{"list-type", "2"}, {"encoding-type", "url"}};
            if (!wire_prefix.empty())
                q.emplace_back("prefix", wire_prefix);
            if (token)
                q.emplace_back("continuation-token", *token);
            std::array<detail::Call, 1> calls{
                bucket_call(detail::Method::get, canonical_query(q),
                            "list of '" + detail::printable(wire_prefix) + "'")};
            engine->run(calls);
            auto doc = as_chars(calls[0].response);
            bool url_encoded = detail::xml::first(doc, "EncodingType") == "url";
            std::size_t at = 0;
            while (auto contents = detail::xml::next(doc, "Contents", at)) {
                std::size_t k = 0;
                auto raw = detail::xml::next(*contents, "Key", k);
                if (!raw)
                    detail::xml::malformed("<Contents> without <Key>", *contents);
                auto key = detail::xml::unescape(*raw);
                if (url_encoded)
                    key = detail::url_decode(key);
                if (key.starts_with(wire_prefix)) // always, from a server that honours prefix
                    keys.push_back(key.substr(options_.key_prefix.size()));
            }
            if (detail::xml::first(doc, "IsTruncated") != "true")
                break;
            auto next = detail::xml::first(doc, "NextContinuationToken");
            if (!next || next->empty() || next == token)
                fail(errc::io, "S3 list of '" + detail::printable(wire_prefix) +
                                   "': the answer is truncated but gives no new continuation "
                                   "token");
            token = std::move(next);
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        return keys;
    }

    // ---- batches: up to max_in_flight requests in flight -------------------------------------

    void put_many(std::span<const PutItem> items) {
        std::vector<detail::Call> calls;
        calls.reserve(items.size());
        for (const auto& i : items)
            calls.push_back(put_call(i.key, i.bytes));
        run(calls);
    }

    std::vector<std::optional<Bytes>> get_ranges(std::span<const RangeItem> items) const {
        std::vector<detail::Call> calls;
        calls.reserve(items.size());
        for (const auto& i : items) {
            if (i.length == 0) {
                calls.push_back(object_call(detail::Method::head, i.key));
            } else {
                calls.push_back(object_call(detail::Method::get, i.key));
                calls.back().range_first = i.offset;
                if (i.length - 1 <= std::numeric_limits<std::uint64_t>::max() - i.offset)
                    calls.back().range_last = i.offset + (i.length - 1);
                calls.back().unsatisfiable_ok = true;
            }
            calls.back().absent_ok = true;
        }
        auto engine = pool_->lease();
        engine->run(calls);

        std::vector<std::optional<Bytes>> out(items.size());
        std::vector<std::size_t> unsatisfiable; // 416: an empty range, or no object at all
        for (std::size_t i = 0; i < items.size(); ++i) {
            auto& c = calls[i];
            if (c.absent())
                continue;
            if (c.status == 416) {
                unsatisfiable.push_back(i);
            } else if (c.method == detail::Method::head) {
                out[i] = Bytes{};
            } else if (c.status == 206) {
                if (c.response.size() > items[i].length) // never from a server keeping to HTTP
                    c.response.resize(static_cast<std::size_t>(items[i].length));
                out[i] = std::move(c.response);
            } else {
                // 200: the server ignored Range and sent the whole object.
                auto& whole = c.response;
                auto begin = std::min<std::uint64_t>(items[i].offset, whole.size());
                auto n = std::min<std::uint64_t>(items[i].length, whole.size() - begin);
                whole.erase(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(begin));
                whole.resize(static_cast<std::size_t>(n));
                out[i] = std::move(whole);
            }
        }
        if (!unsatisfiable.empty()) {
            std::vector<detail::Call> heads;
            heads.reserve(unsatisfiable.size());
            for (auto i : unsatisfiable) {
                heads.push_back(object_call(detail::Method::head, items[i].key));
                heads.back().absent_ok = true;
            }
            engine->run(heads);
            for (std::size_t j = 0; j < unsatisfiable.size(); ++j)
                if (!heads[j].absent())
                    out[unsatisfiable[j]] = Bytes{};
        }
        return out;
    }

    std::vector<std::optional<std::uint64_t>> sizes(std::span<const std::string> keys) const {
        std::vector<detail::Call> calls;
        calls.reserve(keys.size());
        for (const auto& k : keys) {
            calls.push_back(object_call(detail::Method::head, k));
            calls.back().absent_ok = true;
        }
        run(calls);
        std::vector<std::optional<std::uint64_t>> out;
        out.reserve(keys.size());
        for (const auto& c : calls)
            out.push_back(size_of(c));
        return out;
    }

    void remove_many(std::span<const std::string> keys) {
        std::vector<std::string> pending; // wire keys
        std::vector<detail::Call> singles;
        for (const auto& k : keys) {
            auto wire = wire_key(k);
            if (detail::xml::escape(wire))
                pending.push_back(std::move(wire));
            else { // a key XML 1.0 cannot carry
                singles.push_back(object_call(detail::Method::del, k));
                singles.back().absent_ok = true;
            }
        }
        auto engine = pool_->lease();
        engine->run(singles);
        for (int round = 1; !pending.empty(); ++round) {
            std::vector<detail::Call> calls;
            for (std::size_t at = 0; at < pending.size(); at += max_delete_batch) {
                auto batch = std::span<const std::string>(pending).subspan(
                    at, std::min(max_delete_batch, pending.size() - at));
                calls.push_back(delete_objects_call(batch));
            }
            engine->run(calls);
            // Keys S3 could not delete this time, for a reason worth another try.
            std::vector<std::string> again;
            std::string last_error;
            for (const auto& c : calls) {
                auto doc = as_chars(c.response);
                if (doc.find("<DeleteResult") == std::string_view::npos)
                    fail(errc::io, "S3 POST " + c.subject + ": " + std::to_string(c.status) +
                                       " without a DeleteResult: '" + detail::printable(doc, 200) +
                                       "'");
                std::size_t at = 0;
                while (auto e = detail::xml::next(doc, "Error", at)) {
                    auto key = detail::xml::first(*e, "Key").value_or("");
                    auto code = detail::xml::first(*e, "Code").value_or("");
                    auto message = detail::xml::first(*e, "Message").value_or("");
                    if (code == "NoSuchKey")
                        continue; // already gone
                    std::string what = "S3 DeleteObjects " + detail::printable(key) + ": " + code +
                                       (message.empty() ? "" : ": " + message);
                    if (code != "InternalError" && code != "SlowDown" &&
                        code != "ServiceUnavailable")
                        fail(errc::io, what);
                    again.push_back(std::move(key));
                    last_error = std::move(what);
                }
            }
            if (!again.empty() && round >= options_.max_attempts)
                fail(errc::io, last_error + " (gave up after " + std::to_string(round) +
                                   " attempts; " + std::to_string(again.size()) +
                                   " keys not deleted)");
            if (!again.empty())
                std::this_thread::sleep_for(engine->backoff(round));
            pending = std::move(again);
        }
    }

    // ---- presigned URLs (sigv4.hpp; pure computation) -----------------------------------------

    // A PUT bound to its content: the client sends x-amz-content-sha256 with the hex digest,
    // signed into the URL (sigv4.hpp presign()), and S3 refuses a body that does not hash to it
    // with 400 XAmzContentSHA256Mismatch, storing nothing.
    PresignedPut presign_put(std::string_view key, const Digest& content_sha256,
                             std::uint32_t expiry_seconds) const {
        Params headers{{"x-amz-content-sha256", content_sha256.hex()}};
        auto url = presign_object("PUT", options_.endpoint, wire_key(key), options_.credentials,
                                  signing_time(), expiry_seconds, headers);
        return {std::move(url), std::move(headers)};
    }
    std::string presign_get(std::string_view key, std::uint32_t expiry_seconds) const {
        return presign_object("GET", options_.endpoint, wire_key(key), options_.credentials,
                              signing_time(), expiry_seconds);
    }

    // Requests sent so far (each attempt of each) and bytes moved (request and response
    // bodies): what a benchmark or an operator reports.
    std::uint64_t requests() const noexcept {
        return traffic_->requests.load(std::memory_order_relaxed);
    }
    std::uint64_t bytes_transferred() const noexcept {
        return traffic_->bytes.load(std::memory_order_relaxed);
    }

private:
    std::chrono::system_clock::time_point signing_time() const {
        return options_.signing_clock ? options_.signing_clock() : std::chrono::system_clock::now();
    }
    std::string wire_key(std::string_view key) const {
        if (key.empty())
            fail(errc::invalid_argument, "S3 store: a key must not be empty");
        std::string wire = options_.key_prefix + std::string(key);
        if (wire.size() > max_key_bytes)
            fail(errc::invalid_argument, "S3 store: key '" + detail::printable(wire) + "' is " +
                                             std::to_string(wire.size()) + " bytes; S3 allows " +
                                             std::to_string(max_key_bytes));
        return wire;
    }

    detail::Call object_call(detail::Method method, std::string_view key) const {
        auto wire = wire_key(key);
        detail::Call c;
        c.method = method;
        c.url = object_url(options_.endpoint, wire);
        c.subject = detail::printable(wire);
        return c;
    }

    detail::Call put_call(std::string_view key, BytesView data) const {
        if (data.size() > max_put_bytes)
            fail(errc::oversized, "S3 PUT " + detail::printable(key) + ": " +
                                      std::to_string(data.size()) +
                                      " bytes is more than one PUT may carry (5 GiB)");
        auto c = object_call(detail::Method::put, key);
        c.body = data;
        return c;
    }

    detail::Call bucket_call(detail::Method method, const std::string& query,
                             std::string subject) const {
        detail::Call c;
        c.method = method;
        c.url = bucket_url_ + "?" + query;
        c.subject = std::move(subject);
        return c;
    }

    detail::Call delete_objects_call(std::span<const std::string> wire_keys) const {
        std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                           "<Quiet>true</Quiet>";
        for (const auto& k : wire_keys)
            body.append("<Object><Key>").append(*detail::xml::escape(k)).append("</Key></Object>");
        body += "</Delete>";
        auto c = bucket_call(detail::Method::post, "delete=",
                             "DeleteObjects of " + std::to_string(wire_keys.size()) +
                                 " keys from '" + detail::printable(wire_keys.front()) + "'");
        c.post_body = std::move(body);
        return c;
    }

    static std::optional<std::uint64_t> size_of(const detail::Call& c) {
        if (c.absent())
            return std::nullopt;
        if (c.content_length < 0)
            fail(errc::io, "S3 HEAD " + c.subject + ": the answer has no Content-Length");
        return static_cast<std::uint64_t>(c.content_length);
    }

    void run(std::span<detail::Call> calls) const {
        if (calls.empty())
            return;
        auto engine = pool_->lease();
        engine->run(calls);
    }

    Options options_;
    std::string bucket_url_;
    std::shared_ptr<detail::Traffic> traffic_ = std::make_shared<detail::Traffic>();
    std::unique_ptr<detail::EnginePool> pool_;
};

static_assert(musehub::ObjectStore<ObjectStore>);
static_assert(musehub::PresigningStore<ObjectStore>);
static_assert(!musehub::ExclusiveCreateStore<ObjectStore>); // see store/concept.hpp

} // namespace musehub::s3
