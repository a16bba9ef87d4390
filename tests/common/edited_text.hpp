#pragma once
// Version k of a source file as real histories have them: 300 lines that do not repeat (so the
// file does not compress away on its own), each version editing two lines of the one before and
// adding one. Delta tests use it: version k is a small delta on version k - 1.

#include <cstdint>
#include <string>

namespace test {

inline std::string edited_text(int k) {
    std::string s;
    for (std::uint64_t line = 0; line < 300; ++line) {
        std::uint64_t x = line * 0x9e3779b97f4a7c15ull;
        for (int j = 0; j < k; ++j)
            if (line == static_cast<std::uint64_t>(j * 7 % 300) ||
                line == static_cast<std::uint64_t>(j * 13 % 300))
                x ^= static_cast<std::uint64_t>(j + 1) * 0xbf58476d1ce4e5b9ull;
        s += "    value_" + std::to_string(x % 100003) + " = compute(" + std::to_string(x >> 20) +
             ");\n";
    }
    for (int j = 0; j < k; ++j)
        s += "// added in version " + std::to_string(j) + "\n";
    return s;
}

} // namespace test
