// The vocabulary: digests, SHA-256, the Muse id formulas (golden vectors from the real client
// and hand-computed ones), manifests and paths, object encodings, and the commit DAG.
#include "test_support.hpp"

#include "musehub/catalog/record_codec.hpp"
#include "musehub/core/dag.hpp"
#include "musehub/core/hex.hpp"
#include "musehub/core/muse_ids.hpp"
#include "musehub/core/object_codec.hpp"
#include "musehub/wire/containers.hpp"
#include "musehub/wire/v1.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>

using namespace musehub;
using json = nlohmann::json;

TEST_CASE("sha256 matches the FIPS 180-2 examples, one-shot and streaming", "[unit][core]") {
    CHECK(sha256("").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256("abc").hex() ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string million(1'000'000, 'a');
    CHECK(sha256(million).hex() ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    Sha256 h;
    for (int i = 0; i < 1000; ++i)
        h.update(std::string_view(million).substr(0, 1000));
    CHECK(h.finish() == sha256(million));
}

TEST_CASE("digests parse strictly and round-trip through hex", "[unit][core]") {
    auto hex = sha256("x").hex();
    CHECK(ObjectId::from_hex(hex).hex() == hex);
    test::require_error(errc::invalid_id, [&] { ObjectId::from_hex(hex.substr(1)); });
    std::string upper = hex;
    for (auto& c : upper)
        c = static_cast<char>(std::toupper(c));
    test::require_error(errc::invalid_id, [&] { CommitId::from_hex(upper); });
    auto msg =
        test::require_error(errc::invalid_id, [&] { SnapshotId::from_hex("sha256:" + hex); });
    CHECK_THAT(msg, Catch::Contains("snapshot id"));
    CHECK(std::hash<ObjectId>{}(ObjectId::from_hex(hex)) ==
          std::hash<ObjectId>{}(ObjectId::from_hex(hex)));
}

TEST_CASE("hand-computed Muse ids", "[unit][core][ids]") {
    auto hello = object_id_of(as_bytes("hello"));
    CHECK(hello.hex() == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    CHECK(Manifest{}.id().hex() ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    auto m = Manifest::from_entries({{"dir/b", object_id_of(Bytes{})}, {"a.txt", hello}});
    CHECK(m.id().hex() == "6178fa2c6a8c6a3cac59e41f53c654129dbd70371197d3cc72cbf96b232ae40b");
    auto root =
        commit_id_of({}, m.id(), "first\n\nbody \xc3\xbc", "2026-01-02T03:04:05.000006+00:00");
    CHECK(root.hex() == "8c22a3d9afc5b1dbdc05cb9a60a799eb35d789e7051aaf62b4a28c97011ef481");
    // Parents are sorted before hashing, so their order in the record does not matter.
    auto other = CommitId{hello.digest};
    auto merge = commit_id_of({root, other}, m.id(), "merge", "2026-01-02T03:04:06+00:00");
    CHECK(merge.hex() == "98ed7c85ce5604d0f1ed26ddc3a24a6430c5b6a80180956bb8e5cffe3f8189ea");
    CHECK(commit_id_of({other, root}, m.id(), "merge", "2026-01-02T03:04:06+00:00") == merge);
}

namespace {
Manifest manifest_from_json(const json& j) {
    std::vector<ManifestEntry> entries;
    for (auto& [path, id] : j.items())
        entries.push_back({path, ObjectId::from_hex(id.get<std::string>())});
    return Manifest::from_entries(std::move(entries));
}
std::string hex_of(std::string_view s) {
    static constexpr char d[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s)
        out += d[c >> 4], out += d[c & 15];
    return out;
}
} // namespace

TEST_CASE("golden vectors: every id the real Muse 0.1.5 client made is reproduced",
          "[unit][core][ids][interop]") {
    std::ifstream lines(test::vectors / "ids.jsonl");
    REQUIRE(lines.good());
    int objects = 0, snapshots = 0, commits = 0;
    for (std::string line; std::getline(lines, line);) {
        auto j = json::parse(line);
        auto kind = j["kind"].get<std::string>();
        auto id = j["id"].get<std::string>();
        if (kind == "object") {
            auto path = test::vectors / "repo/objects" / id.substr(0, 2) / id.substr(2);
            if (!std::filesystem::exists(path))
                continue; // made in the clone; seen only in http/
            auto bytes = test::read_file(path);
            CHECK(bytes.size() == j["size"].get<std::size_t>());
            CHECK(object_id_of(bytes).hex() == id);
            ++objects;
        } else if (kind == "snapshot") {
            auto m = manifest_from_json(j["manifest"]);
            CHECK(m.size() == j["entry_count"].get<std::size_t>());
            CHECK(m.id().hex() == id);
            // The exact preimage the client hashed, rebuilt from our sorted entries.
            std::string pre;
            for (const auto& e : m)
                pre += (pre.empty() ? "" : std::string(1, '\0')) + e.path + '\0' + e.object.hex();
            CHECK(hex_of(pre) == j["preimage_hex"].get<std::string>());
            ++snapshots;
        } else if (kind == "commit") {
            std::vector<CommitId> parents;
            for (auto& p : j["parent_ids"])
                parents.push_back(CommitId::from_hex(p.get<std::string>()));
            auto got =
                commit_id_of(parents, SnapshotId::from_hex(j["snapshot_id"].get<std::string>()),
                             j["message"].get<std::string>(), j["committed_at"].get<std::string>());
            CHECK(got.hex() == id);
            ++commits;
        }
    }
    CHECK(objects == 20);
    CHECK(snapshots == 9);
    CHECK(commits == 9);
}

TEST_CASE("golden vectors: the client's own commit and snapshot files verify",
          "[unit][core][ids][interop]") {
    int n = 0;
    for (auto& f : std::filesystem::directory_iterator(test::vectors / "repo/commits")) {
        auto j = json::parse(std::ifstream(f.path()));
        Commit c;
        c.commit_id = CommitId::from_hex(j["commit_id"].get<std::string>());
        c.snapshot_id = SnapshotId::from_hex(j["snapshot_id"].get<std::string>());
        c.message = j["message"].get<std::string>();
        c.committed_at = j["committed_at"].get<std::string>();
        if (!j["parent_commit_id"].is_null())
            c.parent_commit_id = CommitId::from_hex(j["parent_commit_id"].get<std::string>());
        if (!j["parent2_commit_id"].is_null())
            c.parent2_commit_id = CommitId::from_hex(j["parent2_commit_id"].get<std::string>());
        CHECK(f.path().stem() == c.commit_id.hex());
        verify_commit_id(c);
        c.message += ".";
        test::require_error(errc::bad_commit_id, [&] { verify_commit_id(c); });
        ++n;
    }
    CHECK(n == 8);
    for (auto& f : std::filesystem::directory_iterator(test::vectors / "repo/snapshots")) {
        auto j = json::parse(std::ifstream(f.path()));
        Snapshot s{SnapshotId::from_hex(j["snapshot_id"].get<std::string>()),
                   manifest_from_json(j["manifest"]),
                   j["created_at"].get<std::string>(),
                   {}};
        verify_snapshot_id(s);
    }
}

TEST_CASE("manifest paths are validated", "[unit][core][manifest]") {
    auto id = object_id_of(as_bytes("x"));
    for (std::string bad : std::vector<std::string>{
             "", "/etc/passwd", "../up", "a/../../b", "a//b", "a/", "./a", "a/./b",
             std::string("nul\0byte", 8), std::string("\xff\xfe"), std::string("\xc0\xaf"),
             std::string("\xed\xa0\x80"), std::string(4097, 'p')}) {
        INFO("path: " << bad);
        test::require_error(errc::bad_path, [&] { Manifest::from_entries({{bad, id}}); });
    }
    for (std::string good :
         std::vector<std::string>{"a", ".museignore", "docs/user guide/first steps.md",
                                  "donn\xc3\xa9"
                                  "es/r\xc3\xa9sum\xc3\xa9.txt",
                                  "unicode/\xf0\x9f\x8e\xb5.txt", "a..b/c", std::string(4096, 'p')})
        CHECK_NOTHROW(Manifest::from_entries({{good, id}}));
    auto msg = test::require_error(errc::bad_path, [&] {
        Manifest::from_entries({{"a", id}, {"a", id}});
    });
    CHECK_THAT(msg, Catch::Contains("duplicate"));
    test::require_error(errc::bad_path, [&] { Manifest::from_entries({{"long/path", id}}, 5); });
}

TEST_CASE("manifests sort by code point, and deltas round-trip", "[unit][core][manifest]") {
    auto o = [](int i) { return object_id_of(as_bytes(std::to_string(i))); };
    // U+FF71 before U+1F3B5 by code point (UTF-16 order would disagree).
    auto m = Manifest::from_entries(
        {{"unicode/\xf0\x9f\x8e\xb5.txt", o(1)}, {"unicode/\xef\xbd\xb1.txt", o(2)}, {"a", o(3)}});
    REQUIRE(m.size() == 3);
    CHECK(m.entries()[0].path == "a");
    CHECK(m.entries()[1].path == "unicode/\xef\xbd\xb1.txt");
    CHECK(*m.find("a") == o(3));
    CHECK(m.find("b") == nullptr);

    auto next =
        Manifest::from_entries({{"a", o(4)}, {"b", o(5)}, {"unicode/\xef\xbd\xb1.txt", o(2)}});
    auto d = diff(m, next);
    CHECK(d.upsert == std::vector<ManifestEntry>{{"a", o(4)}, {"b", o(5)}});
    CHECK(d.remove == std::vector<std::string>{"unicode/\xf0\x9f\x8e\xb5.txt"});
    CHECK(apply(m, d) == next);
    CHECK(rebuild_and_verify(m, d, next.id()) == next);
    auto msg =
        test::require_error(errc::bad_snapshot_id, [&] { rebuild_and_verify(m, d, m.id()); });
    CHECK_THAT(msg, Catch::Contains(m.id().hex()));
    test::require_error(errc::corrupt, [&] { apply(m, ManifestDelta{{}, {"missing"}}); });
    test::require_error(errc::corrupt, [&] { apply(m, ManifestDelta{{{"a", o(9)}}, {"a"}}); });
    test::require_error(errc::bad_path, [&] { apply(m, ManifestDelta{{{"../x", o(9)}}, {}}); });
    CHECK(diff(m, m) == ManifestDelta{});
}

TEST_CASE("manifests share the leaves a delta does not touch", "[unit][core][manifest]") {
    auto o = [](std::size_t i) { return object_id_of(as_bytes(std::to_string(i))); };
    auto path = [](std::size_t i) {
        return "dir" + std::to_string(i % 7) + "/f" + std::to_string(i);
    };
    // A model of the manifest (std::map) and the manifest, changed by the same random deltas:
    // mostly a few paths, now and then hundreds, removes and upserts mixed.
    std::map<std::string, ObjectId> model;
    Manifest m;
    std::uint64_t state = 0x9e3779b97f4a7c15;
    auto next = [&](std::uint64_t n) { // xorshift64: the same sequence on every platform
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state % n;
    };
    std::size_t small_deltas = 0, small_unshared = 0;
    for (int step = 0; step < 400; ++step) {
        const bool big = step % 40 == 0;
        std::map<std::string, ObjectId> up;
        std::set<std::string> rm;
        for (std::uint64_t k = 0, ops = big ? 300 : 1 + next(5); k < ops; ++k) {
            if (!model.empty() && next(3) == 0) {
                auto it = std::next(model.begin(), static_cast<std::ptrdiff_t>(next(model.size())));
                if (!up.count(it->first))
                    rm.insert(it->first);
            } else if (auto p = path(next(5'000)); !rm.count(p)) {
                up[p] = o(next(1'000'000));
            }
        }
        ManifestDelta d;
        for (const auto& [p, id] : up)
            d.upsert.push_back({p, id}), model[p] = id;
        for (const auto& p : rm)
            d.remove.push_back(p), model.erase(p);
        auto n = apply(m, d);

        std::vector<ManifestEntry> want;
        for (const auto& [p, id] : model)
            want.push_back({p, id});
        REQUIRE(n.entries() == want);
        REQUIRE(n == Manifest::from_entries(want)); // equal though split into other leaves
        REQUIRE(n.id() == Manifest::from_entries(want).id());
        REQUIRE(apply(m, diff(m, n)) == n);
        for (std::size_t i = 0; i < 50; ++i) {
            auto p = path(next(5'000));
            auto hit = model.find(p);
            REQUIRE((n.find(p) ? std::optional(*n.find(p)) : std::nullopt) ==
                    (hit != model.end() ? std::optional(hit->second) : std::nullopt));
        }
        // Leaves stay near their size: never empty, never more than twice the target.
        REQUIRE(n.leaf_count() <=
                std::max<std::size_t>(1, n.size() / (Manifest::leaf_entries / 4)));
        if (!big && m.size() > 1'000)
            ++small_deltas, small_unshared += n.unshared_entries(m);
        m = std::move(n);
    }
    // A delta of a few paths rebuilds a few leaves, not the manifest.
    REQUIRE(small_deltas > 100);
    CHECK(small_unshared / small_deltas < 8 * Manifest::leaf_entries);
    CHECK(m.unshared_entries(m) == 0);
    CHECK(Manifest(m).unshared_entries(m) == 0); // copies share everything

    SECTION("corrupt deltas are refused wherever they land") {
        auto last = m.entries().back().path;
        test::require_error(errc::corrupt, [&] { apply(m, ManifestDelta{{}, {last + "x"}}); });
        test::require_error(errc::corrupt, [&] { apply(m, ManifestDelta{{}, {last, last}}); });
        test::require_error(errc::corrupt, [&] {
            apply(m, ManifestDelta{{{"zz", o(1)}, {"zz", o(2)}}, {}});
        });
        test::require_error(errc::corrupt, [&] { apply(Manifest{}, ManifestDelta{{}, {"a"}}); });
        CHECK(apply(Manifest{}, ManifestDelta{{{"b", o(1)}, {"a", o(2)}}, {}}).entries() ==
              std::vector<ManifestEntry>{{"a", o(2)}, {"b", o(1)}});
        // Removing everything leaves an empty manifest, equal to a fresh one.
        ManifestDelta all;
        for (const auto& e : m)
            all.remove.push_back(e.path);
        auto none = apply(m, all);
        CHECK(none.empty());
        CHECK(none == Manifest{});
        CHECK(none.id() == Manifest{}.id());
    }
}

TEST_CASE("objects: zstd round trip, verification and corrupt frames", "[unit][core][objects]") {
    std::string text;
    for (int i = 0; i < 2000; ++i)
        text += "line " + std::to_string(i % 17) + "\n";
    auto raw = to_bytes(text);
    auto z = zstd_compress(raw);
    CHECK(z.size() < raw.size());
    PackObject po{object_id_of(raw), Encoding::zstd, z, raw.size()};
    CHECK(decode_object(po, 1 << 20) == raw);
    CHECK_NOTHROW(verify_object(po, 1 << 20));
    test::require_error(errc::oversized, [&] { decode_object(po, 100); });

    auto wrong = po;
    wrong.id = object_id_of(as_bytes("other"));
    auto msg = test::require_error(errc::hash_mismatch, [&] { verify_object(wrong, 1 << 20); });
    CHECK_THAT(msg, Catch::Contains(wrong.id.hex()));

    auto lying = po;
    lying.raw_size = raw.size() + 1;
    test::require_error(errc::corrupt, [&] { decode_object(lying, 1 << 20); });
    Bytes broken = z;
    broken[broken.size() / 2] ^= std::byte{0x5a};
    PackObject bad{po.id, Encoding::zstd, broken, raw.size()};
    CHECK_THROWS_AS(verify_object(bad, 1 << 20), musehub::error);

    PackObject empty{object_id_of(Bytes{}), Encoding::raw, BytesView{}, 0};
    CHECK_NOTHROW(verify_object(empty, 0));
    PackObject short_raw{po.id, Encoding::raw, BytesView(raw).first(10), raw.size()};
    test::require_error(errc::corrupt, [&] { verify_object(short_raw, 1 << 20); });
}

namespace {
Commit commit(const std::string& msg, std::vector<CommitId> parents) {
    Commit c;
    c.snapshot_id = Manifest{}.id();
    c.message = msg;
    c.committed_at = "2026-11-21T00:00:00+00:00";
    if (parents.size() > 0)
        c.parent_commit_id = parents[0];
    if (parents.size() > 1)
        c.parent2_commit_id = parents[1];
    c.commit_id = commit_id_of(c);
    return c;
}
} // namespace

TEST_CASE("stored records: compressed against the frozen dictionary, old rows still read",
          "[unit][core][records]") {
    using namespace musehub::catalog;
    // Rows written with dictionary 1 must read forever: its bytes may never change.
    CHECK(sha256(musehub::catalog::detail::record_dictionary_1()).hex().substr(0, 16) ==
          "96503793bd840641");
    auto msgpack = encode_record(commit("Initial commit", {}));
    auto stored = compress_record(msgpack);
    CHECK(stored.size() < msgpack.size() / 2);
    CHECK(stored[0] == std::byte{0xc1});
    Limits limits;
    CHECK(decompress_record(stored, limits, "commit record") == msgpack);
    CHECK(decompress_record(msgpack, limits, "commit record") == msgpack); // an older row
    CHECK(decompress_record(compress_record(Bytes{}), limits, "commit record").empty());

    auto other_dictionary = stored;
    other_dictionary[1] = std::byte{0x02};
    auto msg = test::require_error(
        errc::corrupt, [&] { decompress_record(other_dictionary, limits, "commit record"); });
    CHECK_THAT(msg, Catch::Contains("stored commit record") && Catch::Contains("dictionary") &&
                        Catch::Contains("musehub fsck"));
    auto broken = stored;
    broken[broken.size() - 2] ^= std::byte{0x5a};
    test::require_error(errc::corrupt, [&] { decompress_record(broken, limits, "commit record"); });
    test::require_error(errc::corrupt, [&] {
        decompress_record(BytesView(stored).first(3), limits, "commit record");
    });
    Limits tight;
    tight.max_record_bytes = msgpack.size() - 1;
    test::require_error(errc::oversized, [&] { decompress_record(stored, tight, "record"); });
}

TEST_CASE("dag: parents-first order, walks with a stop set, ancestry", "[unit][core][dag]") {
    //   a - b - d (merge of b and c) - e
    //    \- c -/
    auto a = commit("a", {}), b = commit("b", {a.commit_id}), c = commit("c", {a.commit_id});
    auto d = commit("d", {b.commit_id, c.commit_id}), e = commit("e", {d.commit_id});
    std::vector<Commit> tip_first{e, d, c, b, a}; // as the Muse client sends them
    auto order = topological_order(tip_first);
    std::map<CommitId, std::size_t> pos;
    for (std::size_t i = 0; i < order.size(); ++i)
        pos[order[i]->commit_id] = i;
    REQUIRE(order.size() == 5);
    for (const auto& x : tip_first)
        for (const auto& p : x.parents())
            CHECK(pos[p] < pos[x.commit_id]);

    InMemoryParents parents(tip_first);
    std::vector<CommitId> start{e.commit_id};
    auto all = walk_ancestors(start, parents);
    CHECK(all.reached.size() == 5);
    CHECK(all.unknown.empty());
    auto since_b = walk_ancestors(start, parents, CommitSet{b.commit_id});
    CHECK(std::set<CommitId>(since_b.reached.begin(), since_b.reached.end()) ==
          std::set<CommitId>{e.commit_id, d.commit_id, c.commit_id}); // a is b's ancestor: excluded

    // A walk over a partial graph names what it could not resolve.
    InMemoryParents partial(std::vector<Commit>{e, d});
    auto w = walk_ancestors(start, partial);
    CHECK(w.reached.size() == 2);
    CHECK(std::set<CommitId>(w.unknown.begin(), w.unknown.end()) ==
          std::set<CommitId>{b.commit_id, c.commit_id});

    CHECK(is_ancestor(a.commit_id, e.commit_id, parents));
    CHECK(is_ancestor(c.commit_id, d.commit_id, parents));
    CHECK(is_ancestor(e.commit_id, e.commit_id, parents));
    CHECK_FALSE(is_ancestor(b.commit_id, c.commit_id, parents));
    CHECK_FALSE(is_ancestor(e.commit_id, a.commit_id, parents));

    // Commits whose parent links form a cycle can only come from forged ids: refused.
    auto x = commit("x", {}), y = commit("y", {});
    x.parent_commit_id = y.commit_id;
    y.parent_commit_id = x.commit_id;
    test::require_error(errc::corrupt, [&] { topological_order(std::vector<Commit>{x, y}); });
}

TEST_CASE("errors name their code", "[unit][core]") {
    error e(errc::oversized, "too big");
    CHECK(e.code() == errc::oversized);
    CHECK(std::string(e.what()) == "oversized: too big");
}

TEST_CASE("records print field by field from their Hana description", "[unit][core]") {
    Branch b{"repo", "main", CommitId{sha256("c")}};
    CHECK(to_string(b) ==
          "{repo: \"repo\", name: \"main\", head: " + b.head.hex().substr(0, 12) + "}");
    Commit c;
    c.message = "m";
    auto s = to_string(c);
    CHECK_THAT(s, Catch::Contains("message: \"m\"") && Catch::Contains("parent_commit_id: nil") &&
                      Catch::Contains("structured_delta: nil") && Catch::Contains("test_runs: 0"));
}

TEST_CASE("hex: one decoder for ids, bytes and %XX escapes", "[unit][core][hex]") {
    CHECK(hex_digit_value('7', HexCase::lower) == 7);
    CHECK(hex_digit_value('f', HexCase::lower) == 15);
    CHECK(hex_digit_value('F', HexCase::lower) == -1);
    CHECK(hex_digit_value('F', HexCase::any) == 15);
    CHECK(hex_digit_value('g', HexCase::any) == -1);
    CHECK(decode_hex("00ff7a", HexCase::lower) == std::vector<std::uint8_t>{0x00, 0xff, 0x7a});
    CHECK_FALSE(decode_hex("0", HexCase::lower));
    CHECK_FALSE(decode_hex("0A", HexCase::lower));
    CHECK(decode_hex("0A", HexCase::any) == std::vector<std::uint8_t>{0x0a});
    const std::uint8_t bytes[] = {0x01, 0xab};
    CHECK(encode_hex(bytes, 2) == "01ab");
    CHECK(decode_percent("a%2Fb%2fc+d") == "a/b/c+d");
    CHECK(decode_percent("a%2Fb+c", true) == "a/b c");
    CHECK_FALSE(decode_percent("a%2"));
    CHECK_FALSE(decode_percent("a%zz"));
    CHECK_FALSE(decode_percent("%"));
}

TEST_CASE("wire traits: formats, sniffing and capabilities", "[unit][wire][traits]") {
    static_assert(wire::v1::container_format == ContainerFormat::v1_bundle);
    static_assert(wire::v2::container_format == ContainerFormat::v2_pack);
    static_assert(!FramingWire<wire::v1> && FramingWire<wire::v2>);
    static_assert(!RelabelsStoredPacks<wire::v1> && RelabelsStoredPacks<wire::v2>);
    Pack pack;
    pack.add_object("hello");
    auto v1 = wire::v1{}.encode_pack(pack);
    auto v2 = wire::v2{}.encode_pack(pack);
    CHECK(wire::v1::is_container(v1));
    CHECK_FALSE(wire::v2::is_container(v1));
    CHECK(wire::v2::is_container(v2));
    CHECK_FALSE(wire::v1::is_container(v2));
    Limits limits;
    CHECK(wire::decode_container(v1, limits).format == ContainerFormat::v1_bundle);
    CHECK(wire::decode_container(v2, limits).format == ContainerFormat::v2_pack);
    CHECK(wire::decode_container(v2, limits).pack.objects.size() == 1);
    // Bytes no wire claims go to the v1 decoder, whose error names them.
    CHECK_THROWS_AS(wire::decode_container(as_bytes("junk"), limits), musehub::error);
}
