#pragma once
// The v2 pack writer (wire::v2::PackWriter) and encode_pack, which puts a whole Pack through
// one: its objects compressed, or delta-encoded against their previous versions, first.

#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/detail/parallel.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/delta_planner.hpp"
#include "musehub/wire/v2/encode.hpp"
#include "musehub/wire/v2/format.hpp"
#include "musehub/wire/v2/objects.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub::wire::mpack {

// Encodes a pack piece by piece, for callers that never hold a whole Pack: fetch streams a
// clone through one, holding the chain of snapshots being written and one batch of sources,
// never its history or its whole output.
//
//   auto w = wire.pack_writer(sink);          // or without a sink: finish() returns the bytes
//   w.add(commit); w.add(snapshot); w.add(tag); w.set_branch_heads(heads);   // records first
//   w.objects(count, stored_bytes);           // then the objects to come, declared
//   w.add(object); ...                        // written as stored, in pieces to the sink
//   std::move(w).finish();                    // the records, META and the footer
//
// Records are gathered aside (small beside the objects); declaring the objects fixes every
// section's place, so from there on the pack goes out front to back, to the sink in pieces of
// about `piece_bytes` (the footer's hash computed as they go). Records keep the order they
// came in, and the same pieces give the bytes encode_pack gives for a Pack holding them (whose
// objects it compresses first). Out of order use (a record after the objects were declared,
// more or fewer objects or bytes than declared) is errc::invalid_argument.
class PackWriter {
public:
    using Sink = std::function<void(BytesView)>;
    static constexpr std::size_t piece_bytes = std::size_t{1} << 20;

    explicit PackWriter(const Options& options, Sink sink = {})
        : options_(options), sink_(std::move(sink)) {
        for (auto* section : {&commits_, &snapshots_, &tags_})
            detail::mpack::put_u64(*section, 0); // the count, patched when the objects are declared
    }

    void add(const Commit& c) {
        records_open("a commit");
        detail::mpack::framed(commits_, [&] { detail::write_record<IdText>(commits_, c); });
        ++counts_.commits;
    }
    // Delta-encoded against the snapshot added before it, when that is smaller.
    void add(const Snapshot& s) {
        records_open("a snapshot");
        detail::mpack::write_snapshot(options_, snapshots_, prev_ ? &*prev_ : nullptr, s);
        prev_ = s; // shares the manifest's leaves: cheap
        ++counts_.snapshots;
    }
    void add(const Tag& t) {
        records_open("a tag");
        detail::mpack::framed(tags_, [&] { detail::write_record<IdText>(tags_, t); });
        ++counts_.tags;
    }
    void set_branch_heads(std::map<std::string, CommitId> heads) {
        records_open("branch heads");
        counts_.branch_heads = std::move(heads);
    }

    // Declares the objects to come: `count` of them, `stored_bytes` in all. Writes the header,
    // the section table and the OBJECTS count.
    void objects(std::size_t count, std::uint64_t stored_bytes) {
        records_open("the objects");
        declared_ = true;
        counts_.objects = count;
        objects_left_ = count;
        bytes_left_ = stored_bytes;
        prev_.reset();
        detail::mpack::store_u64(commits_.data(), counts_.commits);
        detail::mpack::store_u64(snapshots_.data(), counts_.snapshots);
        detail::mpack::store_u64(tags_.data(), counts_.tags);
        detail::mpack::write_meta(meta_, counts_);

        const std::array<std::uint64_t, 5> lengths{8 + count * object_header_bytes + stored_bytes,
                                                   commits_.size(), snapshots_.size(), tags_.size(),
                                                   meta_.size()};
        std::uint64_t total = header_bytes + 5 * table_entry_bytes + footer_bytes;
        for (auto length : lengths)
            total += length;
        out_.reserve(sink_ ? std::min<std::uint64_t>(total, 2 * piece_bytes) : total);
        detail::mpack::write_header(out_, lengths);
        detail::mpack::put_u64(out_, count);
    }

