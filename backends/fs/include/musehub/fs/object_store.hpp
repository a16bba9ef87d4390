#pragma once
// Filesystem ObjectStore: the object store of the embedded default backend (POSIX; Linux).
//
// On-disk format "musehub-fs-store 1" under a root directory:
//
//     root/FORMAT                      "musehub-fs-store 1\n"; a root whose marker names another
//                                      format or version is refused (errc::unsupported)
//     root/objects/<dirs>/<bucket>/<name>
//
// A key is '/'-separated segments. Every segment but the last becomes a directory named
// `<segment>.d`; the last becomes a regular file `<segment>` inside a bucket directory
// `<bytes 2-3 of the last segment>.b` (`_.b` when it is shorter than 4 bytes). So
//
//     v1/packs/ab/ab12…-<nonce>.mpack  ->  objects/v1.d/packs.d/ab.d/12.b/ab12…-<nonce>.mpack
//     a                                ->  objects/_.b/a
//     a/1                              ->  objects/a.d/_.b/1
//
// Files live only in buckets and key directories end in ".d", so key "a" (a file) and key
// "a/1" (under directory "a.d") never collide. The buckets are a second level of fan-out on
// the two bytes after the two the key layout (store/keys.hpp) already fans on: with 256 × 256
// ways no directory holds tens of thousands of entries before the store holds hundreds of
// millions of objects, and a listing whose prefix names at least four bytes of the last
// segment (e.g. "v1/objects/ab/<hex>-") reads one bucket. Within a name, '%', bytes below
// 0x20, 0x7f and a leading '.' are percent-escaped ("%25", "%0A", "%2E"…), so the mapping is
// invertible and no stored name starts with '.'. Names starting with ".tmp-" are in-flight
// or abandoned temporary files, never listed.
//
// Keys are checked before they touch the filesystem: empty, absolute, "." / ".." / empty
// segments, NUL, over 1024 bytes, or a segment over 240 bytes once escaped are refused with
// errc::invalid_argument naming the key, so a key can never reach outside root/objects.
//
// Writes. put writes a temporary file ".tmp-<pid>-<random>" in the final directory, fsyncs
// it, rename(2)s it over the final name and fsyncs the directory: readers see all of the new
// bytes or none of them, a failed write removes its temporary file, and a replaced object
// stays readable through descriptors already open. put_if_absent links (link(2)) the
// temporary file to the final name instead, so exactly one writer wins across threads and
// processes, then unlinks the temporary file. Directories are created on demand (each new one
// fsynced into its parent) and never removed: their number is bounded by the fan-out.
//
// begin_put() streams a put whose key is known only once its bytes are: the temporary file
// sits in objects/ until commit(key) renames it into place.
//
// Options::durable = false skips every fsync: objects are still atomically visible, but a
// power loss or kernel crash may lose recent puts. Use it for tests and benchmarks only.
//
// A writer that crashes leaves its temporary file behind; remove_stale_temps(age) deletes
// those older than `age` (the fs backend's GC calls it with an age far above any put's
// duration, so an in-flight put is never disturbed).
//
// The store keeps no mutable state besides the filesystem: one instance may be shared by any
// number of threads, and any number of processes may open the same root.

#include "musehub/core/error.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/concept.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

namespace musehub::fs {

class ObjectStore {
public:
    struct Options {
        bool durable = true; // fsync files and directories on every write (see above)
    };

    static constexpr std::string_view format_marker = "musehub-fs-store 1\n";
    static constexpr std::size_t max_key_bytes = 1024;
    static constexpr std::size_t max_name_bytes = 240; // one escaped segment

    // Opens (creating if missing) the store at `root`: durable by default.
    explicit ObjectStore(std::filesystem::path root) : ObjectStore(std::move(root), Options{}) {}
    ObjectStore(std::filesystem::path root, Options options)
        : root_(std::move(root)), objects_(root_ / "objects"), durable_(options.durable) {
        make_dirs(root_);
        check_or_write_marker();
        make_dirs(objects_);
    }

    const std::filesystem::path& root() const noexcept { return root_; }
    bool durable() const noexcept { return durable_; }

    void put(std::string_view key, BytesView data) {
        auto loc = locate(key);
        make_dirs(loc.dir);
        auto tmp = write_temp(loc.dir, data);
        publish(tmp, loc.file);
        if (durable_)
            sync_dir(loc.dir);
    }

