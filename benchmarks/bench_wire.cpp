// Wire codec throughput on a generated, valid pack (generate.hpp, size S: 100 commits,
// 500 objects, ~4 MiB of text-like object content, a full manifest per snapshot).
//
// Rates: bytes/s counts the bytes of the *encoded* pack (the output of encode, the input of
// decode), so v1 and v2 figures are per wire byte, not per object byte; items/s is objects/s.
// Decoding is zero copy for both policies: decoded objects are views into the input buffer
// (v2 objects stay zstd frames), so decode does not include decompression; the
// *_decode_inflate cases add resolving and hashing every object, which is what a consumer that
// needs the raw bytes pays.

#include "generate.hpp"

#include "musehub/core/delta_chains.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/wire/v1.hpp"
#if __has_include("musehub/wire/v2.hpp")
#include "musehub/wire/v2.hpp"
#define MUSEHUB_BENCH_HAVE_V2 1
#else
#define MUSEHUB_BENCH_HAVE_V2 0
#endif

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace {

using namespace musehub;

const bench::GeneratedHistory& history() {
    static const auto h = bench::generate_pack(bench::HistoryParams::S());
    return h;
}
const Pack& pack() {
    return history().pack;
}

void set_rates(benchmark::State& state, std::size_t encoded_bytes) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(encoded_bytes));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(pack().objects.size()));
    state.counters["pack_bytes"] = static_cast<double>(encoded_bytes);
}

// Checks that a decoded pack has the original's shape (ids of every object and record).
bool same_shape(const Pack& a, const Pack& b) {
    if (a.objects.size() != b.objects.size() || a.commits.size() != b.commits.size() ||
        a.snapshots.size() != b.snapshots.size() || a.branch_heads != b.branch_heads)
        return false;
    for (std::size_t i = 0; i < a.objects.size(); ++i)
        if (a.objects[i].id != b.objects[i].id || a.objects[i].raw_size != b.objects[i].raw_size)
            return false;
    for (std::size_t i = 0; i < a.commits.size(); ++i)
        if (!(a.commits[i] == b.commits[i]))
            return false;
    for (std::size_t i = 0; i < a.snapshots.size(); ++i)
        if (!(a.snapshots[i] == b.snapshots[i]))
            return false;
    return true;
}

template <class Wire>
void encode_case(benchmark::State& state, const Wire& wire) {
    std::size_t size = 0;
    for (auto _ : state) {
        Bytes out = wire.encode_pack(pack());
        size = out.size();
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rates(state, size);
}

template <class Wire>
void decode_case(benchmark::State& state, const Wire& wire, bool inflate) {
    const Bytes encoded = wire.encode_pack(pack());
    const BytesView view{encoded};
    const Limits limits{};
    {
        Pack check = wire.decode_pack(view, limits);
        if (!same_shape(pack(), check)) {
            state.SkipWithError("decode(encode(pack)) does not give the pack back");
            return;
        }
    }
    for (auto _ : state) {
        Pack decoded = wire.decode_pack(view, limits); // objects: views into `encoded`
        if (inflate) // deltas resolved down their chains, every object proven, as a client must
            for_each_verified(
                std::span<const PackObject>(decoded.objects), limits,
                [](const PackObject&, BytesView raw) { benchmark::DoNotOptimize(raw.data()); });
        benchmark::DoNotOptimize(decoded.objects.data());
        benchmark::ClobberMemory();
    }
    set_rates(state, encoded.size());
    state.SetLabel(inflate ? "zero-copy decode + every object resolved and hashed"
                           : "zero-copy: objects are views into the input");
}

void BM_v1_encode(benchmark::State& state) {
    encode_case(state, wire::v1{});
}
void BM_v1_decode(benchmark::State& state) {
    decode_case(state, wire::v1{}, false);
}
BENCHMARK(BM_v1_encode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_v1_decode)->Unit(benchmark::kMillisecond);

#if MUSEHUB_BENCH_HAVE_V2
wire::v2 v2_at(int level) {
    wire::v2::Options o;
    o.zstd_level = level;
    return wire::v2{o};
}
// range(0): zstd level
void BM_v2_encode(benchmark::State& state) {
    encode_case(state, v2_at(static_cast<int>(state.range(0))));
}
void BM_v2_decode(benchmark::State& state) {
    decode_case(state, v2_at(static_cast<int>(state.range(0))), false);
}
void BM_v2_decode_inflate(benchmark::State& state) {
    decode_case(state, v2_at(static_cast<int>(state.range(0))), true);
}
BENCHMARK(BM_v2_encode)->ArgName("zstd_level")->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_v2_decode)->ArgName("zstd_level")->Arg(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_v2_decode_inflate)->ArgName("zstd_level")->Arg(3)->Unit(benchmark::kMillisecond);
#endif

void add_context() {
    const auto& h = history();
    benchmark::AddCustomContext("pack", std::to_string(pack().commits.size()) + " commits, " +
                                            std::to_string(pack().objects.size()) + " objects, " +
                                            std::to_string(h.object_bytes) + " object bytes, " +
                                            std::to_string(h.manifest_entries) +
                                            " manifest entries (" + std::to_string(h.final_files) +
                                            " files at head)");
    benchmark::AddCustomContext("v1_pack_bytes",
                                std::to_string(wire::v1{}.encode_pack(pack()).size()));
#if MUSEHUB_BENCH_HAVE_V2
    for (int level : {1, 3})
        benchmark::AddCustomContext("v2_pack_bytes_zstd" + std::to_string(level),
                                    std::to_string(v2_at(level).encode_pack(pack()).size()));
#else
    benchmark::AddCustomContext("v2", "not built: musehub/wire/v2.hpp not found");
#endif
}

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    add_context();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
