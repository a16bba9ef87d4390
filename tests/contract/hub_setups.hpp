#pragma once
// The algorithm scenarios run for every backend x every wire policy: each Setup is a fresh
// backend, a hand-moved clock, and a Hub over them. GC's grace period is zero unless a test
// says otherwise, so every scenario exercises the harshest timing.

#include "backends.hpp"
#include "history.hpp"

#include "musehub/core/delta_chains.hpp"
#include "musehub/hub.hpp"
#include "musehub/wire/v2.hpp"

#include <catch2/catch.hpp>

namespace contract {

template <class Backend, class Wire>
struct Setup {
    static constexpr std::string_view wire_name = Wire::name;
    using backend_type = Backend;
    using Hub = musehub::Hub<Wire, typename Backend::Store, typename Backend::Catalog,
                             typename Backend::Queue>;

    Backend backend;
    TestClock clock;
    Hub hub{Wire{}, backend.store(), backend.catalog(), backend.queue(), options(clock)};

    static HubOptions options(const TestClock& clock) {
        HubOptions o;
        o.grace = std::chrono::milliseconds(0);
        o.batch_rows = 64; // small, so every scenario crosses batch boundaries
        o.clock = clock;
        return o;
    }

    algo::PushResult push(const std::string& repo, const std::string& branch, Pack pack,
                          bool force = false) {
        return hub.push(repo, hub.wire().encode_push(PushRequest{std::move(pack), branch, force}));
    }
    // Fetches `branch` as a client with `have` would, checks every id, and returns the pack
    // with the encoded bytes it views.
    std::pair<Pack, std::shared_ptr<Bytes>>
    fetch(const std::string& repo, std::vector<CommitId> want, std::vector<CommitId> have = {}) {
        auto r = hub.fetch(repo, FetchRequest{std::move(want), std::move(have)});
        auto bytes = std::make_shared<Bytes>(std::move(r.bytes));
        auto pack = hub.wire().decode_pack(*bytes, hub.options().limits);
        // Every object proven, deltas resolved against bases in the pack (a clone is whole).
        for_each_verified(std::span<const PackObject>(pack.objects), hub.options().limits,
                          [](const PackObject&, BytesView) {});
        for (const auto& c : pack.commits)
            verify_commit_id(c);
        for (const auto& s : pack.snapshots)
            verify_snapshot_id(s);
        return {std::move(pack), bytes};
    }
    // Clones `branch` and returns its tree: path -> bytes, as a client would write it out.
    std::map<std::string, std::string> clone(const std::string& repo, const std::string& branch) {
        auto head = hub.branch_head(repo, branch);
        REQUIRE(head);
        auto [pack, bytes] = fetch(repo, {*head});
        std::map<ObjectId, std::string> content;
        for_each_verified(std::span<const PackObject>(pack.objects), hub.options().limits,
                          [&](const PackObject& o, BytesView raw) {
                              content[o.id] = std::string(as_chars(raw));
                          });
        const Commit* tip = nullptr;
        for (const auto& c : pack.commits)
            if (c.commit_id == *head)
                tip = &c;
        REQUIRE(tip);
        std::map<std::string, std::string> tree;
        for (const auto& s : pack.snapshots)
            if (s.snapshot_id == tip->snapshot_id)
                for (const auto& e : s.manifest)
                    tree[e.path] = content.at(e.object);
        return tree;
    }
    HubState state() { return state_of(backend.catalog(), backend.store()); }
};

// What a client expects a clone of `c` to contain.
inline std::map<std::string, std::string> expected_tree(const Client& client, const CommitId& c) {
    std::map<std::string, std::string> tree;
    for (const auto& [path, id] : client.tree_of(c))
        tree[path] = client.content(id);
    return tree;
}

// Every algorithm scenario, for the reference backend, the embedded default, the server pair
// (S3 + PostgreSQL) and the mixed fs store + PostgreSQL catalog, both wires.
using Setups = std::tuple<Setup<MemoryBackend, wire::v1>, Setup<MemoryBackend, wire::v2>,
                          Setup<FsBackend, wire::v1>, Setup<FsBackend, wire::v2>,
                          Setup<S3PostgresBackend, wire::v1>, Setup<S3PostgresBackend, wire::v2>,
                          Setup<FsPostgresBackend, wire::v1>, Setup<FsPostgresBackend, wire::v2>>;

// The Setups a capability-gated scenario runs on, and those that print why they skip it (named,
// since a comma cannot appear in a Catch test macro's type list): stores that hand out
// presigned URLs, and stores whose crashed writers leave temporaries for the sweep.
using PresigningSetups = with<presigns, Setups>;
using NonPresigningSetups = without<presigns, Setups>;
using TemporarySweepingSetups = with<sweeps_temporaries, Setups>;
using NoTemporariesSetups = without<sweeps_temporaries, Setups>;

template <class E>
errc code_of(E&& fn) {
    try {
        fn();
    } catch (const musehub::error& e) {
        return e.code();
    }
    FAIL("expected a musehub::error");
    return errc::io;
}

} // namespace contract
