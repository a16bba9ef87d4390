#pragma once
// Index job: register a pack that was uploaded straight to the object store (presigned), as a
// pack push would, without uploading it again. Idempotent: a second run finds every row and
// the branch in place and changes nothing; a run that died at any step is completed by the
// next. Reports the time of each phase.

#include "musehub/algo/concept.hpp"
#include "musehub/algo/detail/retire.hpp"
#include "musehub/algo/push.hpp"
#include "musehub/wire/containers.hpp"

namespace musehub::algo {

struct IndexRequest {
    std::string repo;
    std::string branch;
    bool force = false;
    std::string container; // object-store key of the uploaded pack
    friend bool operator==(const IndexRequest&, const IndexRequest&) = default;
};

// Job payloads are msgpack maps, so a queue row stays readable by any tool.
inline std::string encode_index_request(const IndexRequest& r) {
    Bytes out;
    musehub::detail::ByteSink sink{out};
    musehub::detail::Packer p(sink);
    p.pack_map(4);
    musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, r.repo);
    musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, r.branch);
    musehub::detail::pack_str(p, "force"), r.force ? p.pack_true() : p.pack_false();
    musehub::detail::pack_str(p, "container"), musehub::detail::pack_str(p, r.container);
    return std::string(as_chars(out));
}
inline IndexRequest decode_index_request(std::string_view payload, const Limits& limits) {
    auto handle = musehub::detail::unpack_bounded(as_bytes(payload), limits, "index job payload");
    const auto& m = musehub::detail::as_map(handle.get(), "index job payload");
    auto str = [&](std::string_view k) {
        return std::string(
            musehub::detail::as_str(musehub::detail::require_key(m, k, "index job payload"), k));
    };
    IndexRequest r{str("repo"), str("branch"), false, str("container")};
    if (auto* f = musehub::detail::find_key(m, "force"))
        r.force = musehub::detail::as_bool(*f, "force");
    return r;
}

template <AlgorithmHub H>
PushResult index_pack(H& hub, const IndexRequest& req) {
    PhaseTimes times;
    auto bytes = times.time("fetch", [&] {
        auto b = hub.store().get(req.container);
        if (!b)
            fail(errc::not_found, "no uploaded pack at '" + req.container + "'");
        return std::move(*b);
    });
    // The bytes say which wire wrote them, whatever this hub's wire is.
    auto decoded =
        times.time("parse", [&] { return wire::decode_container(bytes, hub.options().limits); });
    const Pack& pack = decoded.pack;
    // A rerun (the worker died before the queue heard it finished, or the job failed after its
    // work was done) whose head the branch already contains has nothing left to do: done, not a
    // non-fast-forward failure against the pushes that came since.
    // (Only a head the repo has registered can be contained: a first run pays one lookup.)
    auto contained_in = [&]() -> std::optional<CommitId> {
        auto& cat = hub.catalog();
        auto head = detail::pick_head(pack, req.branch);
        catalog::Key<catalog::CommitRefRow> ref{req.repo, head};
        if (!catalog::contains_one<catalog::CommitRefRow>(cat, ref))
            return std::nullopt;
        catalog::Key<Branch> key{req.repo, req.branch};
        auto current = catalog::find_one<Branch>(cat, key);
        if (current && current->head != head &&
            is_ancestor(head, current->head, catalog_parents(cat)))
            return current->head;
        return std::nullopt;
    };
    if (auto current = contained_in()) {
        detail::retire_unused_upload(hub.catalog(), req.container, hub.now());
        PushResult r;
        r.repo = req.repo, r.branch = req.branch, r.head = *current, r.previous = *current;
        r.times = std::move(times);
        return r; // outcome: unchanged
    }
    return push_pack(hub, req.repo, pack, bytes, decoded.format, req.branch, req.force,
                     std::move(times), &req.container);
}

} // namespace musehub::algo
