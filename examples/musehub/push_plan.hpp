#pragma once
// How `musehub push` splits a history of any size into pushes a hub takes.
//
// A hub bounds what one push may be: its request body (`musehub serve --max-body`, 256 MiB by
// default, answered 413 above it) and the commits of one push (10,000, as the reference Muse
// server takes). A push of a long history in one request fails on either, so the commits to
// send are split along the branch's first-parent chain, oldest first:
//
//   - a *step* is one commit of the chain and the commits it brings in that no earlier step
//     has (itself, and for a merge the side history it merges);
//   - a *chunk* is a run of consecutive steps; it is pushed as a push of its own that moves the
//     branch to the chunk's last step, so the last push lands on the real tip;
//   - a chunk holds exactly the ancestors of its tip that neither the hub nor an earlier chunk
//     has, so each push is ancestors-closed and a fast-forward of the one before it.
//
// A chunk is as many steps as fit the commit budget and, once a push has shown how many bytes
// a commit takes, the byte budget. A chunk still too large — measured before sending, or
// refused by the hub (413, or the connection closed mid-body) — is split again (at most half)
// and retried; one step that alone is too large cannot be split and is an error that names the
// commit, its size, the limit and what to do about it.

#include <musehub/core/dag.hpp>
#include <musehub/core/error.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace musehub::tool {

// One commit of the first-parent chain and the commits it brings in.
struct PushStep {
    CommitId tip;
    std::size_t commits = 0;
};

// What a branch push sends, as steps oldest first (empty: the hub has every commit already,
// and only the branch moves).
struct PushPlan {
    std::vector<PushStep> steps;
    std::size_t commits = 0;
};

// The budget of one push: `max_bytes` is min(the --max-push-bytes flag, what the hub said it
// takes in X-Musehub-Max-Body), and lowered further when the hub refuses a body as too large.
struct ChunkLimits {
    std::size_t max_commits = 10'000;
    std::uint64_t max_bytes = std::uint64_t{256} << 20;
};

// A request body the hub would not (or did not) take: over the known limit before sending, a
// 413, or the connection closed while the body was going out. `limit` is the hub's limit when
// it is known (musehub names it in X-Musehub-Max-Body); `reason` is what the hub said, or what
// happened to the connection (empty when the client measured the body before sending it).
class TooLarge : public error {
public:
    TooLarge(std::uint64_t bytes, std::optional<std::uint64_t> limit, const std::string& why,
             std::string reason = {})
        : error(errc::oversized, why), bytes_(bytes), limit_(limit), reason_(std::move(reason)) {}
    std::uint64_t bytes() const noexcept { return bytes_; }
    const std::optional<std::uint64_t>& limit() const noexcept { return limit_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    std::uint64_t bytes_;
    std::optional<std::uint64_t> limit_;
    std::string reason_;
};

// "N bytes (x.y MiB)": exact for a person comparing it with --max-body, readable at a glance.
inline std::string mib(std::uint64_t bytes) {
    char buf[64];
    if (bytes >= (1u << 20))
        std::snprintf(buf, sizeof buf, "%llu bytes (%.1f MiB)",
                      static_cast<unsigned long long>(bytes),
                      static_cast<double>(bytes) / (1 << 20));
    else
        std::snprintf(buf, sizeof buf, "%llu bytes (%.1f KiB)",
                      static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / 1024);
    return buf;
}

// The error for a commit that no split can make small enough: names it, its size and the limit,
// and says what to do. `what` is the part that is too large ("its push", "its object …").
inline error oversized_commit(const CommitId& commit, std::size_t brings, const std::string& what,
                              const TooLarge& refused) {
    const std::string merged =
        brings > 1 ? " (with the " + std::to_string(brings - 1) + " commit(s) it merges)" : "";
    const std::string limit =
        refused.limit() ? mib(*refused.limit()) : std::string("what the hub takes");
    return error(errc::oversized,
                 "commit " + commit.hex() + merged + " cannot be pushed: " + what + " is " +
                     mib(refused.bytes()) + ", over " + limit + " per request" +
                     (refused.reason().empty() ? "" : " (" + refused.reason() + ")") +
                     ". No split makes one commit smaller: raise the server's limit (`musehub "
                     "serve --max-body BYTES`, and that of any proxy in front of it) above its "
                     "size, and the client's --max-push-bytes if it is lower, then push again");
}

// Splits what `head` has beyond `remote_has` (commits the hub has; their ancestors too) into
// steps along the first-parent chain. `lookup` is a batched ParentLookup (core/dag.hpp) whose
// parents come first-parent first.
template <class ParentLookup>
PushPlan plan_push(const CommitId& head, const std::vector<CommitId>& remote_has,
                   ParentLookup&& lookup) {
    std::unordered_map<CommitId, std::vector<CommitId>> parents;
    auto recorded = [&](std::span<const CommitId> ids) {
        auto got = lookup(ids);
        for (const auto& [id, ps] : got)
            parents.emplace(id, std::vector<CommitId>(ps.begin(), ps.end()));
        return got;
    };
    auto walk = walk_ancestors(std::span<const CommitId>(&head, 1), recorded,
                               CommitSet(remote_has.begin(), remote_has.end()));
    if (!walk.unknown.empty())
        fail(errc::missing_object, "the local repo lacks commit " + walk.unknown.front().hex() +
                                       " of the history to push (run `musehub fsck` on it)");
    const CommitSet todo(walk.reached.begin(), walk.reached.end());
    std::vector<CommitId> chain; // head first, then first parents while the hub lacks them
    for (auto at = head; todo.count(at);) {
        chain.push_back(at);
        const auto& ps = parents.at(at);
        if (ps.empty())
            break;
        at = ps.front();
    }
    PushPlan plan;
    CommitSet taken;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        PushStep step{*it, 0};
        for (std::vector<CommitId> stack{*it}; !stack.empty();) {
            auto c = stack.back();
            stack.pop_back();
            if (!todo.count(c) || !taken.insert(c).second)
                continue;
            ++step.commits;
            for (const auto& p : parents.at(c))
                stack.push_back(p);
        }
        plan.commits += step.commits;
        plan.steps.push_back(step);
    }
    return plan;
}

