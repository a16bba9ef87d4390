#pragma once
// Index job: register a pack that was uploaded straight to the object store (presigned), as a
// pack push would, without uploading it again. Idempotent: a second run finds every row and
// the branch in place and changes nothing; a run that died at any step is completed by the
// next. Reports the time of each phase.

#include "musehub/algo/push.hpp"
#include "musehub/wire/v2.hpp"

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

template <class H>
PushResult index_pack(H& hub, const IndexRequest& req) {
    PhaseTimes times;
    // A retired pack means an earlier run registered it (or found nothing new in it) and died
    // before the queue heard so, and GC or consolidation has retired it since: the work is
    // done, and a rerun must not register it again. (Reruns come within the worker lease, and
    // retired bytes outlive it by the grace period, so the tombstone is still there to see.)
    catalog::Key<catalog::TombstoneRow> tomb{req.container};
    if (hub.catalog().template contains<catalog::TombstoneRow>(
            std::span<const catalog::Key<catalog::TombstoneRow>>(&tomb, 1))[0]) {
        PushResult r;
        r.repo = req.repo, r.branch = req.branch;
        catalog::Key<Branch> key{req.repo, req.branch};
        if (auto head = hub.catalog().template find<Branch>(
                std::span<const catalog::Key<Branch>>(&key, 1))[0])
            r.head = head->head, r.previous = head->head;
        return r; // outcome: unchanged
    }
    auto bytes = times.time("fetch", [&] {
        auto b = hub.store().get(req.container);
        if (!b)
            fail(errc::not_found, "no uploaded pack at '" + req.container + "'");
        return std::move(*b);
    });
    // The bytes say which wire wrote them: an MPack starts with its magic.
    bool mpack = bytes.size() >= 4 && std::equal(wire::v2::magic.begin(), wire::v2::magic.end(),
                                                 reinterpret_cast<const char*>(bytes.data()));
    auto pack = times.time("parse", [&] {
        return mpack ? wire::v2{}.decode_pack(bytes, hub.options().limits)
                     : wire::v1{}.decode_pack(bytes, hub.options().limits);
    });
    auto format = mpack ? catalog::ContainerFormat::v2_pack : catalog::ContainerFormat::v1_bundle;
    return push_pack(hub, req.repo, pack, bytes, format, req.branch, req.force, std::move(times),
                     &req.container);
}

} // namespace musehub::algo
