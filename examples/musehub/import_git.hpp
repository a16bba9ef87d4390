#pragma once
// `musehub import-git`: a git repository's history as Muse commits and snapshots in a local
// hub, read in-process with libgit2 (for demos, benchmarks and migrations).
//
// Each git commit becomes one Muse commit: its tree (every blob, symlinks as their target
// text; submodules are skipped) is the snapshot's manifest, the first two parents its parents
// (an octopus merge keeps the rest in metadata "git-parent-N"), and message, author
// ("Name <email>") and committer date (`committed_at`, ISO 8601 as `git log --format=%cI`
// prints it, at the committer's offset) carry over; `metadata["git-commit"]` names the git
// commit. Commits shared by branches are made once, under the first branch that reaches them.
// The Muse ids are a function of the git history alone: the same history always converts to
// the same commit ids (those the earlier `git log` based importer made, too).
//
// Speed: a git tree is read once per tree id, so a commit costs only the subtrees it changed;
// a blob is read and hashed once per blob id, on every core; batches of commits go into the
// hub as packs, parents first. Which git commits the hub repo has, and as which Muse commits,
// is kept in DATA/import-git.map (rewritten after every batch the hub took), so a second run
// converts only what is new.

#include "progress.hpp"

#include <musehub/core/muse_ids.hpp>
#include <musehub/hub.hpp>

#include <fcntl.h>
#include <git2.h>
#include <iconv.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace musehub::tool {

namespace git {

// Why the last libgit2 call on this thread failed, in libgit2's words.
inline std::string last_error() {
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

// libgit2's global state (allocator, per-thread errors, caches): set up once per process and
// torn down at exit, after every handle (they all live in objects destroyed before then).
inline void init_once() {
    struct Library {
        Library() {
            if (git_libgit2_init() < 0)
                throw error(errc::io, "libgit2 could not initialise: " + last_error());
            if (!(git_libgit2_features() & GIT_FEATURE_THREADS))
                throw error(errc::unsupported, "this libgit2 was built without thread support, "
                                               "which import-git needs (it reads on every core)");
        }
        ~Library() { git_libgit2_shutdown(); }
        Library(const Library&) = delete;
        Library& operator=(const Library&) = delete;
    };
    static const Library library;
}

template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
template <class T, auto Free>
using Handle = std::unique_ptr<T, Deleter<Free>>;
using Repository = Handle<git_repository, git_repository_free>;
using Odb = Handle<git_odb, git_odb_free>;
using OdbObject = Handle<git_odb_object, git_odb_object_free>;
using CommitHandle = Handle<git_commit, git_commit_free>;
using Tree = Handle<git_tree, git_tree_free>;
using Revwalk = Handle<git_revwalk, git_revwalk_free>;
using BranchIterator = Handle<git_branch_iterator, git_branch_iterator_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Object = Handle<git_object, git_object_free>;

inline void check(int rc, errc code, const std::string& what) {
    if (rc < 0)
        throw error(code, what + ": " + last_error());
}

struct OidHash {
    std::size_t operator()(const git_oid& o) const noexcept {
        std::size_t h; // the bytes of a SHA-1 are as good a hash as any
        std::memcpy(&h, o.id, sizeof h);
        return h;
    }
};
struct OidEq {
    bool operator()(const git_oid& a, const git_oid& b) const noexcept {
        return std::memcmp(a.id, b.id, GIT_OID_RAWSZ) == 0;
    }
};
template <class V>
using OidMap = std::unordered_map<git_oid, V, OidHash, OidEq>;
using OidSet = std::unordered_set<git_oid, OidHash, OidEq>;

inline std::string hex(const git_oid& o) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, &o);
    return buf;
}

inline std::optional<git_oid> parse_oid(std::string_view text) {
    git_oid o;
    if (text.size() != GIT_OID_HEXSZ ||
        text.find_first_not_of("0123456789abcdef") != std::string_view::npos ||
        git_oid_fromstrn(&o, text.data(), text.size()) < 0)
        return std::nullopt;
    return o;
}

// Where the repository's git directory is (without libgit2's trailing slash, for messages).
inline std::string path_of(git_repository* repo) {
    std::string path = git_repository_path(repo);
    if (path.size() > 1 && path.back() == '/')
        path.pop_back();
    return path;
}

inline Odb odb_of(git_repository* repo, const std::string& what) {
    git_odb* raw = nullptr;
    check(git_repository_odb(&raw, repo), errc::io, "cannot open the object database of " + what);
    return Odb(raw);
}

