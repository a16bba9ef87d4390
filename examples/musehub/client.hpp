#pragma once
// `musehub push / clone / pull`: a client of a hub over HTTP, speaking wire v1 (what the Muse
// client speaks, so it works against any v1 hub) or v2. Its local side is a hub too — the
// embedded default in a directory — so the library's own pack builder makes what it sends: a
// push is the local hub's fetch of what the remote lacks, in as many pushes as the hub's
// limits need (push_plan.hpp), each split the way the Muse client splits it over v1 (objects
// through /push/objects in batches, then the bundle without them through /push) or one pack
// over v2. A clone stores the remote's bundle in DIR/.musehub and writes the branch head's
// files into DIR; a pull fetches what the remote has beyond the local commits and updates the
// files. Every refusal becomes an error saying what happened and what to do.

#include "progress.hpp"
#include "push_plan.hpp"

#include <musehub/hub.hpp>
#include <musehub/wire/v1.hpp>
#include <musehub/wire/v2.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace musehub::tool {

// http://HOST:PORT/<owner>/<slug>
struct RemoteUrl {
    std::string host;
    int port = 80;
    std::string repo;

    static RemoteUrl parse(const std::string& url) {
        static const std::regex form(R"(http://([^/:]+)(?::(\d+))?/([^/]+/[^/]+)/?)");
        std::smatch m;
        if (!std::regex_match(url, m, form))
            throw std::invalid_argument("remote '" + url +
                                        "' is not http://HOST[:PORT]/<owner>/<slug>");
        return {m[1], m[2].matched ? std::stoi(m[2]) : 80, m[3]};
    }
    std::string text() const { return "http://" + host + ":" + std::to_string(port) + "/" + repo; }
};

// The header in which `musehub serve` names its largest request body (--max-body), on every
// answer: a client splits its pushes to fit before sending anything.
inline constexpr const char* max_body_header = "X-Musehub-Max-Body";

// What a refused request means and what to do about it, per HTTP status: a hub's JSON
// `detail` says what it refused, not what the person at the client should do next.
inline std::string explain_status(int status, const std::string& detail, bool has_token) {
    const std::string said = detail.empty() ? "(the hub gave no reason)" : detail;
    switch (status) {
    case 401:
        return said + ". " +
               (has_token ? "The --token given is not one this hub accepts: use one from the "
                            "server's --tokens file"
                          : "To write to this hub, pass --token TOKEN (a line of the server's "
                            "--tokens file)");
    case 403:
        return said + ". The token is not allowed to do this here: ask the hub's operator";
    case 404:
        return said + ". Check the URL (http://HOST:PORT/<owner>/<slug>): the repo or commit is "
                      "not on that hub, or it runs with --no-create-on-push and the repo must "
                      "be created there first";
    case 409:
        return said + ". The hub's branch has moved on or diverged from what is pushed: pull "
                      "and merge first, or push with --force to overwrite it";
    case 413:
        return said + ". The request is larger than the hub takes: push splits its pushes to "
                      "fit; one commit that alone is larger needs the server's --max-body "
                      "raised";
    case 501:
        return said + ". The hub does not support this (see docs/server.md)";
    default:
        if (status >= 500)
            return said + ". The hub failed while handling it: see the server's log (its "
                          "stderr), then retry; run `musehub fsck` on the hub if it persists";
        return said + ". The hub refused the request as invalid: check that client and hub "
                      "speak the same wire (--wire v1|v2) and are the same version";
    }
}

