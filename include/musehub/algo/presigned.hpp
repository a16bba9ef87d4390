#pragma once
// Presigned push (docs/protocol.md "Presigned push"): large objects go straight to the object
// store, and only their proof comes through the hub.
//
//   presign -> the client names the objects it will upload and their sizes; the hub answers a
//              PUT URL (and the headers to send with it) for each one it lacks, for a fresh
//              loose-object key it chooses (keys::fanned("objects", id, "-" + nonce())), and
//              lists the ones it has. No rows but the pending-upload ones GC sweeps.
//   upload  -> the client PUTs each object's raw bytes to its URL with those headers, outside
//              the hub.
//   confirm -> the hub proves each uploaded key: it is a loose-object key for the id it is
//              confirmed under, its bytes exist, are within the limits and hash to that id. Only
//              proven objects get rows (container, object, location, and a ref for the repo),
//              in short batched transactions; missing ones are reported, not registered, and
//              bytes that are not what they claim are removed.
//   push    -> an ordinary push whose pack carries no objects completes it: its closure check
//              finds the confirmed objects registered with their bytes present.
//
// The hub keeps no state between presign and confirm: a key's shape ties it to its object, and
// only the hub can sign a URL that writes to it. Each URL is bound to its object's content (the
// object id is the SHA-256 of its bytes, and presign_put signs it: store/capabilities.hpp), so the
// store refuses any other bytes through it: once bytes are proven here, a still-valid URL can
// only write the same bytes again, never swap them, and no conditional write is needed (S3
// has none to rely on). Loose keys are unique per presign, so a key GC has retired is never
// written again by another upload.

#include "musehub/algo/concept.hpp"
#include "musehub/algo/detail/retire.hpp"
#include "musehub/algo/push.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/store/batch.hpp"
#include "musehub/store/capabilities.hpp"
#include "musehub/store/concept.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace musehub::algo {

struct PresignItem {
    ObjectId id;
    std::uint64_t size = 0; // raw bytes, as the client declares them
};
struct PresignedUpload {
    ObjectId id;
    std::string key; // where the bytes go; confirm names it
    std::string url; // where the client PUTs them
    std::vector<std::pair<std::string, std::string>> headers; // sent with the PUT, as given
};
struct PresignResult {
    std::vector<PresignedUpload> uploads;  // one per distinct object the hub lacks
    std::vector<ObjectId> already_present; // objects the hub has: nothing to upload
};

struct ConfirmItem {
    ObjectId id;
    std::string key; // the key presign handed out for `id`
};
struct ConfirmResult {
    std::vector<ObjectId> registered; // proven and registered for the repo
    std::vector<ObjectId> missing;    // no bytes under the key (yet): upload, then confirm again
    std::vector<std::pair<ObjectId, std::string>> rejected; // and why; never registered
};

namespace detail {
// Whether `key` is a loose-object key presign could have made for `id`: the object's fanned
// key, '-', then 1-64 lowercase hex digits (nonce()). It cannot be a pack key, nor another
// object's.
inline bool is_loose_key_for(const ObjectId& id, std::string_view key) {
    auto prefix = keys::fanned("objects", id.digest) + "-";
    if (!key.starts_with(prefix))
        return false;
    auto suffix = key.substr(prefix.size());
    return !suffix.empty() && suffix.size() <= 64 &&
           std::all_of(suffix.begin(), suffix.end(),
                       [](char c) { return is_hex_digit(c, HexCase::lower); });
}

// Holding more than this many object bytes in memory at once is what confirm avoids (a single
// object larger than it is still read on its own).
inline constexpr std::uint64_t confirm_read_budget = 64ull << 20;
} // namespace detail

