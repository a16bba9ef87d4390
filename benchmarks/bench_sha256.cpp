// SHA-256 throughput: the one-shot musehub::sha256 (thread-local EVP context, SHA-NI when the
// CPU has it) by object size, and the streaming Sha256 class on 1 MiB fed in 64 KiB pieces.
// Small sizes show the per-call overhead (init + final), large ones the hashing rate; compare
// with `openssl speed -evp sha256` (docs/benchmarks.md). Also Manifest::id (the snapshot id),
// which streams `path NUL hex` per entry: bytes/s counts the bytes it hashes.

#include "musehub/core/bytes.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/core/sha256.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

musehub::Bytes random_bytes(std::size_t n, std::uint64_t seed = 42) {
    std::mt19937_64 rng(seed);
    musehub::Bytes b(n);
    for (auto& x : b)
        x = static_cast<std::byte>(rng());
    return b;
}

void BM_sha256_oneshot(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const auto data = random_bytes(size);
    const musehub::BytesView view{data};
    for (auto _ : state) {
        auto digest = musehub::sha256(view);
        benchmark::DoNotOptimize(digest);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(size));
    state.SetItemsProcessed(state.iterations());
}
// 64 B, 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB
BENCHMARK(BM_sha256_oneshot)->RangeMultiplier(4)->Range(64, 1 << 20);

// A fresh Sha256 per message (what Manifest::id and commit_id_of do), 64 KiB per update().
void BM_sha256_streaming(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const auto chunk = static_cast<std::size_t>(state.range(1));
    const auto data = random_bytes(size);
    const musehub::BytesView view{data};
    for (auto _ : state) {
        musehub::Sha256 h;
        for (std::size_t off = 0; off < size; off += chunk)
            h.update(view.subspan(off, std::min(chunk, size - off)));
        auto digest = h.finish();
        benchmark::DoNotOptimize(digest);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(size));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_sha256_streaming)->ArgNames({"bytes", "update"})->Args({1 << 20, 64 << 10});

// A manifest of `entries` files with generate.hpp-like paths ("src/core/value_17.cpp").
void BM_manifest_id(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    static constexpr const char* dirs[] = {"src", "src/core", "include", "scores/drafts", "docs"};
    std::vector<musehub::ManifestEntry> entries;
    std::size_t hashed = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::string path = std::string(dirs[i % 5]) + "/value_" + std::to_string(i) + ".cpp";
        auto id = musehub::ObjectId{musehub::sha256(path)};
        hashed += path.size() + 1 + 64 + (i ? 1 : 0);
        entries.push_back({std::move(path), id});
    }
    const auto manifest = musehub::Manifest::from_entries(std::move(entries));
    for (auto _ : state) {
        auto id = manifest.id();
        benchmark::DoNotOptimize(id);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(hashed));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(n));
    state.SetLabel("items = manifest entries");
}
BENCHMARK(BM_manifest_id)->ArgName("entries")->Arg(100)->Arg(1'000)->Arg(10'000);

} // namespace
