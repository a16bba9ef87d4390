#pragma once
// What the v1 and v2 services' answers share: a msgpack body, branch heads in a wire's id
// spelling, and the branch a client checks out by default.

#include "musehub/core/model.hpp"
#include "musehub/detail/msgpack.hpp"
#include "musehub/http/message.hpp"

#include <string>
#include <vector>

namespace musehub::http::detail {

using Packer = musehub::detail::Packer;

// A msgpack answer: write(p) packs its body.
template <class F>
Response msgpack_answer(F&& write) {
    Response out;
    musehub::detail::ByteSink sink{out.body};
    Packer p(sink);
    write(p);
    return out;
}

// {branch: head}, each head spelled by IdText.
template <class IdText>
void pack_heads(Packer& p, const std::vector<Branch>& heads) {
    p.pack_map(static_cast<std::uint32_t>(heads.size()));
    for (const auto& b : heads) {
        musehub::detail::pack_str(p, b.name);
        musehub::detail::pack_str(p, IdText::format(b.head.digest));
    }
}

// "main" when the repo has it, else its first branch, else "main".
inline std::string default_branch(const std::vector<Branch>& heads) {
    for (const auto& b : heads)
        if (b.name == "main")
            return b.name;
    return heads.empty() ? "main" : heads.front().name;
}

} // namespace musehub::http::detail
