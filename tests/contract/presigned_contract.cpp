// Presigned push scenarios (docs/protocol.md "Presigned push"; docs/design.md push transport c
// and invariants 1, 2, 3, 7), for every backend whose store can presign (PresigningSetups) and
// both wire policies. The others run one case that prints why they skip.
#include "hub_setups.hpp"

#include "common/catch_printing.hpp"
#include "musehub/algo/presigned.hpp"

#include <set>

using namespace musehub;
using namespace contract;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// What a client does with a presigned URL: a PUT sends the headers that came with the URL. A
// fixture that reaches its store over HTTP (S3) provides put_presigned / get_presigned itself;
// the memory store answers them directly (its URLs carry everything, so it gives no headers).
template <class S>
void upload(S& s, std::string_view url, const Headers& headers, std::string_view content) {
    if constexpr (requires { s.backend.put_presigned(url, headers, as_bytes(content)); }) {
        s.backend.put_presigned(url, headers, as_bytes(content));
    } else {
        REQUIRE(headers.empty());
        s.backend.store().put_presigned(url, as_bytes(content));
    }
}
template <class S>
void upload(S& s, const algo::PresignedUpload& u, std::string_view content) {
    upload(s, u.url, u.headers, content);
}
template <class S>
std::optional<Bytes> download(S& s, std::string_view url) {
    if constexpr (requires { s.backend.get_presigned(url); })
        return s.backend.get_presigned(url);
    else
        return s.backend.store().get_presigned(url);
}
// Lets the store's URL expiry follow the test clock; false if the store's clock is not ours.
template <class S>
bool bind_store_clock(S& s) {
    if constexpr (requires { s.backend.store().set_clock(s.clock); }) {
        s.backend.store().set_clock(s.clock);
        return true;
    } else
        return false;
}

// The hub's state apart from pending-upload rows, the only rows presign writes.
HubState settled(HubState state) {
    std::get<std::vector<catalog::UploadRow>>(state.rows).clear();
    return state;
}

// The distinct objects of `c`'s tree at `commit`, as a client declares them to presign.
std::vector<algo::PresignItem> items_of(const Client& c, const CommitId& commit) {
    std::vector<algo::PresignItem> items;
    std::set<ObjectId> seen;
    for (const auto& [path, id] : c.tree_of(commit))
        if (seen.insert(id).second)
            items.push_back({id, c.content(id).size()});
    return items;
}
template <class S>
void upload_all(S& s, const Client& c, const algo::PresignResult& p) {
    for (const auto& u : p.uploads)
        upload(s, u, c.content(u.id));
}
std::vector<algo::ConfirmItem> confirms_of(const algo::PresignResult& p) {
    std::vector<algo::ConfirmItem> items;
    for (const auto& u : p.uploads)
        items.push_back({u.id, u.key});
    return items;
}
std::set<ObjectId> as_set(const std::vector<ObjectId>& ids) {
    return {ids.begin(), ids.end()};
}
template <class Fn>
std::string message_of(Fn&& fn) {
    try {
        fn();
    } catch (const musehub::error& e) {
        return e.what();
    }
    return "";
}
template <class Row>
const std::vector<Row>& rows(const HubState& state) {
    return std::get<std::vector<Row>>(state.rows);
}