    // A put whose bytes arrive in pieces and whose key is named only at the end (a fetch
    // pack is named by the hash of its bytes): the pieces go to a temporary file in objects/,
    // commit(key) fsyncs it and renames it into place like put. Destroyed uncommitted, the
    // temporary file is removed.
    class PendingPut {
    public:
        PendingPut(const PendingPut&) = delete;
        PendingPut& operator=(const PendingPut&) = delete;
        PendingPut(PendingPut&& o) noexcept
            : store_(o.store_), tmp_(std::move(o.tmp_)), fd_(std::exchange(o.fd_, -1)) {}
        PendingPut& operator=(PendingPut&&) = delete;
        ~PendingPut() {
            if (fd_ >= 0)
                ::close(fd_);
            if (!tmp_.empty())
                ::unlink(tmp_.c_str());
        }

        void write(BytesView data) {
            if (tmp_.empty())
                fail(errc::invalid_argument, "fs store: write to a put already committed");
            write_all(fd_, tmp_, data);
        }

        void commit(std::string_view key) {
            if (tmp_.empty())
                fail(errc::invalid_argument, "fs store: put committed twice");
            auto loc = store_->locate(key);
            store_->make_dirs(loc.dir);
            if (store_->durable_ && ::fsync(fd_) != 0)
                io_fail("fsync", tmp_, errno);
            int rc = ::close(std::exchange(fd_, -1));
            if (rc != 0 && errno != EINTR)
                io_fail("close", tmp_, errno);
            publish(tmp_, loc.file); // removes the temporary file if it fails
            tmp_.clear();
            if (store_->durable_)
                store_->sync_dir(loc.dir);
        }

    private:
        friend class ObjectStore;
        explicit PendingPut(const ObjectStore& store) : store_(&store) {
            std::tie(tmp_, fd_) = store.create_temp(store.objects_);
        }

        const ObjectStore* store_;
        std::filesystem::path tmp_;
        int fd_ = -1;
    };
    PendingPut begin_put() const { return PendingPut(*this); }

    bool put_if_absent(std::string_view key, BytesView data) {
        auto loc = locate(key);
        if (stat_size(loc.file))
            return false; // the common lost race costs no write
        make_dirs(loc.dir);
        auto tmp = write_temp(loc.dir, data);
        bool won = true;
        if (::link(tmp.c_str(), loc.file.c_str()) != 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            if (e != EEXIST)
                io_fail("link", loc.file, e);
            won = false;
        } else {
            ::unlink(tmp.c_str()); // if this fails the object is in place; GC sweeps the temp
        }
        if (durable_)
            sync_dir(loc.dir);
        return won;
    }

    std::optional<Bytes> get(std::string_view key) const {
        auto loc = locate(key);
        Fd fd = open_read(loc.file);
        if (fd.fd < 0)
            return std::nullopt;
        return read_at(fd, loc.file, 0, file_size(fd, loc.file));
    }

    std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset,
                                   std::uint64_t length) const {
        auto loc = locate(key);
        Fd fd = open_read(loc.file);
        if (fd.fd < 0)
            return std::nullopt;
        std::uint64_t size = file_size(fd, loc.file);
        auto begin = std::min(offset, size);
        return read_at(fd, loc.file, begin, std::min(length, size - begin));
    }

    std::optional<std::uint64_t> size(std::string_view key) const {
        return stat_size(locate(key).file);
    }

    void remove(std::string_view key) {
        auto loc = locate(key);
        if (unlink_file(loc.file) && durable_)
            sync_dir(loc.dir);
    }

