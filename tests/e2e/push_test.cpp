// End to end: `musehub push` of histories larger than one push may be, against `musehub serve`
// as a process — split by commit count, by the body limit the hub advertises, and by refusals
// from a proxy that advertises none — over both wires; force pushes; and the client's errors,
// each of which must say what happened and what to do.

#include "contract/fixtures/temp_dir.hpp"
#include "e2e/server_process.hpp"

// The tool's client, for its messages per status (a header of the tool, not of the library).
#include "../../examples/musehub/client.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

using nlohmann::json;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bytes no compressor shrinks, so a pack's size is what the test makes it.
std::string noise(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

// The tool run to completion with stdout and stderr together (errors are on stderr); returns
// its exit status (-1 if a signal ended it) and what it printed.
std::pair<int, std::string> run_all(const std::vector<std::string>& args) {
    std::string cmd = std::string(MUSEHUB_TOOL);
    for (const auto& a : args)
        cmd += " '" + a + "'";
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A git repository the test writes commits into, and imports into a local hub with the tool.
class History {
public:
    explicit History(std::filesystem::path dir) : git_(dir / "git"), local_(dir / "local") {
        std::filesystem::create_directories(git_);
        sh("git init -q -b main . && git config user.name t && git config user.email t@e.x");
    }
    void sh(const std::string& command) const {
        INFO(command);
        REQUIRE(std::system(
                    ("cd '" + git_.string() + "' && " + command + " > /dev/null 2>&1").c_str()) ==
                0);
    }
    void write(const std::string& path, const std::string& content) const {
        std::filesystem::create_directories((git_ / path).parent_path());
        std::ofstream(git_ / path, std::ios::binary) << content;
    }
    void commit(const std::string& message) const {
        sh("git add -A && git commit -q -m " + message);
    }
    // Imports the branch into the local hub (repo t/src); returns the hub's head of it.
    std::string import(const std::string& branch = "main") const {
        auto [rc, out] =
            e2e::run_tool({"--json", "import-git", git_.string(), "--repo", "t/src", "--data",
                           local_.string(), "--no-fsync", "--branch", branch});
        INFO(out);
        REQUIRE(rc == 0);
        return json::parse(out).at("heads").at(branch).get<std::string>();
    }
    // `musehub push` of the local repo to `url`, with stdout and stderr.
    std::pair<int, std::string> push(const std::string& url, std::vector<std::string> more) const {
        std::vector<std::string> args{"push",          url,         "--repo", "t/src", "--data",
                                      local_.string(), "--no-fsync"};
        args.insert(args.end(), more.begin(), more.end());
        return run_all(args);
    }
    const std::filesystem::path& git() const { return git_; }

private:
    std::filesystem::path git_, local_;
};

// Clones `url` over `wire` into `dir` and checks it holds exactly the files of `rev` in the
// git history; returns how many files it compared.
std::size_t clone_matches(const History& h, const std::string& url, const std::string& wire,
                          const std::filesystem::path& dir, const std::string& rev) {
    auto [rc, out] = e2e::run_tool({"clone", url, (dir / "clone").string(), "--wire", wire});
    INFO(out);
    REQUIRE(rc == 0);
    std::filesystem::create_directories(dir / "expect");
    h.sh("git archive " + rev + " | tar -x -C '" + (dir / "expect").string() + "'");
    std::size_t files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "expect")) {
        if (!e.is_regular_file())
            continue;
        ++files;
        const auto rel = std::filesystem::relative(e.path(), dir / "expect");
        INFO(rel);
        REQUIRE(std::filesystem::exists(dir / "clone" / rel));
        CHECK(read_file(dir / "clone" / rel) == read_file(e.path()));
    }
    std::size_t cloned = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "clone"))
        cloned += e.is_regular_file() && e.path().string().find("/.musehub/") == std::string::npos;
    CHECK(cloned == files);
    return files;
}

// The commits the hub's copy in `clone` holds (its .musehub is a hub of its own).
std::size_t commits_in_clone(const std::filesystem::path& clone) {
    auto [rc, out] =
        e2e::run_tool({"--json", "stats", "--data", (clone / ".musehub").string(), "--no-fsync"});
    REQUIRE(rc == 0);
    return json::parse(out).at("commits").get<std::size_t>();
}

