#pragma once
// `musehub import-git`: a git repository's history as Muse commits and snapshots in a local
// hub, through the `git` command (for demos, benchmarks and migrations).
//
// Each git commit becomes one Muse commit: its tree (every blob, symlinks as their target
// text; submodules are skipped) is the snapshot's manifest, the first two parents its parents
// (an octopus merge keeps the rest in metadata), and message, author and committer date
// (`committed_at`, ISO 8601 as git prints it) carry over; `metadata["git-commit"]` names the
// git commit. Commits shared by branches are made once. Blobs are read with one
// `git cat-file --batch` per batch of commits and hashed once (cached by git blob id).
// Batches of commits go into the hub as packs, parents first.

#include "progress.hpp"

#include <musehub/core/muse_ids.hpp>
#include <musehub/hub.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace musehub::tool {

// Runs a shell command and returns its stdout; a non-zero exit is an error naming it.
inline std::string run_capture(const std::string& command) {
    FILE* p = ::popen(command.c_str(), "r");
    if (!p)
        throw error(errc::io, "cannot run: " + command);
    std::string out;
    char buf[1 << 16];
    while (auto n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    int status = ::pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw error(errc::invalid_argument,
                    "`" + command + "` failed (exit " + std::to_string(WEXITSTATUS(status)) + ")");
    return out;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

struct ImportReport {
    std::size_t commits = 0, branches = 0, objects = 0;
    std::uint64_t object_bytes = 0;
    std::map<std::string, CommitId> heads; // Muse head per branch
};

class GitImporter {
public:
    GitImporter(std::filesystem::path repo_dir, std::size_t batch_commits = 200)
        : git_("git -C " + shell_quote(repo_dir.string())), batch_(batch_commits),
          scratch_(std::filesystem::temp_directory_path() /
                   ("musehub-import-" + std::to_string(::getpid()))) {
        run_capture(git_ + " rev-parse --git-dir > /dev/null"); // a clear error when not a repo
    }

    std::vector<std::string> branches() const {
        std::vector<std::string> out;
        std::istringstream in(
            run_capture(git_ + " for-each-ref --format='%(refname:short)' refs/heads"));
        for (std::string b; std::getline(in, b);)
            if (!b.empty())
                out.push_back(b);
        return out;
    }

    // Imports `branches` into `repo` of `hub`.
    template <class H>
    ImportReport run(H& hub, const std::string& repo, const std::vector<std::string>& branches) {
        ImportReport report;
        for (const auto& branch : branches) {
            std::vector<std::pair<std::string, std::vector<std::string>>> to_import;
            std::istringstream in(run_capture(git_ + " rev-list --topo-order --reverse --parents " +
                                              shell_quote("refs/heads/" + branch)));
            for (std::string line; std::getline(in, line);) {
                std::istringstream words(line);
                std::string sha, parent;
                words >> sha;
                std::vector<std::string> parents;
                while (words >> parent)
                    parents.push_back(parent);
                if (!made_.count(sha))
                    to_import.emplace_back(sha, std::move(parents));
            }
            Progress progress("import " + branch, to_import.size(), "commits");
            for (std::size_t at = 0; at < to_import.size(); at += batch_) {
                auto end = std::min(to_import.size(), at + batch_);
                progress.set(at);
                import_batch(hub, repo, branch,
                             {to_import.begin() + static_cast<std::ptrdiff_t>(at),
                              to_import.begin() + static_cast<std::ptrdiff_t>(end)},
                             report);
            }
            progress.set(to_import.size());
            auto tip = run_capture(git_ + " rev-parse " + shell_quote("refs/heads/" + branch));
            tip.erase(tip.find_last_not_of("\n") + 1);
            const auto head = made_.at(tip);
            if (hub.branch_head(repo, branch) != head) { // all of it was made for another branch
                Pack move;
                move.branch_heads.emplace(branch, head);
                hub.push_pack(repo, branch, true, hub.wire().encode_pack(move));
            }
            report.heads[branch] = head;
            ++report.branches;
        }
        std::filesystem::remove_all(scratch_);
        return report;
    }

private:
    struct Meta {
        std::string author, date, message;
    };

    template <class H>
    void import_batch(H& hub, const std::string& repo, const std::string& branch,
                      const std::vector<std::pair<std::string, std::vector<std::string>>>& commits,
                      ImportReport& report) {
        std::filesystem::create_directories(scratch_);
        // Metadata of every commit of the batch, in one run.
        auto list = scratch_ / "commits";
        {
            std::ofstream out(list);
            for (const auto& [sha, parents] : commits)
                out << sha << "\n";
        }
        std::map<std::string, Meta> meta;
        {
            auto text = run_capture(git_ + " log --no-walk=unsorted --stdin " +
                                    "--format='%H%x1f%an <%ae>%x1f%cI%x1f%B%x1e' < " +
                                    shell_quote(list.string()));
            std::size_t pos = 0;
            while (true) {
                auto end = text.find('\x1e', pos);
                if (end == std::string::npos)
                    break;
                auto record = text.substr(pos, end - pos);
                pos = end + 1;
                while (!record.empty() && record.front() == '\n')
                    record.erase(0, 1);
                auto f1 = record.find('\x1f'), f2 = record.find('\x1f', f1 + 1),
                     f3 = record.find('\x1f', f2 + 1);
                meta[record.substr(0, f1)] = {record.substr(f1 + 1, f2 - f1 - 1),
                                              record.substr(f2 + 1, f3 - f2 - 1),
                                              record.substr(f3 + 1)};
            }
        }
        // Trees, and the blobs not seen before.
        std::map<std::string, std::vector<std::pair<std::string, std::string>>> trees; // path,blob
        std::vector<std::string> fresh;
        for (const auto& [sha, parents] : commits) {
            auto text = run_capture(git_ + " ls-tree -r -z --full-tree " + sha);
            auto& tree = trees[sha];
            std::size_t pos = 0;
            while (pos < text.size()) {
                auto end = text.find('\0', pos);
                auto entry = text.substr(pos, end - pos);
                pos = end + 1;
                // "<mode> <type> <object>\t<path>"
                auto tab = entry.find('\t');
                std::istringstream head(entry.substr(0, tab));
                std::string mode, type, object;
                head >> mode >> type >> object;
                if (type != "blob")
                    continue; // a submodule: not content of this repo
                tree.emplace_back(entry.substr(tab + 1), object);
                if (!blobs_.count(object) && fresh_seen_.insert(object).second)
                    fresh.push_back(object);
            }
        }
        Pack pack;
        if (!fresh.empty()) {
            auto wanted = scratch_ / "blobs";
            {
                std::ofstream out(wanted);
                for (const auto& b : fresh)
                    out << b << "\n";
            }
            auto text = run_capture(git_ + " cat-file --batch < " + shell_quote(wanted.string()));
            // "<object> blob <size>\n<bytes>\n" per blob
            std::size_t pos = 0;
            for (const auto& b : fresh) {
                auto nl = text.find('\n', pos);
                std::istringstream header(text.substr(pos, nl - pos));
                std::string object, type;
                std::size_t size = 0;
                header >> object >> type >> size;
                if (object != b || type != "blob")
                    throw error(errc::corrupt, "git cat-file answered '" +
                                                   text.substr(pos, nl - pos) + "' for " + b);
                auto content = std::string_view(text).substr(nl + 1, size);
                const auto& o = pack.add_object(content);
                blobs_.emplace(b, o.id);
                report.objects += 1;
                report.object_bytes += size;
                pos = nl + 1 + size + 1;
            }
            fresh_seen_.clear();
        }
        // Commits, parents first (rev-list --reverse --topo-order).
        std::set<SnapshotId> snapshots;
        for (const auto& [sha, parents] : commits) {
            std::vector<ManifestEntry> entries;
            for (const auto& [path, blob] : trees.at(sha))
                entries.push_back({path, blobs_.at(blob)});
            Snapshot s{{}, Manifest::from_entries(std::move(entries)), meta.at(sha).date, {}};
            s.snapshot_id = s.manifest.id();
            Commit c;
            c.repo_id = repo;
            c.branch = branch;
            c.snapshot_id = s.snapshot_id;
            c.message = meta.at(sha).message;
            c.committed_at = meta.at(sha).date;
            c.author = meta.at(sha).author;
            c.metadata["git-commit"] = sha;
            for (std::size_t i = 0; i < parents.size(); ++i) {
                const auto& p = made_.at(parents[i]);
                if (i == 0)
                    c.parent_commit_id = p;
                else if (i == 1)
                    c.parent2_commit_id = p;
                else
                    c.metadata["git-parent-" + std::to_string(i + 1)] = parents[i];
            }
            c.sem_ver_bump = "none";
            c.format_version = 5;
            c.commit_id = commit_id_of(c);
            made_.emplace(sha, c.commit_id);
            if (snapshots.insert(s.snapshot_id).second)
                pack.snapshots.push_back(std::move(s));
            pack.commits.push_back(std::move(c));
            ++report.commits;
        }
        pack.branch_heads.emplace(branch, pack.commits.back().commit_id);
        hub.push_pack(repo, branch, true, hub.wire().encode_pack(pack));
    }

    std::string git_;
    std::size_t batch_;
    std::filesystem::path scratch_;
    std::unordered_map<std::string, ObjectId> blobs_; // git blob id -> Muse object id
    std::unordered_map<std::string, CommitId> made_;  // git commit -> Muse commit
    std::set<std::string> fresh_seen_;                // blobs asked for in this batch
};

} // namespace musehub::tool