// One remote repo over HTTP: each call one request; a refusal becomes an error that says what
// the hub said (its JSON `detail`) and what to do, typed by status. A body the hub refuses as
// too large (413, or the connection closed while it went out) is TooLarge, which a push
// answers by splitting (push_plan.hpp).
class HttpRemote {
public:
    HttpRemote(RemoteUrl url, std::string token)
        : url_(std::move(url)), http_(url_.host, url_.port), token_(std::move(token)) {
        http_.set_read_timeout(600, 0);
        http_.set_write_timeout(600, 0);
    }
    const RemoteUrl& url() const { return url_; }
    // The largest body the hub said it takes (X-Musehub-Max-Body), once it has answered.
    std::optional<std::uint64_t> max_body() const { return max_body_; }

protected:
    template <class Id>
    static nlohmann::json hex(const std::vector<Id>& ids, std::string_view prefix = "") {
        auto out = nlohmann::json::array();
        for (const auto& id : ids)
            out.push_back(std::string(prefix) + id.hex());
        return out;
    }
    static std::string_view text(BytesView b) {
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }
    static std::string to_msgpack(const nlohmann::json& j) {
        auto bytes = nlohmann::json::to_msgpack(j);
        return {bytes.begin(), bytes.end()};
    }
    static nlohmann::json msgpack(const std::string& body) {
        return nlohmann::json::from_msgpack(body.begin(), body.end());
    }

    // `endpoint` below the repo: "refs"; with v2, below /v2/<repo>/.
    std::string call(const std::string& method, const std::string& endpoint, std::string_view body,
                     bool v2 = false, std::string* content_type = nullptr) {
        const auto path = (v2 ? "/v2/" : "/") + url_.repo + "/" + endpoint;
        httplib::Headers headers{{"Accept", "application/x-msgpack, application/json"}};
        if (!token_.empty())
            headers.emplace("Authorization", "Bearer " + token_);
        auto r = method == "GET"
                     ? http_.Get(path, headers)
                     : http_.Post(path, headers, body.data(), body.size(), "application/x-msgpack");
        if (!r)
            throw_transport(r.error(), method + " " + endpoint, body.size());
        if (auto limit = r->get_header_value(max_body_header); !limit.empty())
            max_body_ = std::strtoull(limit.c_str(), nullptr, 10);
        if (r->status != 200)
            throw_status(r->status, r->body, method + " " + endpoint, body.size());
        if (content_type)
            *content_type = r->get_header_value("Content-Type");
        return std::move(r->body);
    }

private:
    // A request that got no answer: the hub is not there, or it (or something between) closed
    // the connection; a body being sent when that happened may have been over a limit.
    [[noreturn]] void throw_transport(httplib::Error e, const std::string& what,
                                      std::size_t sent) const {
        const auto where = url_.host + ":" + std::to_string(url_.port);
        if (e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout)
            throw error(errc::io, "cannot connect to " + where + " (" + what + ": " +
                                      (e == httplib::Error::Connection ? "refused or unreachable"
                                                                       : "timed out") +
                                      "): is `musehub serve` running there, and is the URL "
                                      "right?");
        const auto happened = "the hub at " + where + " closed the connection during " + what +
                              (sent ? " (a body of " + std::to_string(sent) + " bytes)" : "") +
                              " without answering (" + httplib::to_string(e) + ")";
        const std::string why = ": it stopped or timed out (see its log), or it or a proxy in "
                                "front of it takes smaller request bodies";
        if (sent > 0 && (e == httplib::Error::Write || e == httplib::Error::Read))
            throw TooLarge(sent, max_body_, happened + why, happened);
        throw error(errc::io, happened + why);
    }

    [[noreturn]] void throw_status(int status, const std::string& body, const std::string& what,
                                   std::size_t sent) const {
        std::string detail = body;
        try {
            detail = nlohmann::json::parse(body).at("detail").get<std::string>();
        } catch (const std::exception&) {
        }
        const auto message = url_.text() + ": " + what + " answered " + std::to_string(status) +
                             ": " + explain_status(status, detail, !token_.empty());
        if (status == 413)
            throw TooLarge(sent, max_body_, message, detail);
        throw error(status == 409   ? errc::non_fast_forward
                    : status == 404 ? errc::not_found
                    : status == 501 ? errc::unsupported
                    : status >= 500 ? errc::io
                                    : errc::invalid_argument,
                    message);
    }

    RemoteUrl url_;
    httplib::Client http_;
    std::string token_;
    std::optional<std::uint64_t> max_body_;
};

// The Muse client's endpoints (wire v1).
class V1Remote : public HttpRemote {
public:
    using wire_type = wire::v1;
    explicit V1Remote(RemoteUrl url, std::string token = {})
        : HttpRemote(std::move(url), std::move(token)) {}

