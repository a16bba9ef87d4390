#pragma once
// Answers made while they are sent, over cpp-httplib: a producer thread runs the service's
// stream function and hands its pieces to httplib's chunked writer through a small queue.
//
//   send_streamed  a fetch: the status is decided once the first piece exists, so a producer
//                  that fails before it (a refused request) still gets its 4xx; one that fails
//                  after cuts the chunked answer short, which the client sees
//   BodyQueue      a stream push: the handler thread reads the request body and queues it for
//                  the producer (bounded: a slow hub slows the client), then the answer's
//                  frames follow as the producer makes them — so the work that follows the
//                  last frame of the request (registering the history) reports progress and
//                  heartbeats live

#include <musehub/core/error.hpp>
#include <musehub/http/message.hpp>

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace musehub::tool {

// Bytes of streamed answers written, and of streamed requests read, by this thread (the access
// log's "out" and "in" for them).
inline thread_local std::size_t streamed_out = 0;
inline thread_local std::size_t streamed_in = 0;

inline void set_body(httplib::Response& res, const http::Response& out) {
    res.status = out.status;
    res.set_content(reinterpret_cast<const char*>(out.body.data()), out.body.size(),
                    out.content_type.c_str());
}

// A producer thread and the pieces it made that the writer has not sent yet.
class Producer {
public:
    // `bound`: pieces waiting at most (the producer blocks beyond it); 0: no bound (an answer
    // of small frames, which must never block the producer while the client is still sending).
    Producer(std::function<void(const std::function<void(BytesView)>&)> stream, std::size_t bound)
        : state_(std::make_shared<State>()) {
        state_->bound = bound;
        thread_ = std::make_shared<std::thread>([state = state_, stream = std::move(stream)] {
            try {
                stream([&](BytesView piece) {
                    std::unique_lock lock(state->m);
                    state->cv.wait(lock, [&] {
                        return state->bound == 0 || state->pieces.size() < state->bound ||
                               state->cancelled;
                    });
                    if (state->cancelled)
                        throw std::runtime_error("the client went away");
                    state->pieces.emplace_back(reinterpret_cast<const char*>(piece.data()),
                                               piece.size());
                    state->cv.notify_all();
                });
            } catch (...) {
                std::lock_guard lock(state->m);
                state->error = std::current_exception();
            }
            std::lock_guard lock(state->m);
            state->done = true;
            state->cv.notify_all();
        });
    }

    // Waits for the first piece or the end. True when a piece is there to send; false when the
    // producer ended without one (joined; error() says whether it failed).
    bool first_piece() {
        std::unique_lock lock(state_->m);
        state_->cv.wait(lock, [&] { return !state_->pieces.empty() || state_->done; });
        if (!state_->pieces.empty())
            return true;
        lock.unlock();
        thread_->join();
        return false;
    }
    std::exception_ptr error() const { return state_->error; }

    // Hands the rest to httplib: chunked, each piece as it comes; the producer is joined once
    // the answer is sent or the client is gone (then the producer's next piece fails).
    void send_chunked(httplib::Response& res, const std::string& content_type) {
        res.set_chunked_content_provider(
            content_type,
            [state = state_](std::size_t, httplib::DataSink& sink) {
                std::unique_lock lock(state->m);
                state->cv.wait(lock, [&] { return !state->pieces.empty() || state->done; });
                if (!state->pieces.empty()) {
                    auto piece = std::move(state->pieces.front());
                    state->pieces.pop_front();
                    state->cv.notify_all();
                    lock.unlock();
                    streamed_out += piece.size();
                    return sink.write(piece.data(), piece.size());
                }
                if (state->error)
                    return false; // cut short: the answer is incomplete, and the client sees it
                sink.done();
                return true;
            },
            [state = state_, thread = thread_](bool) {
                {
                    std::lock_guard lock(state->m);
                    state->cancelled = true;
                    state->cv.notify_all();
                }
                thread->join();
            });
    }

private:
    struct State {
        std::mutex m;
        std::condition_variable cv;
        std::deque<std::string> pieces;
        std::size_t bound = 0;
        bool done = false, cancelled = false;
        std::exception_ptr error;
    };
    std::shared_ptr<State> state_;
    std::shared_ptr<std::thread> thread_;
};

// A fetch-like answer: four pieces in flight at most (~1 MiB each).
inline void send_streamed(httplib::Response& res, const http::Response& out) {
    Producer producer(out.stream, 4);
    if (producer.first_piece()) {
        res.status = out.status;
        return producer.send_chunked(res, out.content_type);
    }
    if (!producer.error())
        return set_body(res, http::Response{out.status, out.content_type, {}, {}});
    try {
        std::rethrow_exception(producer.error());
    } catch (const error& e) {
        set_body(res, http::error_response(http::status_of(e.code()), e.what()));
    } catch (const std::exception& e) {
        set_body(res, http::error_response(500, e.what()));
    }
}

// Request pieces from the handler thread (httplib's content reader) to a producer.
class BodyQueue {
public:
    explicit BodyQueue(std::size_t max_bytes = std::size_t{8} << 20) : max_bytes_(max_bytes) {}

    // Blocks while `max_bytes` are queued; false once the consumer has stopped.
    bool push(const char* data, std::size_t n) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return bytes_ < max_bytes_ || stopped_; });
        if (stopped_)
            return false;
        pieces_.emplace_back(data, n);
        bytes_ += n;
        cv_.notify_all();
        return true;
    }
    void close() {
        std::lock_guard lock(m_);
        closed_ = true;
        cv_.notify_all();
    }
    // The next piece; nullopt at the end of the body.
    std::optional<std::string> pop() {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return !pieces_.empty() || closed_; });
        if (pieces_.empty())
            return std::nullopt;
        auto piece = std::move(pieces_.front());
        pieces_.pop_front();
        bytes_ -= piece.size();
        cv_.notify_all();
        return piece;
    }
    // The consumer gives up: pending and future pushes return false.
    void stop() {
        std::lock_guard lock(m_);
        stopped_ = true;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::string> pieces_;
    std::size_t bytes_ = 0, max_bytes_;
    bool closed_ = false, stopped_ = false;
};

} // namespace musehub::tool
