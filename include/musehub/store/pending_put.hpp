#pragma once
// A put whose bytes arrive in pieces and whose key is known only at the end (a fetch pack is
// named by the hash of its bytes, which is known once the last byte is written):
//
//   auto put = begin_put(store);
//   put.write(piece); put.write(piece); ...
//   put.commit(key);            // atomically visible under `key`, like store.put(key, bytes)
//
// Destroyed without commit(), nothing becomes visible. A store with a native form
// (`store.begin_put()`, e.g. the fs store's temporary file) keeps only the piece in hand; any
// other store gets one that gathers the bytes and puts them whole at commit(), so algorithms
// always stream and never care which.

#include "musehub/core/error.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <string_view>
#include <utility>

namespace musehub {

// The fallback: gathers the pieces, puts them at commit().
template <ObjectStore S>
class GatheringPut {
public:
    explicit GatheringPut(S& store) : store_(&store) {}

    void write(BytesView data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
    void commit(std::string_view key) {
        store_->put(key, bytes_);
        Bytes{}.swap(bytes_);
    }

private:
    S* store_;
    Bytes bytes_;
};

template <ObjectStore S>
auto begin_put(S& store) {
    if constexpr (StreamingPutStore<S>)
        return store.begin_put();
    else
        return GatheringPut<S>(store);
}

} // namespace musehub
