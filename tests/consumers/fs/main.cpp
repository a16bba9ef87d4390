// A downstream program on the embedded backend: <musehub/fs/...> and musehub::fs (or
// `pkg-config musehub-fs`), a hub in a fresh temporary directory.
#include "../common/history_roundtrip.hpp"

#include <musehub/fs/catalog.hpp>
#include <musehub/fs/job_queue.hpp>
#include <musehub/fs/object_store.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>

namespace {

// Runs the round trip with the hub's files in `dir`, closed before it returns.
void run(const std::filesystem::path& dir) {
    musehub::fs::ObjectStore store(dir / "objects");
    musehub::fs::Catalog catalog(dir / "hub.db");
    musehub::fs::JobQueue queue(dir / "hub.db");
    musehub::Hub hub{musehub::wire::v1{}, store, catalog, queue, consumer::options()};
    consumer::history_roundtrip(hub);
}

} // namespace

int main() {
    auto pattern = (std::filesystem::temp_directory_path() / "musehub-consumer-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
        std::perror("fs consumer: mkdtemp");
        return 1;
    }
    int status = 0;
    try {
        run(pattern);
        std::printf("fs consumer: ok\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fs consumer: FAILED: %s\n", e.what());
        status = 1;
    }
    std::filesystem::remove_all(pattern);
    return status;
}
