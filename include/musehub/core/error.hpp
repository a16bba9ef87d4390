#pragma once
// One error type for the whole library: a code a program can switch on, and a message that
// names what was wrong (which id, which field, which limit) for the human reading the log.

#include <stdexcept>
#include <string>
#include <string_view>

namespace musehub {

enum class errc {
    invalid_argument, // a caller passed something meaningless (empty repo name, zero limit…)
    invalid_id,       // text that is not a well-formed id for the wire policy in use
    truncated,        // input ended before a declared length or count was satisfied
    corrupt,          // structurally wrong input: bad magic, bad type, checksum mismatch
    oversized,        // a configured limit was exceeded (checked before allocating)
    hash_mismatch,    // bytes whose SHA-256 is not the id they were declared under
    bad_snapshot_id,  // a snapshot whose manifest does not hash to its id
    bad_commit_id,    // a commit whose fields do not hash to its id
    bad_path,         // absolute, `..`, empty segment, NUL or over-long manifest path
    bad_signature,    // a commit signature that does not verify
    unknown_parent,   // a commit whose parent is neither in the push nor on the hub
    missing_object,   // closure violated: a snapshot names an object the hub cannot serve
    not_found,        // a key, row, repo or branch that does not exist
    conflict,         // a compare-and-swap lost, or a concurrent writer got there first
    non_fast_forward, // a branch update that is not a descendant, without force
    unsupported,      // a version, encoding or capability this build does not speak
    io,               // the store, catalog or queue failed underneath us
};

constexpr std::string_view to_string(errc c) noexcept {
    switch (c) {
    case errc::invalid_argument:
        return "invalid_argument";
    case errc::invalid_id:
        return "invalid_id";
    case errc::truncated:
        return "truncated";
    case errc::corrupt:
        return "corrupt";
    case errc::oversized:
        return "oversized";
    case errc::hash_mismatch:
        return "hash_mismatch";
    case errc::bad_snapshot_id:
        return "bad_snapshot_id";
    case errc::bad_commit_id:
        return "bad_commit_id";
    case errc::bad_path:
        return "bad_path";
    case errc::bad_signature:
        return "bad_signature";
    case errc::unknown_parent:
        return "unknown_parent";
    case errc::missing_object:
        return "missing_object";
    case errc::not_found:
        return "not_found";
    case errc::conflict:
        return "conflict";
    case errc::non_fast_forward:
        return "non_fast_forward";
    case errc::unsupported:
        return "unsupported";
    case errc::io:
        return "io";
    }
    return "unknown";
}

class error : public std::runtime_error {
public:
    error(errc code, const std::string& message)
        : std::runtime_error(std::string(to_string(code)) + ": " + message), code_(code) {}
    errc code() const noexcept { return code_; }

private:
    errc code_;
};

[[noreturn]] inline void fail(errc code, const std::string& message) {
    throw error(code, message);
}

} // namespace musehub
