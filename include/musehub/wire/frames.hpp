#pragma once
// The framing layer of the v2 stream push (docs/protocol.md, "Stream push"). A request body
// and a response body are each a sequence of frames:
//
//   frame = type u8 | payload length u32 LE | payload | xxh3-64 of payload (u64 LE)
//
// Client → server: 'H' header, 'O' object batch, 'C' commit pack, 'E' end.
// Server → client: 'P' progress (also a heartbeat), then exactly one 'R' result or 'X' error.
//
// This header writes frames, reads them back incrementally from however the transport chunks
// the bytes, and encodes the payloads of the small control frames (H, E, P, X) as msgpack
// maps. The 'O' and 'C' payloads are v2 MPack packs (wire/v2.hpp) and the 'R' payload belongs
// to the push algorithm; neither is defined here. Frame order (H first, E last, one R or X)
// is the push algorithm's business too: the reader only checks each frame on its own.

#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/v2.hpp"

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace musehub::wire::frames {

enum class FrameType : std::uint8_t {
    header = 'H',   // client → server, first: Header
    objects = 'O',  // client → server: a v2 MPack pack holding objects only
    commits = 'C',  // client → server: a v2 MPack pack holding commits and snapshots only
    end = 'E',      // client → server, last: End
    progress = 'P', // server → client: Progress (also a heartbeat)
    result = 'R',   // server → client, last: defined by the push algorithm
    error = 'X',    // server → client, last: Failure
};

// The wire whose packs the 'O' and 'C' payloads are, whatever wire the hub receiving them
// speaks (a FramingWire, wire/concept.hpp).
using payload_wire = wire::v2;
static_assert(FramingWire<payload_wire>);

inline constexpr std::size_t head_bytes = 5;    // type u8 + payload length u32
inline constexpr std::size_t trailer_bytes = 8; // xxh3-64 of the payload
inline constexpr std::size_t overhead_bytes = head_bytes + trailer_bytes;

constexpr bool is_known(std::uint8_t type) noexcept {
    switch (static_cast<FrameType>(type)) {
    case FrameType::header:
    case FrameType::objects:
    case FrameType::commits:
    case FrameType::end:
    case FrameType::progress:
    case FrameType::result:
    case FrameType::error:
        return true;
    }
    return false;
}

namespace impl {

inline std::string describe_type(std::uint8_t type) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x";
    s += digits[type >> 4];
    s += digits[type & 0xf];
    if (type >= 0x20 && type < 0x7f)
        s += std::string(" ('") + static_cast<char>(type) + "')";
    return s;
}

inline std::uint64_t checksum(BytesView payload) noexcept {
    return XXH3_64bits(payload.data(), payload.size());
}

inline std::uint64_t load_le(const std::byte* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;)
        v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

inline void store_le(Bytes& out, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}

} // namespace impl

// Appends one frame to `out`. `payload` must not view `out` itself (appending may reallocate
// it). A payload over 4 GiB - 1 cannot be framed: errc::oversized.
inline void append_frame(Bytes& out, FrameType t, BytesView payload) {
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        fail(errc::oversized, "frame " + impl::describe_type(static_cast<std::uint8_t>(t)) +
                                  " payload of " + std::to_string(payload.size()) +
                                  " bytes does not fit the u32 length field");
    out.reserve(out.size() + overhead_bytes + payload.size());
    out.push_back(static_cast<std::byte>(t));
    impl::store_le(out, payload.size(), 4);
    out.insert(out.end(), payload.begin(), payload.end());
    impl::store_le(out, impl::checksum(payload), 8);
}

inline Bytes frame(FrameType t, BytesView payload) {
    Bytes out;
    append_frame(out, t, payload);
    return out;
}

struct Frame {
    FrameType type;
    BytesView payload; // views the reader's buffer: see FrameReader::next()
};

