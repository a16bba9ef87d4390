#pragma once
// The backends the one contract suite runs against: each fixture makes a fresh, empty
// instance of every policy, and states its capabilities (capabilities.hpp). Later backends
// join by adding a fixture here.

#include "capabilities.hpp"
#include "fixtures/memory.hpp"
// fixtures: fs store

#include <tuple>

namespace contract {

using Backends = std::tuple<MemoryBackend
                            // backends: fs store
                            >;

} // namespace contract
