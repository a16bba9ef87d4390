#pragma once
// A `musehub serve` child process on an ephemeral loopback port, as a user runs it: the test
// reads the port from the first line the server prints, talks HTTP to it, and stops it with a
// signal. Its stderr (the access log) goes to DIR/server.log.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef MUSEHUB_TOOL
#error "MUSEHUB_TOOL must name the musehub executable (set by tests/CMakeLists.txt)"
#endif

namespace e2e {

class ServerProcess {
public:
    ServerProcess(const std::filesystem::path& data, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{MUSEHUB_TOOL, "serve", "--data",    data.string(),
                                      "--port",     "0",     "--no-fsync"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::filesystem::create_directories(data);
        int out[2];
        REQUIRE(::pipe(out) == 0);
        log_ = data / "server.log";
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            int err = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (err >= 0)
                ::dup2(err, STDERR_FILENO);
            ::close(out[0]);
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];
        // "musehub: listening on http://127.0.0.1:PORT (data: …)"
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (line.find('\n') == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, 200) <= 0)
                continue;
            char buf[256];
            auto n = ::read(stdout_, buf, sizeof buf);
            if (n <= 0)
                break;
            line.append(buf, static_cast<std::size_t>(n));
        }
        INFO("server said: " << line << "\nlog:\n" << log());
        auto at = line.find("127.0.0.1:");
        REQUIRE(at != std::string::npos);
        port_ = std::stoi(line.substr(at + 10));
        REQUIRE(port_ > 0);
    }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;
    ~ServerProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdout_ >= 0)
            ::close(stdout_);
    }

    int port() const { return port_; }

    // Sends `sig` and waits (at most `limit`) for the exit; returns the exit status, or -1 if
    // it did not exit in time or died of a signal.
    int stop(int sig = SIGTERM, std::chrono::seconds limit = std::chrono::seconds(30)) {
        ::kill(pid_, sig);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int status = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            ::usleep(20'000);
        }
        return -1;
    }

    std::string log() const {
        std::ifstream in(log_);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    pid_t pid_ = -1;
    int stdout_ = -1;
    int port_ = 0;
    std::filesystem::path log_;
};

// Runs the musehub tool with `args` to completion; returns its exit status and stdout.
inline std::pair<int, std::string> run_tool(const std::vector<std::string>& args) {
    std::string cmd = std::string(MUSEHUB_TOOL);
    for (const auto& a : args)
        cmd += " '" + a + "'";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace e2e
