#pragma once
// Encoding a pack piece by piece: commits, snapshots, tags and objects added one at a time,
// the bytes produced once by finish(). A wire with a writer of its own (v2::PackWriter keeps
// only its output and the previous snapshot) is used through it; any other wire gets one that
// gathers a Pack and encodes it whole, so algorithms always stream and never care which.
//
//   auto w = wire::pack_writer(hub.wire());
//   w.add(commit); w.add(snapshot); w.add(object); w.set_branch_heads(heads);
//   Bytes pack = std::move(w).finish();
//
// An added object's bytes need to live only until add() returns.

#include "musehub/core/model.hpp"
#include "musehub/wire/concept.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace musehub::wire {

template <WireProtocol W>
class GatheringPackWriter {
public:
    explicit GatheringPackWriter(const W& wire) : wire_(&wire) {}

    void reserve(std::size_t objects, std::uint64_t) { pack_.objects.reserve(objects); }
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
    Bytes finish() && { return wire_->encode_pack(pack_); }

private:
    const W* wire_;
    Pack pack_;
};

template <WireProtocol W>
auto pack_writer(const W& wire) {
    if constexpr (requires { wire.pack_writer(); })
        return wire.pack_writer();
    else
        return GatheringPackWriter<W>(wire);
}

} // namespace musehub::wire
