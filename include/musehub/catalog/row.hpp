#pragma once
// Generic access to reflected rows: the key tuple of a row, key prefixes, and a printer.

#include "musehub/catalog/schema.hpp"

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/second.hpp>
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

} // namespace musehub::catalog
