#pragma once
// Deterministic generator of a realistic, valid pack for benchmarks: a linear history of
// `commits` commits on branch "main", each changing a few files of a growing manifest, with
// text-like (compressible) object content whose sizes follow a source-tree-like distribution
// (mostly 1-16 KiB, about 5% of files 16-256 KiB), scaled so the objects add up to about
// `total_bytes`. A file's first version is fresh text; each later one is an edit of the one
// before (one to three lines replaced, inserted or removed), as in real histories, so deltas
// between versions are small. Every id is computed the Muse way (object: SHA-256 of the bytes;
// snapshot: Manifest::id(); commit: commit_id_of), so the pack passes verification.
//
// The same parameters and seed always give byte-identical packs (std::mt19937_64 and only
// integer arithmetic on its output: no std::*_distribution, whose results are unspecified).
//
//   auto g = musehub::bench::generate_pack(musehub::bench::HistoryParams::S());
//   g.pack            // commits, snapshots (one per commit), objects, branch_heads{"main"}
//   g.object_bytes    // what the objects actually add up to

#include "musehub/core/bytes.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/muse_ids.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace musehub::bench {

struct HistoryParams {
    std::size_t commits = 100;            // linear history, >= 1
    std::size_t objects = 500;            // distinct objects (file versions), >= commits
    std::uint64_t total_bytes = 4u << 20; // objects' raw bytes, approximately; 0 = unscaled
    std::uint64_t seed = 0x6d757365;      // "muse"

    // The sizes the benchmarks and later end-to-end runs share.
    static HistoryParams S() { return {100, 500, 4u << 20, 0x6d757365}; }
    static HistoryParams L() { return {1'000, 5'000, 20u << 20, 0x6d757365}; }
    static HistoryParams XL() { return {5'000, 25'000, 100u << 20, 0x6d757365}; }
};

struct GeneratedHistory {
    Pack pack;
    std::uint64_t object_bytes = 0;   // sum of the objects' raw sizes
    std::size_t manifest_entries = 0; // sum over all snapshots (full manifests)
    std::size_t final_files = 0;      // files in the head snapshot
};

namespace detail {

// Small source-code-like vocabulary: repeated words make the content compress like text.
inline constexpr std::array<std::string_view, 96> kWords{
    "the",         "of",          "and",      "to",       "in",    "is",      "for",
    "return",      "const",       "auto",     "if",       "else",  "while",   "struct",
    "class",       "namespace",   "template", "typename", "void",  "int",     "std::size_t",
    "std::string", "std::vector", "value",    "result",   "error", "commit",  "snapshot",
    "object",      "manifest",    "branch",   "track",    "note",  "tempo",   "beat",
    "measure",     "chord",       "melody",   "harmony",  "voice", "channel", "velocity",
    "pitch",       "duration",    "offset",   "bar",      "key",   "scale",   "major",
    "minor",       "sample",      "buffer",   "frame",    "count", "index",   "size",
    "data",        "begin",       "end",      "next",     "prev",  "push",    "pop",
    "insert",      "erase",       "find",     "emplace",  "move",  "copy",    "swap",
    "check",       "verify",      "hash",     "id",       "path",  "entry",   "parent",
    "child",       "merge",       "diff",     "apply",    "patch", "delta",   "base",
    "head",        "tail",        "=",        "==",       "!=",    "{",       "}",
    "(",           ")",           ";",        "//",       "->"};
inline constexpr std::array<std::string_view, 12> kDirs{
    "src",           "src/core", "src/audio", "src/midi", "include",        "scores",
    "scores/drafts", "docs",     "tests",     "tools",    "assets/presets", "arrangements"};
inline constexpr std::array<std::string_view, 8> kExts{".cpp",     ".hpp",  ".md",   ".txt",
                                                       ".mid.txt", ".json", ".toml", ".py"};

// Uniform integer in [lo, hi] (deterministic across standard libraries).
inline std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
    if (hi <= lo)
        return lo;
    std::uint64_t span = hi - lo + 1;             // wraps to 0 only for the full 64-bit range
    return span == 0 ? rng() : lo + rng() % span; // bias < span / 2^64: irrelevant here
}
// Log-uniform in [lo, hi]: as many files of 1-2 KiB as of 8-16 KiB.
inline std::uint64_t log_uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
    int bits_lo = 63 - __builtin_clzll(lo), bits_hi = 63 - __builtin_clzll(hi);
    auto b = static_cast<int>(
        uniform(rng, static_cast<std::uint64_t>(bits_lo), static_cast<std::uint64_t>(bits_hi - 1)));
    return std::clamp<std::uint64_t>(uniform(rng, 1ull << b, (2ull << b) - 1), lo, hi);
}