// Presigned PUT URLs for the objects of `items` the hub lacks, each able to write only its
// object's bytes. Refuses, before anything else, more objects than limits.max_objects and any
// object declared over limits.max_object_bytes (errc::oversized, naming it). Writes only the
// pending-upload rows GC uses to sweep uploads never confirmed; no byte, no object row.
template <PresigningHub H>
PresignResult presign(H& hub, const std::string& repo, std::span<const PresignItem> items,
                      std::uint32_t expiry_seconds = 3600) {
    using namespace catalog;
    detail::validate_name("repo", repo);
    const auto& opt = hub.options();
    if (items.size() > opt.limits.max_objects)
        fail(errc::oversized, "presign names " + std::to_string(items.size()) +
                                  " objects, over the limit of " +
                                  std::to_string(opt.limits.max_objects));
    for (const auto& i : items)
        if (i.size > opt.limits.max_object_bytes)
            fail(errc::oversized, "object " + i.id.hex() + " is declared as " +
                                      std::to_string(i.size) + " bytes, over the limit of " +
                                      std::to_string(opt.limits.max_object_bytes));
    if (expiry_seconds == 0)
        fail(errc::invalid_argument, "presigned URLs must be valid for at least one second");

    std::vector<ObjectId> ids;
    {
        std::unordered_set<ObjectId> seen;
        for (const auto& i : items)
            if (seen.insert(i.id).second)
                ids.push_back(i.id);
    }
    PresignResult r;
    for_batches(ids, opt.batch_rows, [&](std::span<const ObjectId> batch) {
        auto known = hub.catalog().template contains<ObjectRow>(keys_of(batch));
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (known[i]) {
                r.already_present.push_back(batch[i]);
                continue;
            }
            auto key = keys::fanned("objects", batch[i].digest, "-" + nonce());
            auto put = hub.store().presign_put(key, batch[i].digest, expiry_seconds);
            r.uploads.push_back(
                {batch[i], std::move(key), std::move(put.url), std::move(put.headers)});
        }
    });
    // Remember what was handed out, so GC can sweep uploads nobody ever confirms.
    if (!r.uploads.empty()) {
        auto expires = hub.now() + std::chrono::seconds(expiry_seconds);
        std::vector<UploadRow> pending;
        for (const auto& u : r.uploads)
            pending.push_back({repo, u.key, expires});
        for_batches(pending, opt.batch_rows,
                    [&](std::span<const UploadRow> batch) { hub.catalog().insert(batch); });
    }
    return r;
}

