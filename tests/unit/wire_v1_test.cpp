// Wire v1 against the real Muse 0.1.5 client's own request and response bodies, and against
// hostile input.
#include "test_support.hpp"

#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/wire/v1.hpp"

#include <msgpack.hpp> // the tests pack raw values of every type

using namespace musehub;

namespace {
const wire::v1 codec;

std::filesystem::path http(const std::string& name) {
    return test::vectors / "http" / name;
}

// A hand-built msgpack body, for inputs no encoder of ours would produce.
template <class Fn>
Bytes craft(Fn&& fn) {
    Bytes out;
    detail::ByteSink sink{out};
    detail::Packer p(sink);
    fn(p);
    return out;
}

bool inside(BytesView part, BytesView whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}
} // namespace

TEST_CASE("v1: every push the real client sent decodes, verifies and round-trips",
          "[unit][wire][v1][interop]") {
    for (auto name :
         {"05-POST-push.req.msgpack", "10-POST-push.req.msgpack", "13-POST-push.req.msgpack",
          "19-POST-push.req.msgpack", "26-POST-push.req.msgpack", "30-POST-push.req.msgpack",
          "33-POST-push.req.msgpack"}) {
        INFO(name);
        auto body = test::read_file(http(name));
        auto push = codec.decode_push(body, Limits{});
        CHECK(push.branch == (std::string(name).starts_with("13") ? "feature" : "main"));
        CHECK(push.force == std::string(name).starts_with("33"));
        CHECK(push.pack.objects.empty()); // the client uploads objects first, via push/objects
        CHECK_FALSE(push.pack.commits.empty());
        for (const auto& c : push.pack.commits)
            CHECK_NOTHROW(verify_commit_id(c));
        for (const auto& s : push.pack.snapshots)
            CHECK_NOTHROW(verify_snapshot_id(s));

        auto again = codec.decode_push(codec.encode_push(push), Limits{});
        CHECK(again.branch == push.branch);
        CHECK(again.force == push.force);
        CHECK(again.pack.commits == push.pack.commits);
        CHECK(again.pack.snapshots == push.pack.snapshots);
    }
}

TEST_CASE("v1: commit records are re-encoded byte for byte as the client wrote them",
          "[unit][wire][v1][interop]") {
    auto body = test::read_file(http("10-POST-push.req.msgpack"));
    auto handle = detail::unpack_bounded(body, Limits{}, "push");
    const auto& commits = detail::as_array(
        detail::require_key(detail::as_map(detail::require_key(detail::as_map(handle.get(), "push"),
                                                               "bundle", "push"),
                                           "bundle"),
                            "commits", "bundle"),
        "commits");
    auto push = codec.decode_push(body, Limits{});
    REQUIRE(commits.size == push.pack.commits.size());
    for (std::uint32_t i = 0; i < commits.size; ++i) {
        Bytes original, ours;
        detail::ByteSink sink{original};
        detail::Packer(sink).pack(commits.ptr[i]);
        detail::write_record<wire::v1::IdText>(ours, push.pack.commits[i]);
        CHECK(ours == original);
    }
    // The merge commit keeps both parents, nil structured_delta and every client field.
    auto merge =
        std::find_if(push.pack.commits.begin(), push.pack.commits.end(),
                     [](const Commit& c) { return c.commit_id.hex().starts_with("d7c16e45"); });
    REQUIRE(merge != push.pack.commits.end());
    CHECK(merge->parent2_commit_id.has_value());
    CHECK(merge->structured_delta.is_nil());
    CHECK(merge->format_version == 5);
    CHECK(merge->extensions.empty());
}

