#pragma once
// The HTTP endpoints the Muse 0.1.x client speaks (docs/protocol.md, "v1 over HTTP"), over a
// Hub whose wire is v1, free of any HTTP library: a server passes each request to handle() and
// sends back what it answers. The remote URL is http://HOST:PORT/<owner>/<slug>; the repo is
// "<owner>/<slug>".
//
//   GET  …/refs            -> {repo_id, domain, default_branch, branch_heads}
//   POST …/filter-objects  {object_ids}             -> {missing}
//   POST …/presign         {object_ids, direction}  -> {presigned: {}, inline: every id}
//   POST …/push/objects    {objects: [{object_id, content}]} -> {stored, skipped}
//   POST …/push            {bundle, branch, force}  -> {ok, message, branch_heads, remote_head}
//   POST …/negotiate       {want, have}             -> {ack, common_base, ready}
//   POST …/fetch           {want, have}             -> a bundle {commits, snapshots, objects,
//                                                      branch_heads}
//
// Answers are msgpack; errors are JSON {"detail": …} with the status of their errc
// (http/message.hpp): 400 for malformed or untrue input, 404 for an unknown repo or commit,
// 409 for a diverged push, 413 over a limit. Every check runs before anything is written, so
// a refused request leaves the hub as it was (the algorithms' guarantee).
//
// A repo exists once it has a branch. With `create_on_push` (the default) a push creates it,
// and /refs answers an unknown repo as an empty one: the client's first push starts with GET
// refs and stops at any non-2xx. Without it, an unknown repo is 404 everywhere.
//
// Presigned uploads are not offered over v1 (objects live in packs here, not under per-object
// keys): /presign answers every id inline, which the client handles by uploading through
// /push/objects. /tags answers 501: tags are not stored yet.

#include "musehub/algo/push.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/http/detail/answers.hpp"
#include "musehub/http/message.hpp"
#include "musehub/wire/v1.hpp"

#include <string>
#include <string_view>
#include <type_traits>

namespace musehub::http {

struct V1Options {
    bool create_on_push = true;  // a push to an unknown repo creates it (see above)
    std::string domain = "code"; // /refs `domain`: without it the client assumes "midi"
};

template <class H>
class V1Service {
    static_assert(std::is_same_v<typename H::wire_type, wire::v1>,
                  "V1Service serves a Hub whose wire is wire::v1");

public:
    explicit V1Service(H& hub, V1Options options = {}) : hub_(hub), options_(std::move(options)) {}

    static std::optional<Route> route(std::string_view path) {
        return http::route(path, {"push/objects", "filter-objects", "negotiate", "presign", "fetch",
                                  "push", "refs", "tags"});
    }

    Response handle(const Request& req) {
        return answer(route(req.path), req, "a Muse remote is http://HOST:PORT/<owner>/<slug>",
                      "refs", [&](const Route& r) { return dispatch(r, req.body); });
    }

    // "Whether the repo has a branch": what makes a repo exist here.
    bool exists(const std::string& repo) const { return !hub_.branches(repo).empty(); }

    // A stable, UUID-shaped id for a repo name (the client copies it into its repo.json).
    static std::string repo_id(const std::string& repo) {
        auto hex = Sha256().update("musehub repo\n").update(repo).finish().hex();
        return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
               hex.substr(16, 4) + "-" + hex.substr(20, 12);
    }

private:
    using Packer = detail::Packer;
    using IdText = wire::v1::IdText;

    Response dispatch(const Route& r, BytesView body) {
        const auto& e = r.endpoint;
        if (e == "tags")
            fail(errc::unsupported, "this hub does not store tags yet");
        if (!exists(r.repo) && !(options_.create_on_push && (e == "refs" || writes(e))))
            fail(errc::not_found, "repo '" + r.repo + "' does not exist");
        if (e == "refs")
            return refs(r.repo);
        if (e == "filter-objects")
            return filter_objects(body);
        if (e == "presign")
            return presign(body);
        if (e == "push/objects")
            return push_objects(r.repo, body);
        if (e == "push")
            return push(r.repo, body);
        if (e == "negotiate")
            return negotiate(r.repo, body);
        return fetch(r.repo, body);
    }
    static bool writes(std::string_view e) {
        return e == "filter-objects" || e == "presign" || e == "push/objects" || e == "push";
    }