// One line of vocabulary words, as code has them.
inline std::string text_line(std::mt19937_64& rng) {
    std::string line(4 * uniform(rng, 0, 3), ' ');
    auto words = uniform(rng, 3, 12);
    for (std::uint64_t w = 0; w < words; ++w) {
        if (w)
            line.push_back(' ');
        line.append(kWords[uniform(rng, 0, kWords.size() - 1)]);
    }
    line.push_back('\n');
    return line;
}

// Text of exactly `size` bytes: a header naming the file version (so every object is
// distinct), then indented lines of vocabulary words, three in five of them repeating one of
// the last 16 lines (as code and scores repeat themselves). Compressed one object at a time,
// zstd -3 gets about 5.3:1; 500 Boost headers of 1-256 KiB get 5.8:1, at a similar speed.
inline std::string text_content(std::mt19937_64& rng, std::string_view path, std::size_t version,
                                std::size_t size) {
    std::string s;
    s.reserve(size + 256);
    s.append("// ").append(path).append(" v").append(std::to_string(version)).append("\n");
    std::array<std::pair<std::size_t, std::size_t>, 16> recent{}; // (offset, length) of lines
    std::size_t lines = 0;
    while (s.size() < size) {
        const std::size_t start = s.size();
        if (lines > 0 && uniform(rng, 0, 4) < 3) {
            auto [at, len] =
                recent[uniform(rng, 0, std::min<std::size_t>(lines, recent.size()) - 1)];
            s.append(s, at, len); // self-append is well-defined
        } else {
            s.append(text_line(rng));
        }
        recent[lines++ % recent.size()] = {start, s.size() - start};
    }
    s.resize(size);
    return s;
}

// The next version of a file as real histories make it: the previous one with its header
// naming the new version and one to three lines replaced, inserted or removed (a delta on the
// previous version is then a few bytes, as git's are).
inline std::string edited_content(std::mt19937_64& rng, const std::string& previous,
                                  std::string_view path, std::size_t version) {
    std::vector<std::string_view> lines;
    for (std::size_t at = previous.find('\n') + 1; at < previous.size();) { // past the header
        auto end = std::min(previous.find('\n', at), previous.size() - 1) + 1;
        lines.push_back(std::string_view(previous).substr(at, end - at));
        at = end;
    }
    std::deque<std::string> fresh; // owns the lines the edits make (stable as it grows)
    for (auto edits = uniform(rng, 1, 3); edits > 0; --edits) {
        auto at = static_cast<std::ptrdiff_t>(uniform(rng, 0, lines.size()));
        auto kind = uniform(rng, 0, 9); // 6 in 10 replace, 3 insert, 1 removes
        if (kind == 9 && lines.size() > 1 && at < static_cast<std::ptrdiff_t>(lines.size())) {
            lines.erase(lines.begin() + at);
            continue;
        }
        fresh.push_back(text_line(rng));
        if (kind < 6 && at < static_cast<std::ptrdiff_t>(lines.size()))
            lines[static_cast<std::size_t>(at)] = fresh.back();
        else
            lines.insert(lines.begin() + at, fresh.back());
    }
    std::string s;
    s.reserve(previous.size() + 256);
    s.append("// ").append(path).append(" v").append(std::to_string(version)).append("\n");
    for (auto line : lines)
        s.append(line);
    return s;
}

} // namespace detail

