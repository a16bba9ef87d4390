#pragma once
// A v2 pack's branch heads without its objects and snapshots: read them with the ids of the
// pack's commits, or give a stored pack other heads, its objects neither decoded nor
// compressed again.

#include "musehub/core/limits.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/wire/v2/decode.hpp"
#include "musehub/wire/v2/encode.hpp"
#include "musehub/wire/v2/format.hpp"
#include "musehub/wire/v2/layout.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace musehub::wire::mpack {

// What a pack says without its objects and snapshots: the ids of its commits and the heads
// META names.
struct PackHead {
    std::vector<CommitId> commits;
    std::map<std::string, CommitId> branch_heads;
};

} // namespace musehub::wire::mpack

namespace musehub::detail::mpack {

using wire::mpack::PackHead;

// The container is checked as decode_pack checks it (footer included), the COMMITS and META
// sections are decoded; nothing else is read.
inline PackHead read_head(BytesView bytes, const Limits& limits) {
    auto sections = read_layout(bytes, limits);
    Counts declared = read_meta(sections[index(Section::meta)], limits);
    std::vector<Commit> commits;
    read_commits(sections[index(Section::commits)], declared.commits, limits, commits);
    PackHead head{{}, std::move(declared.branch_heads)};
    head.commits.reserve(commits.size());
    for (const auto& c : commits)
        head.commits.push_back(c.commit_id);
    return head;
}

// The pack `encoded` with META naming `heads` instead of what it named: every other
// section is copied as it is (objects are neither decoded nor compressed again), so a
// stored pack can answer for, or be pushed to, a branch other than the one it came with.
inline Bytes with_branch_heads(BytesView encoded, std::map<std::string, CommitId> heads,
                               const Limits& limits) {
    auto sections = read_layout(encoded, limits);
    Counts counts = read_meta(sections[index(Section::meta)], limits);
    counts.branch_heads = std::move(heads);
    Bytes meta;
    write_meta(meta, counts);
    sections[index(Section::meta)] = BytesView(meta);
    std::array<std::uint64_t, 5> lengths{};
    std::uint64_t total = header_bytes + 5 * table_entry_bytes + footer_bytes;
    for (std::size_t k = 0; k < 5; ++k)
        total += lengths[k] = sections[k].size();
    Bytes out;
    out.reserve(total);
    write_header(out, lengths);
    for (const auto& section : sections)
        out.insert(out.end(), section.begin(), section.end());
    auto footer = sha256(BytesView(out));
    auto* f = reinterpret_cast<const std::byte*>(footer.bytes.data());
    out.insert(out.end(), f, f + footer.bytes.size());
    return out;
}

} // namespace musehub::detail::mpack