    Response refs(const std::string& repo) const {
        auto heads = hub_.branches(repo);
        return detail::msgpack_answer([&](Packer& p) {
            using musehub::detail::pack_str;
            p.pack_map(4);
            pack_str(p, "repo_id");
            pack_str(p, repo_id(repo));
            pack_str(p, "domain");
            pack_str(p, options_.domain);
            pack_str(p, "default_branch");
            pack_str(p, detail::default_branch(heads));
            pack_str(p, "branch_heads");
            detail::pack_heads<IdText>(p, heads);
        });
    }

    // The ids of `key` in a {key: [id…]} message.
    std::vector<ObjectId> object_ids(BytesView body, std::string_view what) const {
        const auto& limits = hub_.options().limits;
        const std::string name = "v1 " + std::string(what);
        auto handle = musehub::detail::unpack_bounded(body, limits, name);
        const auto& m = musehub::detail::as_map(handle.get(), name);
        return musehub::detail::read_ids<IdText, ObjectId>(
            musehub::detail::require_key(m, "object_ids", name), name + " 'object_ids'",
            limits.max_objects);
    }

    Response filter_objects(BytesView body) const {
        auto ids = object_ids(body, "filter-objects");
        auto missing = hub_.missing_objects(ids);
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(1);
            musehub::detail::pack_str(p, "missing");
            musehub::detail::write_ids<IdText>(p, missing);
        });
    }

    Response presign(BytesView body) const {
        auto ids = object_ids(body, "presign");
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(2);
            musehub::detail::pack_str(p, "presigned");
            p.pack_map(0);
            musehub::detail::pack_str(p, "inline");
            musehub::detail::write_ids<IdText>(p, ids);
        });
    }

    Response push_objects(const std::string& repo, BytesView body) {
        auto stored = hub_.upload_objects(repo, body);
        return detail::msgpack_answer([&](Packer& p) {
            p.pack_map(2);
            musehub::detail::pack_str(p, "stored");
            p.pack_uint64(stored.fresh);
            musehub::detail::pack_str(p, "skipped");
            p.pack_uint64(stored.objects - stored.fresh);
        });
    }

    Response push(const std::string& repo, BytesView body) {
        auto r = hub_.push(repo, body);
        return detail::msgpack_answer([&](Packer& p) {
            using musehub::detail::pack_str;
            p.pack_map(4);
            pack_str(p, "ok");
            p.pack_true();
            pack_str(p, "message");
            pack_str(p, "pushed " + std::to_string(r.commits) + " commit(s) to '" + r.branch +
                            "' (" + std::string(algo::to_string(r.outcome)) + ")");
            pack_str(p, "branch_heads");
            detail::pack_heads<IdText>(p, hub_.branches(repo));
            pack_str(p, "remote_head");
            pack_str(p, r.head.hex());
        });
    }

    Response negotiate(const std::string& repo, BytesView body) const {
        auto req = hub_.wire().decode_fetch(body, hub_.options().limits);
        auto n = hub_.negotiate(repo, req);
        return detail::msgpack_answer([&](Packer& p) {
            using musehub::detail::pack_str;
            p.pack_map(3);
            pack_str(p, "ack");
            musehub::detail::write_ids<IdText>(p, n.ack);
            pack_str(p, "common_base");
            if (n.common_base)
                pack_str(p, n.common_base->hex());
            else
                p.pack_nil();
            pack_str(p, "ready");
            n.ready ? p.pack_true() : p.pack_false();
        });
    }

    // Collected whole: v1 encodes a bundle at once, and the client reads at most 64 MiB.
    Response fetch(const std::string& repo, BytesView body) {
        auto req = hub_.wire().decode_fetch(body, hub_.options().limits);
        Response out;
        out.body = hub_.fetch(repo, req).bytes;
        return out;
    }

    H& hub_;
    V1Options options_;
};

} // namespace musehub::http
