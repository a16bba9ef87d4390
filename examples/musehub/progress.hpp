#pragma once
// A progress line for long operations: done / total, rate and ETA, redrawn in place at most a
// few times a second on stderr when stderr is a terminal, and nothing at all otherwise (logs
// and scripts get the one-line summaries the commands print).

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace musehub::tool {

class Progress {
public:
    // `unit` "B" formats done/total as bytes; anything else as a count of that unit.
    Progress(std::string what, std::uint64_t total, std::string unit)
        : what_(std::move(what)), unit_(std::move(unit)), total_(total),
          enabled_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    ~Progress() {
        if (enabled_ && drawn_)
            std::fputc('\n', stderr);
    }

    void add(std::uint64_t n) { set(done_ + n); }
    void set(std::uint64_t done) {
        done_ = done;
        if (!enabled_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (drawn_ && now - last_ < std::chrono::milliseconds(200) && done_ < total_)
            return;
        last_ = now;
        drawn_ = true;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
        std::string line = what_ + ": " + amount(done_);
        if (total_ > 0) {
            line += " / " + amount(total_) + " (" +
                    std::to_string(static_cast<int>(100.0 * static_cast<double>(done_) /
                                                    static_cast<double>(total_))) +
                    "%)";
        }
        line += ", " + amount(static_cast<std::uint64_t>(rate)) + "/s";
        if (total_ > done_ && rate > 0)
            line += ", ETA " +
                    std::to_string(static_cast<int>(static_cast<double>(total_ - done_) / rate)) +
                    " s";
        std::fprintf(stderr, "\r%-78s", line.c_str());
        std::fflush(stderr);
    }

private:
    std::string amount(std::uint64_t n) const {
        if (unit_ != "B")
            return std::to_string(n) + " " + unit_;
        char buf[32];
        if (n >= (1u << 20))
            std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / 1e6);
        else
            std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(n) / 1e3);
        return buf;
    }

    std::string what_, unit_;
    std::uint64_t total_ = 0, done_ = 0;
    bool enabled_ = false, drawn_ = false;
    std::chrono::steady_clock::time_point start_, last_{};
};

} // namespace musehub::tool
