#pragma once
// Field-by-field access to Hana-reflected structs (records and catalog rows), for the code
// that maps them onto storage: how many fields, the I-th field (mutable too, for reading a
// row back), its type, and the fields' names. The SQL backends derive columns from these.

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace musehub::detail::reflect {

template <class Row>
inline constexpr std::size_t field_count =
    decltype(boost::hana::length(boost::hana::accessors<Row>()))::value;

// Field I of `r`, const or not as `r` is.
template <std::size_t I, class Row>
decltype(auto) member(Row& r) {
    return boost::hana::second(
        boost::hana::at_c<I>(boost::hana::accessors<std::remove_const_t<Row>>()))(r);
}
template <class Row, std::size_t I>
using field_type = std::decay_t<decltype(member<I>(std::declval<const Row&>()))>;

template <class Row>
std::vector<std::string> field_names() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return std::vector<std::string>{std::string(boost::hana::to<const char*>(
            boost::hana::first(boost::hana::at_c<I>(boost::hana::accessors<Row>()))))...};
    }
    (std::make_index_sequence<field_count<Row>>{});
}

// Calls fn(std::integral_constant<std::size_t, I>{}) for every field position, in order.
template <class Row, class Fn>
void for_each_field(Fn&& fn) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (fn(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<field_count<Row>>{});
}

} // namespace musehub::detail::reflect