// The repository at or above `dir` (a work tree, its .git directory, or a bare repository),
// found as `git -C dir` finds it.
inline Repository open(const std::filesystem::path& dir) {
    init_once();
    const std::string hint = ": give the path of a git repository (a work tree, its .git "
                             "directory, or a bare repository)";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw error(errc::not_found, "'" + dir.string() + "' is not a directory" + hint);
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, dir.c_str(), 0, nullptr) < 0)
        throw error(errc::not_found, "'" + dir.string() +
                                         "' is not in a git repository (libgit2: " + last_error() +
                                         ")" + hint);
    Repository repo(raw);
    if (git_repository_is_shallow(raw) == 1)
        throw error(errc::unsupported,
                    "'" + dir.string() +
                        "' is a shallow clone: its oldest commits' parents are missing, so "
                        "their history cannot be converted; run `git fetch --unshallow` in it "
                        "first");
    return repo;
}

} // namespace git

// What `git log` prints, replicated: Muse commit ids hash the message and the committer date
// text, so both must come out byte for byte as `git log --format=%B` and `%cI` (git 2.39, what
// the earlier importer ran) print them. Newer gits print "Z" for a +0000 offset; ids keep
// "+00:00", so the same history converts to the same ids whatever git is installed.
namespace gitfmt {

inline bool is_space(char c) { // git's isspace(): no \v or \f
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// An ident line ("Name <email> 1234567890 +0200") split as git's split_ident_line does.
struct Ident {
    std::string_view name, email, date, tz; // date and tz empty when the line has no date
};

inline Ident split_ident(std::string_view line) {
    Ident id;
    const auto lt = line.find('<');
    const auto gt = lt == std::string_view::npos ? lt : line.find('>', lt + 1);
    if (gt == std::string_view::npos)
        return id; // no "<email>": git prints nothing for name and email
    auto name_end = lt;
    while (name_end > 0 && is_space(line[name_end - 1]))
        --name_end;
    id.name = line.substr(0, name_end);
    id.email = line.substr(lt + 1, gt - lt - 1);
    // The date follows the last '>' (a broken ident may hold more than one).
    auto at = line.rfind('>') + 1;
    auto skip_spaces = [&] {
        while (at < line.size() && is_space(line[at]))
            ++at;
    };
    auto digits = [&](std::size_t from) {
        auto end = line.find_first_not_of("0123456789", from);
        return (end == std::string_view::npos ? line.size() : end) - from;
    };
    skip_spaces();
    const auto date_at = at, date_len = digits(at);
    at += date_len;
    skip_spaces();
    if (date_len == 0 || at >= line.size() || (line[at] != '+' && line[at] != '-'))
        return id;
    const auto tz_len = digits(at + 1);
    if (tz_len == 0)
        return id;
    id.date = line.substr(date_at, date_len);
    id.tz = line.substr(at, tz_len + 1);
    return id;
}

// gm_time_t(): seconds at the offset `tz`, whose digits are hours and minutes; none when git
// refuses the date (before the epoch, or past what time_t holds).
inline std::optional<std::time_t> local_seconds(std::uintmax_t t, long tz) {
    const long minutes = (std::labs(tz) / 100 * 60 + std::labs(tz) % 100) * (tz < 0 ? -1 : 1);
    if (minutes < 0 && t < static_cast<std::uintmax_t>(-minutes) * 60)
        return std::nullopt;
    t += static_cast<std::uintmax_t>(minutes * 60); // modulo 2^64: minus, for a negative offset
    if (t > static_cast<std::uintmax_t>(INT64_MAX))
        return std::nullopt;
    return static_cast<std::time_t>(t);
}

// `%cI` of an ident: show_ident_date() with DATE_ISO8601_STRICT, as git 2.39 computes it; none
// where `git log` dies instead.
inline std::optional<std::string> iso_strict(const Ident& id) {
    if (id.date.empty())
        return "%cI"; // git prints an unknown placeholder as itself
    const std::string date(id.date), tz_text(id.tz);
    errno = 0;
    std::uintmax_t t = std::strtoumax(date.c_str(), nullptr, 10);
    long tz = 0;
    if (errno == ERANGE || t > static_cast<std::uintmax_t>(INT64_MAX))
        t = 0; // date_overflows(): git shows the epoch
    else if (tz = std::strtol(tz_text.c_str(), nullptr, 10); tz >= INT_MAX || tz <= INT_MIN)
        tz = 0;
    const auto local = local_seconds(t, tz);
    if (!local)
        return std::nullopt;
    std::tm tm{};
    if (!::gmtime_r(&*local, &tm)) { // past what struct tm holds: git shows the epoch
        const std::time_t zero = 0;
        ::gmtime_r(&zero, &tm);
        tz = 0;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tz >= 0 ? '+' : '-',
                  std::labs(tz) / 100, std::labs(tz) % 100);
    return buf;
}

// The last `key` line of a commit header (git's pretty-printer lets a later one win).
inline std::string_view header_line(std::string_view header, std::string_view key) {
    std::string_view found;
    for (std::size_t at = 0; at < header.size();) {
        auto eol = std::min(header.find('\n', at), header.size());
        auto line = header.substr(at, eol - at);
        if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ')
            found = line.substr(key.size() + 1);
        at = eol + 1;
    }
    return found;
}

inline bool is_utf8_name(const char* encoding) {
    return !encoding || !::strcasecmp(encoding, "utf-8") || !::strcasecmp(encoding, "utf8");
}

// A commit's text in UTF-8, as `git log` re-encodes a commit whose `encoding` header names
// another encoding; kept as it is when iconv cannot convert it, as git keeps it.
inline std::string to_utf8(std::string text, const char* encoding) {
    if (is_utf8_name(encoding) || text.empty())
        return text;
    iconv_t cd = ::iconv_open("UTF-8", encoding);
    if (cd == reinterpret_cast<iconv_t>(-1))
        return text;
    std::string out(text.size() * 4 + 16, '\0');
    char* in = text.data();
    char* to = out.data();
    std::size_t in_left = text.size(), out_left = out.size();
    const bool ok = ::iconv(cd, &in, &in_left, &to, &out_left) != static_cast<std::size_t>(-1) &&
                    ::iconv(cd, nullptr, nullptr, &to, &out_left) != static_cast<std::size_t>(-1);
    ::iconv_close(cd);
    if (!ok)
        return text;
    out.resize(out.size() - out_left);
    return out;
}

} // namespace gitfmt

// A git commit, with the fields the Muse commit takes from it.
struct GitCommit {
    git_oid oid{}, tree{};
    std::vector<git_oid> parents;
    std::string message, author, committed_at;
};

inline GitCommit read_commit(git_repository* repo, const git_oid& oid) {
    git_commit* raw = nullptr;
    git::check(git_commit_lookup(&raw, repo, &oid), errc::corrupt,
               "cannot read git commit " + git::hex(oid));
    git::CommitHandle handle(raw);
    GitCommit c;
    c.oid = oid;
    c.tree = *git_commit_tree_id(raw);
    for (unsigned i = 0; i < git_commit_parentcount(raw); ++i)
        c.parents.push_back(*git_commit_parent_id(raw, i));
    const char* encoding = git_commit_message_encoding(raw);
    const char* message = git_commit_message_raw(raw); // verbatim, as %B prints it
    c.message = gitfmt::to_utf8(message ? message : "", encoding);
    const std::string header = gitfmt::to_utf8(git_commit_raw_header(raw), encoding);
    const auto author = gitfmt::split_ident(gitfmt::header_line(header, "author"));
    c.author = std::string(author.name) + " <" + std::string(author.email) + ">";
    const auto committer = gitfmt::header_line(header, "committer");
    auto date = gitfmt::iso_strict(gitfmt::split_ident(committer));
    if (!date)
        throw error(
            errc::corrupt,
            "git commit " + git::hex(oid) + " has a committer date git cannot show ('" +
                std::string(committer) +
                "': before the Unix epoch, or too far ahead; `git log` refuses it too), so it "
                "has no committed_at to convert to; leave its branch out with --branch");
    c.committed_at = std::move(*date);
    return c;
}

// A git tree with its subtrees resolved: read once per tree id and shared by every commit
// whose tree holds it.
struct TreeNode {
    struct Entry {
        std::string name;
        git_oid blob{};                          // when subtree is null
        std::shared_ptr<const TreeNode> subtree; // null for a blob
    };
    std::vector<Entry> entries; // git's order: path order once flattened
};

class TreeCache {
public:
    explicit TreeCache(git_repository* repo) : repo_(repo) {}