    std::vector<std::string> list(std::string_view prefix) const {
        std::vector<std::string> keys;
        // The full segments of the prefix name one directory; the partial last one filters it.
        auto slash = prefix.rfind('/');
        std::string_view dirs = slash == std::string_view::npos ? "" : prefix.substr(0, slash);
        std::string_view partial =
            slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
        auto dir = objects_;
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

    // ---- batches: one directory fsync per directory rather than per key ---------------------

    void put_many(std::span<const PutItem> items) {
        std::set<std::string> dirs;
        for (const auto& item : items) {
            auto loc = locate(item.key);
            make_dirs(loc.dir);
            auto tmp = write_temp(loc.dir, item.bytes);
            publish(tmp, loc.file);
            dirs.insert(loc.dir.native());
        }
        if (durable_)
            for (const auto& d : dirs)
                sync_dir(d);
    }

    void remove_many(std::span<const std::string> keys) {
        std::set<std::string> dirs;
        for (const auto& k : keys) {
            auto loc = locate(k);
            if (unlink_file(loc.file))
                dirs.insert(loc.dir.native());
        }
        if (durable_)
            for (const auto& d : dirs)
                sync_dir(d);
    }

    // Deletes temporary files (".tmp-*", left by writers that crashed) last modified more than
    // `older_than` ago, anywhere in the store; returns how many. Pass an age far above the
    // longest put (minutes, not seconds): a younger temp may belong to a put in flight.
    std::size_t remove_stale_temps(std::chrono::seconds older_than) {
        auto cutoff = std::chrono::system_clock::now() - older_than;
        std::size_t removed = 0;
        sweep_temps(root_, cutoff, removed, true);
        return removed;
    }

private:
    struct Location {
        std::filesystem::path dir;  // the bucket directory
        std::filesystem::path file; // dir / escaped last segment
    };

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

    [[noreturn]] static void io_fail(std::string_view op, const std::filesystem::path& path,
                                     int err) {
        fail(errc::io, "fs store: " + std::string(op) + " '" + path.native() +
                           "': " + std::generic_category().message(err));
    }

    // The key, printable and bounded, for error messages.
    static std::string printable(std::string_view key) {
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

    static bool valid_segment(std::string_view seg) {
        return !seg.empty() && seg != "." && seg != ".." &&
               seg.find('\0') == std::string_view::npos && escaped_size(seg) <= max_name_bytes;
    }

    static bool needs_escape(unsigned char u, bool first) {
        return u == '%' || u < 0x20 || u == 0x7f || (first && u == '.');
    }

    static std::size_t escaped_size(std::string_view seg) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < seg.size(); ++i)
            n += needs_escape(static_cast<unsigned char>(seg[i]), i == 0) ? 3 : 1;
        return n;
    }

