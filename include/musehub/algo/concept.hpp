#pragma once
// AlgorithmHub: what the generic algorithms in algo/ use of the hub they are given, and nothing
// more. musehub::Hub is one; the algorithms' public entry points (push, fetch, gc, sweep,
// repack, index_pack, fsck, presign/confirm, stream push, the worker...) take any type that is,
// so a hub over a backend that lacks an operation is refused here, by name, and not deep
// inside an algorithm.
//
//  - the policy types it binds: wire_type (WireProtocol), store_type (ObjectStore),
//    catalog_type (Catalog, whose transact() hands out a catalog::CatalogTransaction) and
//    queue_type (JobQueue), and container_format, how its wire stores a pack it received;
//  - wire(), store(), catalog(), queue(), options() and now(). A const hub reads through a
//    const store and catalog (fetch's negotiate, the reads of algo/read.hpp).

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/schema.hpp"
#include "musehub/core/time.hpp"
#include "musehub/hub_options.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/store/concept.hpp"
#include "musehub/wire/concept.hpp"

#include <concepts>

namespace musehub::algo {

template <class H>
concept AlgorithmHub = WireProtocol<typename H::wire_type> && ObjectStore<typename H::store_type> &&
    Catalog<typename H::catalog_type> && JobQueue<typename H::queue_type> &&
    requires(H& hub, const H& chub) {
    { H::container_format } -> std::convertible_to<catalog::ContainerFormat>;
    { chub.wire() } -> std::same_as<const typename H::wire_type&>;
    { hub.store() } -> std::same_as<typename H::store_type&>;
    { chub.store() } -> std::same_as<const typename H::store_type&>;
    { hub.catalog() } -> std::same_as<typename H::catalog_type&>;
    { chub.catalog() } -> std::same_as<const typename H::catalog_type&>;
    { hub.queue() } -> std::same_as<typename H::queue_type&>;
    { chub.options() } -> std::same_as<const HubOptions&>;
    { chub.now() } -> std::same_as<TimePoint>;
};

// A hub whose object store can hand out presigned URLs: what presigned push needs.
template <class H>
concept PresigningHub = AlgorithmHub<H> && PresigningStore<typename H::store_type>;

} // namespace musehub::algo
