#pragma once
// The engines of one store, lent to calls: a call borrows an idle engine for its duration
// (making one if none is idle) and gives it back, so no curl handle is ever used by two threads
// at once, and the pool grows to the largest number of concurrent calls seen. Internal: not
// API.

#include "musehub/s3/detail/engine.hpp"

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace musehub::s3::detail {

// Idle engines; a call borrows one for its duration. Last returned, first lent: a thread
// calling again gets back the engine whose connections it just used.
class EnginePool {
public:
    explicit EnginePool(Config config) : config_(std::move(config)) {}

    class Lease {
    public:
        Lease(EnginePool& pool, std::unique_ptr<Engine> engine)
            : pool_(pool), engine_(std::move(engine)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool_.give_back(std::move(engine_)); }
        Engine& operator*() const noexcept { return *engine_; }
        Engine* operator->() const noexcept { return engine_.get(); }

    private:
        EnginePool& pool_;
        std::unique_ptr<Engine> engine_;
    };

    Lease lease() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto e = std::move(idle_.back());
                idle_.pop_back();
                return Lease(*this, std::move(e));
            }
        }
        return Lease(*this, std::make_unique<Engine>(config_));
    }

    const Config& config() const noexcept { return config_; }

private:
    void give_back(std::unique_ptr<Engine> e) noexcept {
        try {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(e));
        } catch (...) {
            // Could not keep it (out of memory): it is destroyed, its connections closed.
        }
    }

    Config config_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Engine>> idle_;
};

} // namespace musehub::s3::detail