inline GeneratedHistory generate_pack(const HistoryParams& params) {
    using detail::uniform;
    if (params.commits == 0)
        throw std::invalid_argument("generate_pack: commits must be >= 1");
    if (params.objects < params.commits)
        throw std::invalid_argument("generate_pack: need at least one object per commit");
    std::mt19937_64 rng(params.seed);

    // 1. Plan the history: which file each object version belongs to, commit by commit.
    //    The first commit brings a fifth of the objects; every later one changes at least one
    //    file, and the rest of the changes fall on random commits (a few per commit).
    const std::size_t initial = std::max<std::size_t>(
        1, std::min(params.objects / 5, params.objects - (params.commits - 1)));
    std::vector<std::size_t> changes(params.commits, 1);
    changes[0] = initial;
    for (std::size_t extra = params.objects - initial - (params.commits - 1); extra > 0; --extra)
        ++changes[uniform(rng, 1, params.commits - 1)];
    if (params.commits == 1)
        changes[0] = params.objects;

    struct FileInfo {
        std::string path;
        std::uint64_t base_size;
        std::size_t versions = 0;
    };
    struct Version {
        std::size_t file;
        std::uint64_t size;
    };
    struct CommitPlan {
        std::size_t version_count = 0;
        std::vector<std::size_t> deleted_files;
    };
    std::vector<FileInfo> files;
    std::vector<Version> versions;
    versions.reserve(params.objects);
    std::vector<CommitPlan> plan(params.commits);
    std::vector<std::size_t> live; // indices of files in the current manifest

    auto new_file = [&] {
        auto dir = detail::kDirs[uniform(rng, 0, detail::kDirs.size() - 1)];
        auto word = detail::kWords[uniform(rng, 23, 85)]; // the identifier-like words
        auto ext = detail::kExts[uniform(rng, 0, detail::kExts.size() - 1)];
        std::string path = std::string(dir) + "/" + std::string(word) + "_" +
                           std::to_string(files.size()) + std::string(ext);
        // Sizes like a source tree: ~95% of files 1-16 KiB, the rest 16-256 KiB.
        std::uint64_t base = uniform(rng, 0, 99) < 95
                                 ? detail::log_uniform(rng, 1024, 16 * 1024)
                                 : detail::log_uniform(rng, 16 * 1024, 256 * 1024);
        files.push_back({std::move(path), base});
        live.push_back(files.size() - 1);
        return files.size() - 1;
    };

    for (std::size_t c = 0; c < params.commits; ++c) {
        auto& cp = plan[c];
        std::vector<std::size_t> touched;
        for (std::size_t k = 0; k < changes[c]; ++k) {
            std::size_t f;
            // After the first commit, one change in five adds a file; the rest edit one.
            bool add = c == 0 || live.size() <= touched.size() || uniform(rng, 0, 4) == 0;
            if (!add) {
                do
                    f = live[uniform(rng, 0, live.size() - 1)];
                while (std::find(touched.begin(), touched.end(), f) != touched.end());
            } else {
                f = new_file();
            }
            touched.push_back(f);
            // A file's first version is near its base size (+-15%); edits keep it there.
            auto size = files[f].base_size * uniform(rng, 85, 115) / 100;
            versions.push_back({f, size});
        }
        cp.version_count = changes[c];
        // About one commit in thirty also deletes a file it did not touch.
        if (c > 0 && uniform(rng, 0, 29) == 0 && live.size() > touched.size() + 1) {
            std::size_t victim;
            do
                victim = uniform(rng, 0, live.size() - 1);
            while (std::find(touched.begin(), touched.end(), live[victim]) != touched.end());
            cp.deleted_files.push_back(live[victim]);
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
        }
    }

    // 2. Scale the sizes to the requested total (clamped to 64 B .. 256 KiB per object).
    if (params.total_bytes > 0) {
        long double sum = 0;
        for (const auto& v : versions)
            sum += static_cast<long double>(v.size);
        long double scale = static_cast<long double>(params.total_bytes) / sum;
        for (auto& v : versions)
            v.size = std::clamp<std::uint64_t>(
                static_cast<std::uint64_t>(static_cast<long double>(v.size) * scale + 0.5L), 64,
                256 * 1024);
    }

    // 3. Materialise: objects, full-manifest snapshots, commits.
    GeneratedHistory out;
    Pack& pack = out.pack;
    pack.commits.reserve(params.commits);
    pack.snapshots.reserve(params.commits);
    pack.objects.reserve(params.objects);
    // Each snapshot is its parent's manifest with this commit's changes applied, so they share
    // every leaf the commit does not touch, as a hub's decoded snapshots do.
    Manifest manifest;
    std::optional<CommitId> parent;
    std::size_t vi = 0;
    std::vector<std::string> latest(files.size()); // each file's last version
    for (std::size_t c = 0; c < params.commits; ++c) {
        const auto& cp = plan[c];
        std::map<std::string, ObjectId> upsert; // a file changed twice keeps its last version
        for (std::size_t k = 0; k < cp.version_count; ++k, ++vi) {
            const auto& v = versions[vi];
            auto& file = files[v.file];
            auto& content = latest[v.file];
            content = file.versions == 0
                          ? detail::text_content(rng, file.path, ++file.versions, v.size)
                          : detail::edited_content(rng, content, file.path, ++file.versions);
            const auto& obj = pack.add_object(content);
            out.object_bytes += obj.raw_size;
            upsert.insert_or_assign(file.path, obj.id);
        }
        ManifestDelta delta;
        for (auto f : cp.deleted_files) // never one this commit touched
            delta.remove.push_back(files[f].path);
        for (auto& [path, id] : upsert)
            delta.upsert.push_back({path, id});
        std::sort(delta.remove.begin(), delta.remove.end());
        manifest = apply(manifest, delta);
        out.manifest_entries += manifest.size();

        // One commit a minute from 2026-01-01T00:00:00+00:00 (hashed verbatim).
        char when[48];
        std::snprintf(when, sizeof when, "2026-01-%02zuT%02zu:%02zu:00+00:00", 1 + c / 1440,
                      c / 60 % 24, c % 60);

        Snapshot snap;
        snap.manifest = manifest;
        snap.snapshot_id = snap.manifest.id();
        snap.created_at = when;

        Commit commit;
        commit.repo_id = "bench-repo";
        commit.branch = "main";
        commit.snapshot_id = snap.snapshot_id;
        commit.message = c == 0 ? std::string("initial import")
                                : "change " + std::to_string(cp.version_count) + " file(s): " +
                                      std::string(detail::kWords[uniform(rng, 23, 85)]) + " " +
                                      std::string(detail::kWords[uniform(rng, 23, 85)]);
        commit.committed_at = when;
        commit.parent_commit_id = parent;
        commit.author = "bench <bench@example.invalid>";
        commit.format_version = 1;
        commit.commit_id = commit_id_of(commit);
        parent = commit.commit_id;

        pack.snapshots.push_back(std::move(snap));
        pack.commits.push_back(std::move(commit));
    }
    pack.branch_heads.emplace("main", *parent);
    out.final_files = manifest.size();
    return out;
}

