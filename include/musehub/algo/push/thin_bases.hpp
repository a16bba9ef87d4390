#pragma once
// The bases a thin pack's deltas build on, for verify (algo/verify.hpp): only objects the repo
// references, read and resolved from storage.

#include "musehub/algo/chains.hpp"
#include "musehub/algo/common.hpp"
#include "musehub/algo/concept.hpp"

#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace musehub::algo {

// The raw bytes of the bases a thin pack's deltas build on: objects `repo` references (a push
// never learns of, or builds on, what only other repos hold), read and resolved from storage.
template <AlgorithmHub H>
auto repo_bases(H& hub, const std::string& repo) {
    return [&hub, &repo](std::span<const ObjectId> ids) {
        auto refs = hub.catalog().template contains<catalog::ObjectRefRow>(repo_keys(repo, ids));
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (!refs[i])
                fail(errc::missing_object,
                     "object " + ids[i].hex() + " is the base of a delta in the push, but repo '" +
                         repo + "' does not have it: send the base too, or the object whole");
        std::unordered_map<ObjectId, SharedBytes> got;
        read_resolved(hub.catalog(), hub.store(), ids, hub.options(),
                      [&](const ObjectId& id, BytesView raw) {
                          got.emplace(id, std::make_shared<const Bytes>(raw.begin(), raw.end()));
                      });
        std::vector<SharedBytes> out;
        for (const auto& id : ids)
            out.push_back(got.at(id));
        return out;
    };
}

} // namespace musehub::algo
