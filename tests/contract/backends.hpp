#pragma once
// The backends the one contract suite runs against: each fixture makes a fresh, empty
// instance of every policy, and states its capabilities (capabilities.hpp). Later backends
// join by adding a fixture here.

#include "capabilities.hpp"
#include "fixtures/fs.hpp"
#include "fixtures/fs_store.hpp"
#include "fixtures/memory.hpp"
#include "fixtures/postgres.hpp"
#include "fixtures/s3.hpp"
#include "fixtures/sqlite.hpp"

#include <tuple>

namespace contract {

// The reference backend, the embedded default, the server backends, and the mixed
// instantiations that prove the policies compose (fs store over the memory catalog, memory
// store over the SQLite catalog, fs store over the PostgreSQL catalog, S3 store over the memory
// catalog).
using Backends = std::tuple<MemoryBackend, FsBackend, FsStoreBackend, SqliteBackend,
                            FsPostgresBackend, S3Backend, S3PostgresBackend>;

// Every fixture's capability flags say what store/capabilities.hpp's concepts say.
static_assert(all_checked<Backends>);

// The backends a capability-gated case runs on, and those that print why they skip it (named,
// since a comma cannot appear in a Catch test macro's type list).
using ExclusiveCreateBackends = with<creates_exclusively, Backends>;
using NoExclusiveCreateBackends = without<creates_exclusively, Backends>;
using PersistentBackends = with<persistent, Backends>;
using TransientBackends = without<persistent, Backends>;

} // namespace contract
