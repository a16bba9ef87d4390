#pragma once
// `musehub push / clone / pull`: a client of a hub over HTTP, speaking wire v1 (what the Muse
// client speaks, so it works against any v1 hub). Its local side is a hub too — the embedded
// default in a directory — so the library's own pack builder makes what it sends: a push is
// the local hub's fetch of what the remote lacks, split the way the Muse client splits it
// (objects through /push/objects in batches, then the bundle without them through /push).
// A clone stores the remote's bundle in DIR/.musehub and writes the branch head's files into
// DIR; a pull fetches what the remote has beyond the local commits and updates the files.

#include <musehub/hub.hpp>
#include <musehub/wire/v1.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
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

// The v1 endpoints of one remote repo, each call one request; a refusal becomes an error that
// says what the hub said.
class V1Remote {
public:
    explicit V1Remote(RemoteUrl url, std::string token = {})
        : url_(std::move(url)), http_(url_.host, url_.port), token_(std::move(token)) {
        http_.set_read_timeout(600, 0);
        http_.set_write_timeout(600, 0);
    }

    const RemoteUrl& url() const { return url_; }

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
    void upload(const std::string& bundle) { call("POST", "push/objects", bundle); }
    nlohmann::json push(const std::string& body) { return msgpack(call("POST", "push", body)); }
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

private:
    template <class Id>
    static nlohmann::json hex(const std::vector<Id>& ids) {
        auto out = nlohmann::json::array();
        for (const auto& id : ids)
            out.push_back(id.hex());
        return out;
    }
    static std::string to_msgpack(const nlohmann::json& j) {
        auto bytes = nlohmann::json::to_msgpack(j);
        return {bytes.begin(), bytes.end()};
    }
    static nlohmann::json msgpack(const std::string& body) {
        return nlohmann::json::from_msgpack(body.begin(), body.end());
    }

    std::string call(const std::string& method, const std::string& endpoint,
                     const std::string& body) {
        const auto path = "/" + url_.repo + "/" + endpoint;
        httplib::Headers headers{{"Accept", "application/x-msgpack, application/json"}};
        if (!token_.empty())
            headers.emplace("Authorization", "Bearer " + token_);
        auto r = method == "GET" ? http_.Get(path, headers)
                                 : http_.Post(path, headers, body, "application/x-msgpack");
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
        return std::move(r->body);
    }

    RemoteUrl url_;
    httplib::Client http_;
    std::string token_;
};

// What a push sent.
struct PushReport {
    std::size_t commits = 0, objects = 0, objects_sent = 0;
    std::uint64_t bytes_sent = 0;
    bool up_to_date = false;
    CommitId head;
};