// Reads frames incrementally from a byte stream delivered in arbitrary chunks:
//
//   FrameReader r(limit);
//   while (auto chunk = receive()) {
//       r.feed(*chunk);
//       while (auto f = r.next())
//           handle(*f);           // f->payload is valid until the next feed() or next()
//   }
//   r.finish();                   // the stream ended: throws truncated if it ended mid-frame
//
// A declared payload length over `max_payload` is refused (errc::oversized) as soon as the
// 5-byte head has arrived, before any of the payload is buffered; an unknown type byte is
// refused (errc::corrupt) as soon as it arrives. Work is O(bytes fed): consumed bytes are
// dropped from the front of the buffer only once they are at least half of it. After any
// error the stream is unusable: the buffer is released, and every later feed(), next() or
// finish() throws the same error again.
class FrameReader {
public:
    explicit FrameReader(std::uint32_t max_payload) : max_payload_(max_payload) {}

    std::uint32_t max_payload() const noexcept { return max_payload_; }

    // Appends received bytes. Invalidates the payload of the last frame next() returned.
    void feed(BytesView chunk) {
        rethrow_if_failed();
        compact();
        buf_.insert(buf_.end(), chunk.begin(), chunk.end());
    }

    // The next complete, checked frame, or nullopt if more bytes are needed. The payload
    // views the reader's internal buffer and stays valid only until the next call to feed()
    // or next(): copy it (to_bytes) to keep it longer.
    std::optional<Frame> next() {
        rethrow_if_failed();
        compact();
        try {
            auto avail = buffered();
            if (avail == 0)
                return std::nullopt;
            const std::byte* p = buf_.data() + pos_;
            auto type = std::to_integer<std::uint8_t>(p[0]);
            if (!is_known(type))
                fail(errc::corrupt, "unknown frame type byte " + impl::describe_type(type));
            if (avail < head_bytes)
                return std::nullopt;
            auto len = impl::load_le(p + 1, 4);
            if (len > max_payload_)
                fail(errc::oversized, "frame " + impl::describe_type(type) + " declares a " +
                                          std::to_string(len) +
                                          "-byte payload, over the limit of " +
                                          std::to_string(max_payload_) + " bytes");
            auto total = overhead_bytes + static_cast<std::size_t>(len);
            if (avail < total)
                return std::nullopt;
            BytesView payload{p + head_bytes, static_cast<std::size_t>(len)};
            if (impl::load_le(p + head_bytes + len, 8) != impl::checksum(payload))
                fail(errc::corrupt, "frame checksum mismatch (frame " + impl::describe_type(type) +
                                        ", " + std::to_string(len) + "-byte payload)");
            pos_ += total;
            return Frame{static_cast<FrameType>(type), payload};
        } catch (const error& e) {
            failed_ = e;
            buf_ = Bytes(); // nothing more will be read: release the memory now
            pos_ = 0;
            throw;
        }
    }

    // Bytes received and not yet returned as a frame.
    std::size_t buffered() const noexcept { return buf_.size() - pos_; }

    // True when nothing is buffered: the stream so far ended exactly at a frame boundary.
    // (After next() has returned nullopt, anything buffered is a partial frame.)
    bool idle() const noexcept { return buffered() == 0; }

    // Declares the end of the stream. Throws errc::truncated if it ended mid-frame, and
    // errc::invalid_argument if a complete frame is still unread (call next() until nullopt
    // first).
    void finish() {
        rethrow_if_failed();
        if (idle())
            return;
        if (next())
            fail(errc::invalid_argument,
                 "frame stream finished with a complete frame unread; call next() until it "
                 "returns nullopt first");
        fail(errc::truncated, "frame stream ended mid-frame, " + std::to_string(buffered()) +
                                  " bytes into a frame" + partial_detail());
    }

private:
    // Drops the consumed prefix when it is at least half the buffer (and not tiny), so each
    // byte is moved O(1) times on average; an empty remainder is dropped for free.
    void compact() {
        if (pos_ == 0)
            return;
        if (pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        } else if (pos_ >= compact_min_bytes && pos_ >= buf_.size() - pos_) {
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
            pos_ = 0;
        }
    }

    std::string partial_detail() const {
        if (buffered() < head_bytes)
            return " (the 5-byte frame head is incomplete)";
        auto len = impl::load_le(buf_.data() + pos_ + 1, 4);
        return " (frame " + impl::describe_type(std::to_integer<std::uint8_t>(buf_[pos_])) +
               " declares " + std::to_string(overhead_bytes + len) + " bytes in all)";
    }