// A tree with a large file (the reason to presign), a duplicate and an empty file.
Client large_history() {
    Client c;
    std::string big;
    for (int i = 0; big.size() < 300'000; ++i)
        big += "sample " + std::to_string(i) + "\n";
    c.write("audio/take1.wav", big);
    c.write("README.md", "# presigned\n");
    c.write("copy/README.md", "# presigned\n");
    c.write("empty.txt", "");
    c.commit("large files");
    return c;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("PRESIGN-1 presign, upload, confirm, then a push without objects",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto head = c.head();
    auto items = items_of(c, head);
    REQUIRE(items.size() == 3);

    auto before = s.state();
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
    CHECK(p.already_present.empty());
    REQUIRE(p.uploads.size() == 3);
    std::set<std::string> keys;
    for (const auto& u : p.uploads) {
        CHECK(u.key.starts_with(keys::fanned("objects", u.id.digest) + "-"));
        CHECK(u.url.find(u.key) != std::string::npos);
        keys.insert(u.key);
    }
    CHECK(keys.size() == 3);
    CHECK(settled(s.state()) == settled(before)); // presign writes only pending-upload rows
    CHECK(std::get<std::vector<catalog::UploadRow>>(s.state().rows).size() == 3);

    upload_all(s, c, p);
    CHECK(settled(s.state()).rows == settled(before).rows); // bytes, but not a row, before confirm
    auto confirms = confirms_of(p);
    auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(r.missing.empty());
    CHECK(r.rejected.empty());
    std::set<ObjectId> all;
    for (const auto& i : items)
        all.insert(i.id);
    CHECK(as_set(r.registered) == all);
    auto confirmed = s.state();
    for (const auto& row : rows<catalog::ContainerRow>(confirmed)) {
        CHECK(row.format == catalog::ContainerFormat::loose);
        CHECK(row.objects == 1);
        CHECK(keys.count(row.container) == 1);
    }
    CHECK(rows<catalog::ContainerRow>(confirmed).size() == 3);
    CHECK(rows<catalog::LocationRow>(confirmed).size() == 3);
    CHECK(rows<catalog::ObjectRefRow>(confirmed).size() == 3);
    CHECK(rows<catalog::TombstoneRow>(confirmed).empty());

    // The push names the confirmed objects without carrying them.
    auto pushed = s.push("r", "main", c.pack(head, {}, /*with_objects=*/false));
    CHECK(pushed.outcome == algo::PushOutcome::created);
    CHECK(pushed.stored.container.empty());
    CHECK(s.hub.branch_head("r", "main") == head);
    CHECK(s.clone("r", "main") == expected_tree(c, head));
    auto f = s.hub.fsck();
    CHECK(f.ok());
    CHECK(f.objects_verified == 3);

    // Confirming again changes no object, location or container row.
    auto after = s.state();
    auto again = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(as_set(again.registered) == all);
    auto repeated = s.state();
    CHECK(rows<catalog::ContainerRow>(repeated) == rows<catalog::ContainerRow>(after));
    CHECK(rows<catalog::ObjectRow>(repeated) == rows<catalog::ObjectRow>(after));
    CHECK(rows<catalog::LocationRow>(repeated) == rows<catalog::LocationRow>(after));
    CHECK(repeated.bytes == after.bytes);

    // A presigned GET serves the bytes back; a retried identical PUT changes nothing, other
    // bytes are refused: verified bytes cannot be swapped through a still-valid URL.
    const auto& u = p.uploads[0];
    auto got = download(s, s.backend.store().presign_get(u.key, 60));
    REQUIRE(got);
    CHECK(as_chars(*got) == c.content(u.id));
    CHECK_NOTHROW(upload(s, u, c.content(u.id)));
    CHECK(code_of([&] { upload(s, u, "something else"); }) == errc::hash_mismatch);
    CHECK(code_of([&] { upload(s, u, c.content(u.id) + "x"); }) == errc::hash_mismatch);
    CHECK(code_of([&] { upload(s, u, ""); }) == errc::hash_mismatch);
    auto stored = s.backend.store().get(u.key);
    REQUIRE(stored);
    CHECK(as_chars(*stored) == c.content(u.id));
    CHECK(settled(s.state()) == settled(repeated));
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-2 confirm before upload reports missing and writes nothing",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto head = c.head();
    auto items = items_of(c, head);
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
    auto confirms = confirms_of(p);
    auto before = s.state();
    auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(r.registered.empty());
    CHECK(r.rejected.empty());
    CHECK(r.missing.size() == 3);
    CHECK(settled(s.state()) == settled(before));

    // Nor can a push name them yet.
    CHECK(code_of([&] { s.push("r", "main", c.pack(head, {}, false)); }) == errc::missing_object);
    CHECK(settled(s.state()) == settled(before));

    // Half uploaded: only what arrived is registered, the rest is reported missing.
    upload(s, p.uploads[0], c.content(p.uploads[0].id));
    auto half = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(half.registered == std::vector<ObjectId>{p.uploads[0].id});
    CHECK(half.missing.size() == 2);
    CHECK(rows<catalog::ObjectRow>(s.state()).size() == 1);
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-3 bytes that do not hash to their id are rejected and removed",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto head = c.head();
    auto items = items_of(c, head);
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
    auto before = s.state();
    const auto& victim = p.uploads[0];
    const auto tampered = c.content(victim.id) + "tampered";
    // The URL writes only the bytes it was made for: these are refused and nothing is stored.
    CHECK(code_of([&] { upload(s, victim, tampered); }) == errc::hash_mismatch);
    CHECK_FALSE(s.backend.store().size(victim.key));
    CHECK(settled(s.state()) == settled(before));
    // Confirm hashes what it reads all the same (invariant 3): bytes that reached the key
    // some other way, as through a store that did not check, are rejected and removed.
    s.backend.store().put(victim.key, as_bytes(tampered));
    std::vector<algo::ConfirmItem> one{{victim.id, victim.key}};
    auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(one));
    CHECK(r.registered.empty());
    CHECK(r.missing.empty());
    REQUIRE(r.rejected.size() == 1);
    CHECK(r.rejected[0].first == victim.id);
    CHECK_THAT(r.rejected[0].second, Catch::Contains("hash to"));
    CHECK_FALSE(s.backend.store().size(victim.key));
    CHECK(settled(s.state()) == settled(before)); // no rows, and the bad bytes are gone

    // The client may upload the right bytes to the same URL and confirm again.
    upload(s, victim, c.content(victim.id));
    auto retry = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(one));
    CHECK(retry.registered == std::vector<ObjectId>{victim.id});
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-4 objects the hub already has come back as already_present",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto first = c.head();
    s.push("r", "main", c.pack(first)); // an ordinary push with every object
    c.write("audio/take2.wav", std::string(200'000, 'z'));
    auto second = c.commit("another take");
    auto items = items_of(c, second);
    items.push_back(items.front()); // a duplicate gets one answer
    auto before = s.state();
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
    CHECK(settled(s.state()) == settled(before));
    std::set<ObjectId> old;
    for (const auto& i : items_of(c, first))
        old.insert(i.id);
    CHECK(as_set(p.already_present) == old);
    CHECK(p.already_present.size() == old.size());
    REQUIRE(p.uploads.size() == 1);
    CHECK(as_chars(as_bytes(c.content(p.uploads[0].id))) == std::string(200'000, 'z'));

    upload_all(s, c, p);
    auto confirms = confirms_of(p);
    auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(r.registered == std::vector<ObjectId>{p.uploads[0].id});
    auto pushed = s.push("r", "main", c.pack(second, {first}, false));
    CHECK(pushed.outcome == algo::PushOutcome::fast_forward);
    CHECK(s.clone("r", "main") == expected_tree(c, second));
    CHECK(s.hub.fsck().ok());

    // Another repo presigning the same objects is told the hub has them all.
    auto other = algo::presign(s.hub, "other", std::span<const algo::PresignItem>(items));
    CHECK(other.uploads.empty());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-5 a tampered or expired URL is refused with a typed error",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bool clock_bound = bind_store_clock(s);
    auto c = large_history();
    auto items = items_of(c, c.head());
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items), 600);
    const auto& u = p.uploads[0];
    const auto content = c.content(u.id);
    auto before = s.state();
    auto refused_upload = [&](const std::string& url, const Headers& headers,
                              const std::string& bytes, std::string_view why) {
        CHECK(code_of([&] { upload(s, url, headers, bytes); }) == errc::invalid_argument);
        CHECK_THAT(message_of([&] { upload(s, url, headers, bytes); }),
                   Catch::Contains(std::string(why)));
        CHECK(settled(s.state()) == settled(before));
    };
    auto refused = [&](const std::string& url, std::string_view why) {
        refused_upload(url, u.headers, content, why);
    };
    SECTION("a changed signature") {
        auto url = u.url;
        url.back() = url.back() == '0' ? '1' : '0';
        refused(url, "signature does not match");
    }
    SECTION("a URL for another key") {
        auto url = u.url;
        auto at = url.find(u.key) + u.key.size() - 1; // the nonce's last digit
        url[at] = url[at] == '0' ? '1' : '0';
        refused(url, "signature does not match");
    }
    SECTION("a later expiry") {
        auto url = u.url;
        auto at = url.find("Expires=");
        REQUIRE(at != std::string::npos);
        url.insert(at + 8, "9");
        refused(url, "signature does not match");
    }
    SECTION("the headers that came with the URL, left out or changed") {
        // They are signed into the URL (S3's x-amz-content-sha256): a PUT without one, or
        // with another value, is refused; so is other bytes' hash sent with those bytes.
        for (std::size_t i = 0; i < u.headers.size(); ++i) {
            INFO(u.headers[i].first);
            auto without = u.headers;
            without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
            refused_upload(u.url, without, content, "signature does not match");
            auto changed = u.headers;
            auto& value = changed[i].second;
            REQUIRE_FALSE(value.empty());
            value.back() = value.back() == '0' ? '1' : '0';
            refused_upload(u.url, changed, content, "signature does not match");
            if (u.headers[i].second == u.id.hex()) {
                const std::string other = "other bytes";
                value = sha256(as_bytes(other)).hex();
                refused_upload(u.url, changed, other, "signature does not match");
            }
        }
    }
    SECTION("a GET URL used to PUT, and a PUT URL used to GET") {
        refused(s.backend.store().presign_get(u.key, 600), "signature does not match");
        refused_upload(s.backend.store().presign_get(u.key, 600), {}, content,
                       "signature does not match");
        CHECK(code_of([&] { download(s, u.url); }) == errc::invalid_argument);
    }
    SECTION("malformed URLs") {
        refused("memory:///" + u.key, "malformed");
        refused("https://example.com/" + u.key, "malformed");
        refused(u.url + "&X-Method=GET", "malformed");
    }
    SECTION("an expired URL") {
        if (clock_bound) {
            s.clock.advance(std::chrono::seconds(600)); // the last second it is valid
            auto still = s.state();
            CHECK_NOTHROW(upload(s, u, content));
            s.backend.store().remove(u.key);
            CHECK(settled(s.state()) == settled(still));
            s.clock.advance(std::chrono::seconds(1));
            refused(u.url, "expired at");
            auto confirms = confirms_of(p);
            auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
            CHECK(r.registered.empty());
            CHECK(settled(s.state()) == settled(before));
        } else if constexpr (requires { s.backend.store().set_signing_clock({}); }) {
            // S3 checks a URL's expiry with its own clock: URLs signed 700 s ago for 600 s
            // expired 100 s ago; ones signed 500 s ago have 100 s left.
            auto signed_ago = [&](std::chrono::seconds ago) {
                s.backend.store().set_signing_clock(
                    [ago] { return std::chrono::system_clock::now() - ago; });
                auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items), 600);
                s.backend.store().set_signing_clock({});
                REQUIRE(p.uploads.size() == items.size());
                return p;
            };
            auto valid = signed_ago(std::chrono::seconds(500));
            auto still = s.state();
            CHECK_NOTHROW(upload(s, valid.uploads[0], c.content(valid.uploads[0].id)));
            s.backend.store().remove(valid.uploads[0].key);
            CHECK(settled(s.state()) == settled(still));
            auto expired = signed_ago(std::chrono::seconds(700));
            for (const auto& b : expired.uploads)
                refused_upload(b.url, b.headers, c.content(b.id), "expired at");
            auto confirms = confirms_of(expired);
            auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
            CHECK(r.registered.empty());
            CHECK(r.missing.size() == expired.uploads.size());
            CHECK(settled(s.state()) == settled(before));
        } else {
            FAIL(TestType::backend_type::name
                 << ": a presigning store needs a test clock (set_clock) or a signing clock "
                    "(set_signing_clock) for its expiry to be checked");
        }
    }
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-6 oversized declarations and uploads are refused",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto items = items_of(c, c.head());
    auto before = s.state();
    SECTION("an object declared over the limit") {
        auto big = items;
        big[1].size = s.hub.options().limits.max_object_bytes + 1;
        CHECK(code_of([&] {
                  algo::presign(s.hub, "r", std::span<const algo::PresignItem>(big));
              }) == errc::oversized);
        CHECK_THAT(
            message_of([&] { algo::presign(s.hub, "r", std::span<const algo::PresignItem>(big)); }),
            Catch::Contains(big[1].id.hex()));
        CHECK(settled(s.state()) == settled(before));
    }
    SECTION("more objects than the limit, and uploads over the limit") {
        HubOptions o = s.hub.options();
        o.limits.max_objects = 2;
        o.limits.max_object_bytes = 1'000;
        typename TestType::Hub strict{s.hub.wire(), s.backend.store(), s.backend.catalog(),
                                      s.backend.queue(), o};
        CHECK(code_of([&] {
                  algo::presign(strict, "r", std::span<const algo::PresignItem>(items));
              }) == errc::oversized);
        CHECK(settled(s.state()) == settled(before));
        // Declared small, uploaded large: confirm measures what arrived.
        auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
        upload_all(s, c, p);
        std::vector<algo::ConfirmItem> large;
        for (const auto& u : p.uploads)
            if (c.content(u.id).size() > 1'000)
                large.push_back({u.id, u.key});
        REQUIRE(large.size() == 1);
        auto r = algo::confirm(strict, "r", std::span<const algo::ConfirmItem>(large));
        CHECK(r.registered.empty());
        REQUIRE(r.rejected.size() == 1);
        CHECK_THAT(r.rejected[0].second, Catch::Contains("over the limit"));
        CHECK_FALSE(s.backend.store().size(large[0].key));
        CHECK(settled(s.state()).rows == settled(before).rows);
    }
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-7 a key confirmed for another object id is rejected",
                        "[contract][presigned]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto head = c.head();
    auto items = items_of(c, head);
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items));
    REQUIRE(p.uploads.size() == 3);
    upload_all(s, c, p);
    auto uploaded = s.state();
    const auto& a = p.uploads[0];
    const auto& b = p.uploads[1];
    std::vector<algo::ConfirmItem> wrong{
        {a.id, b.key},                                    // another object's key
        {a.id, keys::loose_object(a.id)},                 // no upload nonce
        {a.id, keys::fanned("packs", a.id.digest, "-0")}, // not a loose-object key
        {a.id, a.key + "/../x"},                          // not a nonce after the '-'
    };
    auto r = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(wrong));
    CHECK(r.registered.empty());
    CHECK(r.missing.empty());
    REQUIRE(r.rejected.size() == wrong.size());
    for (const auto& [id, why] : r.rejected) {
        CHECK(id == a.id);
        CHECK_THAT(why, Catch::Contains("not a loose-object key"));
    }
    CHECK(settled(s.state()) ==
          settled(uploaded)); // no rows; the other object's bytes are left alone
    auto confirms = confirms_of(p);
    auto ok = algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(confirms));
    CHECK(ok.registered.size() == 3);
    s.push("r", "main", c.pack(head, {}, false));
    CHECK(s.clone("r", "main") == expected_tree(c, head));
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN-8 uploads never confirmed are swept by GC once their URLs expired",
                        "[contract][presigned][gc]", PresigningSetups) {
    TestType s;
    bind_store_clock(s);
    auto c = large_history();
    auto head = c.head();
    auto items = items_of(c, head);
    auto p = algo::presign(s.hub, "r", std::span<const algo::PresignItem>(items), 60);
    REQUIRE(p.uploads.size() == 3);
    upload_all(s, c, p);
    // One is confirmed and pushed; two are abandoned.
    std::vector<algo::ConfirmItem> one{{p.uploads[0].id, p.uploads[0].key}};
    algo::confirm(s.hub, "r", std::span<const algo::ConfirmItem>(one));
    auto pending = [&] {
        return s.backend.catalog()
            .template scan<catalog::UploadRow>(std::tuple{std::string("r")})
            .size();
    };
    CHECK(pending() == 2);
    Client d;
    d.write("x.txt", "x");
    s.push("r", "main", d.pack(d.commit("a branch, so GC runs")));
    auto early = s.hub.gc("r");
    CHECK(early.uploads_abandoned == 0); // URLs still valid: a slow client may yet confirm
    CHECK(exists(s.backend.store(), p.uploads[1].key));
    s.clock.advance(std::chrono::minutes(2));
    auto late = s.hub.gc("r");
    CHECK(late.uploads_abandoned == 2);
    CHECK(pending() == 0);
    s.hub.sweep(); // what the confirm retired (a loose copy of an object the hub had) goes
    CHECK_FALSE(exists(s.backend.store(), p.uploads[1].key));
    CHECK_FALSE(exists(s.backend.store(), p.uploads[2].key));
    CHECK(exists(s.backend.store(), p.uploads[0].key) ==
          s.backend.catalog().template contains<catalog::ContainerRow>(
              std::vector<catalog::Key<catalog::ContainerRow>>{{p.uploads[0].key}})[0]);
    CHECK(s.hub.fsck().ok());
}

TEMPLATE_LIST_TEST_CASE("PRESIGN skipped where the store cannot presign", "[contract][presigned]",
                        NonPresigningSetups) {
    static_assert(!musehub::PresigningStore<typename TestType::backend_type::Store>);
    for (std::string_view test : {"PRESIGN-1", "PRESIGN-2", "PRESIGN-3", "PRESIGN-4", "PRESIGN-5",
                                  "PRESIGN-6", "PRESIGN-7", "PRESIGN-8"})
        contract::skip(TestType::backend_type::name, test, "the store cannot presign URLs");
}
