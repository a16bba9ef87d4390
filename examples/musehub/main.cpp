// musehub: the hub server and its maintenance commands, built from the public API only (as
// libgit2 builds `lg2` from its examples).
//
//   musehub serve   [--data DIR | --store s3://… --catalog postgresql://…] [--port N] …
//   musehub worker  run queued jobs (index, GC, consolidation) until SIGINT/SIGTERM
//   musehub gc      [REPO…]     collect garbage (every repo when none is named)
//   musehub consolidate REPO…  merge a repo's packs into one
//   musehub fsck                check every invariant; exit 1 on a violation
//   musehub stats               what the hub holds
//   musehub jobs list|retry     the job queue; failed jobs run again
//   musehub import-git GITDIR --repo NAME   a git history as Muse commits in the local hub
//   musehub push URL --repo NAME [--branch B…] [--force]   local hub -> hub at URL (wire v1),
//                                           split into pushes the hub takes (push_plan.hpp)
//   musehub clone URL DIR [--branch B]      files of a branch head into DIR
//   musehub pull [DIR]                      what the remote has since, files updated
//
// Every command takes the backend options (backends.hpp) and `--json` for scripts; errors
// name what went wrong and what to do next, and exit non-zero.

#include "backends.hpp"
#include "client.hpp"
#include "import_git.hpp"
#include "serve.hpp"

#include <musehub/allocator.hpp>
#include <musehub/hub.hpp>
#include <musehub/wire/v2.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <set>

using namespace musehub;
using json = nlohmann::json;

namespace {

void add_backend_options(CLI::App& cmd, tool::BackendConfig& cfg) {
    cmd.add_option("--data", cfg.data, "hub directory: files and SQLite (the embedded default)")
        ->capture_default_str();
    cmd.add_option("--store", cfg.store,
                   "object store instead of DATA/objects: s3://BUCKET[/PREFIX]"
                   " (endpoint, region and keys from the environment)");
    cmd.add_option("--catalog", cfg.catalog,
                   "catalog and queue instead of DATA/hub.db: postgresql://…");
    cmd.add_flag("!--no-fsync", cfg.durable,
                 "skip fsync (tests and benchmarks only: a crash may lose recent writes)");
}

// Runs `f` with a hub over the configured backends (wire v2: how maintenance reads packs).
template <class F>
int with_hub(const tool::BackendConfig& cfg, const HubOptions& options, F&& f) {
    return tool::with_backends(cfg, [&](auto& store, auto& catalog, auto& queue) {
        Hub hub{wire::v2{}, store, catalog, queue, options};
        return f(hub);
    });
}

std::set<std::string> all_repos(auto& hub) {
    std::set<std::string> repos;
    for (const auto& b : hub.catalog().template scan<Branch>(std::tuple{}))
        repos.insert(b.repo);
    return repos;
}

void print(bool as_json, const json& j, const std::string& text) {
    if (as_json)
        std::cout << j.dump(2) << "\n";
    else
        std::cout << text;
}

} // namespace