// Pushes `branch` of the local hub's `repo` to the remote (objects the remote lacks, in
// requests of at most 400 objects and 32 MiB, as the Muse client sends them; then the bundle).
template <class H>
PushReport push_v1(H& local, const std::string& repo, const std::string& branch, bool force,
                   V1Remote& remote) {
    static_assert(std::is_same_v<typename H::wire_type, wire::v1>);
    PushReport report;
    auto head = local.branch_head(repo, branch);
    if (!head)
        throw error(errc::not_found, "local repo '" + repo + "' has no branch '" + branch + "'");
    report.head = *head;
    auto remote_heads = remote.heads();
    if (auto at = remote_heads.find(branch); at != remote_heads.end() && at->second == *head) {
        report.up_to_date = true;
        return report;
    }
    std::vector<CommitId> known;
    for (const auto& [name, h] : remote_heads)
        known.push_back(h);
    auto have = local.negotiate(repo, FetchRequest{{*head}, known}).ack;
    auto bytes = local.fetch(repo, FetchRequest{{*head}, have}).bytes;
    auto pack = local.wire().decode_pack(bytes, local.options().limits);
    report.commits = pack.commits.size();
    report.objects = pack.objects.size();

    std::vector<ObjectId> ids;
    for (const auto& o : pack.objects)
        ids.push_back(o.id);
    auto missing = remote.missing(ids);
    std::unordered_set<ObjectId> wanted(missing.begin(), missing.end());
    Pack batch;
    std::uint64_t batch_bytes = 0;
    auto flush = [&] {
        if (batch.objects.empty())
            return;
        auto body = local.wire().encode_pack(batch);
        remote.upload(std::string(reinterpret_cast<const char*>(body.data()), body.size()));
        report.objects_sent += batch.objects.size();
        report.bytes_sent += body.size();
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
    remote.push(std::string(reinterpret_cast<const char*>(body.data()), body.size()));
    return report;
}

// Writes the files of `commit` into `dir` (removing those of `previous` it no longer has).
template <class H>
std::size_t checkout(const H& local, const std::string& repo, const CommitId& commit,
                     const std::filesystem::path& dir, const std::optional<CommitId>& previous) {
    auto tree = local.tree_of(repo, commit);
    if (previous) {
        std::set<std::string> keep;
        for (const auto& e : tree.manifest)
            keep.insert(e.path);
        for (const auto& e : local.tree_of(repo, *previous).manifest)
            if (!keep.count(e.path))
                std::filesystem::remove(dir / e.path);
    }
    std::map<ObjectId, std::vector<std::string>> paths;
    for (const auto& e : tree.manifest)
        paths[e.object].push_back(e.path);
    std::vector<ObjectId> ids;
    for (const auto& [id, p] : paths)
        ids.push_back(id);
    std::size_t written = 0;
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
    });
    return written;
}

// The remote a clone came from, kept in DIR/.musehub/remote: url, branch, checked-out head.
struct CloneState {
    std::string url, branch;
    CommitId head;

    static std::filesystem::path file(const std::filesystem::path& dir) {
        return dir / ".musehub" / "remote";
    }
    void save(const std::filesystem::path& dir) const {
        std::ofstream out(file(dir), std::ios::trunc);
        out << url << "\n" << branch << "\n" << head.hex() << "\n";
        if (!out)
            throw error(errc::io, "cannot write " + file(dir).string());
    }
    static CloneState load(const std::filesystem::path& dir) {
        std::ifstream in(file(dir));
        CloneState s;
        std::string head;
        if (!(in >> s.url >> s.branch >> head))
            throw error(errc::not_found, dir.string() +
                                             " is not a musehub clone (no .musehub/remote); "
                                             "make one with `musehub clone URL DIR`");
        s.head = CommitId::from_hex(head);
        return s;
    }
};

// Fetches what the remote has beyond `have` and stores every branch in the local hub (as the
// remote has them: remote-tracking, forced). Returns the remote's heads.
template <class H>
std::map<std::string, CommitId> fetch_into(H& local, const std::string& repo, V1Remote& remote,
                                           const std::vector<CommitId>& have) {
    auto heads = remote.heads();
    if (heads.empty())
        throw error(errc::not_found, "remote " + remote.url().text() + " has no branches");
    std::vector<CommitId> want;
    for (const auto& [name, head] : heads)
        want.push_back(head);
    // Negotiate in batches of 64, as the Muse client does, until the hub is ready.
    std::vector<CommitId> ack;
    for (std::size_t at = 0; at < have.size(); at += 64) {
        std::vector<CommitId> batch(
            have.begin() + static_cast<std::ptrdiff_t>(at),
            have.begin() + static_cast<std::ptrdiff_t>(std::min(at + 64, have.size())));
        bool ready = false;
        auto got = remote.negotiate(want, batch, ready);
        ack.insert(ack.end(), got.begin(), got.end());
        if (ready)
            break;
    }
    auto bundle = remote.fetch(want, ack);
    const auto bytes = BytesView(reinterpret_cast<const std::byte*>(bundle.data()), bundle.size());
    bool first = true;
    for (const auto& [name, head] : heads) {
        if (first) // the whole bundle once; its branch_heads name every branch's head
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
