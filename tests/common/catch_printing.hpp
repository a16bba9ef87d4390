#pragma once
// Failing assertions on records (rows, jobs, commits) print their fields, derived from the
// Hana description (core/print.hpp), instead of Catch's "{?}".

#include "musehub/core/print.hpp"

#include <catch2/catch.hpp>

namespace Catch {
template <musehub::Record T>
struct StringMaker<T> {
    static std::string convert(const T& v) { return musehub::to_string(v); }
};
template <class Tag>
struct StringMaker<musehub::Id<Tag>> {
    static std::string convert(const musehub::Id<Tag>& v) { return v.hex(); }
};
} // namespace Catch