    std::map<std::string, CommitId> heads() {
        auto answer = msgpack(call("GET", "refs", {}));
        std::map<std::string, CommitId> out;
        for (const auto& [name, head] : answer.at("branch_heads").items())
            out.emplace(name, CommitId::from_hex(head.get<std::string>()));
        return out;
    }
    std::vector<ObjectId> missing(const std::vector<ObjectId>& ids) {
        nlohmann::json ask = {{"object_ids", hex(ids)}};
        auto answer = msgpack(call("POST", "filter-objects", to_msgpack(ask)));
        std::vector<ObjectId> out;
        for (const auto& id : answer.at("missing"))
            out.push_back(ObjectId::from_hex(id.get<std::string>()));
        return out;
    }
    void upload(BytesView bundle) { call("POST", "push/objects", text(bundle)); }
    nlohmann::json push(BytesView body) { return msgpack(call("POST", "push", text(body))); }
    std::vector<CommitId> negotiate(const std::vector<CommitId>& want,
                                    const std::vector<CommitId>& have, bool& ready) {
        nlohmann::json ask = {{"want", hex(want)}, {"have", hex(have)}};
        auto answer = msgpack(call("POST", "negotiate", to_msgpack(ask)));
        ready = answer.at("ready").get<bool>();
        std::vector<CommitId> ack;
        for (const auto& id : answer.at("ack"))
            ack.push_back(CommitId::from_hex(id.get<std::string>()));
        return ack;
    }
    std::string fetch(const std::vector<CommitId>& want, const std::vector<CommitId>& have) {
        nlohmann::json ask = {{"want", hex(want)}, {"have", hex(have)}};
        return call("POST", "fetch", to_msgpack(ask));
    }
};

// musehub's own endpoints (wire v2, under /v2/): the pack in one request each way.
class V2Remote : public HttpRemote {
public:
    using wire_type = wire::v2;
    explicit V2Remote(RemoteUrl url, std::string token = {})
        : HttpRemote(std::move(url), std::move(token)) {}

    // Empty for a repo the hub does not have yet (a first push creates it).
    std::map<std::string, CommitId> heads() {
        std::map<std::string, CommitId> out;
        std::string body;
        try {
            body = call("GET", "refs", {}, true);
        } catch (const error& e) {
            if (e.code() == errc::not_found)
                return out;
            throw;
        }
        const auto answer = msgpack(body); // named: a range over a temporary's member dangles
        for (const auto& [name, head] : answer.at("branch_heads").items())
            out.emplace(name, CommitId{wire::v2::IdText::parse(head.get<std::string>(), "head")});
        return out;
    }
    nlohmann::json push(BytesView body) { return msgpack(call("POST", "push", text(body), true)); }
    // The pack inline, or — for a large answer from a hub on a presigning store — from the URL
    // the hub answered instead, checked against the pack id it named.
    std::string fetch(const std::vector<CommitId>& want, const std::vector<CommitId>& have) {
        nlohmann::json ask = {{"want", hex(want, "sha256:")}, {"have", hex(have, "sha256:")}};
        std::string type;
        auto body = call("POST", "fetch", to_msgpack(ask), true, &type);
        if (type != "application/x-msgpack")
            return body;
        const auto where = msgpack(body);
        static const std::regex form(R"((https?)://([^/:]+)(?::(\d+))?(/.*))");
        std::smatch m;
        const auto url = where.at("url").get<std::string>();
        if (!std::regex_match(url, m, form))
            throw error(errc::corrupt, "the hub answered a fetch URL that is not one: " + url);
        if (m[1] == "https")
            throw error(errc::unsupported, "fetching from an https URL needs a TLS client: " + url);
        httplib::Client storage(m[2], m[3].matched ? std::stoi(m[3]) : 80);
        storage.set_read_timeout(600, 0);
        auto got = storage.Get(m[4].str());
        if (!got || got->status != 200)
            throw error(errc::io, "GET " + url + " failed" +
                                      (got ? ": status " + std::to_string(got->status) : ""));
        const auto expect = wire::v2::IdText::parse(where.at("pack").get<std::string>(), "pack");
        if (sha256(BytesView(reinterpret_cast<const std::byte*>(got->body.data()),
                             got->body.size())) != expect)
            throw error(errc::hash_mismatch,
                        "the pack at " + url + " does not hash to the id the hub named");
        return std::move(got->body);
    }
};

