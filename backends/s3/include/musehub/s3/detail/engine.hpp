#pragma once
// The engine that runs S3 requests: a curl multi handle, its connection cache and its easy
// handles, and the loop that keeps up to max_in_flight calls in flight, signing each (libcurl's
// CURLOPT_AWS_SIGV4), retrying with full-jitter backoff what is worth retrying, and throwing
// the first failure that is not. One engine is used by one thread at a time (engine_pool.hpp).
// The policies themselves (what is retried, timeouts, headers) are described in
// object_store.hpp's header comment. Internal: not API.

#include "musehub/core/error.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/s3/detail/call.hpp"
#include "musehub/s3/detail/curl.hpp"
#include "musehub/s3/sigv4.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace musehub::s3::detail {

// Requests sent (every attempt counts) and bytes moved (bodies both ways), for benchmarks and
// operators; shared by every engine of one store.
struct Traffic {
    std::atomic<std::uint64_t> requests{0}, bytes{0};
};

// What every request of one store shares.
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
// flight with retries. Used by one thread at a time (see engine_pool.hpp).
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

    // Readies `e` for the next attempt of `c`: the attempt's state cleared, then the options
    // every request shares, then its method's.
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
        configure_method(e, c);
    }

    // The options of the call's HTTP method: what it sends, and how.
    static void configure_method(Easy& e, Call& c) {
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

} // namespace musehub::s3::detail
