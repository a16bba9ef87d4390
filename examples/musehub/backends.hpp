#pragma once
// Which backends a `musehub` command runs on, from its options: the embedded default (a
// directory: fs store + SQLite catalog and queue) unless told `--store s3://BUCKET[/PREFIX]`
// and/or `--catalog postgresql://…`. with_backends() opens them and calls the command with
// (store, catalog, queue): the commands are generic, as the library's algorithms are.

#include <musehub/fs/catalog.hpp>
#include <musehub/fs/job_queue.hpp>
#include <musehub/fs/object_store.hpp>
#include <musehub/postgres/catalog.hpp>
#include <musehub/postgres/job_queue.hpp>
#include <musehub/s3/object_store.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace musehub::tool {

struct BackendConfig {
    std::filesystem::path data = "musehub-data"; // the hub directory (fs store and/or SQLite)
    std::string store;                           // "" (DATA/objects) or s3://BUCKET[/PREFIX]
    std::string catalog;                         // "" (DATA/hub.db) or postgresql://…
    bool durable = true;                         // fsync (fs store, SQLite)
};

// S3 settings other than the bucket and prefix (endpoint, region, credentials) come from the
// environment, as s3::ObjectStore::Options::from_env documents.
inline s3::ObjectStore::Options s3_options(const std::string& url) {
    std::string rest = url.substr(5); // after "s3://"
    auto slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (bucket.empty())
        throw std::invalid_argument("--store " + url + ": name a bucket, s3://BUCKET[/PREFIX]");
    if (!prefix.empty() && !prefix.ends_with('/'))
        prefix += '/';
    return s3::ObjectStore::Options::from_env(
        [&](const std::string& name) -> std::optional<std::string> {
            if (name == "MUSEHUB_S3_BUCKET")
                return bucket;
            if (name == "MUSEHUB_S3_KEY_PREFIX")
                return prefix;
            const char* v = std::getenv(name.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
        });
}

template <class F>
decltype(auto) with_catalog(const BackendConfig& cfg, auto& store, F&& run) {
    if (cfg.catalog.empty()) {
        std::filesystem::create_directories(cfg.data);
        fs::Catalog catalog(cfg.data / "hub.db", fs::Catalog::Options{cfg.durable});
        fs::JobQueue queue(cfg.data / "hub.db", fs::JobQueue::Options{cfg.durable});
        return run(store, catalog, queue);
    }
    if (!cfg.catalog.starts_with("postgresql://") && !cfg.catalog.starts_with("postgres://"))
        throw std::invalid_argument("--catalog " + cfg.catalog +
                                    ": give a postgresql:// URL (or leave it out for SQLite)");
    postgres::Catalog::Options o;
    o.conninfo = cfg.catalog;
    postgres::Catalog catalog(o);
    postgres::JobQueue queue(o);
    return run(store, catalog, queue);
}

// Opens the backends `cfg` names and returns run(store, catalog, queue). The hub directory is
// made absolute first: the backends keep the path they are given, and a relative one would
// name another directory for any code that changes the working directory while they are open.
template <class F>
decltype(auto) with_backends(const BackendConfig& given, F&& run) {
    BackendConfig cfg = given;
    cfg.data = std::filesystem::absolute(given.data).lexically_normal();
    if (cfg.store.empty()) {
        fs::ObjectStore store(cfg.data / "objects", fs::ObjectStore::Options{cfg.durable});
        return with_catalog(cfg, store, run);
    }
    if (!cfg.store.starts_with("s3://"))
        throw std::invalid_argument("--store " + cfg.store +
                                    ": give an s3://BUCKET[/PREFIX] URL (or leave it out for "
                                    "files under --data)");
    s3::ObjectStore store(s3_options(cfg.store));
    return with_catalog(cfg, store, run);
}

} // namespace musehub::tool
