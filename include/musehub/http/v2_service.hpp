#pragma once
// musehub's own HTTP endpoints (wire v2: docs/protocol.md and docs/server.md) over a Hub
// whose wire is v2, free of any HTTP library, beside the Muse client's v1 endpoints: the same
// repos, under /v2/<owner>/<slug>/…. Ids are spelled "sha256:" + hex.
//
//   GET  …/refs         -> {default_branch, branch_heads {name: id}}
//   POST …/push         a v2 push message {branch, force, pack} (the pack upload)
//                       -> {ok, outcome, head, previous, branch_heads}
//   POST …/push/stream  stream frames (H, O…, C…, E) -> the answer frames (P…, then R or X);
//                       a server that can hand the body over as it arrives calls
//                       handle_stream() instead (see there)
//   POST …/fetch        {want, have} -> the pack, streamed as it is made; on a store that can
//                       presign, an answer over `presign_fetch_above` bytes is instead
//                       {url, key, pack, size} (msgpack): GET the url, check the bytes hash
//                       to `pack`
//   POST …/presign      {objects: [{id, size}]} -> {uploads: [{id, key, url, headers}],
//                       already_present: [id]}        (stores that can presign; else 501)
//   POST …/confirm      {uploads: [{id, key}]} -> {registered, missing, rejected: [{id, why}]}
//
// Errors are JSON {"detail": …} with the status of their errc, as for v1.

#include "musehub/algo/presigned.hpp"
#include "musehub/algo/push.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/http/detail/answers.hpp"
#include "musehub/http/message.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"
#include "musehub/wire/v2.hpp"

#include <functional>
#include <string>
#include <type_traits>

namespace musehub::http {

struct V2Options {
    // Fetch answers larger than this come as a presigned GET URL (stores that can presign);
    // smaller ones, and every answer on other stores, come inline. 0: always inline.
    std::uint64_t presign_fetch_above = 8u << 20;
    std::uint32_t presign_expiry_seconds = 3600;
};

template <class H>
class V2Service {
    static_assert(std::is_same_v<typename H::wire_type, wire::v2>,
                  "V2Service serves a Hub whose wire is wire::v2");

public:
    static constexpr std::string_view prefix = "/v2";

    explicit V2Service(H& hub, V2Options options = {}) : hub_(hub), options_(options) {}

    static bool serves(std::string_view path) { return path.starts_with("/v2/"); }

    // push/stream for a server that hands the body over as it arrives: the answer's `stream`
    // runs the session, calling `read(feed)` for the body (feed takes each piece as it comes)
    // and writing each answer frame as it is made. The stream's objects are verified and
    // stored batch by batch while the client sends, the request is never held whole, and the
    // progress and heartbeat frames of the work after the last request frame reach the client
    // as it works. (handle() runs the same session over a whole body and gathers the frames.)
    using BodyFeed = std::function<void(BytesView)>;
    using BodyReader = std::function<void(const BodyFeed&)>;
    Response handle_stream(const Request& req, BodyReader read) {
        auto r = serves(req.path)
                     ? route(std::string_view(req.path).substr(prefix.size()), {"push/stream"})
                     : std::nullopt;
        return answer(r, req, "a stream push is POST /v2/<owner>/<slug>/push/stream", "",
                      [&](const Route& route) {
                          Response out;
                          out.content_type = "application/octet-stream";
                          out.stream = [this, repo = route.repo,
                                        read](const std::function<void(BytesView)>& write) {
                              run_stream_push(repo, read, write);
                          };
                          return out;
                      });
    }

    Response handle(const Request& req) {
        auto r = serves(req.path)
                     ? route(std::string_view(req.path).substr(prefix.size()),
                             {"push/stream", "presign", "confirm", "fetch", "push", "refs"})
                     : std::nullopt;
        return answer(r, req, "musehub's v2 endpoints are under /v2/<owner>/<slug>/", "refs",
                      [&](const Route& route) { return dispatch(route, req.body); });
    }

private:
    using Packer = detail::Packer;
    using IdText = wire::v2::IdText;

