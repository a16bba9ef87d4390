#pragma once
// The messages a client and a hub exchange, independent of how a wire policy spells them.

#include "musehub/core/model.hpp"

#include <string>
#include <vector>

namespace musehub {

// "Make `branch` point at the head this pack brings." The head is the pack's
// `branch_heads[branch]` when present, otherwise the newest commit of the pack.
struct PushRequest {
    Pack pack;
    std::string branch;
    bool force = false;
    // Set by decoders whose message wraps a standalone encoded pack (v2): where it lies in the
    // message, so a hub can store exactly the pack. Empty when the message is the pack (v1).
    BytesView encoded_pack{};
};

// "Send me what I need to have `want`; I already have `have` and their ancestors."
struct FetchRequest {
    std::vector<CommitId> want;
    std::vector<CommitId> have;
    friend bool operator==(const FetchRequest&, const FetchRequest&) = default;
};

} // namespace musehub