    // The tree `id`. `on_new_blob` sees every blob of each tree read now; the blobs of a tree
    // read before were seen then.
    template <class F>
    std::shared_ptr<const TreeNode> get(const git_oid& id, F& on_new_blob) {
        if (auto it = nodes_.find(id); it != nodes_.end())
            return it->second;
        git_tree* raw = nullptr;
        git::check(git_tree_lookup(&raw, repo_, &id), errc::corrupt,
                   "cannot read git tree " + git::hex(id));
        git::Tree tree(raw);
        auto node = std::make_shared<TreeNode>();
        const std::size_t n = git_tree_entrycount(raw);
        node->entries.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const git_tree_entry* e = git_tree_entry_byindex(raw, i);
            const git_oid& child = *git_tree_entry_id(e);
            if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) { // a file or a symlink's target
                node->entries.push_back({git_tree_entry_name(e), child, nullptr});
                on_new_blob(child);
            } else if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
                node->entries.push_back({git_tree_entry_name(e), {}, get(child, on_new_blob)});
            } // else a submodule: a commit of another repository, not content of this one
        }
        entries_ += n;
        return nodes_.emplace(id, std::move(node)).first->second;
    }

    // Forgets every tree once the cache holds more than `max_entries` entries: memory stays
    // bounded on huge histories, at the price of reading some trees again.
    void trim(std::size_t max_entries) {
        if (entries_ > max_entries)
            nodes_.clear(), entries_ = 0;
    }

