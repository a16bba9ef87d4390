#pragma once
// Process-wide allocator settings for a hub process: opt-in, called once by the program (the
// musehub tool and the benchmarks do), never by the library on its own.
//
// glibc serves large allocations with mmap and gives them back on free, but by default it
// raises that threshold (up to 32 MiB) each time such a block is freed, and the trim threshold
// with it. A hub allocates and frees pack-sized buffers all day (a pushed pack, a batch of
// sources, a row batch), so after the first few every one comes from the heap, and the heap
// keeps the pages it once touched: XL's peak RSS was 2.2x its packs with the defaults, 1.9-2.0x
// with 1 MiB fixed and 1.6-1.7x with 512 KiB (benchmarks.md), which costs a few percent: XL's
// clone 0.84 -> 0.88 s and GC scan 0.60 -> 0.65 s, as more buffers take an mmap and page faults.

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__GLIBC__) && defined(__linux__)
#include <unistd.h>
#endif

namespace musehub {

// Whether the setting took (false where the C library has no such knobs).
inline bool return_large_buffers_to_os(std::size_t threshold = std::size_t{512} << 10) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, static_cast<int>(threshold)) == 1 &&
           mallopt(M_TRIM_THRESHOLD, static_cast<int>(4 * threshold)) == 1;
#else
    (void)threshold;
    return false;
#endif
}

// Pages: a pack-sized buffer is written once into fresh memory, at one page fault per 4 KiB
// page, and on a virtual machine a fault costs about what copying the page does. glibc backs
// its heap and its mmap'd blocks with transparent huge pages (2 MiB: 512 times fewer faults)
// only when the tunable glibc.malloc.hugetlb=1 says so, and it reads tunables only when a
// process starts. So a program that wants them starts itself again, once, with the tunable
// added to its environment (same pid, same arguments): on fmt's history over loopback on a
// 2-core VM, `musehub push` took 2.67 -> 2.32 s and `musehub clone` 2.38 -> 1.91 s
// (benchmarks.md). Returns, doing nothing, where the kernel's transparent huge pages are off,
// the tunable is already set, MUSEHUB_HUGE_PAGES=0, or the exec fails.
inline void restart_with_huge_pages([[maybe_unused]] char** argv) {
#if defined(__GLIBC__) && defined(__linux__)
    constexpr const char* tunable = "glibc.malloc.hugetlb=1";
    const char* opt_out = std::getenv("MUSEHUB_HUGE_PAGES");
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    std::string current = tunables ? tunables : "";
    if ((opt_out && std::string(opt_out) == "0") ||
        current.find("glibc.malloc.hugetlb") != std::string::npos)
        return;
    std::string mode;
    std::getline(std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"), mode);
    if (mode.empty() || mode.find("[never]") != std::string::npos)
        return;
    const std::string value = current.empty() ? tunable : current + ":" + tunable;
    if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0)
        return;
    ::execv("/proc/self/exe", argv);
    // Still here: the exec failed; carry on with small pages, and leave the environment as
    // it was for the commands this process starts.
    tunables ? ::setenv("GLIBC_TUNABLES", tunables, 1) : ::unsetenv("GLIBC_TUNABLES");
#endif
}

} // namespace musehub