    void rethrow_if_failed() const {
        if (failed_)
            throw *failed_;
    }

    static constexpr std::size_t compact_min_bytes = 64 * 1024;

    std::uint32_t max_payload_;
    Bytes buf_;
    std::size_t pos_ = 0; // first byte not yet returned as a frame
    std::optional<error> failed_;
};

// ---- control frame payloads ----------------------------------------------------------------
//
// Each is one msgpack map with string keys. Decoders ignore keys they do not know (so a newer
// peer may add some), accept nil or absence for optional keys, and throw errc::corrupt naming
// the key that is missing or of the wrong type.

// 'H': what the client is about to push.
struct Header {
    std::string repo;
    std::string branch;
    std::optional<Digest> expected_head; // compare-and-swap on the branch; none = new branch
    bool force = false;
    std::uint64_t objects = 0; // declared counts, checked against the 'E' frame
    std::uint64_t commits = 0;
    friend bool operator==(const Header&, const Header&) = default;
};

// 'E': the counts the client actually sent.
struct End {
    std::uint64_t objects = 0;
    std::uint64_t commits = 0;
    friend bool operator==(const End&, const End&) = default;
};

// 'P': how far the hub has got; also sent as a heartbeat.
struct Progress {
    std::string phase;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    friend bool operator==(const Progress&, const Progress&) = default;
};

// 'X': why the push failed. `code` is musehub::to_string(errc) text; a client should treat a
// code it does not know as a generic failure rather than refuse the frame.
struct Failure {
    std::string code;
    std::string message;
    friend bool operator==(const Failure&, const Failure&) = default;
};

// Result ('R'): what the push did. {head, previous: id | nil, outcome, commits_new,
// snapshots_new, objects_new}; outcome is "created", "fast-forward", "forced" or "unchanged".
struct Result {
    Digest head;
    std::optional<Digest> previous;
    std::string outcome;
    std::uint64_t commits_new = 0;
    std::uint64_t snapshots_new = 0;
    std::uint64_t objects_new = 0;
    friend bool operator==(const Result&, const Result&) = default;
};

namespace impl {

using IdText = wire::v2::IdText;

inline void pack_uint(detail::Packer& p, std::string_view key, std::uint64_t v) {
    detail::pack_str(p, key);
    p.pack_uint64(v);
}
inline void pack_text(detail::Packer& p, std::string_view key, std::string_view v) {
    detail::pack_str(p, key);
    detail::pack_str(p, v);
}

// One decoded control payload: its map, and the name errors use for it.
struct MapReader {
    msgpack::object_handle handle;
    const msgpack::object_map& map;
    std::string what;

    MapReader(BytesView payload, const Limits& limits, std::string what_)
        : handle(detail::unpack_bounded(payload, limits, what_)),
          map(detail::as_map(handle.get(), what_)), what(std::move(what_)) {}

    std::string label(std::string_view key) const { return what + " '" + std::string(key) + "'"; }
    const msgpack::object& required(std::string_view key) const {
        return detail::require_key(map, key, what);
    }
    const msgpack::object* optional(std::string_view key) const {
        auto* v = detail::find_key(map, key);
        return v && !v->is_nil() ? v : nullptr;
    }
    std::string str(std::string_view key) const {
        return std::string(detail::as_str(required(key), label(key)));
    }
    std::uint64_t uint(std::string_view key) const {
        return detail::as_uint(required(key), label(key));
    }
    void at_most(std::string_view key, std::uint64_t value, std::uint64_t limit) const {
        if (value > limit)
            fail(errc::oversized, label(key) + " declares " + std::to_string(value) +
                                      ", over the limit of " + std::to_string(limit));
    }
};

} // namespace impl

