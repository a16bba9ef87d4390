#pragma once
// Human-readable printing of any Hana-reflected record (Commit, Snapshot, catalog rows, Job):
// `{field: value, ...}`, derived from the one description of the struct. Used by tests to
// show what differed, and by tools for logs. Ids print as short hex, bytes as their length.

#include "musehub/core/digest.hpp"
#include "musehub/core/model.hpp"

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

namespace musehub {

template <class T>
concept Record = boost::hana::Struct<T>::value;

namespace detail {
template <class T>
void print_value(std::ostream& os, const T& v);

template <class T>
void print_value(std::ostream& os, const std::optional<T>& v) {
    if (v)
        print_value(os, *v);
    else
        os << "nil";
}
template <class T>
void print_value(std::ostream& os, const std::vector<T>& v) {
    os << "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i)
            os << ", ";
        print_value(os, v[i]);
    }
    os << "]";
}

template <class T>
void print_value(std::ostream& os, const T& v) {
    if constexpr (std::is_same_v<T, Bytes>)
        os << "<" << v.size() << " bytes>";
    else if constexpr (std::is_same_v<T, RawMsgpack>)
        os << (v.is_nil() ? "nil" : "<msgpack " + std::to_string(v.bytes.size()) + " bytes>");
    else if constexpr (std::is_same_v<T, Manifest>)
        os << "<manifest " << v.size() << " entries>";
    else if constexpr (std::is_same_v<T, StringMap>)
        os << "<" << v.size() << " entries>";
    else if constexpr (std::is_same_v<T, Digest>)
        os << v.hex().substr(0, 12);
    else if constexpr (requires { v.digest; })
        os << v.hex().substr(0, 12);
    else if constexpr (std::is_same_v<T, std::string>)
        os << '"' << v << '"';
    else if constexpr (std::is_enum_v<T>)
        os << static_cast<long long>(v);
    else if constexpr (requires { v.time_since_epoch(); })
        os << v.time_since_epoch().count();
    else if constexpr (Record<T>) {
        os << "{";
        bool first = true;
        boost::hana::for_each(boost::hana::accessors<T>(), [&](auto acc) {
            os << (first ? "" : ", ") << boost::hana::to<const char*>(boost::hana::first(acc))
               << ": ";
            first = false;
            print_value(os, boost::hana::second(acc)(v));
        });
        os << "}";
    } else
        os << v;
}
} // namespace detail

template <Record T>
std::string to_string(const T& record) {
    std::ostringstream os;
    detail::print_value(os, record);
    return os.str();
}

} // namespace musehub
