#pragma once
// The records a hub stores and serves, each described once with Boost.Hana so that the wire
// codecs, the catalogs and the tests derive field lists, column lists and printing from the
// same definition. Every field of the Muse 0.1.x commit record is kept; values the hub does
// not interpret (structured_delta, keys from newer clients) are kept as the exact msgpack
// bytes they arrived as, and served back unchanged.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/manifest.hpp"

#include <boost/hana/adapt_struct.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace musehub {

// One msgpack value, encoded, kept verbatim. Default-constructed it is msgpack nil.
struct RawMsgpack {
    Bytes bytes{std::byte{0xc0}};
    bool is_nil() const noexcept { return bytes.size() == 1 && bytes[0] == std::byte{0xc0}; }
    friend bool operator==(const RawMsgpack&, const RawMsgpack&) = default;
};

using StringMap = std::map<std::string, std::string>;
// Record keys this build does not know, in arrival order, with their values verbatim.
using Extensions = std::vector<std::pair<std::string, RawMsgpack>>;

struct Commit {
    CommitId commit_id{};
    std::string repo_id{};
    std::string branch{};
    SnapshotId snapshot_id{};
    std::string message{};
    std::string committed_at{}; // hashed verbatim: never reformat
    std::optional<CommitId> parent_commit_id{};
    std::optional<CommitId> parent2_commit_id{};
    std::string author{};
    StringMap metadata{};
    RawMsgpack structured_delta{};
    std::string sem_ver_bump{};
    std::vector<std::string> breaking_changes{};
    std::string agent_id{};
    std::string model_id{};
    std::string toolchain_id{};
    std::string prompt_hash{};
    std::string signature{};
    std::string signer_key_id{};
    std::int64_t format_version{};
    std::vector<std::string> reviewed_by{};
    std::int64_t test_runs{};
    Extensions extensions;

    std::vector<CommitId> parents() const {
        std::vector<CommitId> p;
        if (parent_commit_id)
            p.push_back(*parent_commit_id);
        if (parent2_commit_id)
            p.push_back(*parent2_commit_id);
        return p;
    }
    friend bool operator==(const Commit&, const Commit&) = default;
};

struct Snapshot {
    SnapshotId snapshot_id{};
    Manifest manifest{};
    std::string created_at{};
    Extensions extensions;
    friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

struct Tag {
    std::string tag_id{};
    std::string repo_id{};
    CommitId commit_id{};
    std::string tag{};
    std::string created_at{};
    friend bool operator==(const Tag&, const Tag&) = default;
};

// (repo, name) → head. Moved only by compare-and-swap (see catalog/concept.hpp).
struct Branch {
    std::string repo{};
    std::string name{};
    CommitId head{};
    friend bool operator==(const Branch&, const Branch&) = default;
};

// How an object's bytes are stored inside a pack. A delta is the 32-byte SHA-256 digest of its
// base object, then one zstd frame compressed with the base's raw bytes as its prefix
// dictionary (core/object_codec.hpp): decoding it needs the base, resolved first.
enum class Encoding : std::uint8_t { raw = 0, zstd = 1, zstd_delta = 2 };

// An object inside a pack: its id, and a view of its stored bytes in the pack's buffer.
struct PackObject {
    ObjectId id;
    Encoding encoding = Encoding::raw;
    BytesView stored;           // raw bytes, a zstd frame, or a base digest + zstd frame
    std::uint64_t raw_size = 0; // size once decoded
};

// A unit of transfer and storage. Object bytes are views: into the buffer a pack was decoded
// from (which the caller keeps alive, or hands to `hold`), or into buffers the pack owns.
struct Pack {
    std::vector<Commit> commits;
    std::vector<Snapshot> snapshots;
    std::vector<PackObject> objects;
    std::map<std::string, CommitId> branch_heads;
    std::vector<Tag> tags;

    // Keeps a buffer alive for as long as the pack (and its copies) live.
    void hold(std::shared_ptr<const Bytes> buffer) { buffers_.push_back(std::move(buffer)); }

    // Copies `content` into storage the pack owns and adds it raw, hashing it for its id.
    const PackObject& add_object(BytesView content);
    const PackObject& add_object(std::string_view content) { return add_object(as_bytes(content)); }

private:
    std::vector<std::shared_ptr<const Bytes>> buffers_;
};

} // namespace musehub

#include "musehub/core/sha256.hpp"

inline const musehub::PackObject& musehub::Pack::add_object(BytesView content) {
    auto owned = std::make_shared<const Bytes>(content.begin(), content.end());
    BytesView view{owned->data(), owned->size()};
    hold(std::move(owned));
    objects.push_back(PackObject{ObjectId{sha256(view)}, Encoding::raw, view, view.size()});
    return objects.back();
}

// Reflection: the field lists the codecs, catalogs and printers derive everything from.
BOOST_HANA_ADAPT_STRUCT(musehub::Commit, commit_id, repo_id, branch, snapshot_id, message,
                        committed_at, parent_commit_id, parent2_commit_id, author, metadata,
                        structured_delta, sem_ver_bump, breaking_changes, agent_id, model_id,
                        toolchain_id, prompt_hash, signature, signer_key_id, format_version,
                        reviewed_by, test_runs);
BOOST_HANA_ADAPT_STRUCT(musehub::Snapshot, snapshot_id, manifest, created_at);
BOOST_HANA_ADAPT_STRUCT(musehub::Tag, tag_id, repo_id, commit_id, tag, created_at);
BOOST_HANA_ADAPT_STRUCT(musehub::Branch, repo, name, head);