int main(int argc, char** argv) {
    restart_with_huge_pages(argv); // before anything else: the process may start again here
    // A peer that closes its connection must become an error on the write (EPIPE) that the
    // command reports, not a SIGPIPE that ends the process without a word.
    std::signal(SIGPIPE, SIG_IGN);
    return_large_buffers_to_os();
    CLI::App app{"musehub: a hub for Muse repositories"};
    app.require_subcommand(1);
    bool as_json = false;
    app.add_flag("--json", as_json, "machine-readable output");
    tool::BackendConfig backends;
    HubOptions hub_options;
    double grace_seconds = 3600;

    tool::ServeConfig serve_cfg;
    auto* serve = app.add_subcommand("serve", "serve the hub over HTTP (wire v1: the Muse client)");
    add_backend_options(*serve, serve_cfg.backends);
    serve->add_option("--bind", serve_cfg.bind, "address to listen on")->capture_default_str();
    serve->add_option("--port", serve_cfg.port, "port (0: any free one, printed on stdout)")
        ->capture_default_str();
    serve
        ->add_option("--workers", serve_cfg.workers,
                     "in-process job workers (0 when `musehub worker` processes run)")
        ->capture_default_str();
    serve->add_option("--max-body", serve_cfg.max_body, "largest request body, bytes")
        ->capture_default_str();
    serve->add_option("--timeout", serve_cfg.timeout_seconds, "read/write timeout, seconds")
        ->capture_default_str();
    serve->add_option("--tokens", serve_cfg.tokens_file,
                      "file of bearer tokens (one per line) required to write");
    serve
        ->add_option("--presign-fetch-above", serve_cfg.presign_fetch_above,
                     "v2 fetch answers over this many bytes come as a presigned URL (S3 store; "
                     "0: never)")
        ->capture_default_str();
    serve->add_flag("!--no-create-on-push", serve_cfg.create_on_push,
                    "refuse pushes to repos that do not exist yet (404)");

    auto* worker = app.add_subcommand("worker", "run queued jobs until SIGINT/SIGTERM");
    add_backend_options(*worker, backends);

    std::vector<std::string> repos;
    auto* gc = app.add_subcommand("gc", "collect garbage");
    add_backend_options(*gc, backends);
    gc->add_option("repos", repos, "repos to collect (default: every repo)");
    gc->add_option("--grace", grace_seconds,
                   "seconds recent refs stay roots and retired bytes wait before deletion")
        ->capture_default_str();

    auto* consolidate = app.add_subcommand("consolidate", "merge a repo's packs into one");
    add_backend_options(*consolidate, backends);
    consolidate->add_option("repos", repos, "repos to consolidate (default: every repo)");

    bool fsck_fast = false;
    auto* fsck = app.add_subcommand("fsck", "check every invariant of the hub");
    add_backend_options(*fsck, backends);
    fsck->add_flag("--no-verify-bytes", fsck_fast, "do not read and hash every live object");

    auto* stats = app.add_subcommand("stats", "what the hub holds");
    add_backend_options(*stats, backends);

    auto* jobs = app.add_subcommand("jobs", "the job queue: list, retry");
    jobs->require_subcommand(1);
    auto* jobs_list = jobs->add_subcommand("list", "every job, its state and last error");
    add_backend_options(*jobs_list, backends);
    std::vector<std::string> retry_ids;
    bool retry_all = false;
    auto* jobs_retry = jobs->add_subcommand(
        "retry", "run failed jobs again (as new jobs doing the same work: every job is "
                 "idempotent)");
    add_backend_options(*jobs_retry, backends);
    jobs_retry->add_option("ids", retry_ids, "failed jobs to retry");
    jobs_retry->add_flag("--all-failed", retry_all, "retry every failed job");

    std::filesystem::path git_dir;
    std::string repo_name;
    std::vector<std::string> branches;
    auto* import_git = app.add_subcommand("import-git", "import a git repository's history");
    add_backend_options(*import_git, backends);
    import_git->add_option("git_dir", git_dir, "the git repository")->required();
    import_git->add_option("--repo", repo_name, "hub repo to import into (owner/slug)")->required();
    import_git->add_option("--branch", branches, "branches to import (default: every branch)");

    std::string url, token;
    tool::PushOptions push_options;
    auto* push = app.add_subcommand("push", "push branches of a local hub repo to a hub");
    add_backend_options(*push, backends);
    push->add_option("url", url, "http://HOST:PORT/<owner>/<slug>")->required();
    push->add_option("--repo", repo_name, "the local repo (owner/slug)")->required();
    push->add_option("--branch", branches, "branches to push (default: every branch)");
    push->add_flag("--force", push_options.force, "overwrite remote branches that diverged");
    push->add_option("--max-commits-per-push", push_options.limits.max_commits,
                     "split a longer history into pushes of at most this many commits")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    push->add_option("--max-push-bytes", push_options.limits.max_bytes,
                     "largest request body to send (the hub's X-Musehub-Max-Body lowers it)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    push->add_option("--token", token, "bearer token, for a hub that requires one");
    std::string wire_name = "v1";
    push->add_option("--wire", wire_name,
                     "v1: the Muse client's endpoints; v2: musehub's (one binary pack)")
        ->check(CLI::IsMember({"v1", "v2"}))
        ->capture_default_str();

    std::filesystem::path work_dir = ".";
    std::string branch;
    auto* clone = app.add_subcommand("clone", "clone a hub repo and write a branch's files");
    clone->add_option("url", url, "http://HOST:PORT/<owner>/<slug>")->required();
    clone->add_option("dir", work_dir, "where the files go (must be empty or absent)")->required();
    clone->add_option("--branch", branch, "branch to check out (default: the hub's default)");
    clone->add_option("--wire", wire_name, "v1 or v2, as for push (pull uses the clone's)")
        ->check(CLI::IsMember({"v1", "v2"}))
        ->capture_default_str();

    auto* pull = app.add_subcommand("pull", "fetch what the hub has since and update the files");
    pull->add_option("dir", work_dir, "a clone")->capture_default_str();

    CLI11_PARSE(app, argc, argv);
    hub_options.grace = std::chrono::milliseconds(static_cast<long long>(grace_seconds * 1000));

    try {
        if (*serve) {
            serve_cfg.hub = hub_options;
            return tool::serve(serve_cfg);
        }
        if (*worker) {
            sigset_t stop_signals;
            sigemptyset(&stop_signals);
            sigaddset(&stop_signals, SIGINT);
            sigaddset(&stop_signals, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
            return with_hub(backends, hub_options, [&](auto& hub) {
                std::atomic<bool> stop{false};
                std::thread signals([&] {
                    int sig = 0;
                    sigwait(&stop_signals, &sig);
                    stop = true;
                });
                algo::WorkerOptions w;
                w.name = "worker-" + std::to_string(::getpid());
                std::fprintf(stderr, "musehub worker %s: running jobs\n", w.name.c_str());
                algo::run_worker(hub, stop, w);
                signals.join();
                std::fprintf(stderr, "musehub worker: stopped\n");
                return 0;
            });
        }
        if (*gc || *consolidate)
            return with_hub(backends, hub_options, [&](auto& hub) {
                std::set<std::string> names(repos.begin(), repos.end());
                if (names.empty())
                    names = all_repos(hub);
                json out = json::array();
                int rc = 0;
                for (const auto& repo : names) {
                    if (*gc) {
                        // Collect, then the repack a collection schedules, here and now: the
                        // packs it left with dead bytes are rewritten. The sweep after the
                        // loop purges what both retired when the grace period allows.
                        auto r = hub.gc(repo);
                        auto p = hub.repack(repo);
                        rc |= r.errors.empty() ? 0 : 1;
                        out.push_back({{"repo", repo},
                                       {"skipped", r.skipped},
                                       {"reason", r.reason},
                                       {"commits_deleted", r.commits_deleted},
                                       {"objects_deleted", r.objects_deleted},
                                       {"containers_retired", r.containers_retired + p.retired},
                                       {"packs_rewritten", p.rewritten},
                                       {"bytes_rewritten", p.bytes_rewritten},
                                       {"repacked_bytes", p.bytes},
                                       {"errors", r.errors}});
                        auto& phases = out.back()["phase_seconds"]; // where the time went
                        for (const auto& ph : r.times.phases())
                            phases[ph.name] = ph.ms / 1e3;
                        for (const auto& ph : p.times.phases())
                            phases["repack " + ph.name] = ph.ms / 1e3;
                        if (!as_json)
                            std::printf("%s: %s%zu commits, %zu objects deleted; %zu packs "
                                        "rewritten (%llu bytes -> %llu); %zu packs retired%s\n",
                                        repo.c_str(), r.skipped ? "skipped, " : "",
                                        r.commits_deleted, r.objects_deleted, p.rewritten,
                                        static_cast<unsigned long long>(p.bytes_rewritten),
                                        static_cast<unsigned long long>(p.bytes),
                                        r.containers_retired + p.retired,
                                        r.errors.empty() ? "" : " (errors: will retry)");
                        for (const auto& e : r.errors)
                            std::fprintf(stderr, "musehub gc: %s: %s; run musehub gc again\n",
                                         repo.c_str(), e.c_str());
                    } else {
                        auto r = hub.consolidate(repo);
                        out.push_back({{"repo", repo},
                                       {"skipped", r.skipped},
                                       {"reason", r.reason},
                                       {"sources", r.sources},
                                       {"objects", r.objects},
                                       {"bytes", r.bytes},
                                       {"container", r.container}});
                        if (!as_json)
                            std::printf("%s: %s\n", repo.c_str(),
                                        r.skipped ? r.reason.c_str()
                                                  : (std::to_string(r.sources) + " packs -> 1 (" +
                                                     std::to_string(r.objects) + " objects, " +
                                                     std::to_string(r.bytes) + " bytes)")
                                                        .c_str());
                    }
                }
                if (*gc) { // once for the hub, after every repo: what belongs to none of them
                    auto w = hub.sweep();
                    rc |= w.errors.empty() ? 0 : 1;
                    json phases;
                    for (const auto& ph : w.times.phases())
                        phases[ph.name] = ph.ms / 1e3;
                    out = {{"repos", out},
                           {"sweep",
                            {{"cache_entries_expired", w.cache_entries_expired},
                             {"uploads_abandoned", w.uploads_abandoned},
                             {"temporaries_swept", w.temporaries_swept},
                             {"strays_swept", w.strays_swept},
                             {"tombstones_purged", w.tombstones_purged},
                             {"bytes_purged", w.bytes_purged},
                             {"catalog_compacted", w.catalog_compacted},
                             {"errors", w.errors},
                             {"phase_seconds", phases}}}};
                    if (!as_json)
                        std::printf("hub: %zu packs purged (%llu bytes), %zu strays and %zu "
                                    "temporaries swept, %zu abandoned uploads%s%s\n",
                                    w.tombstones_purged,
                                    static_cast<unsigned long long>(w.bytes_purged), w.strays_swept,
                                    w.temporaries_swept, w.uploads_abandoned,
                                    w.catalog_compacted ? "; catalog rewritten" : "",
                                    w.errors.empty() ? "" : " (errors: will retry)");
                    for (const auto& e : w.errors)
                        std::fprintf(stderr, "musehub gc: sweep: %s; run musehub gc again\n",
                                     e.c_str());
                }
                if (as_json)
                    std::cout << out.dump(2) << "\n";
                return rc;
            });
        if (*fsck || *stats)
            return with_hub(backends, hub_options, [&](auto& hub) {
                algo::FsckOptions o;
                o.verify_bytes = *fsck && !fsck_fast;
                auto r = hub.fsck(o);
                json j = {{"ok", r.ok()},
                          {"repos", r.repos},
                          {"branches", r.branches},
                          {"commits", r.commits},
                          {"snapshots", r.snapshots},
                          {"objects", r.objects},
                          {"containers", r.containers},
                          {"objects_verified", r.objects_verified},
                          {"stray_containers", r.stray_containers},
                          {"unreferenced_objects", r.unreferenced_objects}};
                json v = json::array();
                for (const auto& x : r.violations)
                    v.push_back({{"kind", x.kind}, {"detail", x.detail}});
                j["violations"] = v;
                std::string text =
                    std::to_string(r.repos) + " repos, " + std::to_string(r.branches) +
                    " branches, " + std::to_string(r.commits) + " commits, " +
                    std::to_string(r.snapshots) + " snapshots, " + std::to_string(r.objects) +
                    " objects in " + std::to_string(r.containers) + " packs\n";
                if (*fsck) {
                    for (const auto& x : r.violations)
                        text += "VIOLATION " + x.kind + ": " + x.detail + "\n";
                    text += r.ok() ? "fsck: ok (" + std::to_string(r.objects_verified) +
                                         " objects read and hashed)\n"
                                   : "fsck: " + std::to_string(r.violations.size()) +
                                         " violation(s); see docs/operations.md, \"Recovery "
                                         "and checks\"\n";
                }
                print(as_json, j, text);
                return *fsck && !r.ok() ? 1 : 0;
            });
        if (*import_git)
            return tool::with_backends(backends, [&](auto& store, auto& catalog, auto& queue) {
                Hub hub{wire::v2{}, store, catalog, queue, hub_options};
                const auto start = std::chrono::steady_clock::now();
                // Conversions of earlier runs are kept next to the hub's own files.
                tool::GitImporter importer(git_dir, backends.data / "import-git.map",
                                           backends.durable);
                auto names = branches.empty() ? importer.branches() : branches;
                auto r = importer.run(hub, repo_name, names);
                const double s =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                json j = {{"repo", repo_name},    {"commits", r.commits},
                          {"known", r.known},     {"branches", r.branches},
                          {"objects", r.objects}, {"object_bytes", r.object_bytes},
                          {"seconds", s}};
                for (const auto& p : r.times.phases()) // where the time went, for benchmarks
                    j["phase_seconds"][p.name] = p.ms / 1e3;
                for (const auto& [b, h] : r.heads)
                    j["heads"][b] = h.hex();
                print(as_json, j,
                      "imported " + std::to_string(r.commits) + " commits (" +
                          std::to_string(r.known) + " already in the hub), " +
                          std::to_string(r.objects) + " objects (" +
                          std::to_string(r.object_bytes) + " bytes) on " +
                          std::to_string(r.branches) + " branch(es) into '" + repo_name + "' in " +
                          std::to_string(s) + " s\n");
                return 0;
            });
        if (*push)
            return tool::with_backends(backends, [&](auto& store, auto& catalog, auto& queue) {
                auto run = [&]<class W, class Remote>(W wire) {
                    // Each chunk's pack is built once: a kept copy would only fill the disk.
                    HubOptions builds_once = hub_options;
                    builds_once.fetch_cache_ttl = std::chrono::milliseconds(0);
                    Hub local{wire, store, catalog, queue, builds_once};
                    Remote remote(tool::RemoteUrl::parse(url), token);
                    std::vector<std::string> names = branches;
                    if (names.empty())
                        for (const auto& b : local.branches(repo_name))
                            names.push_back(b.name);
                    if (names.empty())
                        throw error(errc::not_found, "local repo '" + repo_name +
                                                         "' has no branches (import or clone one)");
                    json out = json::array();
                    for (const auto& b : names) {
                        tool::PushReport r;
                        if constexpr (std::is_same_v<W, wire::v1>)
                            r = tool::push_v1(local, repo_name, b, push_options, remote);
                        else
                            r = tool::push_v2(local, repo_name, b, push_options, remote);
                        out.push_back({{"branch", b},
                                       {"head", r.head.hex()},
                                       {"up_to_date", r.up_to_date},
                                       {"commits", r.commits},
                                       {"pushes", r.pushes},
                                       {"objects_sent", r.objects_sent},
                                       {"bytes_sent", r.bytes_sent}});
                        if (!as_json)
                            std::printf("%s: %s\n", b.c_str(),
                                        r.up_to_date
                                            ? "up to date"
                                            : (std::to_string(r.commits) + " commits in " +
                                               std::to_string(r.pushes) + " push(es), " +
                                               std::to_string(r.objects_sent) + " objects sent (" +
                                               std::to_string(r.bytes_sent) + " bytes, wire " +
                                               std::string(W::name) + ")")
                                                  .c_str());
                    }
                    if (as_json)
                        std::cout << out.dump(2) << "\n";
                    return 0;
                };
                return wire_name == "v2" ? run.template operator()<wire::v2, tool::V2Remote>({})
                                         : run.template operator()<wire::v1, tool::V1Remote>({});
            });
        if (*clone || *pull) {
            tool::BackendConfig local_cfg;
            local_cfg.data = work_dir / ".musehub";
            tool::CloneState state;
            if (*clone) {
                if (std::filesystem::exists(work_dir) && !std::filesystem::is_empty(work_dir))
                    throw error(errc::invalid_argument,
                                work_dir.string() + " exists and is not empty: clone into a new "
                                                    "directory");
                state.url = url;
                state.wire = wire_name;
            } else {
                state = tool::CloneState::load(work_dir);
            }
            auto remote_url = tool::RemoteUrl::parse(state.url);
            return tool::with_backends(local_cfg, [&](auto& store, auto& catalog, auto& queue) {
                auto run = [&]<class W, class Remote>(W wire) {
                    Hub local{wire, store, catalog, queue, hub_options};
                    Remote remote(remote_url);
                    auto heads = tool::fetch_into(local, remote_url.repo, remote);
                    std::optional<CommitId> previous;
                    if (*clone)
                        state.branch = !branch.empty()       ? branch
                                       : heads.count("main") ? std::string("main")
                                                             : heads.begin()->first;
                    else
                        previous = state.head;
                    auto at = heads.find(state.branch);
                    if (at == heads.end())
                        throw error(errc::not_found,
                                    "the hub has no branch '" + state.branch + "'");
                    auto written =
                        tool::checkout(local, remote_url.repo, at->second, work_dir, previous);
                    state.head = at->second;
                    state.save(work_dir);
                    json j = {{"dir", work_dir.string()},
                              {"branch", state.branch},
                              {"head", state.head.hex()},
                              {"wire", state.wire},
                              {"files_written", written}};
                    print(as_json, j,
                          (*clone ? "cloned " : "pulled ") + remote_url.text() + " (" +
                              state.branch + " at " + state.head.hex().substr(0, 12) + ", wire " +
                              state.wire + ") into " + work_dir.string() + ": " +
                              std::to_string(written) + " files written\n");
                    return 0;
                };
                return state.wire == "v2" ? run.template operator()<wire::v2, tool::V2Remote>({})
                                          : run.template operator()<wire::v1, tool::V1Remote>({});
            });
        }
        if (*jobs_retry)
            return with_hub(backends, hub_options, [&](auto& hub) {
                std::set<std::string> wanted(retry_ids.begin(), retry_ids.end());
                if (wanted.empty() && !retry_all)
                    throw error(errc::invalid_argument,
                                "name the failed jobs to retry, or pass --all-failed (see `musehub "
                                "jobs list`)");
                json out = json::array();
                for (const auto& job : hub.queue().list()) {
                    if (!(retry_all || wanted.count(job.id)))
                        continue;
                    wanted.erase(job.id);
                    if (job.state != JobState::failed) {
                        if (!retry_all)
                            throw error(errc::invalid_argument,
                                        "job " + job.id + " is " +
                                            std::string(to_string(job.state)) +
                                            ", not failed: only failed jobs are retried");
                        continue;
                    }
                    // A new id (the queue keeps the failed job and its error as they were).
                    const auto id =
                        job.id + "#retry-" + std::to_string(hub.now().time_since_epoch().count());
                    hub.queue().enqueue(
                        JobSpec{id, job.kind, job.payload, job.max_attempts, hub.now()});
                    out.push_back({{"failed", job.id}, {"retry", id}});
                    if (!as_json)
                        std::printf("%s -> queued again as %s\n", job.id.c_str(), id.c_str());
                }
                if (!wanted.empty())
                    throw error(errc::not_found, "no job " + *wanted.begin());
                if (as_json)
                    std::cout << out.dump(2) << "\n";
                return 0;
            });
        if (*jobs_list)
            return with_hub(backends, hub_options, [&](auto& hub) {
                json out = json::array();
                std::string text;
                for (const auto& job : hub.queue().list()) {
                    out.push_back({{"id", job.id},
                                   {"kind", std::string(to_string(job.kind))},
                                   {"state", std::string(to_string(job.state))},
                                   {"attempts", job.attempts},
                                   {"max_attempts", job.max_attempts},
                                   {"last_error", job.last_error}});
                    text += std::string(to_string(job.state)) + "\t" +
                            std::string(to_string(job.kind)) + "\t" + job.id + "\t" +
                            std::to_string(job.attempts) + "/" + std::to_string(job.max_attempts) +
                            (job.last_error.empty() ? "" : "\t" + job.last_error) + "\n";
                }
                print(as_json, out, text.empty() ? "no jobs\n" : text);
                return 0;
            });
    } catch (const std::exception& e) {
        // Never a silent failure: a message that is empty still says that something failed.
        const std::string what = e.what();
        std::fprintf(stderr, "musehub: %s\n",
                     what.empty() ? "failed with an error that carries no message (a bug: "
                                    "please report it with the command that was run)"
                                  : what.c_str());
        return 1;
    } catch (...) {
        std::fprintf(stderr, "musehub: failed with an unknown exception (a bug: please report "
                             "it with the command that was run)\n");
        return 1;
    }
    return 0;
}