private:
    git_repository* repo_;
    git::OidMap<std::shared_ptr<const TreeNode>> nodes_;
    std::size_t entries_ = 0;
};

// Every blob under `node` as a manifest entry at `prefix` + its path, in path order.
inline void append_entries(const TreeNode& node, std::string& prefix,
                           const git::OidMap<ObjectId>& ids, std::vector<ManifestEntry>& out) {
    for (const auto& e : node.entries) {
        if (e.subtree) {
            const auto len = prefix.size();
            prefix.append(e.name).push_back('/');
            append_entries(*e.subtree, prefix, ids, out);
            prefix.resize(len);
        } else {
            out.push_back({prefix + e.name, ids.at(e.blob)});
        }
    }
}

// A blob's bytes and its Muse object id.
struct ReadBlob {
    std::shared_ptr<const Bytes> bytes;
    ObjectId id;
};

// Reads and hashes blobs on every core, each worker through a repository of its own (libgit2
// handles are not to be shared between threads; the pack files underneath are, with locks).
class BlobReader {
public:
    explicit BlobReader(const std::string& git_dir) {
        const auto workers =
            std::clamp<std::size_t>(std::thread::hardware_concurrency(), std::size_t{1}, 8);
        for (std::size_t w = 0; w < workers; ++w) {
            git_repository* repo = nullptr;
            git::check(git_repository_open(&repo, git_dir.c_str()), errc::io,
                       "cannot open git repository " + git_dir);
            repos_.emplace_back(repo);
            odbs_.push_back(git::odb_of(repo, git_dir));
        }
    }

    // `oids[i]` read and hashed into out[i]; the first failure is rethrown here.
    std::vector<ReadBlob> read(const std::vector<git_oid>& oids) {
        std::vector<ReadBlob> out(oids.size());
        std::atomic<std::size_t> next{0};
        std::atomic<bool> failed{false};
        std::exception_ptr failure;
        std::mutex m;
        auto work = [&](git_odb* odb) {
            for (std::size_t i; !failed && (i = next.fetch_add(1)) < oids.size();) {
                try {
                    out[i] = read_one(odb, oids[i]);
                } catch (...) {
                    std::lock_guard lock(m);
                    failure = failure ? failure : std::current_exception();
                    failed = true;
                }
            }
        };
        std::vector<std::thread> threads;
        const auto workers = std::min({odbs_.size(), std::max<std::size_t>(1, oids.size() / 8)});
        for (std::size_t w = 1; w < workers; ++w)
            threads.emplace_back(work, odbs_[w].get());
        work(odbs_[0].get());
        for (auto& t : threads)
            t.join();
        if (failure)
            std::rethrow_exception(failure);
        return out;
    }

private:
    static ReadBlob read_one(git_odb* odb, const git_oid& oid) {
        git_odb_object* raw = nullptr;
        git::check(git_odb_read(&raw, odb, &oid), errc::corrupt,
                   "cannot read git blob " + git::hex(oid));
        git::OdbObject object(raw);
        if (git_odb_object_type(raw) != GIT_OBJECT_BLOB)
            throw error(errc::corrupt, "git object " + git::hex(oid) +
                                           ", named as a file by a tree, is not a blob");
        const auto* data = static_cast<const std::byte*>(git_odb_object_data(raw));
        auto bytes = std::make_shared<const Bytes>(data, data + git_odb_object_size(raw));
        const ObjectId id{sha256(BytesView(bytes->data(), bytes->size()))};
        return {std::move(bytes), id};
    }

    std::vector<git::Repository> repos_;
    std::vector<git::Odb> odbs_;
};

