#pragma once
// The in-memory backend: all three policies, header-only and thread-safe. The reference
// semantics every other backend is held to by the contract suite, and the backend the
// teaching examples use.

#include "musehub/memory/catalog.hpp"
#include "musehub/memory/job_queue.hpp"
#include "musehub/memory/object_store.hpp"
