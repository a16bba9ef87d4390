#pragma once
// `musehub serve`: the hub over HTTP. cpp-httplib parses HTTP and runs a thread pool; the
// library's http::V1Service answers the Muse client's endpoints and http::V2Service musehub's
// own (under /v2/, fetch streamed as it is made); this file binds them to httplib and adds
// what a production server needs:
//
//   - loopback by default (`--bind` to open it up), `--port 0` for any free port (the port
//     is printed on the first line of stdout: "musehub: listening on http://ADDR:PORT");
//   - request bodies bounded before they are read: a Content-Length over `--max-body` is
//     answered 413 from the headers alone (and the connection closed); every answer names
//     the limit in `X-Musehub-Max-Body`, so a client splits its pushes to fit;
//   - read and write timeouts; concurrent clients (httplib's pool; the backends are
//     thread-safe);
//   - optional bearer tokens (`--tokens FILE`, one per line): every request that writes
//     needs one; reads stay open (the client never sends a token on clone);
//   - an access log line per request on stderr: time, peer, method, path, status, bytes in
//     and out, duration;
//   - SIGINT/SIGTERM: stop accepting, let in-flight requests finish (a push either completes
//     or, if it was refused, left nothing), stop the workers, exit 0;
//   - `--workers N` threads run queued jobs (index, GC, repack) in-process; 0 when
//     separate `musehub worker` processes share the catalog.

#include "backends.hpp"
#include "streaming.hpp"

#include <musehub/http/v1_service.hpp>
#include <musehub/http/v2_service.hpp>
#include <musehub/hub.hpp>
#include <musehub/wire/v2.hpp>

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

namespace musehub::tool {

struct ServeConfig {
    BackendConfig backends;
    std::string bind = "127.0.0.1";
    int port = 8080;
    std::size_t max_body = std::size_t{256} << 20;
    int timeout_seconds = 60;
    unsigned workers = 1;
    std::string tokens_file;
    bool create_on_push = true;
    std::uint64_t presign_fetch_above = 8u << 20; // v2 fetch answers larger: a URL (S3)
    HubOptions hub;
};

inline std::set<std::string> read_tokens(const std::string& file) {
    std::set<std::string> tokens;
    if (file.empty())
        return tokens;
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("--tokens " + file + ": cannot read it");
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (!line.empty() && line.front() != '#')
            tokens.insert(line);
    }
    if (tokens.empty())
        throw std::runtime_error("--tokens " + file + " holds no token (one per line)");
    return tokens;
}

inline bool writes(const httplib::Request& req) {
    if (req.method == "GET")
        return false;
    // POSTs that only read: fetch and negotiate (v1), fetch (v2).
    return !(req.path.ends_with("/fetch") || req.path.ends_with("/negotiate"));
}

