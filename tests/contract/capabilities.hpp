#pragma once
// What a backend fixture can do beyond the concepts, with strict defaults: a fixture claims
// only what it has, and a test that needs a capability prints why it skipped.

#include <iostream>
#include <string_view>

namespace contract {

// Strict defaults; a fixture overrides by declaring the member itself.
struct Capabilities {
    static constexpr bool persistent = false; // state survives reopen(): the fixture has reopen()
};

// Prints, for the log, why a backend skips a test; every skip goes through here.
inline void skip(std::string_view backend, std::string_view test, std::string_view reason) {
    std::cout << "SKIP [" << backend << "] " << test << ": " << reason << "\n";
}

} // namespace contract