// What a push sent.
struct PushReport {
    std::size_t commits = 0, objects = 0, objects_sent = 0, pushes = 0;
    std::uint64_t bytes_sent = 0;
    bool up_to_date = false;
    CommitId head;
};

// How a branch is pushed: --force, and the budget of one push (--max-commits-per-push,
// --max-push-bytes; the hub's own limit lowers the latter).
struct PushOptions {
    bool force = false;
    ChunkLimits limits;
};

// Limits for decoding what the local hub itself made for a push: its own data, so only as
// bounded as the chunk (a hub's defaults, made for untrusted input, refuse a large history).
inline Limits local_limits() {
    Limits l;
    l.max_commits = l.max_snapshots = l.max_objects = l.max_tags = l.max_elements =
        std::numeric_limits<std::size_t>::max();
    l.max_object_bytes = l.max_pack_bytes = std::numeric_limits<std::uint64_t>::max();
    l.max_manifest_entries = l.max_record_bytes = std::numeric_limits<std::size_t>::max();
    return l;
}

// One branch being pushed: what the hub has (the remote heads the local repo knows), and the
// rest of the branch's history as steps.
struct BranchPush {
    std::string repo, branch;
    CommitId head;
    std::vector<CommitId> remote_has;
    PushPlan plan;

    // The local fetch that makes steps [from, from + count): their last step's ancestors that
    // neither the hub nor an earlier chunk has. Count 0: the head itself (the hub has it).
    FetchRequest chunk(std::size_t from, std::size_t count) const {
        FetchRequest req{{count ? plan.steps[from + count - 1].tip : head}, remote_has};
        if (from > 0)
            req.have.push_back(plan.steps[from - 1].tip);
        return req;
    }
};

// Pushes `branch` of the local hub's `repo` in as many pushes as the budget needs:
// send(push, request, force, limits, report) sends one chunk (request: the local fetch that
// makes it) and returns its body's size. Only the first push may force: the later ones
// fast-forward from it.
template <class H, class Remote, class Send>
PushReport push_branch(H& local, const std::string& repo, const std::string& branch,
                       const PushOptions& options, Remote& remote, Send&& send) {
    PushReport report;
    const auto remote_heads = remote.heads();
    auto head = local.branch_head(repo, branch);
    if (!head)
        throw error(errc::not_found, "local repo '" + repo + "' has no branch '" + branch + "'");
    report.head = *head;
    if (auto at = remote_heads.find(branch); at != remote_heads.end() && at->second == *head) {
        report.up_to_date = true;
        return report;
    }
    BranchPush push{repo, branch, *head, {}, {}};
    std::vector<CommitId> known;
    for (const auto& [name, h] : remote_heads)
        known.push_back(h);
    push.remote_has = local.negotiate(repo, FetchRequest{{*head}, known}).ack;
    push.plan = plan_push(*head, push.remote_has, algo::catalog_parents(local.catalog()));
    ChunkLimits limits = options.limits;
    if (remote.max_body())
        limits.max_bytes = std::min<std::uint64_t>(limits.max_bytes, *remote.max_body());
    Progress progress("push " + branch, push.plan.commits, "commits");
    const auto sent = push_in_chunks(
        push.plan, limits,
        [&](std::size_t from, std::size_t count) {
            return send(push, push.chunk(from, count), options.force && from == 0, limits, report);
        },
        [&](std::size_t commits) { progress.add(commits); });
    report.commits = push.plan.commits;
    report.pushes = sent.pushes;
    return report;
}

