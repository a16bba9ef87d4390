#pragma once
// Msgpack encoding of Commit, Snapshot and Tag, derived from their Hana descriptions: one
// generic encoder and one generic decoder serve every record and both wire policies. The
// id text form is a parameter (`IdText`: bare hex for v1, `sha256:` + hex for v2).
//
// Decoding is strict about types and lenient about presence: a missing optional field takes
// its default, a missing identifying field is corrupt, and an unknown key is kept verbatim
// in `extensions` and written back after the known fields.

#include "musehub/core/manifest.hpp"
#include "musehub/core/model.hpp"
#include "musehub/detail/msgpack.hpp"

#include <boost/hana/accessors.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <array>
#include <string>
#include <string_view>

namespace musehub::detail {

// The fields without which a record means nothing; everything else may be absent.
template <class Record>
constexpr std::array<std::string_view, 0> required_fields{};
template <>
inline constexpr std::array<std::string_view, 4> required_fields<Commit>{"commit_id", "snapshot_id",
                                                                         "message", "committed_at"};
template <>
inline constexpr std::array<std::string_view, 2> required_fields<Snapshot>{"snapshot_id",
                                                                           "manifest"};
template <>
inline constexpr std::array<std::string_view, 2> required_fields<Tag>{"tag", "commit_id"};

template <class Record>
concept HasExtensions = requires(Record r) {
    r.extensions;
};

// ---- encode ------------------------------------------------------------------------------

template <class IdText>
struct RecordWriter {
    Packer& p;
    ByteSink& sink;

    void put(const std::string& s) { pack_str(p, s); }
    void put(std::int64_t v) { p.pack_int64(v); }
    void put(const RawMsgpack& v) {
        sink.write(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
    }
    template <class Tag>
    void put(const Id<Tag>& id) {
        // Spelled into a stack buffer: records hold a million ids, each worth no allocation.
        char text[80];
        auto n = IdText::format_to(id.digest, text);
        pack_str(p, std::string_view(text, n));
    }
    template <class Tag>
    void put(const std::optional<Id<Tag>>& id) {
        if (id)
            put(*id);
        else
            p.pack_nil();
    }
    void put(const StringMap& m) {
        p.pack_map(static_cast<std::uint32_t>(m.size()));
        for (const auto& [k, v] : m)
            pack_str(p, k), pack_str(p, v);
    }
    void put(const std::vector<std::string>& v) {
        p.pack_array(static_cast<std::uint32_t>(v.size()));
        for (const auto& s : v)
            pack_str(p, s);
    }
    void put(const Manifest& m) {
        p.pack_map(static_cast<std::uint32_t>(m.size()));
        for (const auto& e : m)
            pack_str(p, e.path), put(e.object);
    }

    template <class Record>
    void record(const Record& r) {
        std::size_t n = boost::hana::length(boost::hana::accessors<Record>());
        if constexpr (HasExtensions<Record>)
            n += r.extensions.size();
        p.pack_map(static_cast<std::uint32_t>(n));
        boost::hana::for_each(boost::hana::accessors<Record>(), [&](auto acc) {
            pack_str(p, boost::hana::to<const char*>(boost::hana::first(acc)));
            put(boost::hana::second(acc)(r));
        });
        if constexpr (HasExtensions<Record>)
            for (const auto& [k, v] : r.extensions)
                pack_str(p, k), put(v);
    }
};

template <class IdText, class Record>
void write_record(Bytes& out, const Record& r) {
    ByteSink sink{out};
    Packer p(sink);
    RecordWriter<IdText>{p, sink}.record(r);
}

// ---- decode ------------------------------------------------------------------------------

inline RawMsgpack raw_of(const msgpack::object& o) {
    RawMsgpack r;
    r.bytes.clear();
    ByteSink sink{r.bytes};
    Packer p(sink);
    p.pack(o);
    return r;
}

template <class IdText>
struct RecordReader {
    const Limits& limits;
    std::string_view what; // "commit 3 of the bundle", for error messages

    std::string field(std::string_view name) const {
        return std::string(what) + " field '" + std::string(name) + "'";
    }

