#pragma once
// Stream push (frames of wire v2 packs, over a hub of any wire): a push that arrives as frames, so
// objects are stored batch by batch while the client is still sending, and the client hears
// progress while the hub works.
//
//   client -> H header (repo, branch, expected head, force, declared counts)
//             O object batch (a v2 pack of objects), any number: each verified, stored and
//               registered in its own short transactions as it arrives
//             C commit pack (commits and snapshots), any number
//             E end (counts, checked against what arrived and what H declared)
//   hub    -> P progress after each step, and as a heartbeat at least every
//               HubOptions::heartbeat while work continues
//             then exactly one R result or X error
//
// The branch moves only after E and every check (check_history and write_history, as for a
// pack push). A failed stream leaves stored objects as garbage for GC, never a moved branch.

#include "musehub/algo/concept.hpp"
#include "musehub/algo/push.hpp"
#include "musehub/algo/read.hpp"
#include "musehub/wire/concept.hpp"
#include "musehub/wire/frames.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace musehub::algo {

// The constructor, not the class, is constrained on the hub: Hub names StreamPush<Hub> in
// its own definition, where Hub is not yet complete enough to be checked. `W` is the wire
// of the 'O' and 'C' payloads (wire/frames.hpp), stored as its containers; it must frame
// (FramingWire, wire/concept.hpp).
template <class H, FramingWire W = wire::frames::payload_wire>
class StreamPush {
public:
    // Receives each response frame, already framed; called from feed()/finish() and from the
    // heartbeat thread, never concurrently.
    using Emit = std::function<void(BytesView frame)>;

    StreamPush(H& hub, Emit emit) requires AlgorithmHub<H>
        : hub_(hub),
          emit_(std::move(emit)),
          reader_(static_cast<std::uint32_t>(
              std::min<std::uint64_t>(hub.options().limits.max_pack_bytes, UINT32_MAX))) {}
    StreamPush(const StreamPush&) = delete;
    StreamPush& operator=(const StreamPush&) = delete;
    ~StreamPush() { stop_heartbeat(); }

    // The repo the stream must name in its 'H' frame (a server that routes by URL sets it).
    void expect_repo(std::string repo) { expected_repo_ = std::move(repo); }

    // Feeds request bytes as they arrive. Errors never escape: they end the stream with an X frame.
    void feed(BytesView chunk) {
        if (done_)
            return;
        guard([&] {
            reader_.feed(chunk);
            while (auto f = reader_.next()) {
                handle(*f);
                if (done_)
                    return;
            }
        });
    }

    // The request stream ended. Without an E frame the push is refused (truncated).
    void finish() {
        if (done_)
            return;
        guard([&] {
            reader_.finish();
            fail(errc::truncated, "stream push ended before its 'E' frame");
        });
    }

    bool done() const { return done_; }
    const std::optional<PushResult>& result() const { return result_; }

private:
    template <class Fn>
    void guard(Fn&& fn) {
        try {
            fn();
        } catch (const error& e) {
            end_with_error(std::string(to_string(e.code())), e.what());
        } catch (const std::exception& e) {
            end_with_error(std::string(to_string(errc::io)), e.what());
        }
    }

    void handle(const wire::frames::Frame& f) {
        using wire::frames::FrameType;
        const auto& limits = hub_.options().limits;
        if (!header_ && f.type != FrameType::header)
            fail(errc::corrupt, "stream push must start with an 'H' frame");
        switch (f.type) {
        case FrameType::header: {
            if (header_)
                fail(errc::corrupt, "stream push has a second 'H' frame");
            header_ = wire::frames::decode_header(f.payload, limits);
            detail::validate_name("repo", header_->repo);
            detail::validate_name("branch", header_->branch);
            if (expected_repo_ && *expected_repo_ != header_->repo)
                fail(errc::invalid_argument, "stream push names repo '" + header_->repo +
                                                 "' but was sent to '" + *expected_repo_ + "'");
            start_heartbeat();
            progress("header", 0, header_->objects);
            return;
        }
        case FrameType::objects: {
            if (commits_seen_)
                fail(errc::corrupt, "'O' frame after a 'C' frame");
            auto batch = codec_.decode_pack(f.payload, limits);
            if (!batch.commits.empty() || !batch.snapshots.empty())
                fail(errc::corrupt, "an 'O' frame carries commits or snapshots");
            objects_ += batch.objects.size();
            if (objects_ > header_->objects)
                fail(errc::corrupt, "stream push sent more objects than its header declared (" +
                                        std::to_string(header_->objects) + ")");
            verify_objects(batch, limits, repo_bases(hub_, header_->repo));
            // The payload is gone after this frame: store it now, as its own container.
            auto stored =
                store_objects(hub_, header_->repo, batch, f.payload, W::container_format, times_);
            objects_new_ += stored.fresh;
            progress("objects", objects_, header_->objects);
            return;
        }
        case FrameType::commits: {
            auto part = codec_.decode_pack(f.payload, limits);
            if (!part.objects.empty())
                fail(errc::corrupt, "a 'C' frame carries objects");
            commits_seen_ = true;
            for (auto& c : part.commits)
                history_.commits.push_back(std::move(c));
            for (auto& s : part.snapshots)
                history_.snapshots.push_back(std::move(s));
            for (auto& [b, h] : part.branch_heads)
                history_.branch_heads.insert_or_assign(b, h);
            if (history_.commits.size() > limits.max_commits)
                fail(errc::oversized, "stream push carries more than " +
                                          std::to_string(limits.max_commits) + " commits");
            progress("commits", history_.commits.size(), header_->commits);
            return;
        }
        case FrameType::end: {
            auto end = wire::frames::decode_end(f.payload, limits);
            if (end.objects != objects_ || end.objects != header_->objects)
                fail(errc::corrupt, "stream push declared " + std::to_string(header_->objects) +
                                        " objects and ended with " + std::to_string(end.objects) +
                                        ", but " + std::to_string(objects_) + " arrived");
            if (end.commits != history_.commits.size() || end.commits != header_->commits)
                fail(errc::corrupt, "stream push declared " + std::to_string(header_->commits) +
                                        " commits and ended with " + std::to_string(end.commits) +
                                        ", but " + std::to_string(history_.commits.size()) +
                                        " arrived");
            complete();
            return;
        }
        default:
            fail(errc::corrupt, "a client may not send frame type '" +
                                    std::string(1, static_cast<char>(f.type)) + "'");
        }
    }