// Writes `text` to `file` so that a crash leaves the old file or the new one, never a torn
// one: a temporary file, flushed to disk (when `durable`), renamed over it.
inline void replace_file(const std::filesystem::path& file, std::string_view text, bool durable) {
    auto tmp = file;
    tmp += ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < text.size();) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        ok = n >= 0 || errno == EINTR;
        done += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    ok = ok && (!durable || ::fsync(fd) == 0);
    const int write_errno = errno;
    if ((fd >= 0 && ::close(fd) != 0) || !ok) {
        const std::string why = std::strerror(ok ? errno : write_errno);
        ::unlink(tmp.c_str());
        throw error(errc::io, "cannot write " + tmp.string() + ": " + why);
    }
    std::filesystem::rename(tmp, file);
    if (durable) { // the rename itself must reach the disk
        const auto dir =
            file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
        if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0)
            ::fsync(d), ::close(d);
    }
}

// Which git commits are in a hub repo, as which Muse commits: a cache of conversions in the
// hub directory. Lines: a header, then per repo "repo NAME" (NAME percent-escaped) followed by
// "<git commit> <muse commit>" lines. It is only a cache: entries the hub no longer has are
// dropped (GitImporter checks), and a lost or deleted map, or entries lost to two imports into
// one hub directory at once (the last to write wins), mean converting those commits again.
class ImportMap {
public:
    ImportMap(std::filesystem::path file, std::string repo, bool durable)
        : file_(std::move(file)), repo_(std::move(repo)), durable_(durable) {
        std::ifstream in(file_);
        std::string line, current;
        if (!std::getline(in, line) || line != header)
            return; // none yet, or not one this build reads: start afresh
        while (std::getline(in, line)) {
            if (line.starts_with("repo "))
                current = unescape(line.substr(5));
            if (current != repo_)
                others_ += line + "\n";
            else if (line.size() == GIT_OID_HEXSZ + 65 && line[GIT_OID_HEXSZ] == ' ')
                add_line(line);
        }
    }

    git::OidMap<CommitId>& commits() noexcept { return commits_; }
    const git::OidMap<CommitId>& commits() const noexcept { return commits_; }

    void save() const {
        std::string text = std::string(header) + "\n" + others_ + "repo " + escape(repo_) + "\n";
        text.reserve(text.size() + commits_.size() * (GIT_OID_HEXSZ + 66));
        for (const auto& [git_id, muse_id] : commits_)
            text.append(git::hex(git_id)).append(" ").append(muse_id.hex()).append("\n");
        if (file_.has_parent_path()) // --data may hold nothing else (remote store and catalog)
            std::filesystem::create_directories(file_.parent_path());
        replace_file(file_, text, durable_);
    }

private:
    static constexpr std::string_view header = "# musehub import-git map 1";

    void add_line(const std::string& line) {
        auto git_id = git::parse_oid(std::string_view(line).substr(0, GIT_OID_HEXSZ));
        auto muse_id = Digest::try_from_hex(std::string_view(line).substr(GIT_OID_HEXSZ + 1));
        if (git_id && muse_id) // a damaged line is a conversion to redo, nothing worse
            commits_.emplace(*git_id, CommitId{*muse_id});
    }
    // Bytes that would break the line format (space, control, '%') as %XX.
    static std::string escape(std::string_view s) {
        static constexpr char digits[] = "0123456789ABCDEF";
        std::string out;
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if (c <= ' ' || c == '%' || c == 0x7f)
                out += {'%', digits[c >> 4], digits[c & 15]};
            else
                out += ch;
        }
        return out;
    }
    static std::string unescape(std::string_view s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            unsigned v = 0;
            if (s[i] == '%' && i + 2 < s.size() &&
                std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3)
                out += static_cast<char>(v), i += 2;
            else
                out += s[i];
        }
        return out;
    }

    std::filesystem::path file_;
    std::string repo_;
    bool durable_;
    std::string others_; // other repos' sections, kept verbatim
    git::OidMap<CommitId> commits_;
};

struct ImportReport {
    std::size_t commits = 0, branches = 0, objects = 0;
    std::size_t known = 0; // commits converted by an earlier run, found in the hub
    std::uint64_t object_bytes = 0;
    std::map<std::string, CommitId> heads; // Muse head per branch
    algo::PhaseTimes times;                // where the time went
};

struct GitImportOptions {
    std::size_t batch_commits = 2'000;        // commits per pack pushed
    std::uint64_t batch_bytes = 64ull << 20;  // blob bytes per pack: two in memory at a time
    std::size_t max_tree_entries = 4'000'000; // bounds the tree cache
};

class GitImporter {
public:
    using Options = GitImportOptions;

    // `map_file`: where the conversions of earlier runs are kept (see ImportMap).
    GitImporter(const std::filesystem::path& repo_dir, std::filesystem::path map_file, bool durable,
                Options options = {})
        : repo_(git::open(repo_dir)), git_dir_(git::path_of(repo_.get())),
          map_file_(std::move(map_file)), durable_(durable), options_(options),
          odb_(git::odb_of(repo_.get(), git_dir_)), trees_(repo_.get()), reader_(git_dir_) {}

