// Stream push framing: frame layout, the incremental reader under every chunking of a stream,
// every error it defines (checksum, unknown type, oversized, truncated), and the control
// frame payloads.

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include "musehub/core/sha256.hpp"
#include "musehub/wire/frames.hpp"

#include <msgpack.hpp> // the tests pack raw values of every type
#include <xxhash.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using musehub::Bytes;
using musehub::BytesView;
using musehub::errc;
using test::require_error;
using namespace musehub::wire::frames;

namespace {

constexpr std::array all_types{FrameType::header, FrameType::objects,  FrameType::commits,
                               FrameType::end,    FrameType::progress, FrameType::result,
                               FrameType::error};

// An owned copy of a frame, so it survives the reader's next feed() or next().
struct Owned {
    FrameType type;
    Bytes payload;
    friend bool operator==(const Owned& a, const Owned& b) {
        return a.type == b.type && musehub::equal_bytes(a.payload, b.payload);
    }
};

Owned own(const Frame& f) {
    return {f.type, musehub::to_bytes(f.payload)};
}

Bytes payload_of(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b)
        x = static_cast<std::byte>(rng() & 0xff);
    return b;
}

std::uint64_t get_le(const Bytes& b, std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;)
        v = (v << 8) | std::to_integer<std::uint64_t>(b.at(at + i));
    return v;
}

// Drains every complete frame the reader holds.
void drain(FrameReader& r, std::vector<Owned>& got) {
    while (auto f = r.next())
        got.push_back(own(*f));
}

// Feeds `stream` in chunks of the sizes `chunk` yields, draining after each.
template <class ChunkSize>
std::vector<Owned> read_all(BytesView stream, std::uint32_t max_payload, ChunkSize&& chunk) {
    FrameReader r(max_payload);
    std::vector<Owned> got;
    std::size_t at = 0;
    while (at < stream.size()) {
        auto n = std::min<std::size_t>(chunk(), stream.size() - at);
        r.feed(stream.subspan(at, n));
        at += n;
        drain(r, got);
    }
    CHECK(r.idle());
    r.finish();
    return got;
}

// A stream of many frames of every type: mostly small, some empty, a few large enough that
// the reader's buffer compaction has work to do.
struct Stream {
    std::vector<Owned> frames;
    Bytes bytes;
    std::vector<std::size_t> boundaries; // offset of the end of each frame
};

Stream many_frames() {
    Stream s;
    std::mt19937 rng(20240611);
    for (std::uint32_t i = 0; i < 120; ++i) {
        auto type = all_types[i % all_types.size()];
        std::size_t len = i % 9 == 0 ? 0 : rng() % 300;
        if (i % 40 == 17)
            len = 70'000 + rng() % 5'000;
        s.frames.push_back({type, payload_of(len, i)});
        append_frame(s.bytes, type, s.frames.back().payload);
        s.boundaries.push_back(s.bytes.size());
    }
    return s;
}

constexpr std::uint32_t big_limit = 1u << 20;

musehub::Limits limits() {
    return {};
}

musehub::Digest some_digest() {
    return musehub::sha256(musehub::as_bytes("frames test head"));
}

template <class Fn>
Bytes craft(Fn&& fn) {
    Bytes out;
    musehub::detail::ByteSink sink{out};
    musehub::detail::Packer p(sink);
    fn(p);
    return out;
}

} // namespace

// ---- frame layout -------------------------------------------------------------------------

TEST_CASE("frames: the layout is type, u32 LE length, payload, xxh3-64 LE",
          "[unit][wire][frames]") {
    auto payload = musehub::to_bytes(std::string_view("hello, muse"));
    auto f = frame(FrameType::objects, payload);
    REQUIRE(f.size() == overhead_bytes + payload.size());
    CHECK(std::to_integer<char>(f[0]) == 'O');
    CHECK(get_le(f, 1, 4) == payload.size());
    CHECK(musehub::equal_bytes(BytesView(f).subspan(head_bytes, payload.size()), payload));
    CHECK(get_le(f, head_bytes + payload.size(), 8) == XXH3_64bits(payload.data(), payload.size()));

    // append_frame appends after what is already there
    Bytes out = musehub::to_bytes(std::string_view("xy"));
    append_frame(out, FrameType::objects, payload);
    CHECK(out.size() == 2 + f.size());
    CHECK(musehub::equal_bytes(BytesView(out).subspan(2), f));
}

