#pragma once
// SQL text shared by the SQL backends (SQLite, PostgreSQL): quoted identifiers and lists of
// them, derived from reflected field names, never from user input.

#include "musehub/detail/reflect.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace musehub::detail::sql {

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

} // namespace musehub::detail::sql