// Where the fs store of the hub in `data` keeps fetch answers it caches (keys "v1/fetch/…").
std::filesystem::path fetch_cache_of(const std::filesystem::path& data) {
    return data / "objects" / "objects" / "v1.d" / "fetch.d";
}

// N in "… commits in N push(es)", 0 if the output does not say.
std::size_t pushes_said(const std::string& out) {
    std::smatch m;
    static const std::regex form(R"((\d+) commits in (\d+) push\(es\))");
    return std::regex_search(out, m, form) ? std::stoul(m[2]) : 0;
}

// Successful pushes of `repo` in the server's access log, either wire. The server writes a
// line after its answer has gone out, so the last one may still be on its way when the client
// has exited: wait (at most 10 s) for `expected` of them before counting.
std::size_t pushes_logged(const e2e::ServerProcess& server, const std::string& repo,
                          std::size_t expected) {
    auto count = [&] {
        const auto log = server.log();
        std::size_t n = 0;
        for (const auto& path : {"POST /" + repo + "/push 200", "POST /v2/" + repo + "/push 200"})
            for (auto at = log.find(path); at != std::string::npos; at = log.find(path, at + 1))
                ++n;
        return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (count() < expected && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return count();
}

} // namespace

namespace {

// An HTTP proxy in front of a server, as nginx with a `client_max_body_size` would be: bodies
// over `max_body` bytes are refused (httplib answers 413, or the connection closes while the
// body is still going out), and the hub's X-Musehub-Max-Body is not passed on, so a client
// learns of the limit only by being refused.
class LimitingProxy {
public:
    LimitingProxy(int upstream, std::size_t max_body) : upstream_(upstream) {
        server_.set_payload_max_length(max_body);
        auto forward = [this](const httplib::Request& req, httplib::Response& res) {
            httplib::Client up("127.0.0.1", upstream_);
            up.set_read_timeout(120, 0);
            httplib::Headers headers;
            for (const char* name : {"Authorization", "Accept"})
                if (req.has_header(name))
                    headers.emplace(name, req.get_header_value(name));
            auto r = req.method == "GET" ? up.Get(req.path, headers)
                                         : up.Post(req.path, headers, req.body,
                                                   req.get_header_value("Content-Type").c_str());
            if (!r) {
                res.status = 502;
                return;
            }
            res.status = r->status;
            res.set_content(r->body, r->get_header_value("Content-Type").c_str());
        };
        server_.Get(R"(/.*)", forward);
        server_.Post(R"(/.*)", forward);
        server_.set_logger([this](const httplib::Request&, const httplib::Response& res) {
            refused_ += res.status == 413;
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    LimitingProxy(const LimitingProxy&) = delete;
    LimitingProxy& operator=(const LimitingProxy&) = delete;
    ~LimitingProxy() {
        server_.stop();
        thread_.join();
    }
    int port() const { return port_; }
    std::size_t refused() const { return refused_; }

private:
    int upstream_;
    int port_ = 0;
    httplib::Server server_;
    std::thread thread_;
    std::atomic<std::size_t> refused_{0};
};

// A loopback listener that hangs up on its clients: it reads a request's headers and closes
// the connection without a word (a hub that died mid-request, as the client sees it). With
// `refs_404`, a GET is answered 404 first (a v2 hub without the repo), so a push goes on to
// send its body — into a connection closed under it.
class Hangup {
public:
    explicit Hangup(bool refs_404 = false) : refs_404_(refs_404) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof at;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&at), len) == 0);
        REQUIRE(::listen(fd_, 8) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &len) == 0);
        port_ = ntohs(at.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 100) <= 0)
                    continue;
                if (int c = ::accept(fd_, nullptr, nullptr); c >= 0)
                    hang_up(c);
            }
        });
    }
    Hangup(const Hangup&) = delete;
    Hangup& operator=(const Hangup&) = delete;
    ~Hangup() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }

