#pragma once
// What a backend fixture can do beyond the concepts, with strict defaults: a fixture claims
// only what it has. Each store capability is a flag checked, at compile time, against the
// concept of store/capabilities.hpp for the fixture's Store (checked_capabilities), so a flag
// cannot drift from what the store is. Cases that need a capability run over the fixtures
// that have it (with<flag, List>); the rest run one case that prints why they skip
// (without<flag, List>, contract::skip).

#include "musehub/store/capabilities.hpp"

#include <iostream>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace contract {

// Strict defaults; a fixture overrides by declaring the member itself.
struct Capabilities {
    static constexpr bool persistent = false; // state survives reopen(): the fixture has reopen()
    static constexpr bool presigns = false;   // musehub::PresigningStore
    static constexpr bool creates_exclusively = false; // musehub::ExclusiveCreateStore
    static constexpr bool streams_puts = false;        // musehub::StreamingPutStore
    static constexpr bool sweeps_temporaries = false;  // musehub::TemporarySweepingStore
    static constexpr bool batches_puts = false;        // musehub::BatchPutStore
    static constexpr bool batches_ranges = false;      // musehub::BatchRangeStore
    static constexpr bool batches_sizes = false;       // musehub::BatchSizeStore
    static constexpr bool batches_removes = false;     // musehub::BatchRemoveStore
};

// Instantiated for every fixture (backends.hpp): each flag says what the concept says.
template <class Fixture>
struct checked_capabilities {
    using Store = typename Fixture::Store;
    static_assert(Fixture::presigns == musehub::PresigningStore<Store>,
                  "the fixture's `presigns` must say whether its Store is a PresigningStore");
    static_assert(Fixture::creates_exclusively == musehub::ExclusiveCreateStore<Store>,
                  "the fixture's `creates_exclusively` must say whether its Store is an "
                  "ExclusiveCreateStore");
    static_assert(Fixture::streams_puts == musehub::StreamingPutStore<Store>,
                  "the fixture's `streams_puts` must say whether its Store is a StreamingPutStore");
    static_assert(Fixture::sweeps_temporaries == musehub::TemporarySweepingStore<Store>,
                  "the fixture's `sweeps_temporaries` must say whether its Store is a "
                  "TemporarySweepingStore");
    static_assert(Fixture::batches_puts == musehub::BatchPutStore<Store>,
                  "the fixture's `batches_puts` must say whether its Store is a BatchPutStore");
    static_assert(Fixture::batches_ranges == musehub::BatchRangeStore<Store>,
                  "the fixture's `batches_ranges` must say whether its Store is a BatchRangeStore");
    static_assert(Fixture::batches_sizes == musehub::BatchSizeStore<Store>,
                  "the fixture's `batches_sizes` must say whether its Store is a BatchSizeStore");
    static_assert(Fixture::batches_removes == musehub::BatchRemoveStore<Store>,
                  "the fixture's `batches_removes` must say whether its Store is a "
                  "BatchRemoveStore");
    static constexpr bool value = true;
};
template <class Tuple>
inline constexpr bool all_checked = false;
template <class... Fixtures>
inline constexpr bool
    all_checked<std::tuple<Fixtures...>> = (checked_capabilities<Fixtures>::value && ...);

// The fixture a test type is about: a backend itself, or a hub Setup's backend.
template <class T>
struct fixture_of {
    using type = T;
};
template <class T>
requires requires {
    typename T::backend_type;
}
struct fixture_of<T> {
    using type = typename T::backend_type;
};
template <class T>
using fixture_of_t = typename fixture_of<T>::type;

// The flags as predicates over test types, for with<> and without<>.
template <class T>
struct persistent : std::bool_constant<fixture_of_t<T>::persistent> {};
template <class T>
struct presigns : std::bool_constant<fixture_of_t<T>::presigns> {};
template <class T>
struct creates_exclusively : std::bool_constant<fixture_of_t<T>::creates_exclusively> {};
template <class T>
struct sweeps_temporaries : std::bool_constant<fixture_of_t<T>::sweeps_temporaries> {};

// One std::tuple of the types of the given std::tuples, in order.
template <class... Tuples>
struct concat {
    using type = std::tuple<>;
};
template <class... A>
struct concat<std::tuple<A...>> {
    using type = std::tuple<A...>;
};
template <class... A, class... B, class... Rest>
struct concat<std::tuple<A...>, std::tuple<B...>, Rest...>
    : concat<std::tuple<A..., B...>, Rest...> {};

// The types of a std::tuple for which Pred<T>::value is `keep`, in order.
template <template <class> class Pred, bool keep, class Tuple>
struct filter;
template <template <class> class Pred, bool keep, class... Ts>
struct filter<Pred, keep, std::tuple<Ts...>>
    : concat<std::conditional_t<Pred<Ts>::value == keep, std::tuple<Ts>, std::tuple<>>...> {};
template <template <class> class Pred, class Tuple>
using with = typename filter<Pred, true, Tuple>::type;
template <template <class> class Pred, class Tuple>
using without = typename filter<Pred, false, Tuple>::type;

// Prints, for the log, why a backend skips a test; every skip goes through here.
inline void skip(std::string_view backend, std::string_view test, std::string_view reason) {
    std::cout << "SKIP [" << backend << "] " << test << ": " << reason << "\n";
}

} // namespace contract
