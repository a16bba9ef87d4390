#pragma once
// Wire v1: what the Muse 0.1.x client speaks (docs/protocol.md). A pack is a "bundle", one
// msgpack map {commits, snapshots, objects, [branch_heads], [tags]} with object content as
// msgpack bin; ids are bare lowercase hex. No compression: zstd-stored objects are decoded
// on the way out.

#include "musehub/core/delta_chains.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/detail/records.hpp"
#include "musehub/wire/concept.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace musehub::wire {

class v1 {
public:
    static constexpr std::string_view name = "v1";
    static constexpr ContainerFormat container_format = ContainerFormat::v1_bundle;

    // A bundle is one msgpack map: fixmap, map 16 or map 32.
    static bool is_container(BytesView bytes) noexcept {
        if (bytes.empty())
            return false;
        auto tag = static_cast<std::uint8_t>(bytes[0]);
        return (tag >= 0x80 && tag <= 0x8f) || tag == 0xde || tag == 0xdf;
    }

    struct IdText {
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

    std::string format_id(const Digest& d) const { return IdText::format(d); }
    Digest parse_id(std::string_view text) const { return IdText::parse(text, "id"); }

    Bytes encode_pack(const Pack& pack) const {
        Bytes out;
        detail::ByteSink sink{out};
        detail::Packer p(sink);
        write_bundle(p, sink, pack);
        return out;
    }

    Pack decode_pack(BytesView bytes, const Limits& limits) const {
        auto handle = detail::unpack_bounded(bytes, limits, "v1 bundle");
        return read_bundle(handle.get(), limits);
    }

    Bytes encode_push(const PushRequest& push) const {
        Bytes out;
        detail::ByteSink sink{out};
        detail::Packer p(sink);
        p.pack_map(3);
        detail::pack_str(p, "bundle");
        write_bundle(p, sink, push.pack);
        detail::pack_str(p, "branch");
        detail::pack_str(p, push.branch);
        detail::pack_str(p, "force");
        push.force ? p.pack_true() : p.pack_false();
        return out;
    }

    PushRequest decode_push(BytesView bytes, const Limits& limits) const {
        auto handle = detail::unpack_bounded(bytes, limits, "v1 push");
        const auto& m = detail::as_map(handle.get(), "v1 push");
        PushRequest push;
        push.pack = read_bundle(detail::require_key(m, "bundle", "v1 push"), limits);
        push.branch =
            detail::as_str(detail::require_key(m, "branch", "v1 push"), "v1 push 'branch'");
        if (auto* f = detail::find_key(m, "force"); f && !f->is_nil())
            push.force = detail::as_bool(*f, "v1 push 'force'");
        return push;
    }

    Bytes encode_fetch(const FetchRequest& fetch) const {
        return detail::encode_fetch_message<IdText>(fetch.want, fetch.have);
    }

    FetchRequest decode_fetch(BytesView bytes, const Limits& limits) const {
        auto [want, have] = detail::decode_fetch_message<IdText>(bytes, limits, "v1 fetch");
        return FetchRequest{std::move(want), std::move(have)};
    }

private:
    using Writer = detail::RecordWriter<IdText>;
    using Reader = detail::RecordReader<IdText>;

    static void write_bundle(detail::Packer& p, detail::ByteSink& sink, const Pack& pack) {
        Writer w{p, sink};
        p.pack_map(3 + (pack.branch_heads.empty() ? 0 : 1) + (pack.tags.empty() ? 0 : 1));
        detail::pack_str(p, "commits");
        p.pack_array(static_cast<std::uint32_t>(pack.commits.size()));
        for (const auto& c : pack.commits)
            w.record(c);
        detail::pack_str(p, "snapshots");
        p.pack_array(static_cast<std::uint32_t>(pack.snapshots.size()));
        for (const auto& s : pack.snapshots)
            w.record(s);
        detail::pack_str(p, "objects");
        p.pack_array(static_cast<std::uint32_t>(pack.objects.size()));
        auto put_object = [&](const PackObject& o, BytesView raw) {
            p.pack_map(2);
            detail::pack_str(p, "object_id");
            detail::pack_str(p, IdText::format(o.id.digest));
            detail::pack_str(p, "content");
            detail::pack_bin(p, raw);
        };
        if (std::any_of(pack.objects.begin(), pack.objects.end(),
                        [](const auto& o) { return o.encoding == Encoding::zstd_delta; })) {
            // Deltas (a v2 pack carried over): resolved down their chains, every base in
            // the pack, each object proven on the way; written in the pack's order.
            Limits whole;
            for (const auto& o : pack.objects)
                whole.max_object_bytes = std::max(whole.max_object_bytes, o.raw_size);
            std::unordered_map<ObjectId, Bytes> raw;
            for_each_verified(std::span<const PackObject>(pack.objects), whole,
                              [&](const PackObject& o, BytesView bytes) {
                                  raw.try_emplace(o.id, bytes.begin(), bytes.end());
                              });
            for (const auto& o : pack.objects)
                put_object(o, raw.at(o.id));
        } else {
            for (const auto& o : pack.objects)
                put_object(o, o.encoding == Encoding::raw
                                  ? o.stored
                                  : BytesView(decode_object(o, o.raw_size)));
        }
        if (!pack.branch_heads.empty()) {
            detail::pack_str(p, "branch_heads");
            p.pack_map(static_cast<std::uint32_t>(pack.branch_heads.size()));
            for (const auto& [name, head] : pack.branch_heads)
                detail::pack_str(p, name), detail::pack_str(p, IdText::format(head.digest));
        }
        if (!pack.tags.empty()) {
            detail::pack_str(p, "tags");
            p.pack_array(static_cast<std::uint32_t>(pack.tags.size()));
            for (const auto& t : pack.tags)
                w.record(t);
        }
    }