    void complete() {
        const auto& h = *header_;
        verify_history(history_);
        if (h.expected_head) {
            auto now_at = branch_head(hub_, h.repo, h.branch);
            if (!now_at || now_at->digest != *h.expected_head)
                fail(errc::conflict, "branch '" + h.branch + "' is at " +
                                         (now_at ? now_at->hex() : std::string("nothing")) +
                                         ", not the expected " + h.expected_head->hex());
        }
        progress("registering", history_.commits.size(), history_.commits.size());
        auto r = register_history(hub_, h.repo, history_, h.branch, h.force, times_);
        r.stored.fresh = objects_new_;
        r.stored.objects = objects_;
        wire::frames::Result out{r.head.digest,
                                 r.previous ? std::optional<Digest>(r.previous->digest)
                                            : std::nullopt,
                                 std::string(to_string(r.outcome)),
                                 r.commits_new,
                                 r.snapshots_new,
                                 objects_new_};
        result_ = std::move(r);
        stop_heartbeat(); // first, so no progress frame can follow the result
        send(wire::frames::FrameType::result, wire::frames::encode_result(out));
        done_ = true;
    }

    void end_with_error(std::string code, std::string message) {
        stop_heartbeat();
        send(wire::frames::FrameType::error,
             wire::frames::encode_error({std::move(code), std::move(message)}));
        done_ = true;
    }

    void progress(std::string phase, std::uint64_t done, std::uint64_t total) {
        {
            std::lock_guard lock(mutex_);
            last_ = {std::move(phase), done, total};
        }
        send(wire::frames::FrameType::progress, wire::frames::encode_progress(last_copy()));
    }
    wire::frames::Progress last_copy() {
        std::lock_guard lock(mutex_);
        return last_;
    }

    void send(wire::frames::FrameType type, const Bytes& payload) {
        auto bytes = wire::frames::frame(type, payload);
        std::lock_guard lock(emit_mutex_);
        emit_(bytes);
        last_sent_ = std::chrono::steady_clock::now();
    }

    // A thread that repeats the last progress whenever nothing was sent for a heartbeat period.
    void start_heartbeat() {
        auto period = hub_.options().heartbeat;
        last_sent_ = std::chrono::steady_clock::now();
        heartbeat_ = std::thread([this, period] {
            std::unique_lock lock(stop_mutex_);
            while (!stopping_) {
                if (stop_cv_.wait_for(lock, period / 2, [this] { return stopping_; }))
                    return;
                bool quiet;
                {
                    std::lock_guard e(emit_mutex_);
                    quiet = std::chrono::steady_clock::now() - last_sent_ >= period / 2;
                }
                if (quiet)
                    send(wire::frames::FrameType::progress,
                         wire::frames::encode_progress(last_copy()));
            }
        });
    }
    void stop_heartbeat() {
        {
            std::lock_guard lock(stop_mutex_);
            stopping_ = true;
        }
        stop_cv_.notify_all();
        if (heartbeat_.joinable() && heartbeat_.get_id() != std::this_thread::get_id())
            heartbeat_.join();
    }

    H& hub_;
    Emit emit_;
    wire::frames::FrameReader reader_;
    const W codec_{};
    std::optional<wire::frames::Header> header_;
    Pack history_;
    std::uint64_t objects_ = 0, objects_new_ = 0;
    bool commits_seen_ = false;
    bool done_ = false;
    std::optional<std::string> expected_repo_;
    std::optional<PushResult> result_;
    PhaseTimes times_;

    std::mutex mutex_; // last_
    wire::frames::Progress last_;
    std::mutex emit_mutex_; // emit_, last_sent_
    std::chrono::steady_clock::time_point last_sent_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread heartbeat_;
};

// The client side: the request bytes of a stream push, its packs encoded by `codec`.
template <FramingWire W = wire::frames::payload_wire>
Bytes stream_push_request(const wire::frames::Header& header, std::span<const Pack> object_batches,
                          const Pack& history, const W& codec = {}) {
    Bytes out;
    wire::frames::append_frame(out, wire::frames::FrameType::header,
                               wire::frames::encode_header(header));
    std::uint64_t objects = 0;
    for (const auto& b : object_batches) {
        objects += b.objects.size();
        wire::frames::append_frame(out, wire::frames::FrameType::objects, codec.encode_pack(b));
    }
    wire::frames::append_frame(out, wire::frames::FrameType::commits, codec.encode_pack(history));
    wire::frames::append_frame(out, wire::frames::FrameType::end,
                               wire::frames::encode_end({objects, history.commits.size()}));
    return out;
}

} // namespace musehub::algo
