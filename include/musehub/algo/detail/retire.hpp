#pragma once
// Retiring a container nothing points into: its row goes and a tombstone takes its place, so no
// location is ever written into it again (detail::container_live) and purge removes its bytes
// once the grace period is over (algo/purge.hpp). Push, confirm, index jobs, repack and GC all
// retire containers this one way.

#include "musehub/catalog/concept.hpp"
#include "musehub/core/time.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace musehub::algo::detail {

// What to do with an unused container that has no row (any more).
enum class WithoutRow {
    leave,  // already retired, or being retired by someone else: nothing to do
    retire, // an upload a dead earlier run may or may not have registered: retire it either way
};

// Retires `container` if no location points into it. Returns whether it was retired now.
template <catalog::CatalogTransaction Tx>
bool retire_if_unused(Tx& tx, const std::string& container, TimePoint now, WithoutRow without_row) {
    using catalog::ContainerRow;
    using catalog::LocationRow;
    using catalog::TombstoneRow;
    if (!tx.template find_by<LocationRow, 1>(std::span<const std::string>(&container, 1)).empty())
        return false;
    const bool had_row =
        tx.template erase<ContainerRow>(std::vector<catalog::Key<ContainerRow>>{{container}}) != 0;
    if (!had_row && without_row == WithoutRow::leave)
        return false;
    TombstoneRow t{container, now};
    const bool tombstoned = tx.insert(std::span<const TombstoneRow>(&t, 1)) != 0;
    return had_row || tombstoned;
}

// Retires every container in `containers` that no location points into any more; returns how
// many it retired.
template <catalog::CatalogTransaction Tx>
std::size_t retire_empty_containers(Tx& tx, const std::vector<std::string>& containers,
                                    TimePoint now) {
    std::size_t n = 0;
    for (const auto& c : containers)
        if (retire_if_unused(tx, c, now, WithoutRow::leave))
            ++n;
    return n;
}

// Retires an uploaded pack nothing points into (idempotent), with the row an earlier run of
// its index job may have given it before it died. One transaction of its own.
template <class C>
void retire_unused_upload(C& cat, const std::string& container, TimePoint now) {
    cat.transact(
        [&](auto& tx) { return retire_if_unused(tx, container, now, WithoutRow::retire); });
}

} // namespace musehub::algo::detail