    void get(const msgpack::object& o, std::string& out, std::string_view name) {
        out = as_str(o, field(name));
    }
    void get(const msgpack::object& o, std::int64_t& out, std::string_view name) {
        out = as_int(o, field(name));
    }
    void get(const msgpack::object& o, RawMsgpack& out, std::string_view) { out = raw_of(o); }
    template <class Tag>
    void get(const msgpack::object& o, Id<Tag>& out, std::string_view name) {
        out = Id<Tag>{IdText::parse(as_str(o, field(name)), field(name))};
    }
    template <class Tag>
    void get(const msgpack::object& o, std::optional<Id<Tag>>& out, std::string_view name) {
        if (o.is_nil())
            out.reset();
        else
            get(o, out.emplace(), name);
    }
    void get(const msgpack::object& o, StringMap& out, std::string_view name) {
        const auto& m = as_map(o, field(name));
        out.clear();
        for (std::uint32_t i = 0; i < m.size; ++i)
            out.insert_or_assign(std::string(as_str(m.ptr[i].key, field(name))),
                                 std::string(as_str(m.ptr[i].val, field(name))));
    }
    void get(const msgpack::object& o, std::vector<std::string>& out, std::string_view name) {
        const auto& a = as_array(o, field(name));
        out.clear();
        out.reserve(a.size);
        for (std::uint32_t i = 0; i < a.size; ++i)
            out.emplace_back(as_str(a.ptr[i], field(name)));
    }
    void get(const msgpack::object& o, Manifest& out, std::string_view name) {
        out = manifest(as_map(o, field(name)), field(name));
    }
    Manifest manifest(const msgpack::object_map& m, const std::string& label) {
        return Manifest::from_entries(manifest_entries(m, label), limits.max_path_bytes);
    }
    // The entries of a {path: id} map, as they come: not yet sorted, paths not yet validated.
    std::vector<ManifestEntry> manifest_entries(const msgpack::object_map& m,
                                                const std::string& label) {
        if (m.size > limits.max_manifest_entries)
            fail(errc::oversized, label + " has " + std::to_string(m.size) +
                                      " entries, over the limit of " +
                                      std::to_string(limits.max_manifest_entries));
        std::vector<ManifestEntry> entries;
        entries.reserve(m.size);
        for (std::uint32_t i = 0; i < m.size; ++i) {
            const auto& k = m.ptr[i].key;
            const auto& v = m.ptr[i].val;
            // The hot loop of every snapshot: error labels are built only when something is wrong.
            if (k.type != msgpack::type::STR || v.type != msgpack::type::STR)
                as_str(k, label), as_str(v, label);
            std::string_view path(k.via.str.ptr, k.via.str.size),
                text(v.via.str.ptr, v.via.str.size);
            auto id = IdText::try_parse(text);
            if (!id)
                IdText::parse(text, label + " entry '" + std::string(path) + "'");
            entries.push_back({std::string(path), ObjectId{*id}});
        }
        return entries;
    }

    template <class Record>
    Record record(const msgpack::object& o) {
        const auto& m = as_map(o, what);
        Record r{};
        std::array<bool, required_fields<Record>.size()> present{};
        for (std::uint32_t i = 0; i < m.size; ++i) {
            if (m.ptr[i].key.type != msgpack::type::STR)
                as_str(m.ptr[i].key, std::string(what) + " key");
            std::string_view key(m.ptr[i].key.via.str.ptr, m.ptr[i].key.via.str.size);
            bool known = false;
            boost::hana::for_each(boost::hana::accessors<Record>(), [&](auto acc) {
                std::string_view name = boost::hana::to<const char*>(boost::hana::first(acc));
                if (known || name != key)
                    return;
                known = true;
                get(m.ptr[i].val, boost::hana::second(acc)(r), name);
            });
            for (std::size_t k = 0; k < present.size(); ++k)
                if (required_fields<Record>[k] == key)
                    present[k] = true;
            if (!known) {
                if constexpr (HasExtensions<Record>)
                    r.extensions.emplace_back(std::string(key), raw_of(m.ptr[i].val));
            }
        }
        for (std::size_t k = 0; k < present.size(); ++k)
            if (!present[k])
                fail(errc::corrupt, std::string(what) + " lacks '" +
                                        std::string(required_fields<Record>[k]) + "'");
        return r;
    }
};

// ---- lists of ids, and the fetch message {want: [id], have: [id]}, for either id spelling ----

template <class IdText, class Id>
void write_ids(Packer& p, const std::vector<Id>& ids) {
    p.pack_array(static_cast<std::uint32_t>(ids.size()));
    for (const auto& id : ids)
        pack_str(p, IdText::format(id.digest));
}

template <class IdText, class Id = CommitId>
std::vector<Id> read_ids(const msgpack::object& o, const std::string& what, std::size_t max) {
    const auto& a = as_array(o, what);
    if (a.size > max)
        fail(errc::oversized, what + " has " + std::to_string(a.size) + " ids, over the limit of " +
                                  std::to_string(max));
    std::vector<Id> ids;
    ids.reserve(a.size);
    for (std::uint32_t i = 0; i < a.size; ++i)
        ids.push_back(Id{IdText::parse(as_str(a.ptr[i], what), what)});
    return ids;
}

template <class IdText>
Bytes encode_fetch_message(const std::vector<CommitId>& want, const std::vector<CommitId>& have) {
    Bytes out;
    ByteSink sink{out};
    Packer p(sink);
    p.pack_map(2);
    pack_str(p, "want");
    write_ids<IdText>(p, want);
    pack_str(p, "have");
    write_ids<IdText>(p, have);
    return out;
}

// Returns {want, have}; `what` names the message ("v1 fetch") in errors.
template <class IdText>
std::pair<std::vector<CommitId>, std::vector<CommitId>>
decode_fetch_message(BytesView bytes, const Limits& limits, const std::string& what) {
    auto handle = unpack_bounded(bytes, limits, what);
    const auto& m = as_map(handle.get(), what);
    auto want =
        read_ids<IdText>(require_key(m, "want", what), what + " 'want'", limits.max_commits);
    std::vector<CommitId> have;
    if (auto* h = find_key(m, "have"))
        have = read_ids<IdText>(*h, what + " 'have'", limits.max_commits);
    return {std::move(want), std::move(have)};
}

} // namespace musehub::detail