private:
    void hang_up(int c) const {
        std::string head;
        char buf[512];
        while (head.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            head.append(buf, static_cast<std::size_t>(n));
        }
        if (refs_404_ && head.starts_with("GET ")) {
            const std::string answer =
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        ::close(c); // a body still arriving makes this a reset: the sender's write fails
    }

    bool refs_404_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A history whose manifests are large (160 files, so a v1 bundle of commits and snapshots
// runs to ~17 KB a commit) and whose commits each add 16 KiB that no compressor shrinks (so a
// v2 pack runs to ~17 KB a commit too): 9 commits, ~150 KB on either wire, over a 64 KiB
// limit however it is sent.
void write_wide_history(const History& h) {
    for (int i = 0; i < 160; ++i)
        h.write("tree/file-" + std::to_string(1000 + i) + ".txt", "file " + std::to_string(i));
    h.commit("base");
    for (int i = 1; i <= 8; ++i) {
        h.write("tree/file-" + std::to_string(1000 + i) + ".txt", "changed " + std::to_string(i));
        h.write("blobs/noise-" + std::to_string(i) + ".bin", noise(16 << 10, i));
        h.commit("step-" + std::to_string(i));
    }
}

} // namespace

TEST_CASE("E2E-10 push --max-commits-per-push 3: a 10-commit history with a merge lands in "
          "several pushes on both wires, and its clone equals the source",
          "[e2e][tool][push]") {
    contract::TempDir dir("musehub-e2e");
    History h(dir.path());
    // main: c1 c2 c3 c4 m c5 c6 c7, where m merges side (s1 s2, from c2): 10 commits.
    auto commit = [&](const std::string& file, const std::string& name, int i) {
        h.write(file, std::string(static_cast<std::size_t>(i), name[0]));
        h.commit(name + std::to_string(i));
    };
    for (int i = 1; i <= 2; ++i)
        commit("main.txt", "c", i);
    h.sh("git checkout -q -b side");
    for (int i = 1; i <= 2; ++i)
        commit("side.txt", "s", i);
    h.sh("git checkout -q main");
    for (int i = 3; i <= 4; ++i)
        commit("main.txt", "c", i);
    h.sh("git merge -q --no-edit side");
    for (int i = 5; i <= 7; ++i)
        commit("main.txt", "c", i);
    const auto head = h.import();

    e2e::ServerProcess server(dir.path() / "hub");
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        const auto repo = "t/split-" + wire;
        const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/" + repo;
        auto [rc, out] = h.push(url, {"--wire", wire, "--max-commits-per-push", "3"});
        INFO(out);
        REQUIRE(rc == 0);
        // Steps c1 c2 c3 | c4 | m (with s1 s2) | c5 c6 c7: the merge's three commits go
        // together (its side history is not on the first-parent chain), so four pushes.
        CHECK(out.find("10 commits in 4 push(es)") != std::string::npos);
        CHECK(pushes_logged(server, repo, 4) == 4);
        const auto at = dir.path() / wire;
        CHECK(clone_matches(h, url, wire, at, "main") == 2);
        CHECK(commits_in_clone(at / "clone") == 10);
        CHECK(read_file(at / "clone" / ".musehub" / "remote").find(head) != std::string::npos);
        // The local hub kept none of the packs it built for the pushes (each is built once);
        // the server kept the one it built for the clone (so the path checked is the right one).
        CHECK_FALSE(std::filesystem::exists(fetch_cache_of(dir.path() / "local")));
        CHECK(std::filesystem::exists(fetch_cache_of(dir.path() / "hub")));
        // Again: nothing left to send.
        auto [rc2, again] = h.push(url, {"--wire", wire, "--max-commits-per-push", "3"});
        CHECK(rc2 == 0);
        CHECK(again.find("up to date") != std::string::npos);
    }
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-11 a hub with a 64 KiB --max-body takes a larger history in several pushes on "
          "both wires; one commit over the limit is refused by name and changes nothing",
          "[e2e][tool][push]") {
    contract::TempDir dir("musehub-e2e");
    History h(dir.path());
    write_wide_history(h);
    const auto head = h.import();
    e2e::ServerProcess server(dir.path() / "hub", {"--max-body", "65536"});
    { // The limit is on every answer, so a client sizes its pushes before sending any.
        httplib::Client c("127.0.0.1", server.port());
        auto refs = c.Get("/t/any/refs");
        REQUIRE(refs);
        CHECK(refs->get_header_value("X-Musehub-Max-Body") == "65536");
    }
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        const auto repo = "t/limited-" + wire;
        const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/" + repo;
        auto [rc, out] = h.push(url, {"--wire", wire});
        INFO(out << "\nserver log:\n" << server.log());
        REQUIRE(rc == 0);
        CHECK(pushes_said(out) > 1);
        CHECK(pushes_said(out) == pushes_logged(server, repo, pushes_said(out)));
        CHECK(server.log().find(" 413 ") == std::string::npos); // sized right the first time
        const auto at = dir.path() / wire;
        CHECK(clone_matches(h, url, wire, at, "main") == 168);
        CHECK(commits_in_clone(at / "clone") == 9);
    }
    // One commit of 100 KiB that no compressor shrinks: no split can make it fit.
    h.write("blobs/huge.bin", noise(100 << 10, 99));
    h.commit("huge");
    const auto huge = h.import();
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/t/limited-" + wire;
        auto [rc, out] = h.push(url, {"--wire", wire});
        INFO(out);
        CHECK(rc != 0);
        CHECK(out.find("commit " + huge) != std::string::npos);
        CHECK(out.find("65536 bytes") != std::string::npos);
        CHECK(out.find("--max-body") != std::string::npos);
        // The hub's branch stays where the last push left it.
        auto [rc2, refs] =
            run_all({"clone", url, (dir.path() / ("after-" + wire)).string(), "--wire", wire});
        INFO(refs);
        CHECK(rc2 == 0);
        CHECK(refs.find("main at " + head.substr(0, 12)) != std::string::npos);
    }
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-12 behind a proxy that takes 48 KiB bodies and names no limit, its refusals "
          "re-split the push on both wires",
          "[e2e][tool][push]") {
    contract::TempDir dir("musehub-e2e");
    History h(dir.path());
    write_wide_history(h);
    h.import();
    e2e::ServerProcess server(dir.path() / "hub");
    LimitingProxy proxy(server.port(), 48 << 10);
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        const auto repo = "t/proxied-" + wire;
        const auto before = proxy.refused();
        auto [rc, out] = h.push("http://127.0.0.1:" + std::to_string(proxy.port()) + "/" + repo,
                                {"--wire", wire});
        INFO(out << "\nserver log:\n" << server.log());
        REQUIRE(rc == 0);
        // The client knew no limit, so only refusals can have split the history.
        CHECK(pushes_said(out) > 1);
        CHECK(pushes_said(out) == pushes_logged(server, repo, pushes_said(out)));
        CHECK(proxy.refused() > before);
        const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/" + repo;
        CHECK(clone_matches(h, url, wire, dir.path() / wire, "main") == 168);
    }
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-13 force push on both wires: over a diverged branch, and back onto a commit "
          "the hub already has",
          "[e2e][tool][push]") {
    contract::TempDir dir("musehub-e2e");
    History h(dir.path());
    for (int i = 1; i <= 5; ++i) {
        h.write("n.txt", std::to_string(i));
        h.write("f" + std::to_string(i) + ".txt", std::to_string(i));
        h.commit("c" + std::to_string(i));
    }
    h.import();
    e2e::ServerProcess server(dir.path() / "hub");
    auto url = [&](const std::string& wire) {
        return "http://127.0.0.1:" + std::to_string(server.port()) + "/t/force-" + wire;
    };
    for (const std::string wire : {"v1", "v2"}) {
        auto [rc, out] = h.push(url(wire), {"--wire", wire});
        INFO(out);
        REQUIRE(rc == 0);
    }
    // Rewritten: main back to c3 plus a commit the hub has never seen (diverged from c5).
    h.sh("git reset -q --hard HEAD~2");
    h.write("n.txt", "rewritten");
    h.commit("rewritten");
    h.import();
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        auto [refused, why] = h.push(url(wire), {"--wire", wire});
        INFO(why);
        CHECK(refused != 0);
        CHECK(why.find("--force") != std::string::npos);
        auto [rc, out] = h.push(url(wire), {"--wire", wire, "--force"});
        INFO(out);
        REQUIRE(rc == 0);
        CHECK(out.find("1 commits in 1 push(es)") != std::string::npos);
        CHECK(clone_matches(h, url(wire), wire, dir.path() / ("rewritten-" + wire), "main") == 4);
    }
    // Back onto c2, which the hub has: nothing to send but the head, which the push must name
    // (v1 once failed here: its bundle carried no commits and named no head).
    h.sh("git reset -q --hard HEAD~2");
    h.import();
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        auto [rc, out] = h.push(url(wire), {"--wire", wire, "--force"});
        INFO(out);
        REQUIRE(rc == 0);
        CHECK(out.find("0 commits in 1 push(es)") != std::string::npos);
        CHECK(clone_matches(h, url(wire), wire, dir.path() / ("back-" + wire), "main") == 3);
    }
    CHECK(server.stop() == 0);
}

