// The concepts the algorithms are written against (catalog/concept.hpp, algo/concept.hpp),
// checked at compile time: every catalog and hub the library ships satisfies them, and a
// catalog whose transaction handle lacks one operation (erase_exact, which only GC calls) is
// refused at the concept, before any algorithm is instantiated, where the diagnostic names it.
// (The PostgreSQL catalog is checked in tests/contract/catalog_contract.cpp, which includes it.)
#include "musehub/algo/concept.hpp"
#include "musehub/catalog/counting.hpp"
#include "musehub/fs/catalog.hpp"
#include "musehub/fs/job_queue.hpp"
#include "musehub/fs/object_store.hpp"
#include "musehub/hub.hpp"
#include "musehub/memory/memory.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace musehub;

// Every operation of the catalog vocabulary, declared only (the checks below are unevaluated),
// erase_exact only when asked: the one missing operation is the only difference.
template <bool WithEraseExact>
struct DeclaredOps {
    template <catalog::Reflected Row>
    std::size_t insert(std::span<const Row> rows);
    template <catalog::Reflected Row>
    void upsert(std::span<const Row> rows);
    template <catalog::Reflected Row>
    std::vector<std::optional<Row>> find(std::span<const catalog::Key<Row>> keys) const;
    template <catalog::Reflected Row>
    std::vector<bool> contains(std::span<const catalog::Key<Row>> keys) const;
    template <catalog::Reflected Row, std::size_t I>
    std::vector<Row> find_by(std::span<const catalog::Field<Row, I>> values) const;
    template <catalog::Reflected Row>
    std::size_t erase(std::span<const catalog::Key<Row>> keys);
    template <catalog::Reflected Row>
    requires WithEraseExact std::size_t erase_exact(std::span<const Row> rows);
    template <catalog::Reflected Row, class Prefix>
    std::vector<Row> scan(const Prefix& prefix) const;
    template <catalog::Reflected Row>
    bool compare_and_swap(const catalog::Key<Row>& key, const std::optional<Row>& expected,
                          const std::optional<Row>& desired);
};

// A catalog with every operation of its own, whose transact() passes fn a Handle.
template <class Handle>
struct CatalogOver : DeclaredOps<true> {
    template <class Fn>
    auto transact(Fn&& fn) {
        Handle tx;
        return fn(tx);
    }
};
using WholeCatalog = CatalogOver<DeclaredOps<true>>;
using CatalogWithoutEraseExact = CatalogOver<DeclaredOps<false>>;

static_assert(catalog::CatalogTransaction<DeclaredOps<true>>);
static_assert(!catalog::CatalogTransaction<DeclaredOps<false>>);
static_assert(Catalog<WholeCatalog>);
// The catalog itself has erase_exact and transact() returns what fn returns; only the handle
// lacks it, and the concept looks at the handle.
static_assert(requires(CatalogWithoutEraseExact & c, std::span<const catalog::RepoRow> rows) {
    c.erase_exact(rows);
});
static_assert(!Catalog<CatalogWithoutEraseExact>);

// The shape of musehub::Hub over catalog C, declared only.
template <class C>
struct HubOver {
    using wire_type = wire::v2;
    using store_type = memory::ObjectStore;
    using catalog_type = C;
    using queue_type = memory::JobQueue;
    static constexpr catalog::ContainerFormat container_format = catalog::ContainerFormat::v2_pack;

    const wire_type& wire() const;
    store_type& store();
    const store_type& store() const;
    catalog_type& catalog();
    const catalog_type& catalog() const;
    queue_type& queue();
    const HubOptions& options() const;
    TimePoint now() const;
};

static_assert(algo::AlgorithmHub<HubOver<WholeCatalog>>);
static_assert(algo::PresigningHub<HubOver<WholeCatalog>>);
static_assert(!algo::AlgorithmHub<HubOver<CatalogWithoutEraseExact>>);

// So the algorithms refuse that hub at their signatures, not inside their bodies.
template <class H>
concept Collectable = requires(H& hub, const std::string& repo) {
    algo::gc(hub, repo);
    algo::sweep(hub);
    algo::repack(hub, repo);
    algo::fsck(hub);
};
static_assert(Collectable<HubOver<WholeCatalog>>);
static_assert(!Collectable<HubOver<CatalogWithoutEraseExact>>);

// The catalogs and hubs the library ships.
static_assert(Catalog<memory::Catalog>);
static_assert(Catalog<fs::Catalog>);
static_assert(Catalog<catalog::CountingCatalog<memory::Catalog>>);
static_assert(Catalog<catalog::CountingCatalog<fs::Catalog>>);
static_assert(
    algo::PresigningHub<Hub<wire::v2, memory::ObjectStore, memory::Catalog, memory::JobQueue>>);
static_assert(algo::AlgorithmHub<Hub<wire::v1, fs::ObjectStore, fs::Catalog, fs::JobQueue>>);
static_assert(!algo::PresigningHub<Hub<wire::v1, fs::ObjectStore, fs::Catalog, fs::JobQueue>>);

} // namespace

TEST_CASE("concepts: catalogs and hubs are checked at compile time", "[concepts]") {
    // The same verdicts as the static_asserts above, reported per check in the test output.
    CHECK(Catalog<memory::Catalog>);
    CHECK(Catalog<fs::Catalog>);
    CHECK(algo::AlgorithmHub<Hub<wire::v1, fs::ObjectStore, fs::Catalog, fs::JobQueue>>);
    CHECK_FALSE(algo::PresigningHub<Hub<wire::v1, fs::ObjectStore, fs::Catalog, fs::JobQueue>>);
}
