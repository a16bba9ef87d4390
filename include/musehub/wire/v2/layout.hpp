#pragma once
// Reading a v2 pack's container (wire/v2/format.hpp) before any section is decoded: the size,
// magic, version, section table and footer checks that give each section's bytes, what META
// declares, and the Cursor that reads a section front to back. Decoding checks structure, not
// truth (see wire/concept.hpp).

#include "musehub/core/limits.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/wire/v2/format.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace musehub::detail::mpack {

// Reads a section front to back; every read is checked against the bytes left.
struct Cursor {
    BytesView data;
    std::string what; // "v2 pack COMMITS section"
    std::size_t pos = 0;

    std::size_t left() const noexcept { return data.size() - pos; }
    BytesView take(std::uint64_t n, std::string_view item) {
        if (n > left())
            fail(errc::truncated, what + ": " + std::string(item) + " needs " + std::to_string(n) +
                                      " bytes, only " + std::to_string(left()) + " remain");
        auto v = data.subspan(pos, static_cast<std::size_t>(n));
        pos += static_cast<std::size_t>(n);
        return v;
    }
    std::uint64_t u64(std::string_view item) { return get_u64(take(8, item).data()); }

    // A section's leading count: it must fit the section's bytes at `min_record` bytes per
    // record (truncated), then the limit (oversized), then what META declared (corrupt) —
    // all before the caller reserves anything for it.
    std::size_t count(std::size_t min_record, std::uint64_t limit, std::string_view limit_name,
                      std::uint64_t declared) {
        const std::uint64_t n = u64("the record count");
        if (n > left() / min_record)
            fail(errc::truncated, what + " declares " + std::to_string(n) +
                                      " records of at least " + std::to_string(min_record) +
                                      " bytes in " + std::to_string(left()) + " bytes");
        if (n > limit)
            fail(errc::oversized, what + " declares " + std::to_string(n) + " records, over " +
                                      std::string(limit_name) + " = " + std::to_string(limit));
        if (n != declared)
            fail(errc::corrupt, what + " holds " + std::to_string(n) + " records but META counts " +
                                    std::to_string(declared));
        return static_cast<std::size_t>(n);
    }
    void finish() const {
        if (pos != data.size())
            fail(errc::corrupt, what + " has " + std::to_string(left()) + " trailing bytes");
    }
};

