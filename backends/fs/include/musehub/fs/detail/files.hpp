#pragma once
// The POSIX file primitives the fs object store (fs/object_store.hpp) is built from: owned
// descriptors, mkdir -p, directory fsync, temporary files written and fsynced, then published
// by rename(2) (replacing) or link(2) (only if absent), positioned reads, stat and directory
// listing. Every failure is errc::io naming the operation and the path ("fs store: ...").
// `durable` false skips every fsync (see ObjectStore::Options).

#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace musehub::fs::detail {

[[noreturn]] inline void io_fail(std::string_view op, const std::filesystem::path& path, int err) {
    fail(errc::io, "fs store: " + std::string(op) + " '" + path.native() +
                       "': " + std::generic_category().message(err));
}

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

struct Dir {
    DIR* d = nullptr;
    explicit Dir(DIR* p) : d(p) {}
    Dir(const Dir&) = delete;
    Dir& operator=(const Dir&) = delete;
    ~Dir() {
        if (d)
            ::closedir(d);
    }
};

inline void sync_dir(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        io_fail("open directory", dir, errno);
    Fd guard(fd);
    if (::fsync(fd) != 0)
        io_fail("fsync directory", dir, errno);
}

// mkdir -p; each directory this call creates is fsynced into its parent when durable.
inline void make_dirs(const std::filesystem::path& dir, bool durable) {
    if (::mkdir(dir.c_str(), 0755) == 0) {
        if (durable)
            sync_dir(dir.parent_path());
        return;
    }
    int e = errno;
    if (e == EEXIST)
        return; // (a file in the way fails on first use, naming it)
    if (e == ENOENT && dir.has_relative_path() && dir.parent_path() != dir) {
        make_dirs(dir.parent_path(), durable);
        if (::mkdir(dir.c_str(), 0755) == 0) {
            if (durable)
                sync_dir(dir.parent_path());
            return;
        }
        e = errno;
        if (e == EEXIST)
            return;
    }
    io_fail("mkdir", dir, e);
}

inline std::string temp_name() {
    thread_local std::mt19937_64 rng{[] {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd() ^
               static_cast<std::uint64_t>(
                   std::chrono::steady_clock::now().time_since_epoch().count());
    }()};
    char buf[64];
    std::snprintf(buf, sizeof buf, ".tmp-%ld-%016llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(rng()));
    return buf;
}

// A new temporary file in `dir`, open for writing.
inline std::pair<std::filesystem::path, int> create_temp(const std::filesystem::path& dir) {
    for (int attempt = 0;; ++attempt) {
        auto tmp = dir / temp_name();
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
            return {std::move(tmp), fd};
        if (errno != EEXIST || attempt > 16)
            io_fail("create", tmp, errno);
    }
}

inline void write_all(int fd, const std::filesystem::path& file, BytesView data) {
    std::size_t done = 0;
    while (done < data.size()) {
        auto chunk = std::min<std::size_t>(data.size() - done, std::size_t{1} << 30);
        auto n = ::write(fd, data.data() + done, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            io_fail("write", file, errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

// Writes `data` to a new temporary file in `dir` (fsynced when durable) and returns its
// path; on failure removes it and throws.
inline std::filesystem::path write_temp(const std::filesystem::path& dir, BytesView data,
                                        bool durable) {
    auto [tmp, fd] = create_temp(dir);
    Fd guard(fd);
    try {
        write_all(fd, tmp, data);
        if (durable && ::fsync(fd) != 0)
            io_fail("fsync", tmp, errno);
        int rc = ::close(std::exchange(guard.fd, -1));
        if (rc != 0 && errno != EINTR)
            io_fail("close", tmp, errno);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    return tmp;
}

// Renames `tmp` over `file`; if that fails, removes `tmp` and throws.
inline void publish(const std::filesystem::path& tmp, const std::filesystem::path& file) {
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        io_fail("rename", file, e);
    }
}

// Links `tmp` to `file` unless `file` already exists, then removes `tmp`: whether it linked.
// Exactly one of any number of racing writers, threads or processes, links. If removing `tmp`
// fails the file is in place all the same; the GC sweeps the temporary.
inline bool publish_if_absent(const std::filesystem::path& tmp, const std::filesystem::path& file) {
    if (::link(tmp.c_str(), file.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        if (e != EEXIST)
            io_fail("link", file, e);
        return false;
    }
    ::unlink(tmp.c_str());
    return true;
}

// Whether it removed something.
inline bool unlink_file(const std::filesystem::path& file) {
    if (::unlink(file.c_str()) == 0)
        return true;
    if (errno == ENOENT || errno == ENOTDIR)
        return false;
    io_fail("unlink", file, errno);
}

// The file open for reading, or an Fd of -1 when it does not exist.
inline Fd open_read(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
        io_fail("open", file, errno);
    return Fd(fd);
}

// pread of [offset, offset+n): objects are immutable once published.
inline Bytes read_at(const Fd& fd, const std::filesystem::path& file, std::uint64_t offset,
                     std::uint64_t n) {
    Bytes out(static_cast<std::size_t>(n));
    std::size_t done = 0;
    while (done < out.size()) {
        auto r =
            ::pread(fd.fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            io_fail("pread", file, errno);
        }
        if (r == 0)
            break; // objects never shrink; stop rather than spin if one did
        done += static_cast<std::size_t>(r);
    }
    out.resize(done);
    return out;
}

// Up to `max` bytes from the start of `fd`, fewer if the file ends first.
inline std::string read_prefix(const Fd& fd, const std::filesystem::path& file, std::size_t max) {
    std::string s(max, '\0');
    std::size_t done = 0;
    while (done < s.size()) {
        auto n = ::read(fd.fd, s.data() + done, s.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            io_fail("read", file, errno);
        }
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    s.resize(done);
    return s;
}

inline std::uint64_t file_size(const Fd& fd, const std::filesystem::path& file) {
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0)
        io_fail("fstat", file, errno);
    return static_cast<std::uint64_t>(st.st_size);
}

inline std::optional<std::uint64_t> stat_size(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::nullopt;
        io_fail("stat", file, errno);
    }
    return static_cast<std::uint64_t>(st.st_size);
}

// Names in `dir` (not "." or ".."); empty when it does not exist.
inline std::vector<std::string> read_dir(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    Dir d(::opendir(dir.c_str()));
    if (!d.d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return names;
        io_fail("opendir", dir, errno);
    }
    while (true) {
        errno = 0;
        auto* e = ::readdir(d.d);
        if (!e) {
            if (errno != 0)
                io_fail("readdir", dir, errno);
            break;
        }
        std::string_view n = e->d_name;
        if (n != "." && n != "..")
            names.emplace_back(n);
    }
    return names;
}

} // namespace musehub::fs::detail
