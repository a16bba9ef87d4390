#pragma once
// SQL text shared by the SQL backends (SQLite, PostgreSQL): quoted identifiers and lists of
// them, derived from reflected field names, never from user input.

#include "musehub/core/digest.hpp"
#include "musehub/core/time.hpp"
#include "musehub/detail/reflect.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace musehub::detail::sql {

// ---- how C++ field types map onto SQL columns ----------------------------------------------

template <class T>
inline constexpr bool dependent_false = false;
template <class T>
inline constexpr bool is_id = false;
template <class Tag>
inline constexpr bool is_id<Id<Tag>> = true;
template <class T>
inline constexpr bool is_optional = false; // optional<T>: T's column, NULL when empty
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

// Integers, enums, bool and TimePoint (milliseconds since the epoch) as a 64-bit column value.
// std::uint64_t is bit-cast (modular in C++20): equality is exact, SQL order differs above 2^63
// (no key is an integer; callers that need order sort in C++).
template <class T>
std::int64_t to_int64(const T& v) {
    if constexpr (std::is_same_v<T, TimePoint>)
        return static_cast<std::int64_t>(v.time_since_epoch().count());
    else if constexpr (std::is_enum_v<T>)
        return static_cast<std::int64_t>(static_cast<std::underlying_type_t<T>>(v));
    else
        return static_cast<std::int64_t>(v);
}
template <class T>
T from_int64(std::int64_t v) {
    if constexpr (std::is_same_v<T, TimePoint>)
        return TimePoint{std::chrono::milliseconds{v}};
    else if constexpr (std::is_same_v<T, bool>)
        return v != 0;
    else if constexpr (std::is_enum_v<T>)
        return static_cast<T>(static_cast<std::underlying_type_t<T>>(v));
    else
        return static_cast<T>(v);
}

// ---- SQL text ---------------------------------------------------------------------------------

// "name" with embedded quotes doubled: a column or table name as SQL spells it.
inline std::string quote(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"')
            out += '"';
    }
    return out + "\"";
}

// items[first, last), each followed by `suffix`, separated by `sep`.
inline std::string join(const std::vector<std::string>& items, std::size_t first, std::size_t last,
                        std::string_view sep, std::string_view suffix = "") {
    std::string out;
    for (std::size_t i = first; i < last; ++i) {
        if (i > first)
            out += sep;
        out += items[i];
        out += suffix;
    }
    return out;
}

// The quoted column names of a reflected row, in field order.
template <class Row>
std::vector<std::string> column_names() {
    auto names = reflect::field_names<Row>();
    for (auto& n : names)
        n = quote(n);
    return names;
}

// The column lists of a reflected row whose first `KeySize` fields are its key, computed once.
template <class Row, std::size_t KeySize>
struct Columns {
    static constexpr std::size_t K = KeySize;
    static constexpr std::size_t N = reflect::field_count<Row>;
    static_assert(K >= 1 && K <= N, "a table's key is its first key_size fields");

    static const std::vector<std::string>& cols() {
        static const auto c = column_names<Row>();
        return c;
    }
    static std::string all() { return join(cols(), 0, N, ", "); }
    static std::string keys() { return join(cols(), 0, K, ", "); }
};

} // namespace musehub::detail::sql