// Proves the uploaded keys of `items` and registers the proven objects for `repo`. Every row is
// written only after its bytes were read and hashed; nothing at all is written when nothing
// was proven. Repeating a confirm is harmless: a key already registered stays registered, and
// a key that duplicated an object the hub had by then is retired (tombstoned for GC) while the
// object is still registered for the repo.
template <PresigningHub H>
ConfirmResult confirm(H& hub, const std::string& repo, std::span<const ConfirmItem> items) {
    using namespace catalog;
    detail::validate_name("repo", repo);
    auto& cat = hub.catalog();
    auto& store = hub.store();
    const auto& opt = hub.options();
    if (items.size() > opt.limits.max_objects)
        fail(errc::oversized, "confirm names " + std::to_string(items.size()) +
                                  " objects, over the limit of " +
                                  std::to_string(opt.limits.max_objects));
    ConfirmResult r;

    // ---- shape: each key is a loose-object key for the id it is confirmed under ------------
    std::vector<const ConfirmItem*> candidates;
    {
        std::unordered_set<std::string_view> seen;
        for (const auto& i : items) {
            if (!detail::is_loose_key_for(i.id, i.key))
                r.rejected.emplace_back(i.id, "key '" + i.key.substr(0, 200) +
                                                  "' is not a loose-object key for object " +
                                                  i.id.hex());
            else if (seen.insert(i.key).second)
                candidates.push_back(&i);
        }
    }

    // ---- existence and size, by batched probes ---------------------------------------------
    std::vector<std::string> bad; // bytes that are not what they claim: removed below
    struct Present {
        const ConfirmItem* item;
        std::uint64_t size;
    };
    std::vector<Present> present;
    for_batches(std::span<const ConfirmItem* const>(candidates), opt.batch_rows,
                [&](std::span<const ConfirmItem* const> batch) {
                    std::vector<std::string> keys;
                    keys.reserve(batch.size());
                    for (const auto* i : batch)
                        keys.push_back(i->key);
                    auto got = sizes(store, std::span<const std::string>(keys));
                    for (std::size_t i = 0; i < batch.size(); ++i) {
                        if (!got[i])
                            r.missing.push_back(batch[i]->id);
                        else if (*got[i] > opt.limits.max_object_bytes) {
                            r.rejected.emplace_back(
                                batch[i]->id, "the bytes at '" + batch[i]->key + "' are " +
                                                  std::to_string(*got[i]) +
                                                  " bytes, over the limit of " +
                                                  std::to_string(opt.limits.max_object_bytes));
                            bad.push_back(batch[i]->key);
                        } else
                            present.push_back({batch[i], *got[i]});
                    }
                });

    // ---- content: read and hash, a bounded number of bytes at a time -------------------------
    struct Proven {
        ObjectId id;
        std::string key;
        std::uint64_t size;
    };
    std::vector<Proven> proven;
    for (std::size_t first = 0; first < present.size();) {
        std::vector<RangeItem> reads;
        std::uint64_t budget = 0;
        std::size_t end = first;
        while (end < present.size() && reads.size() < opt.batch_rows &&
               (reads.empty() || budget + present[end].size <= detail::confirm_read_budget)) {
            budget += present[end].size;
            reads.push_back({present[end].item->key, 0, present[end].size});
            ++end;
        }
        auto got = get_ranges(store, std::span<const RangeItem>(reads));
        for (std::size_t i = 0; i < reads.size(); ++i) {
            const auto& item = *present[first + i].item;
            if (!got[i]) {
                r.missing.push_back(item.id); // vanished since the probe
                continue;
            }
            auto digest = sha256(*got[i]);
            if (got[i]->size() != present[first + i].size || digest != item.id.digest) {
                r.rejected.emplace_back(item.id, "the bytes at '" + item.key + "' hash to " +
                                                     digest.hex() + ", not to the object id");
                bad.push_back(item.key);
                continue;
            }
            proven.push_back({item.id, item.key, got[i]->size()});
        }
        first = end;
    }

    // ---- remove bytes that are not what they claim (never bytes a row knows) -----------------
    if (!bad.empty()) {
        std::vector<std::string> removable;
        for_batches(bad, opt.batch_rows, [&](std::span<const std::string> batch) {
            std::vector<Key<ContainerRow>> ck(batch.begin(), batch.end());
            std::vector<Key<TombstoneRow>> tk(batch.begin(), batch.end());
            auto live = cat.template contains<ContainerRow>(ck);
            auto retired = cat.template contains<TombstoneRow>(tk);
            for (std::size_t i = 0; i < batch.size(); ++i)
                if (!live[i] && !retired[i])
                    removable.push_back(batch[i]);
        });
        remove_many(store, std::span<const std::string>(removable));
    }

    // ---- register what was proven, one short transaction per batch ---------------------------
    for_batches(proven, opt.batch_rows, [&](std::span<const Proven> batch) {
        std::vector<ObjectId> registered;
        std::vector<std::pair<ObjectId, std::string>> rejected;
        auto now = hub.now();
        cat.transact([&](auto& tx) {
            registered.clear(); // a catalog may run a transaction again
            rejected.clear();
            detail::bump_epoch(tx, repo, "");
            std::vector<Key<TombstoneRow>> tk;
            std::vector<ObjectId> ids;
            for (const auto& p : batch)
                tk.emplace_back(p.key), ids.push_back(p.id);
            // A retired key is garbage awaiting deletion: it must never be pointed at again.
            auto retired = tx.template contains<TombstoneRow>(tk);
            std::vector<ContainerRow> containers;
            std::vector<ObjectRow> objects;
            std::vector<LocationRow> locations;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (retired[i])
                    continue;
                const auto& p = batch[i];
                containers.push_back(
                    {p.key, PackId{p.id.digest}, ContainerFormat::loose, p.size, 1, 0, 0, now});
                objects.push_back({p.id, p.size, now});
                locations.push_back({p.id, p.key, 0, p.size, Encoding::raw, p.size});
            }
            tx.insert(std::span<const ContainerRow>(containers));
            tx.insert(std::span<const ObjectRow>(objects));
            tx.insert(std::span<const LocationRow>(locations));
            // Where each object lives now: here, or (it was known already) somewhere else, in
            // which case this loose copy is unused and is retired in this same transaction.
            auto where = tx.template find<LocationRow>(keys_of(std::span<const ObjectId>(ids)));
            std::vector<std::string> unused;
            std::vector<ObjectRefRow> refs;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& p = batch[i];
                if (!where[i]) {
                    rejected.emplace_back(p.id, "key '" + p.key +
                                                    "' was retired and the hub no longer has "
                                                    "the object: presign and upload it again");
                    continue;
                }
                if (!retired[i] && where[i]->container != p.key)
                    unused.push_back(p.key);
                refs.push_back({repo, p.id, now});
                registered.push_back(p.id);
            }
            detail::retire_empty_containers(tx, unused, now);
            tx.upsert(std::span<const ObjectRefRow>(refs));
            return 0;
        });
        r.registered.insert(r.registered.end(), registered.begin(), registered.end());
        r.rejected.insert(r.rejected.end(), rejected.begin(), rejected.end());
    });
    // What was registered is no longer pending. What is missing or was refused stays pending:
    // the client may still upload (again) to its URL, or GC sweeps it once the URL expired.
    {
        std::vector<Key<UploadRow>> done;
        for (const auto& p : proven)
            done.emplace_back(repo, p.key);
        if (!done.empty())
            for_batches(done, opt.batch_rows, [&](std::span<const Key<UploadRow>> batch) {
                cat.template erase<UploadRow>(batch);
            });
    }
    return r;
}

} // namespace musehub::algo
