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

#if defined(__GLIBC__)
#include <malloc.h>
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

} // namespace musehub
