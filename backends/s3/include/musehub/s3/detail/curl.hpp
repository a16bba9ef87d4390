#pragma once
// Minimal RAII over libcurl for the S3 object store: process-wide initialisation, easy and multi
// handles, header lists. Internal: not API.
//
// curl_global_init runs once per process, the first time any handle is made (a function-local
// static, so concurrent first uses are safe); curl_global_cleanup is never called, since other
// libraries of the same process may still use libcurl while static destructors run.
//
// setopt() and friends turn a libcurl failure (an option this libcurl does not know, out of
// memory) into musehub::error errc::io naming the option: such a failure is a build or a
// machine problem, never something to retry.

#include "musehub/core/error.hpp"

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace musehub::s3::detail {

inline void curl_global() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        fail(errc::io, std::string("libcurl could not initialise: ") + curl_easy_strerror(rc));
}

// A header list (curl_slist). Headers are "Name: value"; "Name:" removes a header curl would
// add by itself (e.g. "Expect:").
class Slist {
public:
    Slist() = default;
    Slist(const Slist&) = delete;
    Slist& operator=(const Slist&) = delete;
    Slist(Slist&& o) noexcept : list_(std::exchange(o.list_, nullptr)) {}
    Slist& operator=(Slist&& o) noexcept {
        if (this != &o) {
            reset();
            list_ = std::exchange(o.list_, nullptr);
        }
        return *this;
    }
    ~Slist() { reset(); }

    void append(const std::string& line) {
        curl_slist* next = curl_slist_append(list_, line.c_str());
        if (!next)
            fail(errc::io, "libcurl: out of memory building a header list");
        list_ = next;
    }
    void reset() noexcept {
        if (list_)
            curl_slist_free_all(list_);
        list_ = nullptr;
    }
    curl_slist* get() const noexcept { return list_; }

private:
    curl_slist* list_ = nullptr;
};

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};

// One easy handle: a transfer, and the options for it.
class Easy {
public:
    Easy() : h_(make()) {}
    CURL* get() const noexcept { return h_.get(); }

    // Back to the defaults, keeping live connections and caches (curl_easy_reset).
    void reset() noexcept { curl_easy_reset(h_.get()); }

    template <class T>
    void setopt(CURLoption option, T value, std::string_view name) {
        CURLcode rc = curl_easy_setopt(h_.get(), option, value);
        if (rc != CURLE_OK)
            fail(errc::io,
                 "libcurl: setting " + std::string(name) + " failed: " + curl_easy_strerror(rc));
    }

    long response_code() const noexcept {
        long code = 0;
        curl_easy_getinfo(h_.get(), CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    // The Content-Length the response announced, or -1.
    curl_off_t content_length() const noexcept {
        curl_off_t n = -1;
        if (curl_easy_getinfo(h_.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &n) != CURLE_OK)
            return -1;
        return n;
    }

private:
    static CURL* make() {
        curl_global();
        CURL* h = curl_easy_init();
        if (!h)
            fail(errc::io, "libcurl: curl_easy_init failed");
        return h;
    }
    std::unique_ptr<CURL, EasyDeleter> h_;
};

struct MultiDeleter {
    void operator()(CURLM* m) const noexcept { curl_multi_cleanup(m); }
};

// One multi handle: many transfers driven together, sharing one connection cache.
class Multi {
public:
    Multi() : m_(make()) {}
    CURLM* get() const noexcept { return m_.get(); }

    void setopt(CURLMoption option, long value, std::string_view name) {
        CURLMcode rc = curl_multi_setopt(m_.get(), option, value);
        if (rc != CURLM_OK)
            fail(errc::io,
                 "libcurl: setting " + std::string(name) + " failed: " + curl_multi_strerror(rc));
    }
    void add(const Easy& e) {
        CURLMcode rc = curl_multi_add_handle(m_.get(), e.get());
        if (rc != CURLM_OK)
            fail(errc::io,
                 std::string("libcurl: curl_multi_add_handle failed: ") + curl_multi_strerror(rc));
    }
    void remove(const Easy& e) noexcept { curl_multi_remove_handle(m_.get(), e.get()); }

    // Runs what can run without blocking; returns how many transfers are still running.
    int perform() {
        int running = 0;
        CURLMcode rc = curl_multi_perform(m_.get(), &running);
        if (rc != CURLM_OK)
            fail(errc::io,
                 std::string("libcurl: curl_multi_perform failed: ") + curl_multi_strerror(rc));
        return running;
    }
    // Waits for activity on any transfer, at most `timeout_ms`.
    void poll(int timeout_ms) {
        CURLMcode rc = curl_multi_poll(m_.get(), nullptr, 0, timeout_ms, nullptr);
        if (rc != CURLM_OK)
            fail(errc::io,
                 std::string("libcurl: curl_multi_poll failed: ") + curl_multi_strerror(rc));
    }
    // The next finished transfer, or nullptr.
    CURLMsg* next_done() noexcept {
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m_.get(), &left))
            if (msg->msg == CURLMSG_DONE)
                return msg;
        return nullptr;
    }

private:
    static CURLM* make() {
        curl_global();
        CURLM* m = curl_multi_init();
        if (!m)
            fail(errc::io, "libcurl: curl_multi_init failed");
        return m;
    }
    std::unique_ptr<CURLM, MultiDeleter> m_;
};

} // namespace musehub::s3::detail
