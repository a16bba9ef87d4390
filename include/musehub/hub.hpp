#pragma once
// Hub: binds a wire policy, an object store, a catalog and a job queue, and offers the
// operations of a hub over them. It owns none of the backends (they often outlive it and
// several hubs or workers may share them); every operation is one of the generic algorithms
// in algo/, written once for every instantiation:
//
//     musehub::memory::ObjectStore store;  musehub::memory::Catalog catalog;
//     musehub::memory::JobQueue queue;
//     musehub::Hub hub{musehub::wire::v2{}, store, catalog, queue};

#include "musehub/algo/fetch.hpp"
#include "musehub/algo/fsck.hpp"
#include "musehub/algo/gc.hpp"
#include "musehub/algo/index.hpp"
#include "musehub/algo/presigned.hpp"
#include "musehub/algo/purge.hpp"
#include "musehub/algo/push.hpp"
#include "musehub/algo/read.hpp"
#include "musehub/algo/stream_push.hpp"
#include "musehub/algo/sweep.hpp"
#include "musehub/algo/worker.hpp"
#include "musehub/catalog/concept.hpp"
#include "musehub/hub_options.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"
#include "musehub/wire/concept.hpp"

#include <string>

namespace musehub {

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
class Hub {
public:
    using wire_type = W;
    using store_type = S;
    using catalog_type = C;
    using queue_type = Q;

    Hub(W wire, S& store, C& catalog, Q& queue, HubOptions options = {})
        : wire_(std::move(wire)), store_(store), catalog_(catalog), queue_(queue),
          options_(std::move(options)) {}

    const W& wire() const noexcept { return wire_; }
    S& store() noexcept { return store_; }
    const S& store() const noexcept { return store_; }
    C& catalog() noexcept { return catalog_; }
    const C& catalog() const noexcept { return catalog_; }
    Q& queue() noexcept { return queue_; }
    const HubOptions& options() const noexcept { return options_; }
    TimePoint now() const { return options_.clock ? options_.clock() : now_ms(); }

    // How this hub's wire stores a pack it received.
    static constexpr ContainerFormat container_format = W::container_format;

    // The operations are defined after the class, out of line, so the class reads as the list
    // of what a hub does; and a program that instantiates its Hub in one translation unit
    // (`template class Hub<...>;`) and declares it in the others (`extern template class
    // Hub<...>;`) compiles the algorithms behind them once.

    // ---- push -------------------------------------------------------------------------------

    // A push message in this hub's wire ({bundle, branch, force} for v1; {branch, force, pack}
    // for v2). The encoded pack (v2), or the whole body (v1), is kept as the container the
    // objects are read from.
    algo::PushResult push(const std::string& repo, BytesView body);
    // An encoded pack in this hub's wire, for `branch`.
    algo::PushResult push_pack(const std::string& repo, const std::string& branch, bool force,
                               BytesView pack_bytes);
    // Objects alone, ahead of the push that names them (v1 `push/objects`): verified, stored,
    // and held for `repo` (GC keeps them for the grace period even before anything refers to them).
    algo::StoredObjects upload_objects(const std::string& repo, BytesView pack_bytes);
    // Which of `ids` the hub lacks (v1 `filter-objects`).
    std::vector<ObjectId> missing_objects(std::span<const ObjectId> ids) const;

    // A stream push session (frames of wire v2 packs, whatever this hub's wire): feed() the
    // request bytes as they arrive; the response frames go to `emit`. See algo/stream_push.hpp.
    algo::StreamPush<Hub> stream_push(typename algo::StreamPush<Hub>::Emit emit) {
        return algo::StreamPush<Hub>(*this, std::move(emit));
    }

    // Presigned push (stores that can presign): URLs for the objects the hub lacks, then proof
    // that the uploads arrived and hash to their ids, before any row is written. A push whose
    // pack names the confirmed objects (and carries none) completes it. See algo/presigned.hpp.
    algo::PresignResult presign(const std::string& repo, std::span<const algo::PresignItem> items,
                                std::uint32_t expiry_seconds = 3600) requires PresigningStore<S>;
    algo::ConfirmResult
    confirm_uploads(const std::string& repo,
                    std::span<const algo::ConfirmItem> items) requires PresigningStore<S>;

    // ---- fetch ------------------------------------------------------------------------------

    algo::NegotiateResult negotiate(const std::string& repo, const FetchRequest& req) const;
    // The pack goes to `sink` piece by piece as it is made (a server streams it to its
    // client); nothing is sent when the request fails before the answer is known.
    algo::FetchResult fetch(const std::string& repo, const FetchRequest& req,
                            const algo::FetchSink& sink);
    // The pack collected in FetchResult::bytes.
    algo::FetchResult fetch(const std::string& repo, const FetchRequest& req);

    // ---- maintenance --------------------------------------------------------------------------

