#pragma once
// `musehub push / clone / pull`: a client of a hub over HTTP, speaking wire v1 (what the Muse
// client speaks, so it works against any v1 hub). Its local side is a hub too — the embedded
// default in a directory — so the library's own pack builder makes what it sends: a push is
// the local hub's fetch of what the remote lacks, split the way the Muse client splits it
// (objects through /push/objects in batches, then the bundle without them through /push).
// A clone stores the remote's bundle in DIR/.musehub and writes the branch head's files into
// DIR; a pull fetches what the remote has beyond the local commits and updates the files.

#include "progress.hpp"

#include <musehub/hub.hpp>
#include <musehub/wire/v1.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>

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

// One remote repo over HTTP: each call one request; a refusal becomes an error that says what
// the hub said (its JSON `detail`), typed by status.
class HttpRemote {
public:
    HttpRemote(RemoteUrl url, std::string token)
        : url_(std::move(url)), http_(url_.host, url_.port), token_(std::move(token)) {
        http_.set_read_timeout(600, 0);
        http_.set_write_timeout(600, 0);
    }
    const RemoteUrl& url() const { return url_; }

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

    // `path` below the repo: "refs", "v2:fetch" is /v2/<repo>/fetch.
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
            throw std::runtime_error("cannot reach " + url_.text() + " (" + endpoint +
                                     "): " + httplib::to_string(r.error()) +
                                     "; is `musehub serve` running there?");
        if (r->status != 200) {
            std::string detail = r->body;
            try {
                detail = nlohmann::json::parse(r->body).at("detail").get<std::string>();
            } catch (const std::exception&) {
            }
            throw error(r->status == 409   ? errc::non_fast_forward
                        : r->status == 404 ? errc::not_found
                                           : errc::invalid_argument,
                        endpoint + " answered " + std::to_string(r->status) + ": " + detail);
        }
        if (content_type)
            *content_type = r->get_header_value("Content-Type");
        return std::move(r->body);
    }

private:
    RemoteUrl url_;
    httplib::Client http_;
    std::string token_;
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
    std::size_t commits = 0, objects = 0, objects_sent = 0;
    std::uint64_t bytes_sent = 0;
    bool up_to_date = false;
    CommitId head;
};

// What a push of `branch` sends: the local hub's fetch of its head, with the remote's heads it
// knows as haves (so the pack holds just what the remote lacks); nullopt when the remote's
// branch is already there (report.up_to_date).
template <class H>
std::optional<FetchRequest>
what_to_send(H& local, const std::string& repo, const std::string& branch,
             const std::map<std::string, CommitId>& remote_heads, PushReport& report) {
    auto head = local.branch_head(repo, branch);
    if (!head)
        throw error(errc::not_found, "local repo '" + repo + "' has no branch '" + branch + "'");
    report.head = *head;
    if (auto at = remote_heads.find(branch); at != remote_heads.end() && at->second == *head) {
        report.up_to_date = true;
        return std::nullopt;
    }
    std::vector<CommitId> known;
    for (const auto& [name, h] : remote_heads)
        known.push_back(h);
    return FetchRequest{{*head}, local.negotiate(repo, FetchRequest{{*head}, known}).ack};
}

// Pushes `branch` of the local hub's `repo` to the remote (objects the remote lacks, in
// requests of at most 400 objects and 32 MiB, as the Muse client sends them; then the bundle).
template <class H>
PushReport push_v1(H& local, const std::string& repo, const std::string& branch, bool force,
                   V1Remote& remote) {
    static_assert(std::is_same_v<typename H::wire_type, wire::v1>);
    PushReport report;
    auto request = what_to_send(local, repo, branch, remote.heads(), report);
    if (!request)
        return report;
    auto bytes = local.fetch(repo, *request).bytes;
    auto pack = local.wire().decode_pack(bytes, local.options().limits);
    report.commits = pack.commits.size();
    report.objects = pack.objects.size();

    std::vector<ObjectId> ids;
    for (const auto& o : pack.objects)
        ids.push_back(o.id);
    auto missing = remote.missing(ids);
    std::unordered_set<ObjectId> wanted(missing.begin(), missing.end());
    std::uint64_t to_send = 0;
    for (const auto& o : pack.objects)
        if (wanted.count(o.id))
            to_send += o.stored.size();
    Progress progress("push " + branch, to_send, "B");
    Pack batch;
    std::uint64_t batch_bytes = 0;
    auto flush = [&] {
        if (batch.objects.empty())
            return;
        auto body = local.wire().encode_pack(batch);
        remote.upload(body);
        report.objects_sent += batch.objects.size();
        report.bytes_sent += body.size();
        progress.add(batch_bytes);
        batch.objects.clear();
        batch_bytes = 0;
    };
    for (const auto& o : pack.objects) {
        if (!wanted.count(o.id))
            continue;
        if (batch.objects.size() == 400 || batch_bytes + o.stored.size() > (32u << 20))
            flush();
        batch.objects.push_back(o);
        batch_bytes += o.stored.size();
    }
    flush();
    pack.objects.clear();
    pack.branch_heads.clear(); // the Muse client never sends them: the hub takes the branch's
    auto body = local.wire().encode_push(PushRequest{std::move(pack), branch, force, {}});
    report.bytes_sent += body.size();
    remote.push(body);
    return report;
}

// Pushes `branch` of the local hub's `repo` as one v2 pack: what the remote lacks, made by the
// local hub's own fetch, in one request (the hub verifies it whole before anything moves).
template <class H>
PushReport push_v2(H& local, const std::string& repo, const std::string& branch, bool force,
                   V2Remote& remote) {
    static_assert(std::is_same_v<typename H::wire_type, wire::v2>);
    PushReport report;
    auto request = what_to_send(local, repo, branch, remote.heads(), report);
    if (!request)
        return report;
    auto fetched = local.fetch(repo, *request);
    report.commits = fetched.commits;
    report.objects = report.objects_sent = fetched.objects;
    // {branch, force, pack}: the pack as fetched, wrapped without decoding it.
    auto body = local.wire().encode_push(branch, force, fetched.bytes);
    report.bytes_sent = body.size();
    remote.push(body);
    return report;
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