    // Local branches, in name order (as `git for-each-ref refs/heads` lists them).
    std::vector<std::string> branches() const {
        git_branch_iterator* raw = nullptr;
        git::check(git_branch_iterator_new(&raw, repo_.get(), GIT_BRANCH_LOCAL), errc::io,
                   "cannot list the branches of " + git_dir_);
        git::BranchIterator it(raw);
        std::vector<std::string> out;
        git_reference* ref = nullptr;
        git_branch_t type;
        int rc;
        while ((rc = git_branch_next(&ref, &type, raw)) == 0) {
            git::Reference owned(ref);
            if (const char* name = nullptr; git_branch_name(&name, ref) == 0)
                out.emplace_back(name);
        }
        if (rc != GIT_ITEROVER)
            git::check(rc, errc::io, "cannot list the branches of " + git_dir_);
        std::sort(out.begin(), out.end());
        return out;
    }

    // Imports `branches` into `repo` of `hub`.
    template <class H>
    ImportReport run(H& hub, const std::string& repo, const std::vector<std::string>& branches) {
        if (branches.empty())
            throw error(errc::not_found, "the git repository " + git_dir_ +
                                             " has no branches (refs/heads/*): nothing to import");
        std::vector<git_oid> tips;
        for (const auto& b : branches) // every name checked before any work
            tips.push_back(branch_tip(b));
        ImportReport report;
        report.times.time("map: load, check against the hub", [&] { load_map(hub, repo, report); });
        for (std::size_t i = 0; i < branches.size(); ++i)
            import_branch(hub, repo, branches[i], tips[i], report);
        return report;
    }

private:
    struct ReadBlobs {
        std::vector<ReadBlob> blobs;
        double ms = 0; // spent reading them
    };
    // Commits read for one pack, with their trees and the blobs they bring.
    struct Batch {
        std::vector<GitCommit> commits;
        std::vector<std::shared_ptr<const TreeNode>> trees; // commits[i]'s root tree
        std::vector<git_oid> fresh;                         // blobs never converted, once each
        std::uint64_t fresh_bytes = 0;
        std::future<ReadBlobs> blobs; // `fresh`, read and hashed in the background
    };