// The commit of `pack` that brings object `id` in (the oldest whose snapshot names it), and
// the path it has there: what an error about that object names.
inline std::pair<CommitId, std::string> bringer(const Pack& pack, const ObjectId& id) {
    std::unordered_map<SnapshotId, const Snapshot*> snapshots;
    for (const auto& s : pack.snapshots)
        snapshots.emplace(s.snapshot_id, &s);
    for (const auto* c : topological_order(std::span<const Commit>(pack.commits)))
        if (auto s = snapshots.find(c->snapshot_id); s != snapshots.end())
            for (const auto& e : s->second->manifest)
                if (e.object == id)
                    return {c->commit_id, e.path};
    return {pack.commits.empty() ? CommitId{} : pack.commits.front().commit_id, "?"};
}

// Sends `batch` through /push/objects, each request within the hub's limit: at most 400
// objects (as the Muse client sends) and 32 MiB; a batch the hub refuses as too large is
// split in two and sent again, and one object that alone is too large is an error naming the
// commit that brings it.
template <class W>
void upload_objects(const W& wire, V1Remote& remote, const Pack& records,
                    std::vector<PackObject> batch, ChunkLimits& limits, PushReport& report) {
    Pack bundle;
    bundle.objects = std::move(batch);
    const auto body = wire.encode_pack(bundle);
    std::optional<TooLarge> refused;
    if (body.size() > limits.max_bytes)
        refused.emplace(body.size(), limits.max_bytes, "over the limit");
    else
        try {
            remote.upload(body);
            report.objects_sent += bundle.objects.size();
            report.bytes_sent += body.size();
            return;
        } catch (const TooLarge& e) {
            learn_limit(limits, e);
            refused.emplace(e);
        }
    if (bundle.objects.size() == 1) {
        const auto& o = bundle.objects.front();
        auto [commit, path] = bringer(records, o.id);
        throw oversized_commit(
            commit, 1, "the upload of its object " + o.id.hex() + " ('" + path + "')", *refused);
    }
    const auto half = static_cast<std::ptrdiff_t>(bundle.objects.size() / 2);
    upload_objects(wire, remote, records, {bundle.objects.begin(), bundle.objects.begin() + half},
                   limits, report);
    upload_objects(wire, remote, records, {bundle.objects.begin() + half, bundle.objects.end()},
                   limits, report);
}

