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

} // namespace contract