    static std::string escape(std::string_view seg) {
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
    static std::optional<std::string> unescape(std::string_view name) {
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return -1;
        };
        if (name.empty() || name.front() == '.')
            return std::nullopt;
        std::string out;
        out.reserve(name.size());
        for (std::size_t i = 0; i < name.size(); ++i) {
            if (name[i] != '%') {
                out += name[i];
                continue;
            }
            int hi = i + 2 < name.size() ? hex(name[i + 1]) : -1;
            int lo = i + 2 < name.size() ? hex(name[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi << 4 | lo);
            i += 2;
        }
        return out;
    }

    // Bucket of a last segment: its bytes 2-3 (alphanumerics as they are, others as %XX).
    static std::string bucket(std::string_view last) {
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

    Location locate(std::string_view key) const {
        auto bad = [&](std::string_view why) {
            fail(errc::invalid_argument,
                 "fs store: key '" + printable(key) + "' " + std::string(why));
        };
        if (key.empty())
            bad("is empty");
        if (key.size() > max_key_bytes)
            bad("is longer than " + std::to_string(max_key_bytes) + " bytes");
        if (key.front() == '/')
            bad("is absolute");
        if (key.find('\0') != std::string_view::npos)
            bad("contains NUL");
        Location loc{objects_, {}};
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

    // mkdir -p; each directory this call creates is fsynced into its parent when durable.
    void make_dirs(const std::filesystem::path& dir) const {
        if (::mkdir(dir.c_str(), 0755) == 0) {
            if (durable_)
                sync_dir(dir.parent_path());
            return;
        }
        int e = errno;
        if (e == EEXIST)
            return; // (a file in the way fails on first use, naming it)
        if (e == ENOENT && dir.has_relative_path() && dir.parent_path() != dir) {
            make_dirs(dir.parent_path());
            if (::mkdir(dir.c_str(), 0755) == 0) {
                if (durable_)
                    sync_dir(dir.parent_path());
                return;
            }
            e = errno;
            if (e == EEXIST)
                return;
        }
        io_fail("mkdir", dir, e);
    }

    static void sync_dir(const std::filesystem::path& dir) {
        int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            io_fail("open directory", dir, errno);
        Fd guard(fd);
        if (::fsync(fd) != 0)
            io_fail("fsync directory", dir, errno);
    }

    static std::string temp_name() {
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
    std::pair<std::filesystem::path, int> create_temp(const std::filesystem::path& dir) const {
        for (int attempt = 0;; ++attempt) {
            auto tmp = dir / temp_name();
            int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd >= 0)
                return {std::move(tmp), fd};
            if (errno != EEXIST || attempt > 16)
                io_fail("create", tmp, errno);
        }
    }

    static void write_all(int fd, const std::filesystem::path& file, BytesView data) {
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
    std::filesystem::path write_temp(const std::filesystem::path& dir, BytesView data) const {
        auto [tmp, fd] = create_temp(dir);
        Fd guard(fd);
        try {
            write_all(fd, tmp, data);
            if (durable_ && ::fsync(fd) != 0)
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

    static void publish(const std::filesystem::path& tmp, const std::filesystem::path& file) {
        if (::rename(tmp.c_str(), file.c_str()) != 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            io_fail("rename", file, e);
        }
    }

    // Whether it removed something.
    static bool unlink_file(const std::filesystem::path& file) {
        if (::unlink(file.c_str()) == 0)
            return true;
        if (errno == ENOENT || errno == ENOTDIR)
            return false;
        io_fail("unlink", file, errno);
    }

    static Fd open_read(const std::filesystem::path& file) {
        int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
            io_fail("open", file, errno);
        return Fd(fd);
    }

    // pread of [offset, offset+n): objects are immutable once published.
    static Bytes read_at(const Fd& fd, const std::filesystem::path& file, std::uint64_t offset,
                         std::uint64_t n) {
        Bytes out(static_cast<std::size_t>(n));
        std::size_t done = 0;
        while (done < out.size()) {
            auto r = ::pread(fd.fd, out.data() + done, out.size() - done,
                             static_cast<off_t>(offset + done));
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

    static std::uint64_t file_size(const Fd& fd, const std::filesystem::path& file) {
        struct stat st {};
        if (::fstat(fd.fd, &st) != 0)
            io_fail("fstat", file, errno);
        return static_cast<std::uint64_t>(st.st_size);
    }

    static std::optional<std::uint64_t> stat_size(const std::filesystem::path& file) {
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                return std::nullopt;
            io_fail("stat", file, errno);
        }
        return static_cast<std::uint64_t>(st.st_size);
    }

    // Names in `dir` (not "." or ".."); empty when it does not exist.
    static std::vector<std::string> read_dir(const std::filesystem::path& dir) {
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

    // Appends to `out` every key in key directory `dir` (whose keys start with `key_prefix`)
    // whose remainder starts with `partial`.
    static void list_dir(const std::filesystem::path& dir, const std::string& key_prefix,
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

    // Removes old temporaries in `dir` and, below it, in every directory the store made
    // (at the root: only objects/).
    static void sweep_temps(const std::filesystem::path& dir,
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

    void check_or_write_marker() {
        auto marker = root_ / "FORMAT";
        auto read_marker = [&]() -> std::optional<std::string> {
            Fd fd = open_read(marker);
            if (fd.fd < 0)
                return std::nullopt;
            std::string s(256, '\0');
            std::size_t done = 0;
            while (done < s.size()) {
                auto n = ::read(fd.fd, s.data() + done, s.size() - done);
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    io_fail("read", marker, errno);
                }
                if (n == 0)
                    break;
                done += static_cast<std::size_t>(n);
            }
            s.resize(done);
            return s;
        };
        auto existing = read_marker();
        if (!existing) {
            // Publish with link(2): concurrent openers agree on one marker.
            auto tmp = write_temp(root_, as_bytes(format_marker));
            if (::link(tmp.c_str(), marker.c_str()) != 0 && errno != EEXIST) {
                int e = errno;
                ::unlink(tmp.c_str());
                io_fail("link", marker, e);
            }
            ::unlink(tmp.c_str());
            if (durable_)
                sync_dir(root_);
            existing = read_marker();
            if (!existing)
                io_fail("open", marker, ENOENT);
        }
        if (*existing != format_marker) {
            auto line = existing->substr(0, existing->find('\n'));
            fail(errc::unsupported,
                 "fs store at '" + root_.native() + "' has format '" + printable(line) +
                     "'; this build reads '" +
                     std::string(format_marker.substr(0, format_marker.size() - 1)) + "' only");
        }
    }

    std::filesystem::path root_;
    std::filesystem::path objects_;
    bool durable_;
};

static_assert(musehub::ObjectStore<ObjectStore>);
static_assert(!musehub::PresigningStore<ObjectStore>); // clients upload through the hub

} // namespace musehub::fs