// The objects of `objects` the hub lacks, asked in requests within its body limit (and the
// reference server's 50,000 ids).
inline std::vector<ObjectId> ask_missing(V1Remote& remote, const std::vector<PackObject>& objects,
                                         const ChunkLimits& limits) {
    const auto per_request = std::clamp<std::uint64_t>(limits.max_bytes / 70, 1, 50'000);
    std::vector<ObjectId> missing, ids;
    for (std::size_t at = 0; at < objects.size(); at += ids.size()) {
        ids.clear();
        for (auto i = at; i < objects.size() && ids.size() < per_request; ++i)
            ids.push_back(objects[i].id);
        auto got = remote.missing(ids);
        missing.insert(missing.end(), got.begin(), got.end());
    }
    return missing;
}

// One chunk over v1, as the Muse client pushes: the objects the hub lacks through
// /push/objects, then the bundle of commits and snapshots through /push. The bundle names the
// chunk's tip in branch_heads: the hub takes the head from there, and without it a push of
// nothing new (a branch forced back onto a commit the hub has) names no head at all.
template <class H>
std::uint64_t send_v1_chunk(H& local, V1Remote& remote, const BranchPush& push,
                            const FetchRequest& request, bool force, ChunkLimits& limits,
                            PushReport& report) {
    static_assert(std::is_same_v<typename H::wire_type, wire::v1>);
    const auto bytes = local.fetch(push.repo, request).bytes; // the objects view into it
    auto pack = local.wire().decode_pack(bytes, local_limits());
    auto objects = std::move(pack.objects);
    pack.objects.clear();
    pack.branch_heads = {{push.branch, request.want.front()}};
    const auto body = local.wire().encode_push(PushRequest{pack, push.branch, force, {}});
    if (body.size() > limits.max_bytes)
        throw TooLarge(body.size(), limits.max_bytes, "the push is over the hub's limit");
    const auto missing = ask_missing(remote, objects, limits);
    const std::unordered_set<ObjectId> wanted(missing.begin(), missing.end());
    const std::uint64_t per_batch = std::min<std::uint64_t>(32u << 20, limits.max_bytes);
    std::vector<PackObject> batch;
    std::uint64_t batch_bytes = 0;
    for (const auto& o : objects) {
        if (!wanted.count(o.id))
            continue;
        const auto size = o.stored.size() + 96; // + its id and msgpack framing
        if (!batch.empty() && (batch.size() == 400 || batch_bytes + size > per_batch)) {
            upload_objects(local.wire(), remote, pack, std::exchange(batch, {}), limits, report);
            batch_bytes = 0;
        }
        batch.push_back(o);
        batch_bytes += size;
    }
    if (!batch.empty())
        upload_objects(local.wire(), remote, pack, std::move(batch), limits, report);
    remote.push(body);
    report.objects += objects.size();
    report.bytes_sent += body.size();
    return body.size();
}

// The pack `bytes` (a local fetch) again, naming only `branch` at `tip` in its branch heads:
// a local fetch names every local branch at its local head, which a chunk's push must not
// claim. Only META is written again: every other section is copied byte for byte.
inline Bytes with_head(const wire::v2& wire, BytesView bytes, const std::string& branch,
                       const CommitId& tip) {
    return wire.with_branch_heads(bytes, {{branch, tip}}, local_limits());
}

// One chunk over v2: the local hub's fetch of it, as one pack in one /v2/…/push (the hub
// verifies it whole before anything moves).
template <class H>
std::uint64_t send_v2_chunk(H& local, V2Remote& remote, const BranchPush& push,
                            const FetchRequest& request, bool force, ChunkLimits& limits,
                            PushReport& report) {
    static_assert(std::is_same_v<typename H::wire_type, wire::v2>);
    auto fetched = local.fetch(push.repo, request);
    if (fetched.bytes.size() > limits.max_bytes) // (naming one head changes it by a few bytes)
        throw TooLarge(fetched.bytes.size(), limits.max_bytes, "the push is over the hub's limit");
    const auto pack = with_head(local.wire(), fetched.bytes, push.branch, request.want.front());
    fetched.bytes = {};
    const auto body = local.wire().encode_push(push.branch, force, pack);
    if (body.size() > limits.max_bytes)
        throw TooLarge(body.size(), limits.max_bytes, "the push is over the hub's limit");
    remote.push(body);
    report.objects += fetched.objects;
    report.objects_sent += fetched.objects;
    report.bytes_sent += body.size();
    return body.size();
}

template <class H>
PushReport push_v1(H& local, const std::string& repo, const std::string& branch,
                   const PushOptions& options, V1Remote& remote) {
    return push_branch(local, repo, branch, options, remote,
                       [&](auto&&... a) { return send_v1_chunk(local, remote, a...); });
}

template <class H>
PushReport push_v2(H& local, const std::string& repo, const std::string& branch,
                   const PushOptions& options, V2Remote& remote) {
    return push_branch(local, repo, branch, options, remote,
                       [&](auto&&... a) { return send_v2_chunk(local, remote, a...); });
}

// Writes the files of `commit` into `dir`; with `previous` (what dir holds now), only those that
// changed, and removes those `commit` no longer has. Returns how many files were written.
template <class H>
std::size_t checkout(const H& local, const std::string& repo, const CommitId& commit,
                     const std::filesystem::path& dir, const std::optional<CommitId>& previous) {
    auto tree = local.tree_of(repo, commit);
    std::map<std::string, ObjectId> had; // what `previous` left in dir: unchanged files stay
    if (previous) {
        for (const auto& e : local.tree_of(repo, *previous).manifest)
            had.emplace(e.path, e.object);
        std::set<std::string> keep;
        for (const auto& e : tree.manifest)
            keep.insert(e.path);
        for (const auto& [path, object] : had)
            if (!keep.count(path))
                std::filesystem::remove(dir / path);
    }
    std::map<ObjectId, std::vector<std::string>> paths;
    for (const auto& e : tree.manifest)
        if (auto h = had.find(e.path); h == had.end() || h->second != e.object)
            paths[e.object].push_back(e.path);
    std::vector<ObjectId> ids;
    for (const auto& [id, p] : paths)
        ids.push_back(id);
    std::size_t written = 0;
    std::size_t files = 0;
    for (const auto& [id, p] : paths)
        files += p.size();
    Progress progress("checkout", files, "files");
    local.read_objects(repo, ids, [&](const ObjectId& id, BytesView bytes) {
        for (const auto& p : paths.at(id)) {
            auto file = dir / p;
            std::filesystem::create_directories(file.parent_path());
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<std::streamsize>(bytes.size()));
            if (!out)
                throw error(errc::io, "cannot write " + file.string());
            ++written;
        }
        progress.set(written);
    });
    return written;
}

