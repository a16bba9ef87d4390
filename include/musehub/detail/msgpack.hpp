#pragma once
// Internal msgpack plumbing shared by the wire policies: an appending sink, a bounded
// zero-copy unpack, and typed accessors whose errors name the field that was wrong.

#include "musehub/core/bytes.hpp"
#include "musehub/core/error.hpp"
#include "musehub/core/limits.hpp"

// The parts used, not <msgpack.hpp>: the umbrella adds every adaptor (and much of Boost
// through them) and costs each translation unit more than a second of parsing.
#include <msgpack/null_visitor.hpp>
#include <msgpack/object.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace musehub::detail {

// msgpack::packer writes through this straight into a byte vector.
struct ByteSink {
    Bytes& out;
    void write(const char* data, std::size_t n) {
        auto p = reinterpret_cast<const std::byte*>(data);
        out.insert(out.end(), p, p + n);
    }
};
using Packer = msgpack::packer<ByteSink>;

// A first, allocation-free pass: msgpack-c's object builder allocates every array and map
// at its *declared* size, so a 5-byte input claiming 2^32 elements must be refused before it
// gets there. The document must be complete, within the depth limit, and declare no more
// elements in total than the limit (and than its own length, which a complete one cannot).
class BoundsVisitor : public msgpack::null_visitor {
public:
    BoundsVisitor(std::size_t len, const Limits& limits) : len_(len), limits_(limits) {}
    bool start_array(std::uint32_t n) { return open(n); }
    bool end_array() { return close(); }
    bool start_map(std::uint32_t n) { return open(2ull * n); }
    bool end_map() { return close(); }
    void parse_error(std::size_t, std::size_t at) {
        problem_ = "malformed msgpack at byte " + std::to_string(at);
    }
    void insufficient_bytes(std::size_t, std::size_t at) {
        problem_ = "msgpack ends early at byte " + std::to_string(at);
    }
    const std::string& problem() const { return problem_; }
    errc refusal() const { return refusal_; } // why the visitor stopped the parse

private:
    bool open(std::uint64_t n) {
        elements_ += n;
        if (++depth_ > limits_.max_nesting)
            return refuse(errc::oversized,
                          "msgpack nested deeper than " + std::to_string(limits_.max_nesting));
        if (elements_ > len_)
            return refuse(errc::truncated, "msgpack declares " + std::to_string(elements_) +
                                               " elements in " + std::to_string(len_) + " bytes");
        if (elements_ > limits_.max_elements)
            return refuse(errc::oversized, "msgpack declares more than " +
                                               std::to_string(limits_.max_elements) + " elements");
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }
    bool refuse(errc code, std::string why) {
        refusal_ = code;
        problem_ = std::move(why);
        return false;
    }
    std::size_t len_;
    const Limits& limits_;
    std::uint64_t elements_ = 0;
    std::size_t depth_ = 0;
    errc refusal_ = errc::corrupt;
    std::string problem_;
};

// Unpacks one complete msgpack document. str/bin payloads reference `data` (zero copy), so
// `data` must outlive the handle and anything viewed through it. `what` names the message.
inline msgpack::object_handle unpack_bounded(BytesView data, const Limits& limits,
                                             std::string_view what) {
    auto chars = reinterpret_cast<const char*>(data.data());
    BoundsVisitor bounds(data.size(), limits);
    std::size_t off = 0;
    auto rc = msgpack::detail::parse_imp(chars, data.size(), off, bounds);
    if (rc == msgpack::PARSE_CONTINUE)
        fail(errc::truncated,
             std::string(what) + ": " +
                 (bounds.problem().empty() ? "msgpack ends early" : bounds.problem()));
    if (rc == msgpack::PARSE_EXTRA_BYTES)
        fail(errc::corrupt, std::string(what) + ": " + std::to_string(data.size() - off) +
                                " trailing bytes after the msgpack document");
    if (rc != msgpack::PARSE_SUCCESS)
        fail(bounds.refusal(),
             std::string(what) + ": " +
                 (bounds.problem().empty() ? "malformed msgpack" : bounds.problem()));
    msgpack::unpack_limit lim(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                              limits.max_nesting + 1);
    try {
        return msgpack::unpack(
            chars, data.size(), [](msgpack::type::object_type, std::size_t, void*) { return true; },
            nullptr, lim);
    } catch (const std::exception& e) {
        fail(errc::corrupt, std::string(what) + ": " + e.what());
    }
}

// ---- typed reads; `field` names what is being read in the error -------------------------

inline const msgpack::object_map& as_map(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::MAP)
        fail(errc::corrupt, std::string(field) + " must be a msgpack map");
    return o.via.map;
}
inline const msgpack::object_array& as_array(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::ARRAY)
        fail(errc::corrupt, std::string(field) + " must be a msgpack array");
    return o.via.array;
}
inline std::string_view as_str(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::STR)
        fail(errc::corrupt, std::string(field) + " must be a msgpack str");
    return {o.via.str.ptr, o.via.str.size};
}
inline BytesView as_bin(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::BIN)
        fail(errc::corrupt, std::string(field) + " must be msgpack bin");
    return {reinterpret_cast<const std::byte*>(o.via.bin.ptr), o.via.bin.size};
}
inline bool as_bool(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::BOOLEAN)
        fail(errc::corrupt, std::string(field) + " must be a boolean");
    return o.via.boolean;
}
inline std::int64_t as_int(const msgpack::object& o, std::string_view field) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX))
            fail(errc::corrupt, std::string(field) + " is out of range");
        return static_cast<std::int64_t>(o.via.u64);
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER)
        return o.via.i64;
    fail(errc::corrupt, std::string(field) + " must be an integer");
}
inline std::uint64_t as_uint(const msgpack::object& o, std::string_view field) {
    if (o.type != msgpack::type::POSITIVE_INTEGER)
        fail(errc::corrupt, std::string(field) + " must be a non-negative integer");
    return o.via.u64;
}
// Finds a key in a map; nullptr when absent.
inline const msgpack::object* find_key(const msgpack::object_map& m, std::string_view key) {
    for (std::uint32_t i = 0; i < m.size; ++i) {
        const auto& k = m.ptr[i].key;
        if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
            return &m.ptr[i].val;
    }
    return nullptr;
}
inline const msgpack::object& require_key(const msgpack::object_map& m, std::string_view key,
                                          std::string_view what) {
    if (auto* v = find_key(m, key))
        return *v;
    fail(errc::corrupt, std::string(what) + " lacks '" + std::string(key) + "'");
}
inline void pack_str(Packer& p, std::string_view s) {
    p.pack_str(static_cast<std::uint32_t>(s.size()));
    p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}
inline void pack_bin(Packer& p, BytesView b) {
    p.pack_bin(static_cast<std::uint32_t>(b.size()));
    p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
}

} // namespace musehub::detail