TEST_CASE("v1: fetch responses and object uploads decode zero-copy and hash-verify",
          "[unit][wire][v1][interop]") {
    for (auto name : {"15-POST-fetch.resp.msgpack", "22-POST-fetch.resp.msgpack",
                      "04-POST-push-objects.req.msgpack", "09-POST-push-objects.req.msgpack"}) {
        INFO(name);
        auto body = test::read_file(http(name));
        auto pack = codec.decode_pack(body, Limits{});
        CHECK_FALSE(pack.objects.empty());
        for (const auto& o : pack.objects) {
            CHECK(inside(o.stored, body));
            CHECK_NOTHROW(verify_object(o, Limits{}.max_object_bytes));
        }
        for (const auto& c : pack.commits)
            CHECK_NOTHROW(verify_commit_id(c));
        for (const auto& s : pack.snapshots)
            CHECK_NOTHROW(verify_snapshot_id(s));
    }
    auto clone_body = test::read_file(http("15-POST-fetch.resp.msgpack")); // outlives the views
    auto clone = codec.decode_pack(clone_body, Limits{});
    CHECK(clone.branch_heads.at("main").hex().starts_with("d7c16e45"));
    CHECK(clone.branch_heads.at("feature").hex().starts_with("8971282f"));
    auto empty = std::find_if(clone.objects.begin(), clone.objects.end(),
                              [](const PackObject& o) { return o.raw_size == 0; });
    REQUIRE(empty != clone.objects.end()); // the zero-byte object travels as bin8 of length 0
    CHECK(empty->id.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    auto encoded = codec.encode_pack(clone); // decoded views point into it: keep it alive
    auto round = codec.decode_pack(encoded, Limits{});
    CHECK(round.commits == clone.commits);
    CHECK(round.branch_heads == clone.branch_heads);
    REQUIRE(round.objects.size() == clone.objects.size());
    for (std::size_t i = 0; i < round.objects.size(); ++i)
        CHECK(equal_bytes(round.objects[i].stored, clone.objects[i].stored));
}

TEST_CASE("v1: fetch requests", "[unit][wire][v1][interop]") {
    auto req = codec.decode_fetch(test::read_file(http("15-POST-fetch.req.msgpack")), Limits{});
    CHECK(req.want.size() == 2);
    CHECK(req.have.empty());
    auto pull = codec.decode_fetch(test::read_file(http("22-POST-fetch.req.msgpack")), Limits{});
    CHECK(pull.want.size() == 1);
    CHECK_FALSE(pull.have.empty());
    CHECK(codec.decode_fetch(codec.encode_fetch(pull), Limits{}) == pull);
}

TEST_CASE("v1: truncated input is refused at every length", "[unit][wire][v1][bad]") {
    auto body = test::read_file(http("10-POST-push.req.msgpack"));
    for (std::size_t n = 0; n < body.size(); ++n) {
        try {
            codec.decode_push(BytesView(body).first(n), Limits{});
            FAIL("a push truncated to " << n << " bytes decoded");
        } catch (const musehub::error& e) {
            if (e.code() != errc::truncated && e.code() != errc::corrupt)
                FAIL("unexpected " << e.what());
        }
    }
}

TEST_CASE("v1: flipped bytes never crash the decoder", "[unit][wire][v1][bad]") {
    auto body = test::read_file(http("05-POST-push.req.msgpack"));
    int refused = 0;
    for (std::size_t i = 0; i < body.size(); i += 3) {
        auto copy = body;
        copy[i] ^= std::byte{0x41};
        try {
            auto push = codec.decode_push(copy, Limits{});
            for (const auto& c : push.pack.commits)
                verify_commit_id(c);
            for (const auto& s : push.pack.snapshots)
                verify_snapshot_id(s);
        } catch (const musehub::error&) {
            ++refused;
        }
    }
    CHECK(refused > 0);
}

TEST_CASE("v1: hostile bodies get typed errors", "[unit][wire][v1][bad]") {
    auto hex = sha256("x").hex();
    SECTION("a huge declared array in a tiny body is refused before allocation") {
        Bytes body{std::byte{0x81}, std::byte{0xa7}};
        for (char c : std::string("commits"))
            body.push_back(std::byte(c));
        for (auto b : {0xdd, 0xff, 0xff, 0xff, 0xff})
            body.push_back(std::byte(b));
        auto msg = test::require_error(errc::truncated, [&] { codec.decode_pack(body, Limits{}); });
        CHECK_THAT(msg, Catch::Contains("elements"));
    }
    SECTION("deep nesting") {
        Bytes body(200, std::byte{0x91});
        body.push_back(std::byte{0xc0});
        test::require_error(errc::oversized, [&] { codec.decode_pack(body, Limits{}); });
    }
    SECTION("trailing bytes") {
        auto body = codec.encode_pack(Pack{});
        body.push_back(std::byte{0xc0});
        test::require_error(errc::corrupt, [&] { codec.decode_pack(body, Limits{}); });
    }
    SECTION("not a map") {
        test::require_error(errc::corrupt,
                            [&] { codec.decode_pack(Bytes{std::byte{0x90}}, Limits{}); });
    }
    SECTION("uppercase or prefixed ids") {
        auto upper = hex;
        for (auto& c : upper)
            c = static_cast<char>(std::toupper(c));
        for (auto id : {upper, "sha256:" + hex, hex.substr(2)}) {
            auto body = craft([&](detail::Packer& p) {
                p.pack_map(1);
                detail::pack_str(p, "objects");
                p.pack_array(1);
                p.pack_map(2);
                detail::pack_str(p, "object_id");
                detail::pack_str(p, id);
                detail::pack_str(p, "content");
                detail::pack_bin(p, as_bytes("x"));
            });
            test::require_error(errc::invalid_id, [&] { codec.decode_pack(body, Limits{}); });
        }
    }
    SECTION("object content sent as str, not bin") {
        auto body = craft([&](detail::Packer& p) {
            p.pack_map(1);
            detail::pack_str(p, "objects");
            p.pack_array(1);
            p.pack_map(2);
            detail::pack_str(p, "object_id");
            detail::pack_str(p, hex);
            detail::pack_str(p, "content");
            detail::pack_str(p, "x");
        });
        auto msg = test::require_error(errc::corrupt, [&] { codec.decode_pack(body, Limits{}); });
        CHECK_THAT(msg, Catch::Contains("content"));
    }
    auto snapshot_with = [&](const std::string& path) {
        return craft([&](detail::Packer& p) {
            p.pack_map(1);
            detail::pack_str(p, "snapshots");
            p.pack_array(1);
            p.pack_map(2);
            detail::pack_str(p, "snapshot_id");
            detail::pack_str(p, hex);
            detail::pack_str(p, "manifest");
            p.pack_map(1);
            detail::pack_str(p, path);
            detail::pack_str(p, hex);
        });
    };
    SECTION("path traversal in a manifest") {
        auto msg = test::require_error(errc::bad_path, [&] {
            codec.decode_pack(snapshot_with("../../etc/passwd"), Limits{});
        });
        CHECK_THAT(msg, Catch::Contains("../../etc/passwd"));
        test::require_error(errc::bad_path,
                            [&] { codec.decode_pack(snapshot_with("/abs"), Limits{}); });
    }
    SECTION("a commit without its id") {
        auto body = craft([&](detail::Packer& p) {
            p.pack_map(1);
            detail::pack_str(p, "commits");
            p.pack_array(1);
            p.pack_map(1);
            detail::pack_str(p, "message");
            detail::pack_str(p, "m");
        });
        auto msg = test::require_error(errc::corrupt, [&] { codec.decode_pack(body, Limits{}); });
        CHECK_THAT(msg, Catch::Contains("commit_id"));
    }
    SECTION("limits are enforced and named") {
        auto body = test::read_file(http("15-POST-fetch.resp.msgpack"));
        Limits few;
        few.max_commits = 2;
        CHECK_THAT(test::require_error(errc::oversized, [&] { codec.decode_pack(body, few); }),
                   Catch::Contains("commits"));
        Limits small;
        small.max_object_bytes = 1000;
        test::require_error(errc::oversized, [&] { codec.decode_pack(body, small); });
        Limits narrow;
        narrow.max_manifest_entries = 3;
        test::require_error(errc::oversized, [&] { codec.decode_pack(body, narrow); });
        Limits flat;
        flat.max_elements = 100;
        test::require_error(errc::oversized, [&] { codec.decode_pack(body, flat); });
    }
}
