#pragma once
// Shared helpers for the unit tests: reading golden vectors and asserting typed errors.

#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef MUSEHUB_VECTORS_DIR
#error "MUSEHUB_VECTORS_DIR must name the muse-0.1.5 golden vectors (set by tests/CMakeLists.txt)"
#endif

namespace test {

inline const std::filesystem::path vectors{MUSEHUB_VECTORS_DIR};

inline musehub::Bytes read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE(f.good());
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return musehub::to_bytes(s);
}

// Runs fn, requiring it to throw musehub::error with `code`; returns the message.
template <class Fn>
std::string require_error(musehub::errc code, Fn&& fn) {
    try {
        fn();
    } catch (const musehub::error& e) {
        INFO("message: " << e.what());
        CHECK(musehub::to_string(e.code()) == musehub::to_string(code));
        return e.what();
    }
    FAIL("expected musehub::error " << musehub::to_string(code) << ", nothing was thrown");
    return {};
}

} // namespace test

#include "common/catch_printing.hpp"