// The remote a clone came from, kept in DIR/.musehub/remote: url, branch, checked-out head,
// wire.
struct CloneState {
    std::string url, branch, wire = "v1";
    CommitId head;

    static std::filesystem::path file(const std::filesystem::path& dir) {
        return dir / ".musehub" / "remote";
    }
    void save(const std::filesystem::path& dir) const {
        std::ofstream out(file(dir), std::ios::trunc);
        out << url << "\n" << branch << "\n" << head.hex() << "\n" << wire << "\n";
        if (!out)
            throw error(errc::io, "cannot write " + file(dir).string());
    }
    static CloneState load(const std::filesystem::path& dir) {
        std::ifstream in(file(dir));
        CloneState s;
        std::string head;
        if (!(in >> s.url >> s.branch >> head >> s.wire))
            throw error(errc::not_found, dir.string() +
                                             " is not a musehub clone (no .musehub/remote); "
                                             "make one with `musehub clone URL DIR`");
        s.head = CommitId::from_hex(head);
        return s;
    }
};

// Fetches what the remote has beyond the local hub's `repo` and stores every branch there as
// the remote has it (remote-tracking: forced). v1 negotiates with every local commit, 64 per
// request as the Muse client does; v2 names the local branch heads as haves (the hub ignores
// those it does not know and walks no further than those it does). Returns the remote's heads.
template <class H, class Remote>
std::map<std::string, CommitId> fetch_into(H& local, const std::string& repo, Remote& remote) {
    static_assert(std::is_same_v<typename H::wire_type, typename Remote::wire_type>);
    auto heads = remote.heads();
    if (heads.empty())
        throw error(errc::not_found, "remote " + remote.url().text() + " has no branches");
    std::vector<CommitId> want;
    for (const auto& [name, head] : heads)
        want.push_back(head);
    std::vector<CommitId> have;
    if constexpr (std::is_same_v<Remote, V1Remote>) {
        std::vector<CommitId> local_commits;
        for (const auto& row :
             local.catalog().template scan<catalog::CommitRefRow>(std::tuple{repo}))
            local_commits.push_back(row.commit_id);
        for (std::size_t at = 0; at < local_commits.size(); at += 64) {
            std::vector<CommitId> batch(
                local_commits.begin() + static_cast<std::ptrdiff_t>(at),
                local_commits.begin() +
                    static_cast<std::ptrdiff_t>(std::min(at + 64, local_commits.size())));
            bool ready = false;
            auto got = remote.negotiate(want, batch, ready);
            have.insert(have.end(), got.begin(), got.end());
            if (ready)
                break;
        }
    } else {
        for (const auto& b : local.branches(repo))
            have.push_back(b.head);
    }
    auto answer = remote.fetch(want, have);
    const auto bytes = BytesView(reinterpret_cast<const std::byte*>(answer.data()), answer.size());
    bool first = true;
    for (const auto& [name, head] : heads) {
        if (first) // the whole pack once; its branch_heads name every branch's head
            local.push_pack(repo, name, true, bytes);
        else {
            Pack move;
            move.branch_heads.emplace(name, head);
            local.push_pack(repo, name, true, local.wire().encode_pack(move));
        }
        first = false;
    }
    return heads;
}

} // namespace musehub::tool