    // The commit `branch` points at (through symbolic refs and tags, as rev-list takes it).
    git_oid branch_tip(const std::string& branch) const {
        git_reference* ref = nullptr;
        const int rc = git_reference_lookup(&ref, repo_.get(), ("refs/heads/" + branch).c_str());
        if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
            std::string names;
            for (const auto& b : branches())
                names += (names.empty() ? "" : ", ") + b;
            throw error(errc::not_found,
                        "the git repository " + git_dir_ + " has no branch '" + branch +
                            "' (its branches: " + (names.empty() ? "none" : names) +
                            "); name one of those with --branch, or leave --branch out to "
                            "import them all");
        }
        git::check(rc, errc::io, "cannot read branch '" + branch + "' of " + git_dir_);
        git::Reference owned(ref);
        git_object* commit = nullptr;
        git::check(git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT), errc::corrupt,
                   "branch '" + branch + "' of " + git_dir_ + " does not lead to a commit");
        git::Object peeled(commit);
        return *git_object_id(commit);
    }

    // The conversions of earlier runs, less those whose commit the hub repo no longer has
    // (a reset hub, a deleted repo, GC after a forced push): those are converted again.
    // A commit the repo has comes with its whole history (pushes check closure), so its
    // ancestors need no check of their own.
    template <class H>
    void load_map(H& hub, const std::string& repo, ImportReport& report) {
        map_.emplace(map_file_, repo, durable_);
        std::vector<git_oid> git_ids;
        std::vector<CommitId> ids;
        for (const auto& [g, m] : map_->commits())
            git_ids.push_back(g), ids.push_back(m);
        std::vector<bool> have;
        algo::for_batches(ids, hub.options().batch_rows, [&](std::span<const CommitId> batch) {
            auto k = hub.catalog().template contains<catalog::CommitRefRow>(
                algo::repo_keys(repo, batch));
            have.insert(have.end(), k.begin(), k.end());
        });
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (!have[i])
                map_->commits().erase(git_ids[i]);
        report.known = map_->commits().size();
    }

    // The commits reachable from `tip` not converted yet, parents first. A converted commit's
    // ancestors are converted too, so the walk stops at converted commits.
    std::vector<git_oid> unconverted(const git_oid& tip) {
        git_revwalk* raw = nullptr;
        git::check(git_revwalk_new(&raw, repo_.get()), errc::io, "cannot walk " + git_dir_);
        git::Revwalk walk(raw);
        git::check(git_revwalk_sorting(raw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE), errc::io,
                   "cannot walk " + git_dir_);
        git::check(git_revwalk_add_hide_cb(
                       raw,
                       [](const git_oid* id, void* done) -> int {
                           return static_cast<git::OidMap<CommitId>*>(done)->count(*id) ? 1 : 0;
                       },
                       &map_->commits()),
                   errc::io, "cannot walk " + git_dir_);
        git::check(git_revwalk_push(raw, &tip), errc::corrupt,
                   "branch tip " + git::hex(tip) + " is not a commit");
        std::vector<git_oid> out;
        git_oid id;
        int rc;
        while ((rc = git_revwalk_next(&id, raw)) == 0)
            out.push_back(id);
        if (rc != GIT_ITEROVER)
            git::check(rc, errc::corrupt, "cannot walk the history of " + git::hex(tip));
        return out;
    }

    template <class H>
    void import_branch(H& hub, const std::string& repo, const std::string& branch,
                       const git_oid& tip, ImportReport& report) {
        const auto to_import =
            report.times.time("git: walk commits", [&] { return unconverted(tip); });
        Progress progress("import " + branch, to_import.size(), "commits");
        progress.set(0);
        std::size_t at = 0;
        // The blobs of the next batch are read while the hub takes this one: the hub's
        // transactions and fsyncs leave the cores idle that libgit2 can use.
        for (auto batch = next_batch(to_import, at, report); batch;) {
            Pack pack = build_pack(hub, repo, branch, *batch, report);
            batch = next_batch(to_import, at, report);
            push(hub, repo, branch, pack, report);
            progress.set(at - (batch ? batch->commits.size() : 0));
        }
        const CommitId head = map_->commits().at(tip);
        if (hub.branch_head(repo, branch) != head) { // all of it was made before, or elsewhere
            Pack move;
            move.branch_heads.emplace(branch, head);
            hub.push_pack(repo, branch, true, hub.wire().encode_pack(move));
        }
        report.heads[branch] = head;
        ++report.branches;
    }

    // The batch starting at to_import[at] (none when all is done), its blobs being read; `at`
    // moves past it.
    std::optional<Batch> next_batch(const std::vector<git_oid>& to_import, std::size_t& at,
                                    ImportReport& report) {
        if (at == to_import.size())
            return std::nullopt;
        trees_.trim(options_.max_tree_entries);
        auto batch =
            report.times.time("git: read commits and trees", [&] { return gather(to_import, at); });
        at += batch.commits.size();
        batch.blobs = std::async(std::launch::async, [this, fresh = batch.fresh] {
            const auto start = std::chrono::steady_clock::now();
            auto blobs = reader_.read(fresh);
            return ReadBlobs{std::move(blobs), std::chrono::duration<double, std::milli>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count()};
        });
        return batch;
    }

    // Commits from to_import[at] on, until the batch is full: read, with their trees resolved and
    // the blobs they bring noted (sized, to bound the batch's memory).
    Batch gather(const std::vector<git_oid>& to_import, std::size_t at) {
        Batch b;
        git::OidSet noted;
        auto note = [&](const git_oid& blob) {
            if (blob_ids_.count(blob) || !noted.insert(blob).second)
                return;
            b.fresh.push_back(blob);
            std::size_t size = 0;
            git_object_t type;
            if (git_odb_read_header(&size, &type, odb_.get(), &blob) == 0)
                b.fresh_bytes += size;
        };
        for (; at < to_import.size() && b.commits.size() < options_.batch_commits &&
               b.fresh_bytes < options_.batch_bytes;
             ++at) {
            b.commits.push_back(read_commit(repo_.get(), to_import[at]));
            b.trees.push_back(trees_.get(b.commits.back().tree, note));
        }
        return b;
    }

    // The batch as a pack: the blobs the hub lacks, the snapshots and the commits.
    template <class H>
    Pack build_pack(H& hub, const std::string& repo, const std::string& branch, Batch& batch,
                    ImportReport& report) {
        auto& t = report.times;
        auto read = t.time("git: wait for blobs", [&] { return batch.blobs.get(); });
        t.add("git: read and hash blobs (overlapped)", read.ms);
        Pack pack;
        t.time("hub: which objects it lacks",
               [&] { add_objects(hub, pack, batch.fresh, read.blobs, report); });
        t.time("build snapshots and commits", [&] { add_history(pack, repo, branch, batch); });
        report.commits += batch.commits.size();
        pack.branch_heads.emplace(branch, pack.commits.back().commit_id);
        return pack;
    }

    template <class H>
    void push(H& hub, const std::string& repo, const std::string& branch, const Pack& pack,
              ImportReport& report) {
        auto& t = report.times;
        auto bytes = t.time("encode pack", [&] { return hub.wire().encode_pack(pack); });
        const auto start = std::chrono::steady_clock::now();
        auto pushed = hub.push_pack(repo, branch, true, bytes);
        const std::chrono::duration<double, std::milli> ms =
            std::chrono::steady_clock::now() - start;
        for (const auto& p : pushed.times.phases())
            t.add("hub push: " + p.name, p.ms);
        t.add("hub push: decode, jobs", ms.count() - pushed.times.total());
        t.time("map: save", [&] { map_->save(); }); // only now: the hub has the batch
    }

    // Blobs the hub lacks go into the pack; those it has (from an earlier import) are only
    // named by the snapshots, as a client that asked filter-objects would send them.
    template <class H>
    void add_objects(H& hub, Pack& pack, const std::vector<git_oid>& oids,
                     std::vector<ReadBlob>& blobs, ImportReport& report) {
        std::vector<ObjectId> ids;
        ids.reserve(blobs.size());
        for (const auto& b : blobs)
            ids.push_back(b.id);
        const auto lacking = hub.missing_objects(ids);
        std::unordered_set<ObjectId> missing(lacking.begin(), lacking.end());
        for (std::size_t i = 0; i < blobs.size(); ++i) {
            blob_ids_.emplace(oids[i], blobs[i].id);
            if (!missing.erase(blobs[i].id))
                continue;
            const BytesView view(blobs[i].bytes->data(), blobs[i].bytes->size());
            pack.objects.push_back(PackObject{blobs[i].id, Encoding::raw, view, view.size()});
            pack.hold(std::move(blobs[i].bytes));
            ++report.objects;
            report.object_bytes += view.size();
        }
    }

    void add_history(Pack& pack, const std::string& repo, const std::string& branch,
                     const Batch& batch) {
        for (std::size_t i = 0; i < batch.commits.size(); ++i) {
            const auto& g = batch.commits[i];
            const auto snapshot = snapshot_of(g.tree, *batch.trees[i], g.committed_at, pack);
            pack.commits.push_back(muse_commit(g, snapshot, repo, branch));
            map_->commits().emplace(g.oid, pack.commits.back().commit_id);
        }
    }

    // The snapshot of a git tree, added to the pack unless this run added it before (the hub
    // keeps the first snapshot's created_at: the date of the first commit to have the tree).
    SnapshotId snapshot_of(const git_oid& tree, const TreeNode& root, const std::string& created_at,
                           Pack& pack) {
        if (auto it = snapshots_.find(tree); it != snapshots_.end())
            return it->second;
        std::vector<ManifestEntry> entries;
        std::string prefix;
        append_entries(root, prefix, blob_ids_, entries);
        Snapshot s{{}, Manifest::from_entries(std::move(entries)), created_at, {}};
        s.snapshot_id = s.manifest.id();
        snapshots_.emplace(tree, s.snapshot_id);
        pack.snapshots.push_back(std::move(s));
        return pack.snapshots.back().snapshot_id;
    }

    Commit muse_commit(const GitCommit& g, const SnapshotId& snapshot, const std::string& repo,
                       const std::string& branch) const {
        Commit c;
        c.repo_id = repo;
        c.branch = branch;
        c.snapshot_id = snapshot;
        c.message = g.message;
        c.committed_at = g.committed_at;
        c.author = g.author;
        c.metadata["git-commit"] = git::hex(g.oid);
        for (std::size_t i = 0; i < g.parents.size(); ++i) {
            const CommitId& p = map_->commits().at(g.parents[i]); // parents come first
            if (i == 0)
                c.parent_commit_id = p;
            else if (i == 1)
                c.parent2_commit_id = p;
            else
                c.metadata["git-parent-" + std::to_string(i + 1)] = git::hex(g.parents[i]);
        }
        c.sem_ver_bump = "none";
        c.format_version = 5;
        c.commit_id = commit_id_of(c);
        return c;
    }

    git::Repository repo_;
    std::string git_dir_;
    std::filesystem::path map_file_;
    bool durable_;
    Options options_;
    git::Odb odb_;
    TreeCache trees_;
    BlobReader reader_;
    std::optional<ImportMap> map_;      // git commit -> Muse commit, this run's and before
    git::OidMap<ObjectId> blob_ids_;    // git blob -> Muse object
    git::OidMap<SnapshotId> snapshots_; // git tree -> Muse snapshot, added this run
};

} // namespace musehub::tool
