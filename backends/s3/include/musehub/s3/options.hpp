#pragma once
// The S3 object store's options (s3::ObjectStore::Options): where the bucket is, the
// credentials, the key prefix, and how requests are run (in flight, retries, timeouts), filled
// in by hand or from the AWS environment variables (from_env).

#include "musehub/core/error.hpp"
#include "musehub/s3/sigv4.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

namespace musehub::s3 {

struct Options {
    Endpoint endpoint;
    Credentials credentials;
    // Prepended to every key on the wire and stripped from list() results ("hub-a/").
    std::string key_prefix;
    std::size_t max_in_flight = 64; // requests in flight per batched call
    int max_attempts = 6;           // per request, the first included
    std::chrono::milliseconds base_backoff{50}, max_backoff{2000};
    // request_timeout: the longest a request may make no progress (see object_store.hpp).
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

} // namespace musehub::s3
