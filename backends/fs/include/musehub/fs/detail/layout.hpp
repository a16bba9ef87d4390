#pragma once
// The fs object store's on-disk layout (described in fs/object_store.hpp): where a key lives
// under objects/ (escaped segments, `.d` key directories, `.b` buckets), which keys a listing
// finds there, and the sweep of temporary files writers left behind.

#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/fs/detail/files.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace musehub::fs::detail {

inline constexpr std::size_t max_key_bytes = 1024;
inline constexpr std::size_t max_name_bytes = 240; // one escaped segment

// The key, printable and bounded, for error messages.
inline std::string printable(std::string_view key) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < key.size() && i < 200; ++i) {
        auto u = static_cast<unsigned char>(key[i]);
        if (u < 0x20 || u == 0x7f || u == '\\')
            out.append({'\\', 'x', digits[u >> 4], digits[u & 15]});
        else
            out += key[i];
    }
    if (key.size() > 200)
        out += "...";
    return out;
}

inline bool needs_escape(unsigned char u, bool first) {
    return u == '%' || u < 0x20 || u == 0x7f || (first && u == '.');
}

inline std::size_t escaped_size(std::string_view seg) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < seg.size(); ++i)
        n += needs_escape(static_cast<unsigned char>(seg[i]), i == 0) ? 3 : 1;
    return n;
}

inline bool valid_segment(std::string_view seg) {
    return !seg.empty() && seg != "." && seg != ".." && seg.find('\0') == std::string_view::npos &&
           escaped_size(seg) <= max_name_bytes;
}

inline std::string escape(std::string_view seg) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(seg.size());
    for (std::size_t i = 0; i < seg.size(); ++i) {
        auto u = static_cast<unsigned char>(seg[i]);
        if (needs_escape(u, i == 0))
            out.append({'%', digits[u >> 4], digits[u & 15]});
        else
            out += seg[i];
    }
    return out;
}

// The segment a stored name spells, or nullopt for a name this store did not write.
inline std::optional<std::string> unescape(std::string_view name) {
    if (name.empty() || name.front() == '.')
        return std::nullopt;
    return decode_percent(name);
}

// Bucket of a last segment: its bytes 2-3 (alphanumerics as they are, others as %XX).
inline std::string bucket(std::string_view last) {
    if (last.size() < 4)
        return "_.b";
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char c : last.substr(2, 2)) {
        auto u = static_cast<unsigned char>(c);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            out += c;
        else
            out.append({'%', digits[u >> 4], digits[u & 15]});
    }
    return out + ".b";
}

struct Location {
    std::filesystem::path dir;  // the bucket directory
    std::filesystem::path file; // dir / escaped last segment
};

// Where `key` lives under `objects`; a key that could reach outside it, or is not a key at
// all, is errc::invalid_argument naming it.
inline Location locate(const std::filesystem::path& objects, std::string_view key) {
    auto bad = [&](std::string_view why) {
        fail(errc::invalid_argument, "fs store: key '" + printable(key) + "' " + std::string(why));
    };
    if (key.empty())
        bad("is empty");
    if (key.size() > max_key_bytes)
        bad("is longer than " + std::to_string(max_key_bytes) + " bytes");
    if (key.front() == '/')
        bad("is absolute");
    if (key.find('\0') != std::string_view::npos)
        bad("contains NUL");
    Location loc{objects, {}};
    std::size_t start = 0;
    while (true) {
        auto end = key.find('/', start);
        auto seg = key.substr(start, end == std::string_view::npos ? end : end - start);
        if (seg.empty())
            bad("has an empty segment");
        if (seg == "." || seg == "..")
            bad("has a '.' or '..' segment");
        if (escaped_size(seg) > max_name_bytes)
            bad("has a segment longer than " + std::to_string(max_name_bytes) +
                " bytes once escaped");
        if (end == std::string_view::npos) {
            loc.dir /= bucket(seg);
            loc.file = loc.dir / escape(seg);
            return loc;
        }
        loc.dir /= escape(seg) + ".d";
        start = end + 1;
    }
}

// Appends to `out` every key in key directory `dir` (whose keys start with `key_prefix`)
// whose remainder starts with `partial`.
inline void list_dir(const std::filesystem::path& dir, const std::string& key_prefix,
                     std::string_view partial, std::vector<std::string>& out) {
    // With four bytes of the last segment known, only one bucket can hold matches.
    std::optional<std::string> only_bucket;
    if (partial.size() >= 4 && partial.find('/') == std::string_view::npos)
        only_bucket = bucket(partial);
    for (const auto& name : read_dir(dir)) {
        std::string_view n = name;
        if (n.size() > 2 && n.ends_with(".d")) {
            auto seg = unescape(n.substr(0, n.size() - 2));
            if (!seg)
                continue;
            auto sub = key_prefix + *seg + "/";
            auto rest = sub.substr(key_prefix.size());
            if (rest.starts_with(partial))
                list_dir(dir / name, sub, "", out);
            else if (partial.starts_with(rest))
                list_dir(dir / name, sub, partial.substr(rest.size()), out);
        } else if (n.size() > 2 && n.ends_with(".b")) {
            if (only_bucket && *only_bucket != n)
                continue;
            if (partial.find('/') != std::string_view::npos)
                continue; // a file's key has no '/' past key_prefix
            for (const auto& f : read_dir(dir / name)) {
                auto seg = unescape(f);
                if (seg && seg->starts_with(partial))
                    out.push_back(key_prefix + *seg);
            }
        }
    }
}

// Every key starting with `prefix`, sorted. The full segments of the prefix name one
// directory; the partial last one filters it.
inline std::vector<std::string> list_keys(const std::filesystem::path& objects,
                                          std::string_view prefix) {
    std::vector<std::string> keys;
    auto slash = prefix.rfind('/');
    std::string_view dirs = slash == std::string_view::npos ? "" : prefix.substr(0, slash);
    std::string_view partial = slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
    auto dir = objects;
    std::string key_prefix;
    if (slash != std::string_view::npos) {
        std::size_t start = 0;
        while (start <= dirs.size()) {
            auto end = std::min(dirs.find('/', start), dirs.size());
            auto seg = dirs.substr(start, end - start);
            if (!valid_segment(seg))
                return keys; // no key has such a segment
            dir /= escape(seg) + ".d";
            start = end + 1;
        }
        key_prefix.assign(prefix.substr(0, slash + 1));
    }
    list_dir(dir, key_prefix, partial, keys);
    std::sort(keys.begin(), keys.end());
    return keys;
}

// Removes old temporaries in `dir` and, below it, in every directory the store made
// (at the root: only objects/).
inline void sweep_temps(const std::filesystem::path& dir,
                        std::chrono::system_clock::time_point cutoff, std::size_t& removed,
                        bool at_root) {
    for (const auto& name : read_dir(dir)) {
        auto path = dir / name;
        std::string_view n = name;
        if (n.starts_with(".tmp-")) {
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0) {
                if (errno == ENOENT)
                    continue; // its writer finished, or another sweeper got it
                io_fail("stat", path, errno);
            }
            auto mtime = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::seconds(st.st_mtim.tv_sec) +
                    std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
            if (S_ISREG(st.st_mode) && mtime < cutoff && unlink_file(path))
                ++removed;
        } else if (at_root ? n == "objects"
                           : n.size() > 2 && (n.ends_with(".d") || n.ends_with(".b"))) {
            sweep_temps(path, cutoff, removed, false);
        }
    }
}

} // namespace musehub::fs::detail
