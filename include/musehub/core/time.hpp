#pragma once
// One clock for the whole hub: wall time in milliseconds. Algorithms take "now" from the Hub
// (whose clock tests can replace) and pass it down; nothing below reads a clock itself.

#include <chrono>

namespace musehub {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;

inline TimePoint now_ms() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now());
}

} // namespace musehub
