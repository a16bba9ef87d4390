# The libraries musehub needs, by the names Debian 12 ships them under. Kept in one file so the
# installed package config can replay it (see musehubConfig.cmake.in).
#
# musehub::core (and so musehub::musehub, core + the in-memory backend) needs the libraries
# found here. Each backend with a library of its own names it in MUSEHUB_<component>_DEPENDENCIES,
# found only when that backend is built (our build) or requested (find_package COMPONENTS).
# Inside musehubConfig.cmake a missing dependency must make find_package(musehub) fail softly;
# in our own build it must stop configuration with CMake's own message.
include(CMakeFindDependencyMacro)
if(CMAKE_FIND_PACKAGE_NAME)
    macro(musehub_dependency)
        find_dependency(${ARGN})
    endmacro()
else()
    macro(musehub_dependency)
        find_package(${ARGN} REQUIRED)
    endmacro()
endif()
musehub_dependency(Boost 1.74)             # Hana is header-only: Boost::headers
musehub_dependency(range-v3)               # no version: range-v3 0.12.0 uses an ExactVersion policy
musehub_dependency(msgpack 4)              # target msgpackc-cxx
musehub_dependency(zstd)                   # zstd::libzstd_shared
musehub_dependency(OpenSSL)                # OpenSSL::Crypto (EVP SHA-256, Ed25519, HMAC)
musehub_dependency(PkgConfig)
if(NOT TARGET PkgConfig::XXHASH)
    pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET GLOBAL libxxhash)   # no CMake config upstream
endif()

# The backends with libraries of their own, and the packages each one finds.
set(MUSEHUB_COMPONENTS fs s3 postgres)
set(MUSEHUB_fs_DEPENDENCIES SQLite3)          # SQLite::SQLite3
set(MUSEHUB_s3_DEPENDENCIES CURL)             # CURL::libcurl (CMake's FindCURL); OpenSSL is core's
set(MUSEHUB_postgres_DEPENDENCIES PostgreSQL) # PostgreSQL::PostgreSQL (libpq)