    static const msgpack::object_array& counted(const msgpack::object_map& m, std::string_view key,
                                                std::size_t max,
                                                const msgpack::object_array& none) {
        auto* v = detail::find_key(m, key);
        if (!v || v->is_nil())
            return none;
        const auto& a = detail::as_array(*v, "v1 bundle '" + std::string(key) + "'");
        if (a.size > max)
            fail(errc::oversized, "v1 bundle has " + std::to_string(a.size) + " " +
                                      std::string(key) + ", over the limit of " +
                                      std::to_string(max));
        return a;
    }

    static Pack read_bundle(const msgpack::object& o, const Limits& limits) {
        const auto& m = detail::as_map(o, "v1 bundle");
        const msgpack::object_array none{0, nullptr};
        Pack pack;
        const auto& commits = counted(m, "commits", limits.max_commits, none);
        const auto& snapshots = counted(m, "snapshots", limits.max_snapshots, none);
        const auto& objects = counted(m, "objects", limits.max_objects, none);
        const auto& tags = counted(m, "tags", limits.max_tags, none);
        pack.commits.reserve(commits.size);
        for (std::uint32_t i = 0; i < commits.size; ++i) {
            auto what = "commit " + std::to_string(i) + " of the bundle";
            pack.commits.push_back(Reader{limits, what}.template record<Commit>(commits.ptr[i]));
        }
        pack.snapshots.reserve(snapshots.size);
        for (std::uint32_t i = 0; i < snapshots.size; ++i) {
            auto what = "snapshot " + std::to_string(i) + " of the bundle";
            pack.snapshots.push_back(
                Reader{limits, what}.template record<Snapshot>(snapshots.ptr[i]));
        }
        pack.objects.reserve(objects.size);
        for (std::uint32_t i = 0; i < objects.size; ++i) {
            auto what = "object " + std::to_string(i) + " of the bundle";
            const auto& om = detail::as_map(objects.ptr[i], what);
            auto id =
                IdText::parse(detail::as_str(detail::require_key(om, "object_id", what), what),
                              what + " 'object_id'");
            auto content =
                detail::as_bin(detail::require_key(om, "content", what), what + " 'content'");
            if (content.size() > limits.max_object_bytes)
                fail(errc::oversized,
                     what + " (" + id.hex() + ") is " + std::to_string(content.size()) +
                         " bytes, over the limit of " + std::to_string(limits.max_object_bytes));
            pack.objects.push_back(
                PackObject{ObjectId{id}, Encoding::raw, content, content.size()});
        }
        if (auto* heads = detail::find_key(m, "branch_heads"); heads && !heads->is_nil()) {
            const auto& hm = detail::as_map(*heads, "v1 bundle 'branch_heads'");
            for (std::uint32_t i = 0; i < hm.size; ++i)
                pack.branch_heads.insert_or_assign(
                    std::string(detail::as_str(hm.ptr[i].key, "branch name")),
                    CommitId{IdText::parse(detail::as_str(hm.ptr[i].val, "branch head"),
                                           "branch head")});
        }
        pack.tags.reserve(tags.size);
        for (std::uint32_t i = 0; i < tags.size; ++i) {
            auto what = "tag " + std::to_string(i) + " of the bundle";
            pack.tags.push_back(Reader{limits, what}.template record<Tag>(tags.ptr[i]));
        }
        return pack;
    }
};

static_assert(WireProtocol<v1>);

} // namespace musehub::wire
