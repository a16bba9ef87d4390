#pragma once
// The backends the one contract suite runs against: each fixture makes a fresh, empty
// instance of every policy, and states its capabilities. Capabilities default to the strict
// answer (`false`): a fixture claims only what it has, and a test that needs a capability
// prints why it skipped. Later backends join by adding a fixture to `Backends`.

#include "musehub/memory/memory.hpp"

#include <iostream>
#include <memory>
#include <string_view>
#include <tuple>

namespace contract {

// Strict defaults; a fixture overrides by declaring the member itself.
struct Capabilities {
    static constexpr bool persistent = false; // state survives reopen(): the fixture has reopen()
};

struct MemoryBackend : Capabilities {
    static constexpr std::string_view name = "memory";
    using Store = musehub::memory::ObjectStore;
    using Catalog = musehub::memory::Catalog;
    using Queue = musehub::memory::JobQueue;

    Store& store() { return store_; }
    Catalog& catalog() { return catalog_; }
    Queue& queue() { return queue_; }

private:
    Store store_;
    Catalog catalog_;
    Queue queue_;
};

using Backends = std::tuple<MemoryBackend>;

// Prints, for the log, why a backend skips a test; every skip goes through here.
inline void skip(std::string_view backend, std::string_view test, std::string_view reason) {
    std::cout << "SKIP [" << backend << "] " << test << ": " << reason << "\n";
}

} // namespace contract
