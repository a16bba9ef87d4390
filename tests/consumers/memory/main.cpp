// A downstream program on the in-memory backend: <musehub/musehub.hpp> and musehub::musehub
// (or `pkg-config musehub`) alone, no SQLite, libcurl or libpq.
#include "../common/history_roundtrip.hpp"

#include <exception>

int main() try {
    musehub::memory::ObjectStore store;
    musehub::memory::Catalog catalog;
    musehub::memory::JobQueue queue;
    musehub::Hub hub{musehub::wire::v2{}, store, catalog, queue, consumer::options()};
    consumer::history_roundtrip(hub);
    std::printf("memory consumer: ok\n");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "memory consumer: FAILED: %s\n", e.what());
    return 1;
}
