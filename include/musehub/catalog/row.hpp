#pragma once
// Generic access to reflected rows: the key tuple of a row, key prefixes, and a printer.

#include "musehub/catalog/schema.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/members.hpp>
#include <boost/hana/unpack.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace musehub::catalog {

template <class Row>
concept Reflected = requires {
    table<Row>::name;
    table<Row>::key_size;
};

namespace detail {
template <class Row, std::size_t... I>
auto key_of(const Row& r, std::index_sequence<I...>) {
    auto members = boost::hana::members(r);
    return std::tuple<std::decay_t<decltype(boost::hana::at_c<I>(members))>...>{
        boost::hana::at_c<I>(members)...};
}
} // namespace detail

// The primary key of a row, as a std::tuple of its leading fields.
template <Reflected Row>
auto key_of(const Row& r) {
    return detail::key_of(r, std::make_index_sequence<table<Row>::key_size>{});
}

template <Reflected Row>
using Key = decltype(key_of(std::declval<const Row&>()));

// The first N fields of a key: what `scan` accepts to list, say, one repo's refs.
template <Reflected Row, std::size_t N>
using KeyPrefix = decltype([]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<std::tuple_element_t<I, Key<Row>>...>{};
}(std::make_index_sequence<N>{}));

template <class Tuple, class Prefix>
constexpr bool is_prefix_of_v = [] {
    if constexpr (std::tuple_size_v < Prefix >> std::tuple_size_v<Tuple>)
        return false;
    else
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (
                std::is_same_v<std::tuple_element_t<I, Tuple>, std::tuple_element_t<I, Prefix>> &&
                ...);
        }
    (std::make_index_sequence<std::tuple_size_v<Prefix>>{});
}();

} // namespace musehub::catalog
