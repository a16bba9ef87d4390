// Stream push scenarios (wire v2 frames), for every backend; the hub's own wire policy does
// not matter to the stream, which always carries v2 packs.
#include "hub_setups.hpp"

#include "common/catch_printing.hpp"

#include <thread>

using namespace musehub;
using namespace contract;
namespace frames = musehub::wire::frames;

namespace {
struct Response {
    std::vector<frames::Progress> progress;
    std::optional<frames::Result> result;
    std::optional<frames::Failure> error;
    std::size_t after_end = 0; // frames after R or X: must stay 0
};

Response parse(const Bytes& bytes) {
    Response r;
    frames::FrameReader reader(1u << 30);
    reader.feed(bytes);
    while (auto f = reader.next()) {
        if (r.result || r.error)
            ++r.after_end;
        switch (f->type) {
        case frames::FrameType::progress:
            r.progress.push_back(frames::decode_progress(f->payload, {}));
            break;
        case frames::FrameType::result:
            r.result = frames::decode_result(f->payload, {});
            break;
        case frames::FrameType::error:
            r.error = frames::decode_error(f->payload, {});
            break;
        default:
            FAIL("unexpected frame from the hub");
        }
    }
    reader.finish();
    return r;
}

// A history split the way a stream client sends it: object batches, then commits.
struct Split {
    std::vector<Pack> batches;
    Pack history;
    std::size_t objects = 0;
};
Split split(const Pack& full, std::size_t per_batch) {
    Split s;
    s.history.commits = full.commits;
    s.history.snapshots = full.snapshots;
    for (std::size_t i = 0; i < full.objects.size(); i += per_batch) {
        Pack b;
        for (std::size_t k = i; k < std::min(full.objects.size(), i + per_batch); ++k)
            b.add_object(full.objects[k].stored);
        s.objects += b.objects.size();
        s.batches.push_back(std::move(b));
    }
    return s;
}

Client history(int n) {
    Client c;
    for (int i = 0; i < n; ++i) {
        c.write("file" + std::to_string(i) + ".txt", std::string(100 + i, 'x') + std::to_string(i));
        c.write("README.md", "v" + std::to_string(i));
        c.commit("c" + std::to_string(i));
    }
    return c;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("STREAM stream push scenarios", "[contract][stream]", Setups) {
    TestType s;
    auto c = history(6);
    auto sp = split(c.pack(c.head()), 3);
    frames::Header header{"r", "main", std::nullopt, false, sp.objects, sp.history.commits.size()};
    Bytes out;
    auto session =
        s.hub.stream_push([&](BytesView f) { out.insert(out.end(), f.begin(), f.end()); });

    SECTION("STREAM-1 objects batch by batch, then commits, then the branch moves; progress all "
            "along") {
        auto request = algo::stream_push_request(header, sp.batches, sp.history);
        session.feed(request);
        REQUIRE(session.done());
        auto r = parse(out);
        REQUIRE(r.result);
        CHECK_FALSE(r.error);
        CHECK(r.after_end == 0);
        CHECK(r.result->head == c.head().digest);
        CHECK(r.result->outcome == "created");
        CHECK(r.result->objects_new == sp.objects);
        CHECK(r.progress.size() >= sp.batches.size() + 2);
        CHECK(s.clone("r", "main") == expected_tree(c, c.head()));
        CHECK(s.hub.fsck().ok());
    }
    SECTION("STREAM-2 fed one byte at a time") {
        auto request = algo::stream_push_request(header, sp.batches, sp.history);
        for (std::size_t i = 0; i < request.size(); ++i)
            session.feed(BytesView(request).subspan(i, 1));
        auto r = parse(out);
        REQUIRE(r.result);
        CHECK(s.hub.branch_head("r", "main") == c.head());
    }
    SECTION("STREAM-3 counts that do not match the header are refused, the branch does not move") {
        auto wrong = header;
        wrong.objects += 1;
        session.feed(algo::stream_push_request(wrong, sp.batches, sp.history));
        auto r = parse(out);
        REQUIRE(r.error);
        CHECK(r.error->code == "corrupt");
        CHECK_THAT(r.error->message, Catch::Contains("objects"));
        CHECK_FALSE(s.hub.branch_head("r", "main"));
    }
    SECTION("STREAM-4 a stream that ends before 'E' is refused as truncated") {
        auto request = algo::stream_push_request(header, sp.batches, sp.history);
        request.resize(request.size() - 30);
        session.feed(request);
        session.finish();
        auto r = parse(out);
        REQUIRE(r.error);
        CHECK(r.error->code == "truncated");
        CHECK_FALSE(s.hub.branch_head("r", "main"));
    }
    SECTION("STREAM-5 an expected head that is not the branch's head is a conflict") {
        auto expecting = header;
        expecting.expected_head = sha256("somewhere else");
        session.feed(algo::stream_push_request(expecting, sp.batches, sp.history));
        auto r = parse(out);
        REQUIRE(r.error);
        CHECK(r.error->code == "conflict");
    }
    SECTION("STREAM-6 a corrupt object batch ends the stream with an error naming it") {
        auto request = algo::stream_push_request(header, sp.batches, sp.history);
        request[40] ^= std::byte{0xff}; // inside the first 'O' frame's payload: its checksum fails
        session.feed(request);
        auto r = parse(out);
        REQUIRE(r.error);
        CHECK(r.error->code == "corrupt");
        CHECK(r.after_end == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("STREAM-7 a heartbeat keeps coming while the client is slow",
                        "[contract][stream]", Setups) {
    TestType s;
    HubOptions o = s.hub.options();
    o.heartbeat = std::chrono::milliseconds(40);
    typename TestType::Hub hub{s.hub.wire(), s.backend.store(), s.backend.catalog(),
                               s.backend.queue(), o};
    auto c = history(2);
    auto sp = split(c.pack(c.head()), 10);
    frames::Header header{"r", "main", std::nullopt, false, sp.objects, sp.history.commits.size()};
    std::mutex m;
    Bytes out;
    auto session = hub.stream_push([&](BytesView f) {
        std::lock_guard lock(m);
        out.insert(out.end(), f.begin(), f.end());
    });
    auto request = algo::stream_push_request(header, sp.batches, sp.history);
    auto header_frame = frames::overhead_bytes + frames::encode_header(header).size();
    session.feed(
        BytesView(request).first(header_frame)); // the whole header, then the client stalls
    // While the client stalls, nothing but heartbeats can follow the header step's progress
    // frame. Wait for three of them, however slow the machine (a sanitizer build), rather than
    // counting what a fixed sleep yields; a hub that sends none fails at the deadline.
    auto progress_frames = [&] {
        std::lock_guard lock(m);
        return parse(out).progress.size();
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (progress_frames() < 1 + 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto while_stalled = progress_frames();
    INFO("progress frames while the client stalled: " << while_stalled);
    CHECK(while_stalled >= 1 + 3);
    session.feed(BytesView(request).subspan(header_frame));
    std::lock_guard lock(m);
    auto r = parse(out);
    REQUIRE(r.result);
    CHECK(r.after_end == 0);
    CHECK(r.progress.size() > while_stalled); // the remaining steps report too
}