inline std::string utc_now() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Runs the server until SIGINT or SIGTERM; returns the exit code.
inline int serve(const ServeConfig& cfg) {
    // Signals go to the thread that waits for them, never to a pool thread mid-request.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const auto tokens = read_tokens(cfg.tokens_file);
    return with_backends(cfg.backends, [&](auto& store, auto& catalog, auto& queue) {
        Hub v1hub{wire::v1{}, store, catalog, queue, cfg.hub};
        Hub v2hub{wire::v2{}, store, catalog, queue, cfg.hub};
        http::V1Service v1(v1hub, http::V1Options{cfg.create_on_push, "code"});
        http::V2Service v2(v2hub, http::V2Options{cfg.presign_fetch_above, 3600});

        httplib::Server server;
        server.set_payload_max_length(cfg.max_body);
        server.set_read_timeout(cfg.timeout_seconds, 0);
        server.set_write_timeout(cfg.timeout_seconds, 0);

        thread_local std::chrono::steady_clock::time_point started;
        server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
            started = std::chrono::steady_clock::now();
            streamed_out = 0;
            streamed_in = 0;
            // On every answer, the 413 below included: a client sizes its pushes to fit
            // before it sends one (examples/musehub/push_plan.hpp).
            res.set_header("X-Musehub-Max-Body", std::to_string(cfg.max_body));
            auto refuse = [&](int status, const std::string& why) {
                auto r = http::error_response(status, why);
                res.status = r.status;
                res.set_content(reinterpret_cast<const char*>(r.body.data()), r.body.size(),
                                r.content_type.c_str());
                res.set_header("Connection", "close"); // the unread body is not a next request
                return httplib::Server::HandlerResponse::Handled;
            };
            if (req.has_header("Content-Length")) {
                auto length =
                    std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
                if (length > cfg.max_body)
                    return refuse(413, "request body of " + std::to_string(length) +
                                           " bytes is over this hub's limit of " +
                                           std::to_string(cfg.max_body) + " (--max-body)");
            }
            if (!tokens.empty() && writes(req)) {
                auto auth = req.get_header_value("Authorization");
                if (!auth.starts_with("Bearer ") || !tokens.count(auth.substr(7)))
                    return refuse(401, "this hub needs a bearer token to write (muse auth "
                                       "login, or --tokens on the server)");
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });

        auto answer = [&](const httplib::Request& req, httplib::Response& res) {
            http::Request r{
                req.method, req.path,
                BytesView(reinterpret_cast<const std::byte*>(req.body.data()), req.body.size())};
            http::Response out;
            try {
                out = v2.serves(req.path) ? v2.handle(r) : v1.handle(r);
            } catch (const std::exception& e) { // a bug or a resource failure: never a crash
                out = http::error_response(500, e.what());
            }
            if (out.stream)
                send_streamed(res, out);
            else
                set_body(res, out);
        };
        // A stream push is read as it arrives (registered first: httplib takes the first match):
        // this thread reads the body into a queue, a producer runs the session from it, and the
        // answer frames follow as they are made (streaming.hpp).
        server.Post(R"(/v2/[^/]+/[^/]+/push/stream)", [&](const httplib::Request& req,
                                                          httplib::Response& res,
                                                          const httplib::ContentReader& content) {
            auto body = std::make_shared<BodyQueue>();
            auto out = v2.handle_stream(
                http::Request{req.method, req.path, {}},
                [body](const std::function<void(BytesView)>& feed) {
                    while (auto piece = body->pop())
                        feed(BytesView(reinterpret_cast<const std::byte*>(piece->data()),
                                       piece->size()));
                });
            if (!out.stream) {
                res.set_header("Connection", "close"); // its body stays unread
                return set_body(res, out);
            }
            // Frames are small: the producer never waits for the writer while the
            // client is still sending (it would wait for this thread, which waits
            // for it). Once the session ends, a body still arriving is refused.
            Producer producer(
                [body, stream = out.stream](const std::function<void(BytesView)>& w) {
                    struct Stop {
                        BodyQueue& q;
                        ~Stop() { q.stop(); }
                    } stop{*body};
                    stream(w);
                },
                0);
            content([&](const char* data, std::size_t n) {
                streamed_in += n;
                return body->push(data, n);
            });
            body->close();
            res.status = 200;
            producer.send_chunked(res, out.content_type);
        });
        server.Get(R"(/.*)", answer);
        server.Post(R"(/.*)", answer);

        std::mutex log_mutex;
        server.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
            auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                started)
                          .count();
            std::lock_guard lock(log_mutex);
            std::fprintf(stderr, "%s %s %s %s %d in=%zu out=%zu %.1fms\n", utc_now().c_str(),
                         req.remote_addr.c_str(), req.method.c_str(), req.path.c_str(), res.status,
                         req.body.size() + streamed_in, res.body.size() + streamed_out, ms);
        });

        int port = cfg.port;
        if (port == 0)
            port = server.bind_to_any_port(cfg.bind);
        else if (!server.bind_to_port(cfg.bind, port))
            port = -1;
        if (port < 0) {
            std::fprintf(stderr, "musehub serve: cannot listen on %s:%d (in use? try --port 0)\n",
                         cfg.bind.c_str(), cfg.port);
            return 1;
        }

        std::atomic<bool> stop{false};
        std::vector<std::thread> workers;
        for (unsigned i = 0; i < cfg.workers; ++i)
            workers.emplace_back([&, i] {
                algo::WorkerOptions w;
                w.name = "serve-" + std::to_string(::getpid()) + "-" + std::to_string(i);
                algo::run_worker(v2hub, stop, w);
            });
        std::atomic<bool> listener_ended{false};
        std::thread signals([&] {
            int sig = 0;
            sigwait(&stop_signals, &sig);
            std::fprintf(stderr, "musehub serve: %s, finishing in-flight requests\n",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
            // httplib's stop() does nothing before the listener runs: a signal that arrives
            // between the port line and the accept loop (a script that starts and at once
            // stops the server) would be lost, and the server would never exit.
            while (!server.is_running() && !listener_ended)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            server.stop();
        });

        // The hub directory as the backends opened it (absolute: see with_backends).
        const auto data = std::filesystem::absolute(cfg.backends.data).lexically_normal();
        std::printf("musehub: listening on http://%s:%d (data: %s)\n", cfg.bind.c_str(), port,
                    cfg.backends.store.empty() ? data.c_str() : cfg.backends.store.c_str());
        std::fflush(stdout);
        const bool ok = server.listen_after_bind();
        listener_ended = true;
        stop = true;
        for (auto& w : workers)
            w.join();
        if (!ok && server.is_running()) {
            std::fprintf(stderr, "musehub serve: the listener failed\n");
            return 1;
        }
        // The signal thread waits for a signal that never came if the listener ended on its
        // own: send one (blocked everywhere, so it only ever reaches sigwait, or stays pending).
        ::kill(::getpid(), SIGTERM);
        signals.join();
        std::fprintf(stderr, "musehub serve: stopped\n");
        return 0;
    });
}

} // namespace musehub::tool
