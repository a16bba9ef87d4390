#pragma once
// How a unit of stored bytes is laid out: the catalog records it for every container
// (catalog/schema.hpp, ContainerRow::format) and each wire policy names the one its packs are
// stored as (wire/concept.hpp), so neither has to know the other. The values are stored in
// catalog rows: they never change meaning.

#include <cstdint>

namespace musehub {

// A pack (v1 bundle or v2 MPack) or a loose object.
enum class ContainerFormat : std::uint8_t { v1_bundle = 1, v2_pack = 2, loose = 3 };

} // namespace musehub
