#pragma once
// What an HTTP front end hands a musehub service and gets back, free of any HTTP library: the
// musehub server binds these to cpp-httplib (examples/musehub), a user's own server to
// whatever it runs on.

#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace musehub::http {

struct Request {
    std::string method;  // "GET", "POST"
    std::string path;    // the URL path, e.g. "/alice/demo/refs" (no query string)
    BytesView body = {}; // the request body, whole
};

struct Response {
    int status = 200;
    std::string content_type = "application/x-msgpack";
    Bytes body;
    // Set for an answer made as it is sent (a fetch): writes the body, piece by piece, to the
    // function it is given, and `body` is unused. It may throw before its first piece (the
    // request was refused: answer status_of(code) instead) or after (cut the connection short).
    std::function<void(const std::function<void(BytesView)>&)> stream;
};

// Which endpoint a path names, and for which repo: "/<owner>/<slug>/<endpoint>" with one of
// `endpoints` (longest first where one ends another, e.g. "push/objects" before "push");
// nullopt for any other path.
struct Route {
    std::string repo;     // "<owner>/<slug>"
    std::string endpoint; // "refs", "push/objects", …
};
inline std::optional<Route> route(std::string_view path,
                                  std::initializer_list<std::string_view> endpoints) {
    for (auto endpoint : endpoints) {
        if (path.size() <= endpoint.size() + 1 || !path.ends_with(endpoint) ||
            path[path.size() - endpoint.size() - 1] != '/')
            continue;
        auto repo = path.substr(0, path.size() - endpoint.size() - 1);
        if (!repo.starts_with('/'))
            return std::nullopt;
        repo.remove_prefix(1);
        auto slash = repo.find('/');
        if (slash == std::string_view::npos || slash == 0 || slash + 1 == repo.size() ||
            repo.find('/', slash + 1) != std::string_view::npos)
            return std::nullopt; // exactly <owner>/<slug>
        return Route{std::string(repo), std::string(endpoint)};
    }
    return std::nullopt;
}

// The shape every service's handle() shares: 404 for a path that names no endpoint (`hint`
// says what one looks like), 405 for the wrong method (GET for `get_endpoint`, POST for every
// other), and a musehub::error thrown by `dispatch(route)` answered with its status.
template <class Dispatch>
Response answer(const std::optional<Route>& r, const Request& req, std::string_view hint,
                std::string_view get_endpoint, Dispatch&& dispatch);

// The status an error's code answers: the client's mistakes are 4xx and name what was wrong;
// only a failing store, catalog or queue is a 5xx.
constexpr int status_of(errc code) noexcept {
    switch (code) {
    case errc::not_found:
        return 404;
    case errc::conflict:
    case errc::non_fast_forward:
        return 409;
    case errc::oversized:
        return 413;
    case errc::unsupported:
        return 501;
    case errc::io:
        return 503;
    default:
        return 400;
    }
}

// {"detail": text}: the error body the Muse client was seen to accept (a FastAPI-style answer;
// vectors/muse-0.1.5/http/30-POST-push.resp.json). UTF-8 passes through; controls, quotes and
// backslashes are escaped as JSON requires.
inline Response error_response(int status, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string json = "{\"detail\": \"";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\')
            json.append({'\\', c});
        else if (c == '\n')
            json += "\\n";
        else if (u < 0x20 || u == 0x7f)
            json.append({'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]});
        else
            json += c;
    }
    json += "\"}";
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body.assign(reinterpret_cast<const std::byte*>(json.data()),
                  reinterpret_cast<const std::byte*>(json.data()) + json.size());
    return r;
}

template <class Dispatch>
Response answer(const std::optional<Route>& r, const Request& req, std::string_view hint,
                std::string_view get_endpoint, Dispatch&& dispatch) {
    if (!r)
        return error_response(404, "no such endpoint: " + req.method + " " + req.path + " (" +
                                       std::string(hint) + ")");
    const bool get = r->endpoint == get_endpoint;
    if (req.method != (get ? "GET" : "POST"))
        return error_response(405, r->endpoint + " takes " + (get ? "GET" : "POST") + ", not " +
                                       req.method);
    try {
        return dispatch(*r);
    } catch (const error& e) {
        return error_response(status_of(e.code()), e.what());
    }
}

} // namespace musehub::http
