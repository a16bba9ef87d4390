#pragma once
// umbrella: grows with the library

#include "musehub/core/bytes.hpp"
#include "musehub/core/sha256.hpp"
