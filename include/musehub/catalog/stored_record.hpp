#pragma once
// How catalog rows keep commit and snapshot records: the v1 wire's msgpack (the form a record
// is served back in), compressed. A record is a few hundred bytes, mostly field names and hex
// ids; alone, zstd finds nothing to reuse in it, so each one is compressed against a fixed
// dictionary holding a commit's and a snapshot's field names (fmt's commit records: 680 bytes
// on average become 310). A stored record is
//
//     0xc1 0x01, then one zstd frame made with dictionary 1 (its header declares the content
//     size; a checksum ends it, so a damaged row fails to read instead of reading wrong)
//
// or, in rows written before this format, the msgpack itself: 0xc1 is the one byte msgpack
// never uses, so the two cannot be confused. The dictionary is frozen: rows written with it must
// stay readable, so a better one would be dictionary 2, next to this one, never in its place.

#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/limits.hpp"
#include "musehub/core/object_codec.hpp"

#include <zstd.h>

#include <memory>
#include <string>
#include <string_view>

namespace musehub::catalog {

namespace detail {

inline constexpr std::byte stored_record_tag{0xc1};
inline constexpr std::byte stored_record_dictionary_1{0x01};
inline constexpr int stored_record_level = 3; // level 19 saves under 1 % more on records

// Dictionary 1: the v1 records of a snapshot with one entry and of a commit with one parent,
// as wire::v1 spelled them when this format was made, in hex. Frozen (see above).
inline constexpr std::string_view record_dictionary_1_hex =
    "83ab736e617073686f745f6964d9403034336137313837373463353732626438613235616462656231626663"
    "6435633032353661653131636563663966396333663932356430653532626561663839a86d616e6966657374"
    "81ae696e636c7564652f66696c652e68d9403635633734633135613638363138376262366262663939353866"
    "3439346663366238303036383033346136353961396164343439393162303863353866326432aa6372656174"
    "65645f6174b9323032302d30312d30315430303a30303a30302b30303a3030de0016a9636f6d6d69745f6964"
    "d940326537643263303361393530376165323635656366356235333536383835613533333933613230323964"
    "32343133393439393732363561316132356165666336a77265706f5f6964a47265706fa66272616e6368a46d"
    "61696eab736e617073686f745f6964d940303433613731383737346335373262643861323561646265623162"
    "66636435633032353661653131636563663966396333663932356430653532626561663839a76d6573736167"
    "65bf4d657267652070756c6c20726571756573742023312066726f6d206669780aac636f6d6d69747465645f"
    "6174b9323032302d30312d30315430303a30303a30302b30303a3030b0706172656e745f636f6d6d69745f69"
    "64d9403134386465396335613761343464313965353663643961653161353534626636373834376166623063"
    "3538663665313266613239616337646466636139393430b1706172656e74325f636f6d6d69745f6964c0a661"
    "7574686f72b74e616d65203c6e616d65406578616d706c652e636f6d3ea86d6574616461746181aa6769742d"
    "636f6d6d6974d928303132333435363738396162636465663031323334353637383961626364656630313233"
    "34353637b0737472756374757265645f64656c7461c0ac73656d5f7665725f62756d70a46e6f6e65b0627265"
    "616b696e675f6368616e67657390a86167656e745f6964a0a86d6f64656c5f6964a0ac746f6f6c636861696e"
    "5f6964a0ab70726f6d70745f68617368a0a97369676e6174757265a0ad7369676e65725f6b65795f6964a0ae"
    "666f726d61745f76657273696f6e05ab72657669657765645f627990a9746573745f72756e7300";

inline const std::string& record_dictionary_1() {
    static const std::string bytes = [] {
        auto raw = decode_hex(record_dictionary_1_hex, HexCase::lower);
        if (!raw)
            fail(errc::invalid_argument, "the record dictionary is not hex");
        return std::string(raw->begin(), raw->end());
    }();
    return bytes;
}

struct CDictDeleter {
    void operator()(ZSTD_CDict* d) const noexcept { ZSTD_freeCDict(d); }
};
struct DDictDeleter {
    void operator()(ZSTD_DDict* d) const noexcept { ZSTD_freeDDict(d); }
};

// The dictionary, digested once per process (raw content: it has no zstd dictionary header).
inline const ZSTD_CDict* record_cdict() {
    static const std::unique_ptr<ZSTD_CDict, CDictDeleter> d{ZSTD_createCDict(
        record_dictionary_1().data(), record_dictionary_1().size(), stored_record_level)};
    return d.get();
}
inline const ZSTD_DDict* record_ddict() {
    static const std::unique_ptr<ZSTD_DDict, DDictDeleter> d{
        ZSTD_createDDict(record_dictionary_1().data(), record_dictionary_1().size())};
    return d.get();
}

[[noreturn]] inline void corrupt_record(std::string_view what, std::string_view why) {
    fail(errc::corrupt, "stored " + std::string(what) + ": " + std::string(why) +
                            " (the catalog row is damaged: run `musehub fsck`)");
}

} // namespace detail

// The row bytes for a record's msgpack.
inline Bytes compress_record(BytesView msgpack) {
    thread_local std::unique_ptr<ZSTD_CCtx, musehub::detail::ZstdCCtxDeleter> ctx{
        ZSTD_createCCtx()};
    auto* dict = detail::record_cdict();
    if (!ctx || !dict)
        fail(errc::io, "zstd: out of memory for the record dictionary");
    Bytes out(2 + ZSTD_compressBound(msgpack.size()));
    out[0] = detail::stored_record_tag;
    out[1] = detail::stored_record_dictionary_1;
    ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
    std::size_t n = ZSTD_CCtx_refCDict(ctx.get(), dict);
    if (!ZSTD_isError(n))
        n = ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(n))
        n = ZSTD_compress2(ctx.get(), out.data() + 2, out.size() - 2, msgpack.data(),
                           msgpack.size());
    if (ZSTD_isError(n))
        fail(errc::io, std::string("zstd: compressing a record failed: ") + ZSTD_getErrorName(n));
    out.resize(2 + n);
    return out;
}

// A record's msgpack from its row bytes (`what` names the record in errors). A frame must
// declare its size, at most limits.max_record_bytes, and decode to exactly that many bytes.
inline Bytes decompress_record(BytesView stored, const Limits& limits, std::string_view what) {
    if (stored.empty() || stored[0] != detail::stored_record_tag)
        return Bytes(stored.begin(), stored.end()); // written before records were compressed
    if (stored.size() < 2 || stored[1] != detail::stored_record_dictionary_1)
        detail::corrupt_record(what, "unknown record dictionary");
    auto frame = stored.subspan(2);
    auto size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
        detail::corrupt_record(what, "not a zstd frame that declares its size");
    if (size > limits.max_record_bytes)
        fail(errc::oversized,
             "stored " + std::string(what) + " declares " + std::to_string(size) +
                 " bytes, over max_record_bytes = " + std::to_string(limits.max_record_bytes));
    thread_local std::unique_ptr<ZSTD_DCtx, musehub::detail::ZstdDCtxDeleter> ctx{
        ZSTD_createDCtx()};
    auto* dict = detail::record_ddict();
    if (!ctx || !dict)
        fail(errc::io, "zstd: out of memory for the record dictionary");
    Bytes out(size);
    std::size_t n = ZSTD_decompress_usingDDict(ctx.get(), out.data(), out.size(), frame.data(),
                                               frame.size(), dict);
    if (ZSTD_isError(n) || n != size)
        detail::corrupt_record(what, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
    return out;
}

} // namespace musehub::catalog
