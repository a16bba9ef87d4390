#pragma once
// One S3 request across all its attempts (Call), and how a failed one reads in an error
// message. The engine (engine.hpp) runs calls; the store (object_store.hpp) makes them.
// Internal: not API.

#include "musehub/core/bytes.hpp"
#include "musehub/s3/detail/curl.hpp"
#include "musehub/s3/detail/responses.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace musehub::s3::detail {

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
inline S3Error parse_error(const Call& c) {
    return parse_error_document(as_chars(c.response));
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

} // namespace musehub::s3::detail
