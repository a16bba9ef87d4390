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
//
// The file primitives (temporary files, rename and link, reads, listing) are in
// fs/detail/files.hpp; the key-to-path mapping, listing and the sweep in fs/detail/layout.hpp.

#include "musehub/core/error.hpp"
#include "musehub/fs/detail/files.hpp"
#include "musehub/fs/detail/layout.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace musehub::fs {

class ObjectStore {
public:
    struct Options {
        bool durable = true; // fsync files and directories on every write (see above)
    };

    static constexpr std::string_view format_marker = "musehub-fs-store 1\n";
    static constexpr std::size_t max_key_bytes = detail::max_key_bytes;
    static constexpr std::size_t max_name_bytes = detail::max_name_bytes; // one escaped segment

    // Opens (creating if missing) the store at `root`: durable by default.
    explicit ObjectStore(std::filesystem::path root) : ObjectStore(std::move(root), Options{}) {}
    ObjectStore(std::filesystem::path root, Options options)
        : root_(std::move(root)), objects_(root_ / "objects"), durable_(options.durable) {
        detail::make_dirs(root_, durable_);
        check_or_write_marker();
        detail::make_dirs(objects_, durable_);
    }

    const std::filesystem::path& root() const noexcept { return root_; }
    bool durable() const noexcept { return durable_; }

    void put(std::string_view key, BytesView data) {
        auto loc = locate(key);
        detail::make_dirs(loc.dir, durable_);
        auto tmp = detail::write_temp(loc.dir, data, durable_);
        detail::publish(tmp, loc.file);
        if (durable_)
            detail::sync_dir(loc.dir);
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
            detail::write_all(fd_, tmp_, data);
        }

        void commit(std::string_view key) {
            if (tmp_.empty())
                fail(errc::invalid_argument, "fs store: put committed twice");
            auto loc = store_->locate(key);
            detail::make_dirs(loc.dir, store_->durable_);
            if (store_->durable_ && ::fsync(fd_) != 0)
                detail::io_fail("fsync", tmp_, errno);
            int rc = ::close(std::exchange(fd_, -1));
            if (rc != 0 && errno != EINTR)
                detail::io_fail("close", tmp_, errno);
            detail::publish(tmp_, loc.file); // removes the temporary file if it fails
            tmp_.clear();
            if (store_->durable_)
                detail::sync_dir(loc.dir);
        }

    private:
        friend class ObjectStore;
        explicit PendingPut(const ObjectStore& store) : store_(&store) {
            std::tie(tmp_, fd_) = detail::create_temp(store.objects_);
        }

        const ObjectStore* store_;
        std::filesystem::path tmp_;
        int fd_ = -1;
    };
    PendingPut begin_put() const { return PendingPut(*this); }

    bool put_if_absent(std::string_view key, BytesView data) {
        auto loc = locate(key);
        if (detail::stat_size(loc.file))
            return false; // the common lost race costs no write
        detail::make_dirs(loc.dir, durable_);
        auto tmp = detail::write_temp(loc.dir, data, durable_);
        bool won = detail::publish_if_absent(tmp, loc.file);
        if (durable_)
            detail::sync_dir(loc.dir);
        return won;
    }

    std::optional<Bytes> get(std::string_view key) const {
        auto loc = locate(key);
        detail::Fd fd = detail::open_read(loc.file);
        if (fd.fd < 0)
            return std::nullopt;
        return detail::read_at(fd, loc.file, 0, detail::file_size(fd, loc.file));
    }

    std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset,
                                   std::uint64_t length) const {
        auto loc = locate(key);
        detail::Fd fd = detail::open_read(loc.file);
        if (fd.fd < 0)
            return std::nullopt;
        std::uint64_t size = detail::file_size(fd, loc.file);
        auto begin = std::min(offset, size);
        return detail::read_at(fd, loc.file, begin, std::min(length, size - begin));
    }

    std::optional<std::uint64_t> size(std::string_view key) const {
        return detail::stat_size(locate(key).file);
    }

    void remove(std::string_view key) {
        auto loc = locate(key);
        if (detail::unlink_file(loc.file) && durable_)
            detail::sync_dir(loc.dir);
    }

    std::vector<std::string> list(std::string_view prefix) const {
        return detail::list_keys(objects_, prefix);
    }

    // ---- batches: one directory fsync per directory rather than per key ---------------------

    void put_many(std::span<const PutItem> items) {
        std::set<std::string> dirs;
        for (const auto& item : items) {
            auto loc = locate(item.key);
            detail::make_dirs(loc.dir, durable_);
            auto tmp = detail::write_temp(loc.dir, item.bytes, durable_);
            detail::publish(tmp, loc.file);
            dirs.insert(loc.dir.native());
        }
        if (durable_)
            for (const auto& d : dirs)
                detail::sync_dir(d);
    }

    void remove_many(std::span<const std::string> keys) {
        std::set<std::string> dirs;
        for (const auto& k : keys) {
            auto loc = locate(k);
            if (detail::unlink_file(loc.file))
                dirs.insert(loc.dir.native());
        }
        if (durable_)
            for (const auto& d : dirs)
                detail::sync_dir(d);
    }

    // Deletes temporary files (".tmp-*", left by writers that crashed) last modified more than
    // `older_than` ago, anywhere in the store; returns how many. Pass an age far above the
    // longest put (minutes, not seconds): a younger temp may belong to a put in flight.
    std::size_t remove_stale_temps(std::chrono::seconds older_than) {
        auto cutoff = std::chrono::system_clock::now() - older_than;
        std::size_t removed = 0;
        detail::sweep_temps(root_, cutoff, removed, true);
        return removed;
    }

private:
    detail::Location locate(std::string_view key) const { return detail::locate(objects_, key); }

    // The marker's first bytes, or nullopt when there is none.
    std::optional<std::string> read_marker(const std::filesystem::path& marker) const {
        detail::Fd fd = detail::open_read(marker);
        if (fd.fd < 0)
            return std::nullopt;
        return detail::read_prefix(fd, marker, 256);
    }

    void check_or_write_marker() {
        auto marker = root_ / "FORMAT";
        auto existing = read_marker(marker);
        if (!existing) {
            // Publish with link(2): concurrent openers agree on one marker.
            auto tmp = detail::write_temp(root_, as_bytes(format_marker), durable_);
            detail::publish_if_absent(tmp, marker);
            if (durable_)
                detail::sync_dir(root_);
            existing = read_marker(marker);
            if (!existing)
                detail::io_fail("open", marker, ENOENT);
        }
        if (*existing != format_marker) {
            auto line = existing->substr(0, existing->find('\n'));
            fail(errc::unsupported,
                 "fs store at '" + root_.native() + "' has format '" + detail::printable(line) +
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
