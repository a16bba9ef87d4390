#pragma once
// The form catalog rows keep commit, snapshot and tag records in: one msgpack map per record,
// ids as bare lowercase hex, unknown keys kept in `extensions` (detail/records.hpp), then
// compressed (catalog/stored_record.hpp). It is the spelling wire v1 used when rows were first
// written, so a v1 record is served back exactly as it arrived; but it is the catalog's
// storage format, not a wire's: rows already written must read back, so it is frozen here
// whatever any wire does next.

#include "musehub/catalog/stored_record.hpp"
#include "musehub/core/bytes.hpp"
#include "musehub/core/digest.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/detail/records.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace musehub::catalog {

namespace detail {

// Ids in a stored record: 64 lowercase hex characters. Frozen (see above).
struct RecordIdText {
    static std::string format(const Digest& d) { return d.hex(); }
    static std::size_t format_to(const Digest& d, char* out) noexcept {
        d.hex_to(out);
        return 64;
    }
    static std::optional<Digest> try_parse(std::string_view text) noexcept {
        return Digest::try_from_hex(text);
    }
    static Digest parse(std::string_view text, std::string_view what) {
        return Digest::from_hex(text, what);
    }
};

} // namespace detail

// One record (Commit, Snapshot or Tag) as its standalone msgpack map, uncompressed.
template <class Record>
Bytes encode_record(const Record& r) {
    Bytes out;
    musehub::detail::write_record<detail::RecordIdText>(out, r);
    return out;
}
template <class Record>
Record decode_record(BytesView msgpack, const Limits& limits) {
    auto handle = musehub::detail::unpack_bounded(msgpack, limits, "v1 record");
    return musehub::detail::RecordReader<detail::RecordIdText>{limits, "v1 record"}
        .template record<Record>(handle.get());
}

// A record as a row holds it: encoded, then compressed.
template <class Record>
Bytes stored_record(const Record& r) {
    return compress_record(encode_record(r));
}
// A record from its row bytes (compressed or, in rows older than compression, not).
template <class Record>
Record decode_stored(BytesView stored, const Limits& limits) {
    return decode_record<Record>(decompress_record(stored, limits, "record"), limits);
}

} // namespace musehub::catalog
