#pragma once
// Umbrella header: everything needed to build and run a Hub on the in-memory backend (the
// vocabulary, the Hub and its generic algorithms, both wire policies, the policy concepts).
// Link musehub::musehub (CMake) or `pkg-config musehub`.
//
// Backends that need a library of their own are included on their own, so a program pays
// only for the backends it uses: <musehub/fs/...> (SQLite, musehub::fs), <musehub/s3/...>
// (libcurl, musehub::s3), <musehub/postgres/...> (libpq, musehub::postgres). Include
// <musehub/base.hpp> alone where only the vocabulary is needed: it compiles much faster.

#include "musehub/base.hpp"

#include "musehub/core/container_format.hpp"
#include "musehub/core/dag.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/sha256.hpp"

#include "musehub/wire/concept.hpp"
#include "musehub/wire/v1.hpp"
#include "musehub/wire/v2.hpp"

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/schema.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/concept.hpp"
#include "musehub/store/keys.hpp"

#include "musehub/hub.hpp"
#include "musehub/memory/memory.hpp"
