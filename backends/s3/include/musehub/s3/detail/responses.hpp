#pragma once
// S3's XML answers, read: the error document every failed request may carry, a page of
// ListObjectsV2 (ListBucketResult), and the per-key errors of DeleteObjects (DeleteResult).
// Pure functions of the document's text, so they can be tested without a server. Internal:
// not API.

#include "musehub/core/error.hpp"
#include "musehub/s3/detail/text.hpp"
#include "musehub/s3/detail/xml.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub::s3::detail {

// An S3 error document's <Code> and <Message>, and " (endpoint …)" when it names the endpoint
// to use instead (a bucket in another region).
struct S3Error {
    std::string code, message, extra;
};

// The error document in `doc`, when it has one; empty fields otherwise.
inline S3Error parse_error_document(std::string_view doc) {
    S3Error e;
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

// One page of a ListObjectsV2 answer.
struct ListPage {
    // The keys of its <Contents>, in the answer's order, as on the wire: XML entities decoded,
    // and URL-decoded only when the answer says <EncodingType>url</EncodingType> (servers that
    // ignore encoding-type=url send them raw).
    std::vector<std::string> keys;
    bool truncated = false; // <IsTruncated>true</IsTruncated>: more pages follow
    // <NextContinuationToken>, read only when the page is truncated.
    std::optional<std::string> next_token;
};

// A 2xx body that is not a ListBucketResult (empty, or a proxy's HTML page) is refused: read as
// an empty final page, it would make every key look absent to GC's sweep and to fsck.
inline ListPage parse_list_page(std::string_view doc) {
    if (doc.find("<ListBucketResult") == std::string_view::npos)
        xml::malformed("a listing answer without <ListBucketResult>", doc);
    ListPage page;
    bool url_encoded = xml::first(doc, "EncodingType") == "url";
    std::size_t at = 0;
    while (auto contents = xml::next(doc, "Contents", at)) {
        std::size_t k = 0;
        auto raw = xml::next(*contents, "Key", k);
        if (!raw)
            xml::malformed("<Contents> without <Key>", *contents);
        auto key = xml::unescape(*raw);
        if (url_encoded)
            key = url_decode(key);
        page.keys.push_back(std::move(key));
    }
    page.truncated = xml::first(doc, "IsTruncated") == "true";
    if (page.truncated)
        page.next_token = xml::first(doc, "NextContinuationToken");
    return page;
}

// A per-key <Error> of a DeleteObjects answer.
struct DeleteError {
    std::string key, code, message;
};

// The next <Error> of a DeleteResult at or after `at`, which moves past it; nullopt when there
// is none. One at a time, so a caller that fails on one never reads the rest.
inline std::optional<DeleteError> next_delete_error(std::string_view doc, std::size_t& at) {
    auto e = xml::next(doc, "Error", at);
    if (!e)
        return std::nullopt;
    return DeleteError{xml::first(*e, "Key").value_or(""), xml::first(*e, "Code").value_or(""),
                       xml::first(*e, "Message").value_or("")};
}

} // namespace musehub::s3::detail