    // An object, as stored; its bytes need to live only until add() returns. Returns where
    // they begin in the pack (ObjectSpan::offset).
    std::uint64_t add(const PackObject& o) {
        if (!declared_)
            fail(errc::invalid_argument,
                 "v2 pack writer: an object before objects() declared them");
        if (objects_left_ == 0 || o.stored.size() > bytes_left_)
            fail(errc::invalid_argument,
                 "v2 pack writer: object " + o.id.hex() + " is more than objects() declared");
        const std::uint64_t at = sent_ + out_.size() + object_header_bytes;
        detail::mpack::write_object(out_, o);
        --objects_left_;
        bytes_left_ -= o.stored.size();
        if (out_.size() >= piece_bytes)
            flush();
        return at;
    }

    // The rest of the pack: to the sink (returning nothing), or returned whole.
    Bytes finish() && {
        if (!declared_)
            objects(0, 0);
        if (objects_left_ != 0 || bytes_left_ != 0)
            fail(errc::invalid_argument, "v2 pack writer: " + std::to_string(objects_left_) +
                                             " object(s) and " + std::to_string(bytes_left_) +
                                             " byte(s) declared were never added");
        for (auto* section : {&commits_, &snapshots_, &tags_, &meta_}) {
            out_.insert(out_.end(), section->begin(), section->end());
            Bytes{}.swap(*section);
            if (out_.size() >= piece_bytes)
                flush();
        }
        if (!sink_) {
            auto footer = sha256(BytesView{out_.data(), out_.size()});
            auto* f = reinterpret_cast<const std::byte*>(footer.bytes.data());
            out_.insert(out_.end(), f, f + footer.bytes.size());
            return std::move(out_);
        }
        flush();
        auto footer = hash_.finish();
        sink_(BytesView(reinterpret_cast<const std::byte*>(footer.bytes.data()), 32));
        return {};
    }

private:
    void records_open(std::string_view what) const {
        if (declared_)
            fail(errc::invalid_argument,
                 "v2 pack writer: " + std::string(what) + " after objects() declared the objects");
    }
    void flush() {
        if (!sink_ || out_.empty())
            return;
        hash_.update(BytesView{out_.data(), out_.size()});
        sink_(BytesView{out_.data(), out_.size()});
        sent_ += out_.size();
        out_.clear();
    }

    Options options_;
    Sink sink_;
    Bytes out_, commits_, snapshots_, tags_, meta_;
    detail::mpack::Counts counts_;
    std::optional<Snapshot> prev_;
    bool declared_ = false;
    std::size_t objects_left_ = 0;
    std::uint64_t bytes_left_ = 0;
    std::uint64_t sent_ = 0; // bytes given to the sink
    Sha256 hash_;
};

} // namespace musehub::wire::mpack

namespace musehub::detail::mpack {

inline Bytes encode_pack(const Options& options, const Pack& pack) {
    wire::mpack::PackWriter w(options);
    for (const auto& c : pack.commits)
        w.add(c);
    for (const auto& s : pack.snapshots)
        w.add(s);
    for (const auto& t : pack.tags)
        w.add(t);
    w.set_branch_heads(pack.branch_heads);
    // Encoded first (on every core), since the layout needs every object's stored size up
    // front: against its previous version where the history gives one, else alone.
    const auto bases = options.delta_objects
                           ? wire::plan_delta_bases(pack, options.max_delta_depth)
                           : std::vector<std::size_t>(pack.objects.size(), wire::no_base);
    std::vector<Bytes> held(pack.objects.size());
    std::vector<PackObject> objects(pack.objects.size());
    musehub::detail::parallel_for(
        pack.objects.size(),
        [&](std::size_t i) {
            objects[i] = bases[i] == wire::no_base
                             ? compressed(options, pack.objects[i], held[i])
                             : delta_or_compressed(options, pack.objects[i], pack.objects[bases[i]],
                                                   held[i]);
        },
        4);
    std::uint64_t stored = 0;
    for (const auto& o : objects)
        stored += o.stored.size();
    w.objects(objects.size(), stored);
    for (const auto& o : objects)
        w.add(o);
    return std::move(w).finish();
}

} // namespace musehub::detail::mpack
