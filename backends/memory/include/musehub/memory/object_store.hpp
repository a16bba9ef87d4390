#pragma once
// In-memory ObjectStore: the reference semantics. Values are immutable shared buffers, so a
// put publishes a complete object in one map assignment (atomic visibility) and readers copy
// out under a shared lock.

#include "musehub/store/concept.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace musehub::memory {

class ObjectStore {
public:
    void put(std::string_view key, BytesView data) {
        auto value = std::make_shared<const Bytes>(data.begin(), data.end());
        std::unique_lock lock(mutex_);
        objects_.insert_or_assign(std::string(key), std::move(value));
    }

    bool put_if_absent(std::string_view key, BytesView data) {
        auto value = std::make_shared<const Bytes>(data.begin(), data.end());
        std::unique_lock lock(mutex_);
        return objects_.try_emplace(std::string(key), std::move(value)).second;
    }

    std::optional<Bytes> get(std::string_view key) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        return *v;
    }

    std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset,
                                   std::uint64_t length) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        auto begin = std::min<std::uint64_t>(offset, v->size());
        auto end = begin + std::min<std::uint64_t>(length, v->size() - begin);
        return Bytes(v->begin() + static_cast<std::ptrdiff_t>(begin),
                     v->begin() + static_cast<std::ptrdiff_t>(end));
    }

    std::optional<std::uint64_t> size(std::string_view key) const {
        auto v = find(key);
        if (!v)
            return std::nullopt;
        return v->size();
    }

    void remove(std::string_view key) {
        std::unique_lock lock(mutex_);
        if (auto it = objects_.find(key); it != objects_.end())
            objects_.erase(it);
    }

    std::vector<std::string> list(std::string_view prefix) const {
        std::shared_lock lock(mutex_);
        std::vector<std::string> keys;
        for (auto it = objects_.lower_bound(prefix);
             it != objects_.end() && it->first.starts_with(prefix); ++it)
            keys.push_back(it->first);
        return keys;
    }

private:
    std::shared_ptr<const Bytes> find(std::string_view key) const {
        std::shared_lock lock(mutex_);
        auto it = objects_.find(key);
        return it == objects_.end() ? nullptr : it->second;
    }

    mutable std::shared_mutex mutex_;
    std::map<std::string, std::shared_ptr<const Bytes>, std::less<>> objects_;
};

static_assert(musehub::ObjectStore<ObjectStore>);

} // namespace musehub::memory
