#pragma once
// Byte vocabulary: owned buffers and non-owning views. Object content travels as views into
// the buffer it arrived in (zero copy) until something has to own it.

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace musehub {

using Bytes = std::vector<std::byte>;
using BytesView = std::span<const std::byte>;

inline BytesView as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(BytesView b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) {
    auto v = as_bytes(s);
    return {v.begin(), v.end()};
}
inline Bytes to_bytes(BytesView v) {
    return {v.begin(), v.end()};
}

inline bool equal_bytes(BytesView a, BytesView b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

} // namespace musehub
