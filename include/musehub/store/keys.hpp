#pragma once
// Where things live in an object store. Keys fan out on the first two hex digits so no
// listing or directory grows without bound; the layout version is part of every key so a
// future layout can coexist with this one.

#include "musehub/core/digest.hpp"

#include <string>
#include <string_view>

namespace musehub::keys {

inline constexpr std::string_view layout = "v1";

inline std::string fanned(std::string_view kind, const Digest& d, std::string_view suffix = {},
                          std::size_t digits = 64) {
    auto hex = d.hex().substr(0, digits);
    std::string k;
    k.reserve(kind.size() + layout.size() + hex.size() + suffix.size() + 8);
    k.append(layout)
        .append("/")
        .append(kind)
        .append("/")
        .append(hex, 0, 2)
        .append("/")
        .append(hex)
        .append(suffix);
    return k;
}

// A stored pack: the start of its content hash plus the upload it came from, so no two uploads
// (and no upload after GC retired an earlier one) ever share a key. The upload makes the key
// unique and the containers row keeps the whole hash, so 16 hex digits of it are enough to tell
// packs apart by eye; a short key matters because every location row names its container.
inline constexpr std::size_t pack_key_digits = 16;
inline std::string pack(const PackId& id, std::string_view upload) {
    return fanned("packs", id.digest, "-" + std::string(upload), pack_key_digits);
}
// A built fetch pack kept in the fetch cache, named the same way.
inline std::string fetch_pack(const PackId& id, std::string_view upload) {
    return fanned("fetch", id.digest, "-" + std::string(upload), pack_key_digits);
}
inline std::string loose_object(const ObjectId& id) {
    return fanned("objects", id.digest);
}

} // namespace musehub::keys