TEST_CASE("frames: the known types are exactly H O C E P R X", "[unit][wire][frames]") {
    int known = 0;
    for (int b = 0; b < 256; ++b)
        known += is_known(static_cast<std::uint8_t>(b)) ? 1 : 0;
    CHECK(known == 7);
    for (char c : std::string_view("HOCEPRX"))
        CHECK(is_known(static_cast<std::uint8_t>(c)));
    CHECK_FALSE(is_known('h'));
    CHECK_FALSE(is_known(0));
    CHECK(static_cast<char>(FrameType::header) == 'H');
    CHECK(static_cast<char>(FrameType::objects) == 'O');
    CHECK(static_cast<char>(FrameType::commits) == 'C');
    CHECK(static_cast<char>(FrameType::end) == 'E');
    CHECK(static_cast<char>(FrameType::progress) == 'P');
    CHECK(static_cast<char>(FrameType::result) == 'R');
    CHECK(static_cast<char>(FrameType::error) == 'X');
}

TEST_CASE("frames: every frame type round-trips, with empty and non-empty payloads",
          "[unit][wire][frames]") {
    for (auto type : all_types) {
        for (std::size_t len : {0u, 1u, 13u, 4096u}) {
            INFO("type " << static_cast<char>(type) << ", " << len << " bytes");
            auto payload = payload_of(len, static_cast<std::uint32_t>(len));
            FrameReader r(big_limit);
            CHECK(r.idle());
            CHECK_FALSE(r.next());
            r.feed(frame(type, payload));
            CHECK_FALSE(r.idle());
            auto f = r.next();
            REQUIRE(f);
            CHECK(f->type == type);
            CHECK(musehub::equal_bytes(f->payload, payload));
            CHECK_FALSE(r.next());
            CHECK(r.idle());
            r.finish();
        }
    }
}

TEST_CASE("frames: empty payload frames work, even with a zero payload limit",
          "[unit][wire][frames]") {
    Bytes stream;
    for (auto type : all_types)
        append_frame(stream, type, {});
    CHECK(stream.size() == all_types.size() * overhead_bytes);
    FrameReader r(0);
    r.feed(stream);
    for (auto type : all_types) {
        auto f = r.next();
        REQUIRE(f);
        CHECK(f->type == type);
        CHECK(f->payload.empty());
    }
    CHECK_FALSE(r.next());
    r.finish();

    // and one byte of payload is already over that limit
    FrameReader strict(0);
    strict.feed(BytesView(frame(FrameType::objects, musehub::as_bytes("x"))).first(head_bytes));
    require_error(errc::oversized, [&] { strict.next(); });
}

// ---- chunking -----------------------------------------------------------------------------

