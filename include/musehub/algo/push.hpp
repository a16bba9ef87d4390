#pragma once
// Push: every transport (pack push, stream push, presigned push, index job) ends here.
//
//   verify  -> every object hash, snapshot id, commit id and signature (algo/verify.hpp)
//   store   -> the container's bytes, under a key no other upload uses, before any row
//   objects -> object and location rows, and a ref for this repo, in short batched transactions
//              (push/store.hpp)
//   check   -> closure (parents, snapshots, every object of every new snapshot registered and its
//              bytes present) and fast-forward, by batched reads, before writing history
//              (push/check.hpp)
//   history -> refs (touched now) and snapshot and commit rows, in batched transactions
//              (push/history.hpp, push/snapshot_rows.hpp)
//   branch  -> compare-and-swap, retried against concurrent pushes, in a transaction that also
//              proves the new head is still registered (push/history.hpp)
//   jobs    -> follow-up work, enqueued idempotently
//
// Every write transaction bumps the repo's epoch; GC deletes only if the epoch it scanned at
// is still current (algo/gc.hpp). Bad input fails before the first write, so it leaves the hub
// exactly as it was. push/register.hpp runs the phases in order (push_pack, register_history);
// push/result.hpp holds what they report.

#include "musehub/algo/push/check.hpp"
#include "musehub/algo/push/deltas.hpp"
#include "musehub/algo/push/epoch.hpp"
#include "musehub/algo/push/history.hpp"
#include "musehub/algo/push/input.hpp"
#include "musehub/algo/push/register.hpp"
#include "musehub/algo/push/result.hpp"
#include "musehub/algo/push/snapshot_rows.hpp"
#include "musehub/algo/push/store.hpp"
#include "musehub/algo/push/thin_bases.hpp"