    Response dispatch(const Route& r, BytesView body) {
        const auto& e = r.endpoint;
        if (e == "refs")
            return refs(r.repo);
        if (e == "push")
            return push(r.repo, body);
        if (e == "push/stream")
            return stream_push(r.repo, body);
        if (e == "fetch")
            return fetch(r.repo, body);
        if constexpr (PresigningStore<typename H::store_type>) {
            if (e == "presign")
                return presign(r.repo, body);
            return confirm(r.repo, body);
        } else {
            fail(errc::unsupported, "this hub's object store cannot presign uploads: push the "
                                    "pack instead (POST …/push or …/push/stream)");
        }
    }

    static void str(Packer& p, std::string_view s) { musehub::detail::pack_str(p, s); }
    static void id(Packer& p, const Digest& d) { str(p, IdText::format(d)); }

    Response refs(const std::string& repo) const {
        auto heads = hub_.branches(repo);
        if (heads.empty())
            fail(errc::not_found, "repo '" + repo + "' does not exist (it has no branch)");
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(2);
            str(p, "default_branch");
            str(p, detail::default_branch(heads));
            str(p, "branch_heads");
            detail::pack_heads<IdText>(p, heads);
        });
    }

    Response push(const std::string& repo, BytesView body) {
        auto r = hub_.push(repo, body);
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(5);
            str(p, "ok");
            p.pack_true();
            str(p, "outcome");
            str(p, algo::to_string(r.outcome));
            str(p, "head");
            id(p, r.head.digest);
            str(p, "previous");
            if (r.previous)
                id(p, r.previous->digest);
            else
                p.pack_nil();
            str(p, "branch_heads");
            detail::pack_heads<IdText>(p, hub_.branches(repo));
        });
    }

    // The answer frames are gathered and sent once the request has been read (an HTTP/1.1
    // exchange: the client sends, then reads); the stream's own checks are all there.
    Response stream_push(const std::string& repo, BytesView body) {
        Response out;
        out.content_type = "application/octet-stream";
        run_stream_push(
            repo, [&](const BodyFeed& feed) { feed(body); },
            [&](BytesView frame) { out.body.insert(out.body.end(), frame.begin(), frame.end()); });
        return out;
    }
    void run_stream_push(const std::string& repo, const BodyReader& read,
                         const std::function<void(BytesView)>& write) {
        auto session = hub_.stream_push(write);
        session.expect_repo(repo);
        read([&](BytesView piece) { session.feed(piece); });
        session.finish();
    }

    Response fetch(const std::string& repo, BytesView body) {
        auto req = hub_.wire().decode_fetch(body, hub_.options().limits);
        if constexpr (PresigningStore<typename H::store_type>)
            if (options_.presign_fetch_above > 0)
                return fetch_or_presign(repo, req);
        Response out;
        out.content_type = "application/octet-stream";
        out.stream = [this, repo, req](const std::function<void(BytesView)>& write) {
            hub_.fetch(repo, req, write);
        };
        return out;
    }

    // Built into the fetch cache as usual; the first `presign_fetch_above` bytes are kept to
    // answer inline, and past them the answer becomes a URL to the cached pack.
    Response fetch_or_presign(const std::string& repo, const FetchRequest& req) {
        Response out;
        out.content_type = "application/octet-stream";
        bool inline_answer = true;
        auto r = hub_.fetch(repo, req, [&](BytesView piece) {
            if (!inline_answer)
                return;
            if (out.body.size() + piece.size() > options_.presign_fetch_above) {
                inline_answer = false;
                Bytes{}.swap(out.body);
                return;
            }
            out.body.insert(out.body.end(), piece.begin(), piece.end());
        });
        if (inline_answer || r.stored.empty()) {
            if (!inline_answer) // not kept in the store: send it after all
                return Response{200, "application/octet-stream", hub_.fetch(repo, req).bytes, {}};
            return out;
        }
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(4);
            str(p, "url");
            str(p, hub_.store().presign_get(r.stored, options_.presign_expiry_seconds));
            str(p, "key");
            str(p, r.stored);
            str(p, "pack");
            id(p, r.pack.digest);
            str(p, "size");
            p.pack_uint64(r.size);
        });
    }

    // ---- presigned uploads ---------------------------------------------------------------

    const msgpack::object_map& message(const msgpack::object_handle& h,
                                       const std::string& what) const {
        return musehub::detail::as_map(h.get(), what);
    }

    Response presign(const std::string& repo, BytesView body) {
        const auto& limits = hub_.options().limits;
        auto h = musehub::detail::unpack_bounded(body, limits, "v2 presign");
        const auto& objects = musehub::detail::as_array(
            musehub::detail::require_key(message(h, "v2 presign"), "objects", "v2 presign"),
            "v2 presign 'objects'");
        if (objects.size > limits.max_objects)
            fail(errc::oversized,
                 "v2 presign names " + std::to_string(objects.size) + " objects, over max_objects");
        std::vector<algo::PresignItem> items;
        for (std::uint32_t i = 0; i < objects.size; ++i) {
            const auto& m = musehub::detail::as_map(objects.ptr[i], "v2 presign object");
            items.push_back(
                {ObjectId{IdText::parse(
                     musehub::detail::as_str(
                         musehub::detail::require_key(m, "id", "v2 presign object"), "id"),
                     "id")},
                 musehub::detail::as_uint(
                     musehub::detail::require_key(m, "size", "v2 presign object"), "size")});
        }
        auto r = hub_.presign(repo, items);
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(2);
            str(p, "uploads");
            p.pack_array(static_cast<std::uint32_t>(r.uploads.size()));
            for (const auto& u : r.uploads) {
                p.pack_map(4);
                str(p, "id");
                id(p, u.id.digest);
                str(p, "key");
                str(p, u.key);
                str(p, "url");
                str(p, u.url);
                str(p, "headers");
                p.pack_map(static_cast<std::uint32_t>(u.headers.size()));
                for (const auto& [k, v] : u.headers)
                    str(p, k), str(p, v);
            }
            str(p, "already_present");
            musehub::detail::write_ids<IdText>(p, r.already_present);
        });
    }

    Response confirm(const std::string& repo, BytesView body) {
        const auto& limits = hub_.options().limits;
        auto h = musehub::detail::unpack_bounded(body, limits, "v2 confirm");
        const auto& uploads = musehub::detail::as_array(
            musehub::detail::require_key(message(h, "v2 confirm"), "uploads", "v2 confirm"),
            "v2 confirm 'uploads'");
        if (uploads.size > limits.max_objects)
            fail(errc::oversized,
                 "v2 confirm names " + std::to_string(uploads.size) + " uploads, over max_objects");
        std::vector<algo::ConfirmItem> items;
        for (std::uint32_t i = 0; i < uploads.size; ++i) {
            const auto& m = musehub::detail::as_map(uploads.ptr[i], "v2 confirm upload");
            items.push_back(
                {ObjectId{IdText::parse(
                     musehub::detail::as_str(
                         musehub::detail::require_key(m, "id", "v2 confirm upload"), "id"),
                     "id")},
                 std::string(musehub::detail::as_str(
                     musehub::detail::require_key(m, "key", "v2 confirm upload"), "key"))});
        }
        auto r = hub_.confirm_uploads(repo, items);
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(3);
            str(p, "registered");
            musehub::detail::write_ids<IdText>(p, r.registered);
            str(p, "missing");
            musehub::detail::write_ids<IdText>(p, r.missing);
            str(p, "rejected");
            p.pack_array(static_cast<std::uint32_t>(r.rejected.size()));
            for (const auto& [object, why] : r.rejected) {
                p.pack_map(2);
                str(p, "id");
                id(p, object.digest);
                str(p, "why");
                str(p, why);
            }
        });
    }

    H& hub_;
    V2Options options_;
};

} // namespace musehub::http
