#pragma once
// parallel_for: run independent work items on every core. Verification of a large push is
// CPU-bound (hashing), and the machine, not one core, should bound it.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace musehub::detail {

// Calls fn(i) for every i in [0, n), on up to `hardware_concurrency` threads (the calling one
// included). The first exception stops the rest and is rethrown here.
template <class Fn>
void parallel_for(std::size_t n, Fn&& fn, std::size_t min_per_thread = 16) {
    std::size_t workers =
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
    workers =
        std::min(workers, std::max<std::size_t>(1, n / std::max<std::size_t>(min_per_thread, 1)));
    if (workers <= 1) {
        for (std::size_t i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex m;
    auto run = [&] {
        for (std::size_t i;
             !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < n;) {
            try {
                fn(i);
            } catch (...) {
                std::lock_guard lock(m);
                if (!error)
                    error = std::current_exception();
                failed = true;
            }
        }
    };
    std::vector<std::thread> threads;
    threads.reserve(workers - 1);
    for (std::size_t w = 1; w < workers; ++w)
        threads.emplace_back(run);
    run();
    for (auto& t : threads)
        t.join();
    if (error)
        std::rethrow_exception(error);
}

} // namespace musehub::detail
