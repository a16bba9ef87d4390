// End to end: `musehub serve` started as a process on an ephemeral loopback port and driven
// over HTTP — with the exact request bodies the real Muse 0.1.5 client sent (vectors/), and
// with requests this test builds: concurrent pushes, large objects, malformed and oversized
// bodies, tokens, and a shutdown in the middle of a push.

#include "contract/fixtures/temp_dir.hpp"
#include "contract/history.hpp"
#include "e2e/server_process.hpp"

#include "musehub/algo/index.hpp"
#include "musehub/algo/stream_push.hpp"
#include "musehub/algo/verify.hpp"
#include "musehub/core/delta_chains.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/fs/job_queue.hpp"
#include "musehub/wire/frames.hpp"
#include "musehub/wire/v1.hpp"
#include "musehub/wire/v2.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <thread>

using namespace musehub;
using nlohmann::json;

namespace {

const std::filesystem::path vectors{MUSEHUB_VECTORS_DIR};
const wire::v1 codec;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string as_string(const Bytes& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

json msgpack_of(const std::string& body) {
    return json::from_msgpack(body.begin(), body.end());
}

std::set<std::string> ids_of(const json& records, const char* key) {
    std::set<std::string> ids;
    for (const auto& r : records)
        ids.insert(r.at(key).get<std::string>());
    return ids;
}

httplib::Result post(httplib::Client& c, const std::string& path, const std::string& body) {
    return c.Post(path, body, "application/x-msgpack");
}

// The branch heads /refs answers for `repo`.
json heads(httplib::Client& c, const std::string& repo) {
    auto r = c.Get("/" + repo + "/refs");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return msgpack_of(r->body).at("branch_heads");
}

std::string push_body(const Pack& pack, const std::string& branch, bool force = false) {
    return as_string(codec.encode_push(PushRequest{pack, branch, force, {}}));
}

// Replays the real client's 33 captured requests, in order, against the server at `port`
// (under repo `repo` instead of alice/vectors), checking every answer against the captured one.
void replay_session(int port, const std::string& repo) {
    httplib::Client client("127.0.0.1", port);
    std::ifstream index(vectors / "http" / "index.jsonl");
    REQUIRE(index.good());
    std::size_t replayed = 0;
    for (std::string line; std::getline(index, line);) {
        const auto step = json::parse(line);
        const auto method = step.at("method").get<std::string>();
        auto path = step.at("path").get<std::string>();
        REQUIRE(path.starts_with("/alice/vectors/"));
        path = "/" + repo + path.substr(std::string_view("/alice/vectors").size());
        INFO("step " << step.at("seq") << " (" << step.at("scenario").get<std::string>()
                     << "): " << method << " " << path);
        std::string body;
        if (method != "GET")
            body = read_file(vectors / "http" / step.at("request_file").get<std::string>());
        auto got = method == "GET" ? client.Get(path) : post(client, path, body);
        REQUIRE(got);
        INFO("answer: " << got->body.substr(0, 400));
        REQUIRE(got->status == step.at("status").get<int>());
        ++replayed;
        if (got->status != 200) { // the diverged push: 409 and a JSON reason
            CHECK(got->get_header_value("Content-Type") == "application/json");
            CHECK(json::parse(got->body).at("detail").get<std::string>().find("non_fast_forward") !=
                  std::string::npos);
            continue;
        }
        CHECK(got->get_header_value("Content-Type") == "application/x-msgpack");
        const auto answer = msgpack_of(got->body);
        const auto expected =
            msgpack_of(read_file(vectors / "http" / step.at("response_file").get<std::string>()));
        const auto endpoint = path.substr(path.find('/', path.find('/', 1) + 1) + 1);
        if (endpoint == "refs") {
            CHECK(answer.at("branch_heads") == expected.at("branch_heads"));
            CHECK(answer.at("domain") == "code");
            CHECK(answer.at("default_branch") == expected.at("default_branch"));
            CHECK(answer.at("repo_id").get<std::string>().size() == 36);
        } else if (endpoint == "filter-objects") {
            CHECK(answer.at("missing") == expected.at("missing"));
        } else if (endpoint == "presign") {
            CHECK(answer.at("presigned").empty());
            CHECK(answer.at("inline") == expected.at("inline"));
        } else if (endpoint == "push/objects") {
            CHECK(answer.at("stored") == expected.at("stored"));
            CHECK(answer.at("skipped") == expected.at("skipped"));
        } else if (endpoint == "push") {
            CHECK(answer.at("ok") == true);
            CHECK(answer.at("branch_heads") == expected.at("branch_heads"));
            CHECK(answer.at("remote_head") == expected.at("remote_head"));
        } else if (endpoint == "negotiate") {
            std::set<std::string> a(answer.at("ack").begin(), answer.at("ack").end());
            std::set<std::string> e(expected.at("ack").begin(), expected.at("ack").end());
            CHECK(a == e);
            CHECK(answer.at("ready") == expected.at("ready"));
        } else if (endpoint == "fetch") {
            CHECK(ids_of(answer.at("commits"), "commit_id") ==
                  ids_of(expected.at("commits"), "commit_id"));
            CHECK(answer.at("branch_heads") == expected.at("branch_heads"));
            auto sent = ids_of(answer.at("objects"), "object_id");
            auto theirs = ids_of(expected.at("objects"), "object_id");
            // A clone gets every object; a pull only those the client lacks (the stub sent
            // every object of the new snapshots: legal, but more).
            if (msgpack_of(body).at("have").empty())
                CHECK(sent == theirs);
            else
                CHECK(std::includes(theirs.begin(), theirs.end(), sent.begin(), sent.end()));
            for (const auto& o : answer.at("objects")) { // the client re-hashes every byte
                const auto& bin = o.at("content").get_binary();
                CHECK(sha256(BytesView(reinterpret_cast<const std::byte*>(bin.data()), bin.size()))
                          .hex() == o.at("object_id").get<std::string>());
            }
        }
    }
    CHECK(replayed == 33);
}

} // namespace

TEST_CASE("E2E-1 the real client's captured session replays against musehub serve",
          "[e2e][v1][interop]") {
    contract::TempDir dir("musehub-e2e");
    e2e::ServerProcess server(dir.path());
    replay_session(server.port(), "alice/vectors");
    CHECK(server.stop() == 0);
    auto [rc, out] = e2e::run_tool({"fsck", "--data", dir.path().string(), "--no-fsync"});
    INFO(out);
    CHECK(rc == 0);
    CHECK(server.log().find("POST /alice/vectors/push 409") != std::string::npos);
}

TEST_CASE("E2E-2 bad requests get a clear refusal and change nothing", "[e2e][v1]") {
    contract::TempDir dir("musehub-e2e");
    std::ofstream(dir.path() / "tokens") << "# writers\nsecret-token\n";
    e2e::ServerProcess server(
        dir.path(), {"--max-body", "200000", "--tokens", (dir.path() / "tokens").string()});
    httplib::Client client("127.0.0.1", server.port());
    httplib::Headers auth{{"Authorization", "Bearer secret-token"}};

    contract::Client c("alice");
    c.write("README.md", "# demo\n");
    auto base = c.commit("base");
    auto first = client.Post("/alice/demo/push", auth, push_body(c.pack(base), "main"),
                             "application/x-msgpack");
    REQUIRE(first);
    REQUIRE(first->status == 200);
    const auto before = heads(client, "alice/demo");

    auto refused = [&](const httplib::Result& r, int status, std::string_view says) {
        REQUIRE(r);
        CHECK(r->status == status);
        CHECK(r->get_header_value("Content-Type") == "application/json");
        auto detail = json::parse(r->body).at("detail").get<std::string>();
        INFO(detail);
        CHECK(detail.find(says) != std::string::npos);
        CHECK(heads(client, "alice/demo") == before);
    };
    SECTION("writes need a token; reads do not") {
        refused(post(client, "/alice/demo/push", push_body(c.pack(base), "main")), 401, "token");
        httplib::Headers wrong{{"Authorization", "Bearer guess"}};
        refused(client.Post("/alice/demo/push", wrong, push_body(c.pack(base), "main"),
                            "application/x-msgpack"),
                401, "token");
        auto r = post(client, "/alice/demo/fetch", // a clone sends no token
                      as_string(codec.encode_fetch(FetchRequest{{base}, {}})));
        REQUIRE(r);
        CHECK(r->status == 200);
    }
    SECTION("malformed bodies: 400 with the reason") {
        refused(client.Post("/alice/demo/push", auth, "\xc1 not msgpack", "application/x-msgpack"),
                400, "msgpack");
        refused(client.Post("/alice/demo/filter-objects", auth, as_string(codec.encode_fetch({})),
                            "application/x-msgpack"),
                400, "object_ids");
        auto forged = c.pack(base);
        forged.commits[0].message = "rewritten history"; // no longer hashes to its id
        refused(client.Post("/alice/demo/push", auth, push_body(forged, "main", true),
                            "application/x-msgpack"),
                400, "bad_commit_id");
    }
    SECTION("oversized bodies: 413 from the headers, before the body is read") {
        std::string big(300'000, 'x');
        refused(client.Post("/alice/demo/push/objects", auth, big, "application/x-msgpack"), 413,
                "--max-body");
    }
    SECTION("unknown endpoints, repos and methods") {
        refused(client.Get("/alice/demo/nothing-here"), 404, "no such endpoint");
        refused(client.Get("/alice/demo/push"), 405, "POST");
        refused(client.Post("/nobody/nothing/fetch", auth,
                            as_string(codec.encode_fetch(FetchRequest{{base}, {}})),
                            "application/x-msgpack"),
                404, "does not exist");
    }
    CHECK(server.stop() == 0);
    auto [rc, out] = e2e::run_tool({"fsck", "--data", dir.path().string(), "--no-fsync"});
    INFO(out);
    CHECK(rc == 0);
}

TEST_CASE("E2E-3 concurrent pushes to one branch: exactly one wins each race", "[e2e][v1]") {
    contract::TempDir dir("musehub-e2e");
    e2e::ServerProcess server(dir.path(), {"--workers", "0"});
    httplib::Client setup("127.0.0.1", server.port());

    contract::Client c("team"); // both sides' commits, each a child of the same tip
    c.write("shared.txt", "base");
    auto base = c.commit("base");
    REQUIRE(post(setup, "/team/repo/push", push_body(c.pack(base), "main"))->status == 200);
    auto tip = base;
    for (int round = 0; round < 8; ++round) {
        c.checkout(tip);
        c.write("a.txt", "a" + std::to_string(round));
        auto ta = c.commit("a");
        c.checkout(tip);
        c.write("b.txt", "b" + std::to_string(round));
        auto tb = c.commit("b");
        std::array<std::string, 2> bodies{push_body(c.pack(ta, {tip}), "main"),
                                          push_body(c.pack(tb, {tip}), "main")};
        std::array<int, 2> status{};
        std::array<std::string, 2> said;
        std::atomic<int> ready{0};
        std::vector<std::thread> pushers;
        for (int i = 0; i < 2; ++i)
            pushers.emplace_back([&, i] {
                httplib::Client c("127.0.0.1", server.port());
                ++ready;
                while (ready < 2) {
                }
                auto r = post(c, "/team/repo/push", bodies[i]);
                status[i] = r ? r->status : -1;
                said[i] = r ? r->body : "";
            });
        for (auto& t : pushers)
            t.join();
        INFO("round " << round << ": " << status[0] << " " << said[0] << " / " << status[1] << " "
                      << said[1]);
        REQUIRE(std::count(status.begin(), status.end(), 200) == 1);
        REQUIRE(std::count(status.begin(), status.end(), 409) == 1);
        const int loser = status[0] == 409 ? 0 : 1;
        CHECK(json::parse(said[loser]).at("detail").get<std::string>().size() > 10);
        tip = status[0] == 200 ? ta : tb;
        CHECK(heads(setup, "team/repo").at("main") == tip.hex());
    }
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-4 large objects go up through push/objects and come back byte for byte",
          "[e2e][v1]") {
    contract::TempDir dir("musehub-e2e");
    e2e::ServerProcess server(dir.path());
    httplib::Client client("127.0.0.1", server.port());
    std::mt19937_64 rng(4);
    std::string large(5u << 20, '\0');
    for (auto& ch : large)
        ch = static_cast<char>(rng());
    contract::Client c;
    c.write("big/large.bin", large);
    c.write("small.txt", "small");
    auto head = c.commit("large");
    auto pack = c.pack(head);

    Pack objects; // the client uploads objects first, then pushes the bundle without them
    objects.objects = pack.objects;
    auto uploaded =
        post(client, "/alice/large/push/objects", as_string(codec.encode_pack(objects)));
    REQUIRE(uploaded);
    REQUIRE(uploaded->status == 200);
    CHECK(msgpack_of(uploaded->body).at("stored") == 2);
    pack.objects.clear();
    auto pushed = post(client, "/alice/large/push", push_body(pack, "main"));
    REQUIRE(pushed);
    REQUIRE(pushed->status == 200);

    auto clone =
        post(client, "/alice/large/fetch", as_string(codec.encode_fetch(FetchRequest{{head}, {}})));
    REQUIRE(clone);
    REQUIRE(clone->status == 200);
    auto bundle = msgpack_of(clone->body);
    bool found = false;
    for (const auto& o : bundle.at("objects")) {
        const auto& bin = o.at("content").get_binary();
        if (bin.size() == large.size()) {
            found = true;
            CHECK(std::equal(bin.begin(), bin.end(),
                             reinterpret_cast<const std::uint8_t*>(large.data())));
        }
    }
    CHECK(found);
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-5 SIGTERM in the middle of a push: it finishes or leaves nothing", "[e2e][v1]") {
    contract::TempDir dir("musehub-e2e");
    contract::Client c;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 40; ++i) {
        std::string content(256u << 10, '\0');
        for (auto& ch : content)
            ch = static_cast<char>(rng());
        c.write("f/" + std::to_string(i), content);
    }
    auto head = c.commit("many");
    const auto body = push_body(c.pack(head), "main"); // ~10 MB, objects inline
    int pushed_status = 0;
    {
        e2e::ServerProcess server(dir.path(), {"--max-body", "67108864"});
        std::thread pusher([&] {
            httplib::Client client("127.0.0.1", server.port());
            client.set_read_timeout(30, 0);
            auto r = post(client, "/alice/busy/push", body);
            pushed_status = r ? r->status : -1;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(30)); // the push is under way
        CHECK(server.stop(SIGTERM) == 0);
        pusher.join();
        INFO(server.log());
        CHECK((pushed_status == 200 || pushed_status == -1));
    }
    // Whatever happened, the hub is consistent, and the push either landed whole or not at all.
    auto [rc, out] = e2e::run_tool({"fsck", "--data", dir.path().string(), "--no-fsync"});
    INFO(out);
    CHECK(rc == 0);
    e2e::ServerProcess again(dir.path());
    httplib::Client client("127.0.0.1", again.port());
    auto r = client.Get("/alice/busy/refs");
    REQUIRE(r);
    auto branch = msgpack_of(r->body).at("branch_heads");
    if (pushed_status == 200)
        CHECK(branch.at("main") == head.hex());
    else
        CHECK((branch.empty() || branch.at("main") == head.hex()));
    CHECK(again.stop() == 0);
}

TEST_CASE("E2E-6 wire v2 over HTTP: pack push, stream push, streamed fetch, refusals",
          "[e2e][v2]") {
    contract::TempDir dir("musehub-e2e");
    e2e::ServerProcess server(dir.path());
    httplib::Client client("127.0.0.1", server.port());
    const wire::v2 v2;
    auto bytes_of = [](const std::string& s) {
        return BytesView(reinterpret_cast<const std::byte*>(s.data()), s.size());
    };

    contract::Client c;
    std::mt19937_64 rng(6);
    std::string noise(3u << 20, '\0'); // the fetch answer spans several pieces
    for (auto& ch : noise)
        ch = static_cast<char>(rng());
    c.write("noise.bin", noise);
    c.write("README.md", "# v2\n");
    auto base = c.commit("base");

    // The pack upload.
    auto pushed = post(client, "/v2/alice/fast/push",
                       as_string(v2.encode_push(PushRequest{c.pack(base), "main", false, {}})));
    REQUIRE(pushed);
    INFO(pushed->body);
    REQUIRE(pushed->status == 200);
    auto answer = msgpack_of(pushed->body);
    CHECK(answer.at("outcome") == "created");
    CHECK(answer.at("head") == "sha256:" + base.hex());
    auto refs = client.Get("/v2/alice/fast/refs");
    REQUIRE(refs);
    CHECK(msgpack_of(refs->body).at("branch_heads").at("main") == "sha256:" + base.hex());

    // The stream push of the next commit.
    c.write("README.md", "# v2, streamed\n");
    auto tip = c.commit("streamed");
    auto next = c.pack(tip, {base});
    Pack objects;
    for (const auto& o : next.objects)
        objects.add_object(o.stored);
    Pack history;
    history.commits = next.commits;
    history.snapshots = next.snapshots;
    wire::frames::Header header{
        "alice/fast", "main", base.digest, false, objects.objects.size(), history.commits.size()};
    auto request = algo::stream_push_request(header, std::vector<Pack>{objects}, history);
    auto streamed = post(client, "/v2/alice/fast/push/stream", as_string(request));
    REQUIRE(streamed);
    REQUIRE(streamed->status == 200);
    CHECK(streamed->get_header_value("Transfer-Encoding") == "chunked"); // frames as they come
    wire::frames::FrameReader reader(1u << 30);
    reader.feed(bytes_of(streamed->body));
    std::optional<wire::frames::Result> result;
    std::size_t progress = 0;
    while (auto f = reader.next()) {
        if (f->type == wire::frames::FrameType::progress)
            ++progress;
        if (f->type == wire::frames::FrameType::result)
            result = wire::frames::decode_result(f->payload, {});
        CHECK(f->type != wire::frames::FrameType::error);
    }
    REQUIRE(result);
    CHECK(result->head == tip.digest);
    CHECK(progress >= 2);

    // A stream sent to another repo than its header names is refused in an X frame.
    auto elsewhere = post(client, "/v2/alice/other/push/stream", as_string(request));
    REQUIRE(elsewhere);
    CHECK(elsewhere->body.find("was sent to 'alice/other'") != std::string::npos);

    // The fetch, streamed (chunked): the whole history, every id re-derived by decoding.
    auto clone =
        post(client, "/v2/alice/fast/fetch", as_string(v2.encode_fetch(FetchRequest{{tip}, {}})));
    REQUIRE(clone);
    REQUIRE(clone->status == 200);
    CHECK(clone->get_header_value("Transfer-Encoding") == "chunked");
    auto pack = v2.decode_pack(bytes_of(clone->body), Limits{});
    CHECK(pack.commits.size() == 2);
    CHECK(pack.branch_heads.at("main") == tip);
    CHECK_NOTHROW(for_each_verified(std::span<const PackObject>(pack.objects), Limits{},
                                    [](const PackObject&, BytesView) {}));
    // The same repo through the Muse client's endpoints.
    auto v1clone =
        post(client, "/alice/fast/fetch", as_string(codec.encode_fetch(FetchRequest{{tip}, {}})));
    REQUIRE(v1clone);
    CHECK(v1clone->status == 200);

    // Refused before the first byte: a commit the repo lacks is 404, not a cut stream.
    auto unknown = post(client, "/v2/alice/fast/fetch",
                        as_string(v2.encode_fetch(FetchRequest{{CommitId{sha256("no")}}, {}})));
    REQUIRE(unknown);
    CHECK(unknown->status == 404);
    CHECK(json::parse(unknown->body).at("detail").get<std::string>().find("not in repo") !=
          std::string::npos);
    // The fs store cannot presign: 501 says what to do instead.
    auto presign = post(client, "/v2/alice/fast/presign", "\x80");
    REQUIRE(presign);
    CHECK(presign->status == 501);
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-7 the tool's client: import-git, push and clone over both wires, pull",
          "[e2e][tool]") {
    contract::TempDir dir("musehub-e2e");
    const auto git = dir.path() / "git";
    auto sh = [&](const std::string& command) {
        INFO(command);
        REQUIRE(std::system(
                    ("cd '" + git.string() + "' && " + command + " > /dev/null 2>&1").c_str()) ==
                0);
    };
    std::filesystem::create_directories(git / "src");
    sh("git init -q -b main . && git config user.name t && git config user.email t@example.com");
    std::ofstream(git / "README.md") << "# demo\n";
    std::ofstream(git / "src" / "a.txt") << "a\n";
    sh("git add -A && git commit -q -m one");
    std::ofstream(git / "src" / "a.txt") << "a, changed\n";
    std::ofstream(git / "empty.txt");
    sh("git add -A && git commit -q -m two && git checkout -q -b side HEAD~1");
    std::ofstream(git / "side.txt") << "side\n";
    sh("git add -A && git commit -q -m side && git checkout -q main");

    const auto local = (dir.path() / "local").string();
    auto tool = [&](std::vector<std::string> args) {
        auto [rc, out] = e2e::run_tool(args);
        INFO("musehub " << args.front() << ": " << out);
        REQUIRE(rc == 0);
        return out;
    };
    auto same_files = [&](const std::string& branch, const std::filesystem::path& clone) {
        const auto expect = dir.path() / ("expect-" + branch);
        std::filesystem::create_directories(expect);
        sh("git archive " + branch + " | tar -x -C '" + expect.string() + "'");
        std::size_t files = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(expect)) {
            if (!e.is_regular_file())
                continue;
            ++files;
            auto rel = std::filesystem::relative(e.path(), expect);
            INFO(rel);
            REQUIRE(std::filesystem::exists(clone / rel));
            CHECK(read_file(clone / rel) == read_file(e.path()));
        }
        return files;
    };
    CHECK(tool({"import-git", git.string(), "--repo", "t/demo", "--data", local, "--no-fsync"})
              .find("imported 3 commits") != std::string::npos);

    e2e::ServerProcess server(dir.path() / "hub");
    const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/t/demo";
    const auto url2 = "http://127.0.0.1:" + std::to_string(server.port()) + "/t/demo2";
    tool({"push", url, "--repo", "t/demo", "--data", local, "--no-fsync"});
    tool({"push", url2, "--repo", "t/demo", "--data", local, "--no-fsync", "--wire", "v2"});
    CHECK(
        tool({"push", url, "--repo", "t/demo", "--data", local, "--no-fsync"}).find("up to date") !=
        std::string::npos);
    for (const auto& [u, w] : {std::pair{url, "v1"}, std::pair{url2, "v2"}})
        for (std::string b : {"main", "side"}) {
            auto clone = dir.path() / ("clone-" + std::string(w) + "-" + b);
            tool({"clone", u, clone.string(), "--branch", b, "--wire", w});
            CHECK(same_files(b, clone) == (b == "main" ? 3u : 3u));
        }

    // New work on main, imported and pushed; a pull brings it into the v2 clone.
    std::ofstream(git / "src" / "a.txt") << "a, changed again\n";
    sh("git add -A && git commit -q -m three");
    tool({"import-git", git.string(), "--repo", "t/demo", "--data", local, "--no-fsync", "--branch",
          "main"});
    tool({"push", url2, "--repo", "t/demo", "--data", local, "--no-fsync", "--wire", "v2"});
    auto pulled = tool({"pull", (dir.path() / "clone-v2-main").string()});
    CHECK(pulled.find("1 files written") != std::string::npos); // only what changed
    std::filesystem::remove_all(dir.path() / "expect-main");
    same_files("main", dir.path() / "clone-v2-main");
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-8 the server on S3 + PostgreSQL: the client's session, and a presigned push",
          "[e2e][v2][servers]") {
    const char* pg = std::getenv("MUSEHUB_PG_URL");
    const char* s3 = std::getenv("MUSEHUB_S3_ENDPOINT");
    if (!pg || !s3)
        FAIL("MUSEHUB_PG_URL / MUSEHUB_S3_ENDPOINT are not set: run the suites through "
             "scripts/servers.sh (scripts/test.sh does)");
    contract::TempDir dir("musehub-e2e");
    const auto run = std::to_string(::getpid());
    e2e::ServerProcess server(dir.path(),
                              {"--store", "s3://musehub-test/e2e-" + run + "/", "--catalog", pg,
                               "--workers", "0", "--presign-fetch-above", "100000"});
    replay_session(server.port(), "alice/vectors-" + run);

    // Presigned push: the objects go straight to S3, are confirmed, then a pack without them.
    httplib::Client client("127.0.0.1", server.port());
    const wire::v2 v2;
    const std::string repo = "/v2/alice/presigned-" + run;
    contract::Client c;
    c.write("big.bin", std::string(200'000, 'b'));
    c.write("small.txt", "small");
    auto head = c.commit("presigned");
    auto pack = c.pack(head);
    json ask = {{"objects", json::array()}};
    for (const auto& o : pack.objects)
        ask["objects"].push_back({{"id", "sha256:" + o.id.hex()}, {"size", o.raw_size}});
    auto bytes = json::to_msgpack(ask);
    auto presigned = post(client, repo + "/presign", std::string(bytes.begin(), bytes.end()));
    REQUIRE(presigned);
    INFO(presigned->body);
    REQUIRE(presigned->status == 200);
    auto uploads = msgpack_of(presigned->body).at("uploads");
    REQUIRE(uploads.size() == 2);
    json confirm = {{"uploads", json::array()}};
    for (const auto& u : uploads) {
        const auto id = u.at("id").get<std::string>().substr(7);
        const auto& o = *std::find_if(pack.objects.begin(), pack.objects.end(),
                                      [&](const PackObject& x) { return x.id.hex() == id; });
        auto url = u.at("url").get<std::string>(); // http://HOST:PORT/PATH?QUERY
        auto host_end = url.find('/', 7);
        auto host = url.substr(7, host_end - 7);
        httplib::Client storage(host.substr(0, host.find(':')),
                                std::stoi(host.substr(host.find(':') + 1)));
        httplib::Headers headers;
        for (const auto& [k, v] : u.at("headers").items())
            headers.emplace(k, v.get<std::string>());
        auto put = storage.Put(
            url.substr(host_end), headers,
            std::string(reinterpret_cast<const char*>(o.stored.data()), o.stored.size()),
            "application/octet-stream");
        REQUIRE(put);
        INFO(put->body);
        REQUIRE(put->status == 200);
        confirm["uploads"].push_back({{"id", u.at("id")}, {"key", u.at("key")}});
    }
    bytes = json::to_msgpack(confirm);
    auto confirmed = post(client, repo + "/confirm", std::string(bytes.begin(), bytes.end()));
    REQUIRE(confirmed);
    INFO(confirmed->body);
    REQUIRE(confirmed->status == 200);
    CHECK(msgpack_of(confirmed->body).at("registered").size() == 2);
    pack.objects.clear(); // named, not carried: the hub has them
    auto pushed = post(client, repo + "/push",
                       as_string(v2.encode_push(PushRequest{pack, "main", false, {}})));
    REQUIRE(pushed);
    INFO(pushed->body);
    REQUIRE(pushed->status == 200);
    // Over 100,000 bytes, the fetch answers a presigned URL to the pack in S3, not the pack.
    auto clone =
        post(client, repo + "/fetch", as_string(v2.encode_fetch(FetchRequest{{head}, {}})));
    REQUIRE(clone);
    REQUIRE(clone->status == 200);
    REQUIRE(clone->get_header_value("Content-Type") == "application/x-msgpack");
    auto where = msgpack_of(clone->body);
    auto url = where.at("url").get<std::string>();
    auto host_end = url.find('/', 7);
    auto host = url.substr(7, host_end - 7);
    httplib::Client storage(host.substr(0, host.find(':')),
                            std::stoi(host.substr(host.find(':') + 1)));
    auto fetched = storage.Get(url.substr(host_end));
    REQUIRE(fetched);
    REQUIRE(fetched->status == 200);
    const auto pack_bytes =
        BytesView(reinterpret_cast<const std::byte*>(fetched->body.data()), fetched->body.size());
    CHECK("sha256:" + sha256(pack_bytes).hex() == where.at("pack").get<std::string>());
    CHECK(where.at("size") == fetched->body.size());
    auto got = v2.decode_pack(pack_bytes, Limits{});
    CHECK(got.objects.size() == 2);
    // The tool's client follows the URL and checks the pack id itself.
    auto [rc, out] = e2e::run_tool(
        {"clone", "http://127.0.0.1:" + std::to_string(server.port()) + "/alice/presigned-" + run,
         (dir.path() / "clone").string(), "--wire", "v2"});
    INFO(out);
    CHECK(rc == 0);
    CHECK(read_file(dir.path() / "clone" / "big.bin") == std::string(200'000, 'b'));
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-9 the server's worker runs queued jobs; `jobs retry` runs a failed one again",
          "[e2e][tool]") {
    contract::TempDir dir("musehub-e2e");
    const auto data = dir.path().string();
    { // An index job for a pack that was never uploaded: it can only fail.
        fs::JobQueue queue(dir.path() / "hub.db", fs::JobQueue::Options{false});
        queue.enqueue(JobSpec{
            "index:never-uploaded", JobKind::index,
            algo::encode_index_request({"alice/jobs", "main", false, "v1/packs/00/never-uploaded"}),
            1, now_ms()});
    }
    e2e::ServerProcess server(dir.path(), {"--workers", "1"});
    auto states = [&] {
        auto [rc, out] = e2e::run_tool({"--json", "jobs", "list", "--data", data, "--no-fsync"});
        REQUIRE(rc == 0);
        std::map<std::string, std::string> s;
        for (const auto& j : json::parse(out))
            s[j.at("id").get<std::string>()] = j.at("state").get<std::string>();
        return s;
    };
    auto wait_failed = [&](std::size_t n) {
        for (int i = 0; i < 200; ++i) {
            auto s = states();
            if (std::count_if(s.begin(), s.end(), [](auto& kv) { return kv.second == "failed"; }) ==
                static_cast<long>(n))
                return s;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("jobs did not fail in time: " << server.log());
        return states();
    };
    auto first = wait_failed(1);
    CHECK(first.at("index:never-uploaded") == "failed");
    auto [rc, out] =
        e2e::run_tool({"jobs", "retry", "index:never-uploaded", "--data", data, "--no-fsync"});
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("queued again as index:never-uploaded#retry-") != std::string::npos);
    auto second = wait_failed(2); // the worker took it again (and it failed again: no pack)
    CHECK(second.size() == 2);
    auto [rc2, out2] =
        e2e::run_tool({"jobs", "retry", "nonexistent", "--data", data, "--no-fsync"});
    CHECK(rc2 != 0);
    CHECK(server.stop() == 0);
}