TEST_CASE("E2E-14 the client's errors say what happened and what to do: no hub, a hub that "
          "hangs up (before answering, and in the middle of a body), a missing or wrong token, "
          "an unknown repo",
          "[e2e][tool][errors]") {
    contract::TempDir dir("musehub-e2e");
    History h(dir.path());
    h.write("a.txt", "a");
    h.commit("one");
    h.import();
    auto says = [&](int port, std::vector<std::string> more, std::vector<std::string> words) {
        auto [rc, out] = h.push("http://127.0.0.1:" + std::to_string(port) + "/t/err", more);
        INFO(out);
        CHECK(rc == 1); // an error the tool reports, not a signal
        CHECK(out.starts_with("musehub: "));
        for (const auto& w : words)
            CHECK(out.find(w) != std::string::npos);
    };
    int gone = 0;
    {
        e2e::ServerProcess stopped(dir.path() / "gone");
        gone = stopped.port();
        CHECK(stopped.stop() == 0);
    }
    says(gone, {}, {"cannot connect to 127.0.0.1:" + std::to_string(gone), "musehub serve"});
    {
        Hangup hangup;
        for (const std::string wire : {"v1", "v2"})
            says(hangup.port(), {"--wire", wire}, {"closed the connection", "its log"});
    }
    std::ofstream(dir.path() / "tokens") << "# who may write\nsecret\n";
    e2e::ServerProcess locked(dir.path() / "locked",
                              {"--tokens", (dir.path() / "tokens").string()});
    for (const std::string wire : {"v1", "v2"}) {
        INFO("wire " << wire);
        says(locked.port(), {"--wire", wire}, {"answered 401", "pass --token TOKEN"});
        says(locked.port(), {"--wire", wire, "--token", "wrong"},
             {"answered 401", "not one this hub accepts"});
    }
    auto [rc, out] = h.push("http://127.0.0.1:" + std::to_string(locked.port()) + "/t/err",
                            {"--token", "secret"});
    INFO(out);
    CHECK(rc == 0);
    e2e::ServerProcess closed(dir.path() / "closed", {"--no-create-on-push"});
    says(closed.port(), {}, {"answered 404", "Check the URL"});
    CHECK(locked.stop() == 0);
    CHECK(closed.stop() == 0);
    // A body of 12 MB into a connection closed under it: more than the socket buffers hold, so
    // the write fails (EPIPE): an error the tool reports, never a SIGPIPE that ends it silently.
    h.write("big.bin", noise(12 << 20, 7));
    h.commit("big");
    h.import();
    Hangup midway(true);
    // (It hangs up on every push, so the client splits down to one commit and then says so.)
    says(midway.port(), {"--wire", "v2"},
         {"cannot be pushed", "closed the connection during POST push", "--max-body"});
}

TEST_CASE("E2E-15 every refusal status gets a message that names the hub's reason and what "
          "to do next",
          "[e2e][tool][errors]") {
    const std::vector<std::pair<int, std::string>> advice{
        {400, "same wire"},     {401, "--token"},      {403, "operator"},
        {404, "Check the URL"}, {409, "--force"},      {413, "--max-body"},
        {422, "same wire"},     {500, "server's log"}, {501, "does not support"},
        {502, "server's log"},  {503, "server's log"}};
    for (const auto& [status, hint] : advice) {
        INFO("status " << status);
        const auto said = musehub::tool::explain_status(status, "the reason", false);
        CHECK(said.starts_with("the reason. "));
        CHECK(said.find(hint) != std::string::npos);
        // No reason from the hub still gives a message.
        const auto bare = musehub::tool::explain_status(status, "", false);
        CHECK(bare.find("gave no reason") != std::string::npos);
        CHECK(bare.find(hint) != std::string::npos);
    }
}
