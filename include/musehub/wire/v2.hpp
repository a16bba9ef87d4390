#pragma once
// Wire v2: the binary MPack (docs/protocol.md), the WireProtocol policy type and the header
// users include. Its parts, under wire/v2/:
//
//   format.hpp       the container's layout and constants, Options, ObjectSpan, IdText
//   encode.hpp       writing the header, objects, framed records, delta snapshots and META
//   layout.hpp       checking the container and reading META before any section is decoded
//   decode.hpp       decoding the sections and the whole pack (delta snapshots rebuilt)
//   heads.hpp        a pack's branch heads read, or replaced, without decoding its objects
//   objects.hpp      objects compressed or delta-encoded, and where they lie in a pack
//   pack_writer.hpp  PackWriter (a pack piece by piece) and encode_pack through it
//   messages.hpp     the push and fetch messages
//
// Decoding checks structure, not truth (see wire/concept.hpp), and never copies object
// bytes: PackObject::stored views the input buffer.

#include "musehub/core/limits.hpp"
#include "musehub/core/model.hpp"
#include "musehub/core/sha256.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/messages.hpp"
#include "musehub/wire/v2/decode.hpp"
#include "musehub/wire/v2/format.hpp"
#include "musehub/wire/v2/heads.hpp"
#include "musehub/wire/v2/messages.hpp"
#include "musehub/wire/v2/objects.hpp"
#include "musehub/wire/v2/pack_writer.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace musehub::wire {

class v2 {
public:
    static constexpr std::string_view name = "v2";
    static constexpr bool carries_deltas = true;
    static constexpr bool framed_push = true; // the stream push (wire/frames.hpp)
    static constexpr ContainerFormat container_format = ContainerFormat::v2_pack;

    using Options = mpack::Options;
    using ObjectSpan = mpack::ObjectSpan;
    using Section = mpack::Section;
    using IdText = mpack::IdText;
    using PackHead = mpack::PackHead;
    using PackWriter = mpack::PackWriter;

    static constexpr std::array<char, 4> magic = mpack::magic;
    static constexpr std::uint8_t version = mpack::version;
    static constexpr std::size_t header_bytes = mpack::header_bytes;
    static constexpr std::size_t table_entry_bytes = mpack::table_entry_bytes;
    static constexpr std::size_t footer_bytes = mpack::footer_bytes;
    static constexpr std::size_t id_text_bytes = mpack::id_text_bytes;
    static constexpr std::size_t object_header_bytes = mpack::object_header_bytes;
    static constexpr std::string_view format_name = mpack::format_name;

    // An MPack starts with its magic.
    static bool is_container(BytesView bytes) noexcept {
        return bytes.size() >= magic.size() &&
               std::equal(magic.begin(), magic.end(), reinterpret_cast<const char*>(bytes.data()));
    }

    v2() = default;
    explicit v2(const Options& options) : options_(options) {}
    const Options& options() const noexcept { return options_; }

    std::string format_id(const Digest& d) const { return IdText::format(d); }
    Digest parse_id(std::string_view text) const { return IdText::parse(text, "id"); }

    // The key a pack is stored under: SHA-256 of the whole file, footer included.
    static PackId pack_key(BytesView encoded) { return PackId{sha256(encoded)}; }

    // ---- packs ------------------------------------------------------------------------------

    PackWriter pack_writer(std::function<void(BytesView)> sink = {}) const {
        return PackWriter(options_, std::move(sink));
    }

    Bytes encode_pack(const Pack& pack) const { return detail::mpack::encode_pack(options_, pack); }

    // The returned pack's object bytes view `bytes`: keep it alive, or hand it to Pack::hold.
    Pack decode_pack(BytesView bytes, const Limits& limits) const {
        return detail::mpack::decode_pack(bytes, limits);
    }

    // What a pack says without its objects and snapshots: the ids of its commits and the heads
    // META names. The container is checked as decode_pack checks it (footer included), the
    // COMMITS and META sections are decoded; nothing else is read.
    PackHead read_head(BytesView bytes, const Limits& limits) const {
        return detail::mpack::read_head(bytes, limits);
    }

    // The pack `encoded` with META naming `heads` instead of what it named: every other
    // section is copied as it is (objects are neither decoded nor compressed again), so a
    // stored pack can answer for, or be pushed to, a branch other than the one it came with.
    Bytes with_branch_heads(BytesView encoded, std::map<std::string, CommitId> heads,
                            const Limits& limits) const {
        return detail::mpack::with_branch_heads(encoded, std::move(heads), limits);
    }

    // Every object's place in `encoded`, in pack order. The whole pack is validated exactly as
    // decode_pack does; a caller that already decoded the pack uses the overload below.
    std::vector<ObjectSpan> object_spans(BytesView encoded, const Limits& limits) const {
        return object_spans(decode_pack(encoded, limits), encoded);
    }

    // The places of a pack's objects inside `encoded`, the buffer it was decoded from.
    static std::vector<ObjectSpan> object_spans(const Pack& decoded, BytesView encoded) {
        return detail::mpack::object_spans(decoded, encoded);
    }

    // The object as a delta against `base` (both raw) when that is smaller than the object
    // compressed alone, else compressed() (`hold` keeps the bytes made).
    PackObject delta_or_compressed(const PackObject& o, const PackObject& base, Bytes& hold) const {
        return detail::mpack::delta_or_compressed(options_, o, base, hold);
    }

    // The object as the encoder sends it: raw bytes of `min_compress_bytes` or more compressed
    // when that makes them smaller (`hold` keeps the compressed copy), anything else as given.
    PackObject compressed(const PackObject& o, Bytes& hold) const {
        return detail::mpack::compressed(options_, o, hold);
    }

    // ---- messages ---------------------------------------------------------------------------

    Bytes encode_push(const PushRequest& push) const {
        return encode_push(push.branch, push.force, encode_pack(push.pack));
    }

    // The push message around a pack already encoded (a hub's own fetch, a pack on disk):
    // wrapped as it is, never decoded or encoded again.
    Bytes encode_push(std::string_view branch, bool force, BytesView encoded_pack) const {
        return detail::mpack::encode_push(branch, force, encoded_pack);
    }

    // The pack is decoded in place: its object bytes view `bytes`.
    PushRequest decode_push(BytesView bytes, const Limits& limits) const {
        return detail::mpack::decode_push(bytes, limits);
    }

    Bytes encode_fetch(const FetchRequest& fetch) const {
        return detail::mpack::encode_fetch(fetch);
    }

    FetchRequest decode_fetch(BytesView bytes, const Limits& limits) const {
        return detail::mpack::decode_fetch(bytes, limits);
    }

private:
    Options options_;
};

static_assert(WireProtocol<v2>);

} // namespace musehub::wire
