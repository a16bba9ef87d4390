#pragma once
// The vocabulary, and nothing that does work on it (in the spirit of fmt's base.h): ids,
// errors, paths, manifests, the model (commits, snapshots, packs, branches), the messages a
// client and a hub exchange, jobs, limits and the options a Hub is given. Enough to name
// every type a program passes to or gets from a Hub without the wire codecs (msgpack, zstd),
// the concepts, the catalog schema or the generic algorithms (Hana and range-v3 heavy).
// A program that builds a Hub includes <musehub/musehub.hpp> instead.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/path.hpp"
#include "musehub/core/time.hpp"
#include "musehub/hub_options.hpp"
#include "musehub/jobs/job.hpp"
#include "musehub/wire/messages.hpp"