// ---- incremental packs ----------------------------------------------------------------------
//
// Splits a generated history into `parts` packs that push one after the other, as a client
// pushing its work in sessions would: part i holds commits [i*n/parts, (i+1)*n/parts) (each
// part at least one commit), their snapshots, and only the objects those snapshots reference
// that no earlier part carried (objects no snapshot references go with the last part). Each
// part's branch_heads names its last commit on branch "main", so part i fast-forwards part
// i-1. Useful for XL, whose single pack would be huge (every snapshot carries a full
// manifest).
//
// The parts' objects VIEW the bytes of `history.pack`: keep `history` alive while they are in
// use. Their commits and snapshots are copies.
//
//   auto g = generate_pack(HistoryParams::XL());
//   auto parts = split_incremental(g, 10); // 10 packs of 500 commits
inline std::vector<Pack> split_incremental(const GeneratedHistory& history, std::size_t parts) {
    const Pack& pack = history.pack;
    const std::size_t n = pack.commits.size();
    if (parts == 0 || parts > n)
        throw std::invalid_argument("split_incremental: parts must be in 1..commits");
    if (pack.snapshots.size() != n)
        throw std::invalid_argument("split_incremental: expects one snapshot per commit");

    std::unordered_map<ObjectId, std::size_t> index; // id -> first place in pack.objects
    index.reserve(pack.objects.size());
    for (std::size_t i = 0; i < pack.objects.size(); ++i)
        index.emplace(pack.objects[i].id, i);
    std::vector<char> sent(pack.objects.size(), 0); // carried by an earlier part
    std::vector<Pack> out(parts);
    for (std::size_t p = 0; p < parts; ++p) {
        const std::size_t first = p * n / parts, last = (p + 1) * n / parts;
        Pack& part = out[p];
        part.commits.assign(pack.commits.begin() + static_cast<std::ptrdiff_t>(first),
                            pack.commits.begin() + static_cast<std::ptrdiff_t>(last));
        part.snapshots.assign(pack.snapshots.begin() + static_cast<std::ptrdiff_t>(first),
                              pack.snapshots.begin() + static_cast<std::ptrdiff_t>(last));
        for (const auto& s : part.snapshots)
            for (const auto& e : s.manifest)
                if (auto it = index.find(e.object); it != index.end() && !sent[it->second]) {
                    sent[it->second] = 1;
                    part.objects.push_back(pack.objects[it->second]);
                }
        part.branch_heads.emplace("main", part.commits.back().commit_id);
    }
    for (std::size_t i = 0; i < pack.objects.size(); ++i)
        if (!sent[i] && index.at(pack.objects[i].id) == i) {
            sent[i] = 1;
            out.back().objects.push_back(pack.objects[i]);
        }
    return out;
}

} // namespace musehub::bench