// How many steps from `at` the next chunk takes: as many as fit the commit budget and, once a
// push has measured bytes per commit, four fifths of the byte budget (room for the estimate to
// be off); always at least one.
inline std::size_t fit_steps(const PushPlan& plan, std::size_t at, const ChunkLimits& limits,
                             double bytes_per_commit) {
    std::size_t steps = 0, commits = 0;
    for (std::size_t i = at; i < plan.steps.size(); ++i) {
        const auto more = commits + plan.steps[i].commits;
        const auto bytes = bytes_per_commit * static_cast<double>(more);
        if (steps > 0 &&
            (more > limits.max_commits || bytes > 0.8 * static_cast<double>(limits.max_bytes)))
            break;
        commits = more;
        ++steps;
    }
    return std::max<std::size_t>(steps, 1);
}

// After a chunk of `steps` steps was too large: at most half as many, fewer when the sizes say
// so (a body of `bytes` against a known limit), at least one.
inline std::size_t shrink_steps(std::size_t steps, const TooLarge& refused,
                                const ChunkLimits& limits) {
    auto half = steps / 2;
    if (refused.bytes() > 0 && limits.max_bytes < refused.bytes()) {
        const double scale =
            0.9 * static_cast<double>(limits.max_bytes) / static_cast<double>(refused.bytes());
        half = std::min(half, static_cast<std::size_t>(static_cast<double>(steps) * scale));
    }
    return std::max<std::size_t>(half, 1);
}

// What a refusal tells of the hub's limit: the limit it named, else below the body it refused
// (a hub or proxy that closed the connection names none), so later chunks aim under it.
inline void learn_limit(ChunkLimits& limits, const TooLarge& refused) {
    if (refused.limit())
        limits.max_bytes = std::min(limits.max_bytes, *refused.limit());
    else if (refused.bytes() > 1)
        limits.max_bytes = std::min(limits.max_bytes, refused.bytes() - 1);
}

// What sending the chunks came to.
struct ChunkedPush {
    std::size_t pushes = 0;
    std::uint64_t bytes = 0;
};

// Sends `plan` in chunks: send(from, count) pushes steps [from, from + count) (count 0, once,
// for a plan without steps: only the branch moves) and returns the bytes of the body that
// carried them, or throws TooLarge. `limits` may be lowered by `send` as the hub tells it more.
// `done(chunk_commits)` follows each push that landed.
template <class Send, class Done>
ChunkedPush push_in_chunks(const PushPlan& plan, ChunkLimits& limits, Send&& send, Done&& done) {
    ChunkedPush out;
    if (plan.steps.empty()) {
        out.bytes = send(std::size_t{0}, std::size_t{0});
        out.pushes = 1;
        return out;
    }
    double bytes_per_commit = 0;
    for (std::size_t at = 0; at < plan.steps.size();) {
        auto steps = fit_steps(plan, at, limits, bytes_per_commit);
        for (;;) {
            try {
                const auto bytes = send(at, steps);
                std::size_t commits = 0;
                for (std::size_t i = at; i < at + steps; ++i)
                    commits += plan.steps[i].commits;
                bytes_per_commit = static_cast<double>(bytes) / static_cast<double>(commits);
                out.bytes += bytes;
                ++out.pushes;
                done(commits);
                break;
            } catch (const TooLarge& refused) {
                if (steps == 1)
                    throw oversized_commit(plan.steps[at].tip, plan.steps[at].commits, "its push",
                                           refused);
                learn_limit(limits, refused);
                steps = shrink_steps(steps, refused, limits);
            }
        }
        at += steps;
    }
    return out;
}

} // namespace musehub::tool
