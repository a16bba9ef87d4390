#pragma once
// Generic access to reflected rows: the key tuple of a row, key prefixes, and a printer.

#include "musehub/catalog/schema.hpp"

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/unpack.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace musehub::catalog {

template <class Row>
concept Reflected = requires {
    table<Row>::name;
    table<Row>::key_size;
};

namespace detail {
// hana::members() copies every field into a tuple; accessors reach the member itself.
template <std::size_t I, class Row>
const auto& member(const Row& r) {
    return boost::hana::second(boost::hana::at_c<I>(boost::hana::accessors<Row>()))(r);
}
template <class Row, std::size_t... I>
auto key_of(const Row& r, std::index_sequence<I...>) {
    return std::tuple<std::decay_t<decltype(member<I>(r))>...>{member<I>(r)...};
}
} // namespace detail

// The primary key of a row, as a std::tuple of its leading fields.
template <Reflected Row>
auto key_of(const Row& r) {
    return detail::key_of(r, std::make_index_sequence<table<Row>::key_size>{});
}

template <Reflected Row>
using Key = decltype(key_of(std::declval<const Row&>()));

// Field I of a row, by position in its Hana description.
template <std::size_t I, Reflected Row>
const auto& field(const Row& r) {
    return detail::member<I>(r);
}
template <Reflected Row, std::size_t I>
using Field = std::decay_t<decltype(field<I>(std::declval<const Row&>()))>;

// The secondary indexes a table declares, as an index_sequence of field positions.
template <class Row, class Seq = std::make_index_sequence<table<Row>::indexes.size()>>
struct indexes_of;
template <class Row, std::size_t... N>
struct indexes_of<Row, std::index_sequence<N...>> {
    using type = std::index_sequence<table<Row>::indexes[N]...>;
};
template <Reflected Row>
using Indexes = typename indexes_of<Row>::type;

template <Reflected Row, std::size_t I>
constexpr bool is_indexed = [] {
    for (auto i : table<Row>::indexes)
        if (i == I)
            return true;
    return false;
}();

// ---- answering batched lookups from unordered result sets --------------------------------
// A SQL catalog fetches the rows of a batch of keys (or index values) in one query, which
// returns them in no promised order and once per distinct match; these put them back in the
// order the concept promises: per key, per value, duplicates answered again.

template <class T, class Less>
void sort_if_needed(std::vector<T>& v, Less less) {
    if (!std::is_sorted(v.begin(), v.end(), less))
        std::sort(v.begin(), v.end(), less);
}

// For keys[i], the row of `found` with that key, if any (out[first + i]).
template <Reflected Row>
void answer_find(std::span<const Key<Row>> keys, std::vector<Row>& found,
                 std::span<std::optional<Row>> out) {
    auto less = [](const Row& a, const Row& b) { return key_of(a) < key_of(b); };
    sort_if_needed(found, less);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto it = std::lower_bound(found.begin(), found.end(), keys[i],
                                   [](const Row& r, const Key<Row>& k) { return key_of(r) < k; });
        if (it != found.end() && key_of(*it) == keys[i])
            out[i] = *it;
    }
}

// For keys[i], whether `found` (keys that exist) holds it.
template <Reflected Row>
void answer_contains(std::span<const Key<Row>> keys, std::vector<Key<Row>>& found,
                     std::vector<bool>::iterator out) {
    sort_if_needed(found, std::less<>{});
    for (std::size_t i = 0; i < keys.size(); ++i)
        out[static_cast<std::ptrdiff_t>(i)] =
            std::binary_search(found.begin(), found.end(), keys[i]);
}

// For each value in order, the rows of `found` whose field I equals it, in key order.
template <Reflected Row, std::size_t I>
void answer_find_by(std::span<const Field<Row, I>> values, std::vector<Row>& found,
                    std::vector<Row>& out) {
    using F = Field<Row, I>;
    sort_if_needed(found, [](const Row& a, const Row& b) {
        return std::forward_as_tuple(field<I>(a), key_of(a)) <
               std::forward_as_tuple(field<I>(b), key_of(b));
    });
    for (const auto& v : values) {
        auto lo = std::lower_bound(found.begin(), found.end(), v,
                                   [](const Row& r, const F& x) { return field<I>(r) < x; });
        auto hi = std::upper_bound(lo, found.end(), v,
                                   [](const F& x, const Row& r) { return x < field<I>(r); });
        out.insert(out.end(), lo, hi);
    }
}

} // namespace musehub::catalog