TEST_CASE("frames: every chunking of a stream yields the same frames", "[unit][wire][frames]") {
    const auto s = many_frames();
    REQUIRE(s.bytes.size() > 200'000); // enough for the reader to compact its buffer

    SECTION("all at once") {
        FrameReader r(big_limit);
        r.feed(s.bytes);
        std::vector<Owned> got;
        drain(r, got);
        CHECK(r.idle());
        r.finish();
        CHECK(got == s.frames);
    }
    SECTION("one byte at a time") {
        CHECK(read_all(s.bytes, big_limit, [] { return std::size_t{1}; }) == s.frames);
    }
    SECTION("random chunk sizes, fixed seeds") {
        for (std::uint32_t seed : {1u, 2u, 3u, 42u}) {
            for (std::size_t max_chunk : {7u, 100u, 5'000u, 100'000u}) {
                INFO("seed " << seed << ", chunks up to " << max_chunk);
                std::mt19937 rng(seed);
                auto chunk = [&] { return std::size_t{1} + rng() % max_chunk; };
                CHECK(read_all(s.bytes, big_limit, chunk) == s.frames);
            }
        }
    }
    SECTION("frame by frame, and split exactly at each frame head") {
        FrameReader r(big_limit);
        std::vector<Owned> got;
        std::size_t at = 0;
        for (auto end : s.boundaries) {
            r.feed(BytesView(s.bytes).subspan(at, head_bytes));
            CHECK_FALSE(r.next());
            r.feed(BytesView(s.bytes).subspan(at + head_bytes, end - at - head_bytes));
            drain(r, got);
            CHECK(r.idle());
            at = end;
        }
        r.finish();
        CHECK(got == s.frames);
    }
    SECTION("draining only now and then: several frames buffered at once") {
        FrameReader r(big_limit);
        std::vector<Owned> got;
        std::mt19937 rng(7);
        std::size_t at = 0;
        while (at < s.bytes.size()) {
            auto n = std::min<std::size_t>(1 + rng() % 3'000, s.bytes.size() - at);
            r.feed(BytesView(s.bytes).subspan(at, n));
            at += n;
            if (rng() % 4 == 0)
                drain(r, got);
        }
        drain(r, got);
        r.finish();
        CHECK(got == s.frames);
    }
}

TEST_CASE("frames: a stream cut at every point yields the frames before the cut",
          "[unit][wire][frames]") {
    // small frames so every cut point is cheap to try
    Stream s;
    for (std::uint32_t i = 0; i < 12; ++i) {
        auto type = all_types[i % all_types.size()];
        s.frames.push_back({type, payload_of(i % 4 == 0 ? 0 : 3 * i, i)});
        append_frame(s.bytes, type, s.frames.back().payload);
        s.boundaries.push_back(s.bytes.size());
    }
    for (std::size_t cut = 0; cut <= s.bytes.size(); ++cut) {
        INFO("cut at byte " << cut);
        std::size_t whole = 0;
        while (whole < s.boundaries.size() && s.boundaries[whole] <= cut)
            ++whole;
        bool at_boundary = cut == 0 || (whole > 0 && s.boundaries[whole - 1] == cut);

        FrameReader r(big_limit);
        r.feed(BytesView(s.bytes).first(cut));
        std::vector<Owned> got;
        drain(r, got);
        REQUIRE(got.size() == whole);
        CHECK(std::equal(got.begin(), got.end(), s.frames.begin()));
        CHECK(r.idle() == at_boundary);
        if (at_boundary)
            r.finish();
        else
            require_error(errc::truncated, [&] { r.finish(); });
    }
}

// ---- reader errors ------------------------------------------------------------------------

TEST_CASE("frames: a checksum mismatch is corrupt", "[unit][wire][frames]") {
    const auto good = frame(FrameType::progress, payload_of(40, 1));
    // first and last payload byte, first and last checksum byte
    for (std::size_t flip : {head_bytes, head_bytes + 39, head_bytes + 40, head_bytes + 47}) {
        INFO("flipped byte " << flip);
        Bytes stream = frame(FrameType::header, payload_of(10, 2));
        auto bad = good;
        bad[flip] ^= std::byte{0x01};
        stream.insert(stream.end(), bad.begin(), bad.end());

        FrameReader r(big_limit);
        r.feed(stream);
        auto first = r.next(); // the intact frame before it still reads
        REQUIRE(first);
        CHECK(first->type == FrameType::header);
        auto msg = require_error(errc::corrupt, [&] { r.next(); });
        CHECK_THAT(msg, Catch::Contains("frame checksum mismatch"));
        // the error sticks: the stream is unusable from here on
        require_error(errc::corrupt, [&] { r.next(); });
        require_error(errc::corrupt, [&] { r.finish(); });
        require_error(errc::corrupt, [&] { r.feed(good); });
        CHECK(r.buffered() == 0); // the buffer was released
    }
}

TEST_CASE("frames: an unknown type byte is corrupt as soon as it arrives", "[unit][wire][frames]") {
    auto f = frame(FrameType::end, payload_of(8, 3));
    f[0] = std::byte{'Z'};
    FrameReader r(big_limit);
    r.feed(BytesView(f).first(1));
    auto msg = require_error(errc::corrupt, [&] { r.next(); });
    CHECK_THAT(msg, Catch::Contains("0x5a"));
    CHECK_THAT(msg, Catch::Contains("type"));

    FrameReader zero(big_limit);
    zero.feed(std::array{std::byte{0}});
    CHECK_THAT(require_error(errc::corrupt, [&] { zero.next(); }), Catch::Contains("0x00"));
}

TEST_CASE("frames: an oversized declared length is refused from the 5-byte head alone",
          "[unit][wire][frames]") {
    constexpr std::uint32_t limit = 1000;
    SECTION("one over the limit") {
        auto f = frame(FrameType::objects, payload_of(limit + 1, 4));
        FrameReader r(limit);
        r.feed(BytesView(f).first(head_bytes - 1));
        CHECK_FALSE(r.next()); // the length is not complete yet
        r.feed(BytesView(f).subspan(head_bytes - 1, 1));
        CHECK(r.buffered() == head_bytes); // nothing of the payload has been fed
        auto msg = require_error(errc::oversized, [&] { r.next(); });
        CHECK_THAT(msg, Catch::Contains("1001"));
        CHECK_THAT(msg, Catch::Contains("1000"));
    }
    SECTION("the largest length a frame can declare") {
        std::array head{std::byte{'C'}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                        std::byte{0xff}};
        FrameReader r(limit);
        r.feed(head);
        auto msg = require_error(errc::oversized, [&] { r.next(); });
        CHECK_THAT(msg, Catch::Contains("4294967295"));
    }
    SECTION("exactly the limit is accepted") {
        auto f = frame(FrameType::objects, payload_of(limit, 5));
        FrameReader r(limit);
        r.feed(BytesView(f).first(head_bytes));
        CHECK_FALSE(r.next());
        r.feed(BytesView(f).subspan(head_bytes));
        auto got = r.next();
        REQUIRE(got);
        CHECK(got->payload.size() == limit);
    }
}

TEST_CASE("frames: finish() mid-frame is truncated", "[unit][wire][frames]") {
    auto f = frame(FrameType::result, payload_of(100, 6));
    for (std::size_t cut :
         {std::size_t{1}, head_bytes - 1, head_bytes, head_bytes + 50, f.size() - 1}) {
        INFO("cut at " << cut);
        FrameReader r(big_limit);
        r.feed(BytesView(f).first(cut));
        CHECK_FALSE(r.next());
        CHECK_FALSE(r.idle());
        auto msg = require_error(errc::truncated, [&] { r.finish(); });
        CHECK_THAT(msg, Catch::Contains("mid-frame"));
    }
}

TEST_CASE("frames: finish() with a complete frame still unread is a caller error",
          "[unit][wire][frames]") {
    FrameReader r(big_limit);
    r.feed(frame(FrameType::end, {}));
    require_error(errc::invalid_argument, [&] { r.finish(); });
}

// ---- control payloads ---------------------------------------------------------------------

TEST_CASE("frames: control payloads round-trip", "[unit][wire][frames]") {
    const auto lim = limits();
    SECTION("header") {
        Header h;
        h.repo = "alice/song";
        h.branch = "main";
        h.expected_head = some_digest();
        h.force = true;
        h.objects = 123'456;
        h.commits = 42;
        CHECK(decode_header(encode_header(h), lim) == h);

        Header fresh;
        fresh.repo = "bob/ünïcode";
        fresh.branch = "feature/x";
        auto back = decode_header(encode_header(fresh), lim);
        CHECK(back == fresh);
        CHECK_FALSE(back.expected_head);
        CHECK_FALSE(back.force);
    }
    SECTION("end") {
        End e{7, 3};
        CHECK(decode_end(encode_end(e), lim) == e);
        CHECK(decode_end(encode_end(End{}), lim) == End{});
        End big{UINT64_MAX, 10'000};
        CHECK(decode_end(encode_end(big), lim) == big);
    }
    SECTION("progress") {
        Progress p{"storing objects", 10, 200};
        CHECK(decode_progress(encode_progress(p), lim) == p);
        Progress heartbeat{"", 0, 0};
        CHECK(decode_progress(encode_progress(heartbeat), lim) == heartbeat);
    }
    SECTION("error") {
        Failure f{std::string(musehub::to_string(errc::non_fast_forward)),
                  "branch 'main' moved: expected sha256:…"};
        auto back = decode_error(encode_error(f), lim);
        CHECK(back == f);
        CHECK(back.code == "non_fast_forward");
    }
}

TEST_CASE("frames: control payloads travel through frames in a stream", "[unit][wire][frames]") {
    const auto lim = limits();
    Header h{"alice/song", "main", some_digest(), false, 3, 1};
    Progress p{"objects", 1, 3};
    End e{3, 1};
    Failure x{"conflict", "the branch moved"};
    Bytes stream;
    append_frame(stream, FrameType::header, encode_header(h));
    append_frame(stream, FrameType::objects, payload_of(500, 9));
    append_frame(stream, FrameType::progress, encode_progress(p));
    append_frame(stream, FrameType::end, encode_end(e));
    append_frame(stream, FrameType::error, encode_error(x));

    FrameReader r(big_limit);
    std::vector<Owned> got;
    for (auto b : stream) {
        r.feed(std::array{b});
        drain(r, got);
    }
    r.finish();
    REQUIRE(got.size() == 5);
    CHECK(decode_header(got[0].payload, lim) == h);
    CHECK(got[1].type == FrameType::objects);
    CHECK(decode_progress(got[2].payload, lim) == p);
    CHECK(decode_end(got[3].payload, lim) == e);
    CHECK(decode_error(got[4].payload, lim) == x);
}

TEST_CASE("frames: control payload decoders refuse what is wrong, naming it",
          "[unit][wire][frames]") {
    const auto lim = limits();
    const auto head_text = musehub::wire::v2::IdText::format(some_digest());

    SECTION("not a map") {
        auto b = craft([](auto& p) { p.pack_array(0); });
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_header(b, lim); }),
                   Catch::Contains("map"));
        require_error(errc::corrupt, [&] { decode_end(b, lim); });
        require_error(errc::corrupt, [&] { decode_progress(b, lim); });
        require_error(errc::corrupt, [&] { decode_error(b, lim); });
    }
    SECTION("empty or cut payloads") {
        require_error(errc::truncated, [&] { decode_end({}, lim); });
        auto b = encode_progress({"phase", 1, 2});
        require_error(errc::truncated,
                      [&] { decode_progress(BytesView(b).first(b.size() - 1), lim); });
        b.push_back(std::byte{0xc0});
        require_error(errc::corrupt, [&] { decode_progress(b, lim); });
    }
    SECTION("missing required keys are named") {
        for (std::string_view key : {"repo", "branch", "objects", "commits"}) {
            INFO(key);
            auto b = craft([&](auto& p) {
                p.pack_map(3);
                if (key != "repo")
                    musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, "r");
                if (key != "branch")
                    musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, "b");
                if (key != "objects")
                    musehub::detail::pack_str(p, "objects"), p.pack_uint64(1);
                if (key != "commits")
                    musehub::detail::pack_str(p, "commits"), p.pack_uint64(1);
            });
            auto msg = require_error(errc::corrupt, [&] { decode_header(b, lim); });
            CHECK_THAT(msg, Catch::Contains("'" + std::string(key) + "'"));
        }
        auto only_objects = craft([](auto& p) {
            p.pack_map(1);
            musehub::detail::pack_str(p, "objects");
            p.pack_uint64(1);
        });
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_end(only_objects, lim); }),
                   Catch::Contains("'commits'"));
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_progress(only_objects, lim); }),
                   Catch::Contains("'phase'"));
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_error(only_objects, lim); }),
                   Catch::Contains("'code'"));
    }
    SECTION("wrong types are named") {
        auto bad_force = craft([&](auto& p) {
            p.pack_map(5);
            musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, "r");
            musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, "b");
            musehub::detail::pack_str(p, "force"), p.pack_uint64(1);
            musehub::detail::pack_str(p, "objects"), p.pack_uint64(1);
            musehub::detail::pack_str(p, "commits"), p.pack_uint64(1);
        });
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_header(bad_force, lim); }),
                   Catch::Contains("force"));
        auto negative = craft([](auto& p) {
            p.pack_map(3);
            musehub::detail::pack_str(p, "phase"), musehub::detail::pack_str(p, "x");
            musehub::detail::pack_str(p, "done"), p.pack_int64(-1);
            musehub::detail::pack_str(p, "total"), p.pack_uint64(1);
        });
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_progress(negative, lim); }),
                   Catch::Contains("done"));
        auto bin_code = craft([](auto& p) {
            p.pack_map(2);
            musehub::detail::pack_str(p, "code");
            musehub::detail::pack_bin(p, musehub::as_bytes("corrupt"));
            musehub::detail::pack_str(p, "message"), musehub::detail::pack_str(p, "m");
        });
        CHECK_THAT(require_error(errc::corrupt, [&] { decode_error(bin_code, lim); }),
                   Catch::Contains("code"));
    }
    SECTION("expected_head must be a v2 id") {
        auto with_head = [&](std::string_view text) {
            return craft([&](auto& p) {
                p.pack_map(5);
                musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, "r");
                musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, "b");
                musehub::detail::pack_str(p, "expected_head"), musehub::detail::pack_str(p, text);
                musehub::detail::pack_str(p, "objects"), p.pack_uint64(0);
                musehub::detail::pack_str(p, "commits"), p.pack_uint64(0);
            });
        };
        auto ok = decode_header(with_head(head_text), lim);
        REQUIRE(ok.expected_head);
        CHECK(*ok.expected_head == some_digest());
        CHECK_FALSE(ok.force); // absent force is false

        for (auto bad : {some_digest().hex(), std::string("sha256:") + std::string(64, 'A'),
                         head_text.substr(0, 70), std::string("")}) {
            INFO(bad);
            auto msg = require_error(errc::invalid_id, [&] { decode_header(with_head(bad), lim); });
            CHECK_THAT(msg, Catch::Contains("expected_head"));
        }
        auto int_head = craft([](auto& p) {
            p.pack_map(5);
            musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, "r");
            musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, "b");
            musehub::detail::pack_str(p, "expected_head"), p.pack_uint64(7);
            musehub::detail::pack_str(p, "objects"), p.pack_uint64(0);
            musehub::detail::pack_str(p, "commits"), p.pack_uint64(0);
        });
        require_error(errc::corrupt, [&] { decode_header(int_head, lim); });
    }
    SECTION("unknown keys are ignored, nil optional keys are absent") {
        auto b = craft([](auto& p) {
            p.pack_map(7);
            musehub::detail::pack_str(p, "repo"), musehub::detail::pack_str(p, "r");
            musehub::detail::pack_str(p, "branch"), musehub::detail::pack_str(p, "b");
            musehub::detail::pack_str(p, "expected_head"), p.pack_nil();
            musehub::detail::pack_str(p, "force"), p.pack_nil();
            musehub::detail::pack_str(p, "objects"), p.pack_uint64(2);
            musehub::detail::pack_str(p, "commits"), p.pack_uint64(1);
            musehub::detail::pack_str(p, "from_the_future"), p.pack_array(0);
        });
        auto h = decode_header(b, lim);
        CHECK(h == Header{"r", "b", std::nullopt, false, 2, 1});
    }
    SECTION("declared commits over the limit are oversized") {
        auto small = lim;
        small.max_commits = 5;
        Header h{"r", "b", std::nullopt, false, 0, 6};
        CHECK_THAT(require_error(errc::oversized, [&] { decode_header(encode_header(h), small); }),
                   Catch::Contains("commits"));
        require_error(errc::oversized, [&] { decode_end(encode_end({0, 6}), small); });
        h.commits = 5;
        CHECK(decode_header(encode_header(h), small) == h);
    }
}
