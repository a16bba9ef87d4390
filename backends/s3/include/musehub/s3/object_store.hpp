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
//  - No put_if_absent: nothing depends on S3 conditional writes (store/capabilities.hpp).
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
// Presigned URLs (store/capabilities.hpp PresigningStore): presign_get signs host only
// (UNSIGNED-PAYLOAD); presign_put also signs the header x-amz-content-sha256 with the content's
// hex SHA-256, which the client must send: S3 checks the body against it and refuses other bytes
// (400 XAmzContentSHA256Mismatch), so a URL can only ever write the object it was made for.
// This needs no conditional write: S3 still overwrites, but only with the same bytes.
//
// Layout: options.hpp (Options), detail/engine.hpp and detail/engine_pool.hpp (the curl
// machinery), detail/call.hpp (one request), detail/responses.hpp and detail/xml.hpp (S3's
// XML answers), detail/text.hpp (text helpers), sigv4.hpp (signing and URLs).

#include "musehub/core/error.hpp"
#include "musehub/s3/detail/call.hpp"
#include "musehub/s3/detail/engine.hpp"
#include "musehub/s3/detail/engine_pool.hpp"
#include "musehub/s3/detail/responses.hpp"
#include "musehub/s3/detail/text.hpp"
#include "musehub/s3/detail/xml.hpp"
#include "musehub/s3/options.hpp"
#include "musehub/s3/sigv4.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace musehub::s3 {

class ObjectStore {
public:
    using Options = s3::Options; // options.hpp

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
            auto page = detail::parse_list_page(as_chars(calls[0].response));
            for (const auto& key : page.keys)
                if (key.starts_with(wire_prefix)) // always, from a server that honours prefix
                    keys.push_back(key.substr(options_.key_prefix.size()));
            if (!page.truncated)
                break;
            auto& next = page.next_token;
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
                while (auto e = detail::next_delete_error(doc, at)) {
                    auto& [key, code, message] = *e;
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
static_assert(!musehub::ExclusiveCreateStore<ObjectStore>); // see store/capabilities.hpp

} // namespace musehub::s3