    // Registers a pack already in the object store (an index job's work, run inline).
    algo::PushResult index(const algo::IndexRequest& req);
    // Collects one repo: costs that repo's live history, whatever else the hub holds.
    algo::GcResult gc(const std::string& repo, const algo::GcHooks& hooks = {});
    // The hub-wide half: expired caches, abandoned uploads, strays, purge, catalog compaction.
    algo::SweepResult sweep();
    // The repack policy's rewrite (what the follow-up job runs), and every pack into one.
    algo::RepackResult repack(const std::string& repo);
    // The bytes of retired containers whose grace period is over (the sweep runs it too).
    algo::PurgeResult purge_retired();
    algo::ConsolidateResult consolidate(const std::string& repo);
    algo::FsckResult fsck(const algo::FsckOptions& o = {});
    std::optional<Job> run_one_job(const algo::WorkerOptions& w = {});

    // ---- reads ------------------------------------------------------------------------------

    std::vector<Branch> branches(const std::string& repo) const;
    std::optional<CommitId> branch_head(const std::string& repo, const std::string& branch) const;
    // The tree of a commit, and the raw bytes of objects (hash-checked): what a working tree
    // is made of. See algo/read.hpp.
    Snapshot tree_of(const std::string& repo, const CommitId& commit) const;
    template <class Each>
    void read_objects(const std::string& repo, std::span<const ObjectId> ids, Each&& each) const {
        algo::read_objects(*this, repo, ids, std::forward<Each>(each));
    }

private:
    W wire_;
    S& store_;
    C& catalog_;
    Q& queue_;
    HubOptions options_;
};

// ---- the operations, each one of the generic algorithms ----------------------------------------

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::PushResult Hub<W, S, C, Q>::push(const std::string& repo, BytesView body) {
    auto req = wire_.decode_push(body, options_.limits);
    auto container = req.encoded_pack.empty() ? body : req.encoded_pack;
    return algo::push_pack(*this, repo, req.pack, container, container_format, req.branch,
                           req.force);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::PushResult Hub<W, S, C, Q>::push_pack(const std::string& repo, const std::string& branch,
                                            bool force, BytesView pack_bytes) {
    auto pack = wire_.decode_pack(pack_bytes, options_.limits);
    return algo::push_pack(*this, repo, pack, pack_bytes, container_format, branch, force);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::StoredObjects Hub<W, S, C, Q>::upload_objects(const std::string& repo, BytesView pack_bytes) {
    auto pack = wire_.decode_pack(pack_bytes, options_.limits);
    algo::PhaseTimes times;
    algo::verify_objects(pack, options_.limits, algo::repo_bases(*this, repo));
    return algo::store_objects(*this, repo, pack, pack_bytes, container_format, times);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
std::vector<ObjectId> Hub<W, S, C, Q>::missing_objects(std::span<const ObjectId> ids) const {
    return algo::missing_objects(*this, ids);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::PresignResult
Hub<W, S, C, Q>::presign(const std::string& repo, std::span<const algo::PresignItem> items,
                         std::uint32_t expiry_seconds) requires PresigningStore<S> {
    return algo::presign(*this, repo, items, expiry_seconds);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::ConfirmResult Hub<W, S, C, Q>::confirm_uploads(
    const std::string& repo, std::span<const algo::ConfirmItem> items) requires PresigningStore<S> {
    return algo::confirm(*this, repo, items);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::NegotiateResult Hub<W, S, C, Q>::negotiate(const std::string& repo,
                                                 const FetchRequest& req) const {
    return algo::negotiate(*this, repo, req);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::FetchResult Hub<W, S, C, Q>::fetch(const std::string& repo, const FetchRequest& req,
                                         const algo::FetchSink& sink) {
    return algo::fetch(*this, repo, req, sink);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::FetchResult Hub<W, S, C, Q>::fetch(const std::string& repo, const FetchRequest& req) {
    return algo::fetch(*this, repo, req);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::PushResult Hub<W, S, C, Q>::index(const algo::IndexRequest& req) {
    return algo::index_pack(*this, req);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::GcResult Hub<W, S, C, Q>::gc(const std::string& repo, const algo::GcHooks& hooks) {
    return algo::gc(*this, repo, hooks);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::SweepResult Hub<W, S, C, Q>::sweep() {
    return algo::sweep(*this);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::RepackResult Hub<W, S, C, Q>::repack(const std::string& repo) {
    return algo::repack(*this, repo);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::PurgeResult Hub<W, S, C, Q>::purge_retired() {
    return algo::purge_retired(*this);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::ConsolidateResult Hub<W, S, C, Q>::consolidate(const std::string& repo) {
    return algo::consolidate(*this, repo);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
algo::FsckResult Hub<W, S, C, Q>::fsck(const algo::FsckOptions& o) {
    return algo::fsck(*this, o);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
std::optional<Job> Hub<W, S, C, Q>::run_one_job(const algo::WorkerOptions& w) {
    return algo::run_one(*this, w);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
std::vector<Branch> Hub<W, S, C, Q>::branches(const std::string& repo) const {
    return catalog_.template scan<Branch>(std::tuple{repo});
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
std::optional<CommitId> Hub<W, S, C, Q>::branch_head(const std::string& repo,
                                                     const std::string& branch) const {
    return algo::branch_head(*this, repo, branch);
}

template <WireProtocol W, ObjectStore S, Catalog C, JobQueue Q>
Snapshot Hub<W, S, C, Q>::tree_of(const std::string& repo, const CommitId& commit) const {
    return algo::tree_of(*this, repo, commit);
}

} // namespace musehub