// Header: {repo, branch, expected_head: "sha256:…" | nil, force, objects, commits}.
// Required: repo, branch, objects, commits. `commits` is checked against
// Limits::max_commits (per push); `objects` is not limited here, since a push may carry them
// in many 'O' batches (each checked as a pack when it arrives).
inline Bytes encode_header(const Header& h) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(6);
    impl::pack_text(p, "repo", h.repo);
    impl::pack_text(p, "branch", h.branch);
    detail::pack_str(p, "expected_head");
    if (h.expected_head)
        detail::pack_str(p, impl::IdText::format(*h.expected_head));
    else
        p.pack_nil();
    detail::pack_str(p, "force");
    h.force ? p.pack_true() : p.pack_false();
    impl::pack_uint(p, "objects", h.objects);
    impl::pack_uint(p, "commits", h.commits);
    return out;
}

inline Header decode_header(BytesView payload, const Limits& limits) {
    impl::MapReader r(payload, limits, "stream push header frame");
    Header h;
    h.repo = r.str("repo");
    h.branch = r.str("branch");
    if (auto* v = r.optional("expected_head"))
        h.expected_head = impl::IdText::parse(detail::as_str(*v, r.label("expected_head")),
                                              r.label("expected_head"));
    if (auto* v = r.optional("force"))
        h.force = detail::as_bool(*v, r.label("force"));
    h.objects = r.uint("objects");
    h.commits = r.uint("commits");
    r.at_most("commits", h.commits, limits.max_commits);
    return h;
}

// End: {objects, commits}, both required; `commits` is checked against Limits::max_commits.
inline Bytes encode_end(const End& e) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(2);
    impl::pack_uint(p, "objects", e.objects);
    impl::pack_uint(p, "commits", e.commits);
    return out;
}

inline End decode_end(BytesView payload, const Limits& limits) {
    impl::MapReader r(payload, limits, "stream push end frame");
    End e;
    e.objects = r.uint("objects");
    e.commits = r.uint("commits");
    r.at_most("commits", e.commits, limits.max_commits);
    return e;
}

// Progress: {phase, done, total}, all required.
inline Bytes encode_progress(const Progress& pr) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(3);
    impl::pack_text(p, "phase", pr.phase);
    impl::pack_uint(p, "done", pr.done);
    impl::pack_uint(p, "total", pr.total);
    return out;
}

inline Progress decode_progress(BytesView payload, const Limits& limits) {
    impl::MapReader r(payload, limits, "stream push progress frame");
    Progress pr;
    pr.phase = r.str("phase");
    pr.done = r.uint("done");
    pr.total = r.uint("total");
    return pr;
}

// Failure ('X'): {code, message}, both required.
inline Bytes encode_error(const Failure& f) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(2);
    impl::pack_text(p, "code", f.code);
    impl::pack_text(p, "message", f.message);
    return out;
}

inline Failure decode_error(BytesView payload, const Limits& limits) {
    impl::MapReader r(payload, limits, "stream push error frame");
    Failure f;
    f.code = r.str("code");
    f.message = r.str("message");
    return f;
}

inline Bytes encode_result(const Result& r) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    p.pack_map(6);
    impl::pack_text(p, "head", impl::IdText::format(r.head));
    detail::pack_str(p, "previous");
    if (r.previous)
        detail::pack_str(p, impl::IdText::format(*r.previous));
    else
        p.pack_nil();
    impl::pack_text(p, "outcome", r.outcome);
    impl::pack_uint(p, "commits_new", r.commits_new);
    impl::pack_uint(p, "snapshots_new", r.snapshots_new);
    impl::pack_uint(p, "objects_new", r.objects_new);
    return out;
}

inline Result decode_result(BytesView payload, const Limits& limits) {
    impl::MapReader m(payload, limits, "stream result");
    Result r;
    r.head = impl::IdText::parse(m.str("head"), m.label("head"));
    if (auto* prev = m.optional("previous"))
        r.previous =
            impl::IdText::parse(detail::as_str(*prev, m.label("previous")), m.label("previous"));
    r.outcome = m.str("outcome");
    r.commits_new = m.uint("commits_new");
    r.snapshots_new = m.uint("snapshots_new");
    r.objects_new = m.uint("objects_new");
    return r;
}

} // namespace musehub::wire::frames
