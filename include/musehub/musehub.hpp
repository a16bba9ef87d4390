#pragma once
// Umbrella header: the vocabulary, both wire policies and the four policy concepts.
// Backends are included on their own (e.g. <musehub/memory/memory.hpp>), so a program pays
// only for the backends it uses. Include the narrow headers instead when build time matters.

#include "musehub/core/bytes.hpp"
#include "musehub/core/container_format.hpp"
#include "musehub/core/dag.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/core/path.hpp"
#include "musehub/core/sha256.hpp"

#include "musehub/wire/concept.hpp"
#include "musehub/wire/messages.hpp"
#include "musehub/wire/v1.hpp"
#include "musehub/wire/v2.hpp"

#include "musehub/catalog/concept.hpp"
#include "musehub/catalog/schema.hpp"
#include "musehub/jobs/concept.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/concept.hpp"
#include "musehub/store/keys.hpp"
