#pragma once
// Encoding a pack piece by piece: records (commits, snapshots, tags) and branch heads first,
// then the objects, declared and then added one at a time, and finish(). With a sink, the
// bytes go to it as they are made and finish() returns nothing; without, finish() returns
// them. A wire with a writer of its own (v2::PackWriter holds one piece of output and the
// previous snapshot) is used through it; any other wire gets one that gathers a Pack and
// encodes it whole at finish(), so algorithms always stream and never care which.
//
//   auto w = wire::pack_writer(hub.wire(), sink);
//   w.add(commit); w.add(snapshot); w.set_branch_heads(heads);
//   w.objects(count, stored_bytes);
//   w.add(object); ...
//   std::move(w).finish();
//
// Objects are written as stored (the wire does not recompress them), and an added object's
// bytes need to live only until add() returns.

#include "musehub/core/model.hpp"
#include "musehub/wire/concept.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace musehub::wire {

template <WireProtocol W>
class GatheringPackWriter {
public:
    using Sink = std::function<void(BytesView)>;

    explicit GatheringPackWriter(const W& wire, Sink sink = {})
        : wire_(&wire), sink_(std::move(sink)) {}

    void objects(std::size_t count, std::uint64_t) { pack_.objects.reserve(count); }
    void add(const PackObject& o) {
        auto owned = std::make_shared<const Bytes>(o.stored.begin(), o.stored.end());
        pack_.objects.push_back({o.id, o.encoding, BytesView(*owned), o.raw_size});
        pack_.hold(std::move(owned));
    }
    void add(const Commit& c) { pack_.commits.push_back(c); }
    void add(const Snapshot& s) { pack_.snapshots.push_back(s); }
    void add(const Tag& t) { pack_.tags.push_back(t); }
    void set_branch_heads(std::map<std::string, CommitId> heads) {
        pack_.branch_heads = std::move(heads);
    }
    Bytes finish() && {
        auto bytes = wire_->encode_pack(pack_);
        if (!sink_)
            return bytes;
        sink_(bytes);
        return {};
    }

private:
    const W* wire_;
    Sink sink_;
    Pack pack_;
};

template <WireProtocol W>
auto pack_writer(const W& wire, std::function<void(BytesView)> sink = {}) {
    if constexpr (requires { wire.pack_writer(sink); })
        return wire.pack_writer(std::move(sink));
    else
        return GatheringPackWriter<W>(wire, std::move(sink));
}

} // namespace musehub::wire