// Checks the container (size, magic, version, table, footer) and returns each section's
// bytes, indexed by type - 1.
inline std::array<BytesView, 5> read_layout(BytesView bytes, const Limits& limits) {
    if (bytes.size() > limits.max_pack_bytes)
        fail(errc::oversized,
             "v2 pack is " + std::to_string(bytes.size()) +
                 " bytes, over max_pack_bytes = " + std::to_string(limits.max_pack_bytes));
    if (bytes.size() < header_bytes)
        fail(errc::truncated, "v2 pack is " + std::to_string(bytes.size()) +
                                  " bytes, shorter than its " + std::to_string(header_bytes) +
                                  "-byte header");
    if (!equal_bytes(bytes.first(magic.size()),
                     BytesView{reinterpret_cast<const std::byte*>(magic.data()), magic.size()}))
        fail(errc::corrupt, "v2 pack does not start with the magic 'MUSE'");
    if (auto v = std::to_integer<unsigned>(bytes[4]); v != version)
        fail(errc::unsupported, "v2 pack has format version " + std::to_string(v) +
                                    "; this build reads version " + std::to_string(version));
    const std::size_t count = std::to_integer<std::size_t>(bytes[5]);
    const std::size_t table_end = header_bytes + count * table_entry_bytes;
    if (bytes.size() < table_end + footer_bytes)
        fail(errc::truncated, "v2 pack is " + std::to_string(bytes.size()) +
                                  " bytes, shorter than its " + std::to_string(count) +
                                  "-entry section table and footer (" +
                                  std::to_string(table_end + footer_bytes) + " bytes)");
    const std::size_t footer_at = bytes.size() - footer_bytes;
    const Digest sum = sha256(bytes.first(footer_at));
    if (!equal_bytes(
            BytesView{reinterpret_cast<const std::byte*>(sum.bytes.data()), sum.bytes.size()},
            bytes.subspan(footer_at)))
        fail(errc::corrupt, "v2 pack checksum mismatch: the footer is not the SHA-256 of the pack");

    std::array<BytesView, 5> sections{};
    std::array<bool, 5> seen{};
    std::array<std::pair<std::uint64_t, std::uint64_t>, 5> ranges{}; // (offset, length)
    for (std::size_t i = 0; i < count; ++i) {
        const std::byte* entry = bytes.data() + header_bytes + i * table_entry_bytes;
        const auto type = std::to_integer<unsigned>(entry[0]);
        const std::uint64_t offset = get_u64(entry + 1);
        const std::uint64_t length = get_u64(entry + 9);
        if (type < 1 || type > 5)
            fail(errc::corrupt, "v2 pack section table entry " + std::to_string(i) +
                                    " has unknown section type " + std::to_string(type));
        const std::size_t k = type - 1;
        if (seen[k])
            fail(errc::corrupt, std::string("v2 pack has two ") + section_name(k) + " sections");
        if (offset < table_end || offset > footer_at || length > footer_at - offset)
            fail(errc::corrupt, std::string("v2 pack ") + section_name(k) + " section (offset " +
                                    std::to_string(offset) + ", length " + std::to_string(length) +
                                    ") lies outside the data area [" + std::to_string(table_end) +
                                    ", " + std::to_string(footer_at) + ")");
        seen[k] = true;
        ranges[k] = {offset, length};
        sections[k] =
            bytes.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
    }
    for (std::size_t k = 0; k < 5; ++k)
        if (!seen[k])
            fail(errc::corrupt, std::string("v2 pack lacks its ") + section_name(k) + " section");
    // Sections never share bytes: a byte range names one object in one section.
    std::array<std::size_t, 5> order{0, 1, 2, 3, 4};
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return ranges[a] < ranges[b]; });
    for (std::size_t j = 1; j < 5; ++j) {
        const auto& [prev_off, prev_len] = ranges[order[j - 1]];
        if (prev_off + prev_len > ranges[order[j]].first)
            fail(errc::corrupt, std::string("v2 pack ") + section_name(order[j - 1]) + " and " +
                                    section_name(order[j]) + " sections overlap");
    }
    return sections;
}

inline Counts read_meta(BytesView section, const Limits& limits) {
    constexpr std::string_view what = "v2 pack META";
    auto handle = detail::unpack_bounded(section, limits, what);
    const auto& m = detail::as_map(handle.get(), what);
    auto format = detail::as_str(detail::require_key(m, "format", what), "v2 pack META 'format'");
    if (format != format_name)
        fail(errc::corrupt, "v2 pack META 'format' is '" + std::string(format.substr(0, 80)) +
                                "', not '" + std::string(format_name) + "'");
    const auto& counts =
        detail::as_map(detail::require_key(m, "counts", what), "v2 pack META 'counts'");
    auto count = [&](std::string_view key) {
        return detail::as_uint(detail::require_key(counts, key, "v2 pack META 'counts'"),
                               "v2 pack META 'counts' '" + std::string(key) + "'");
    };
    Counts c;
    c.objects = count("objects");
    c.commits = count("commits");
    c.snapshots = count("snapshots");
    c.tags = count("tags");
    if (auto* heads = detail::find_key(m, "branch_heads"); heads && !heads->is_nil()) {
        const auto& hm = detail::as_map(*heads, "v2 pack META 'branch_heads'");
        for (std::uint32_t i = 0; i < hm.size; ++i) {
            std::string branch(detail::as_str(hm.ptr[i].key, "v2 pack META branch name"));
            auto label = "v2 pack META head of branch '" + branch.substr(0, 200) + "'";
            c.branch_heads.insert_or_assign(
                std::move(branch),
                CommitId{IdText::parse(detail::as_str(hm.ptr[i].val, label), label)});
        }
    }
    return c;
}

} // namespace musehub::detail::mpack
