# Install rules: headers, the exported targets (musehubTargets), a CMake package config with a
# version file, and a pkg-config file. Everything installed is relocatable: nothing below records
# CMAKE_INSTALL_PREFIX, so `cmake --install --prefix ANYWHERE` works.
include(CMakePackageConfigHelpers)

# A project that add_subdirectory()s musehub gets no install rules unless it asks (like fmt's
# FMT_INSTALL): it may be vendoring musehub rather than redistributing it.
option(MUSEHUB_INSTALL "Generate musehub's install rules" ${PROJECT_IS_TOP_LEVEL})
if(NOT MUSEHUB_INSTALL)
    return()
endif()

set(MUSEHUB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/musehub)
set(MUSEHUB_PKGCONFIG_DIR ${CMAKE_INSTALL_DATADIR}/pkgconfig)   # header-only: arch-independent

# One export set for what every consumer gets (core + memory) and one per backend component,
# so musehubConfig.cmake imports a backend's target only when it is asked for.
install(TARGETS musehub_core musehub_memory musehub_all
    EXPORT musehubTargets
    FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT musehubTargets
    NAMESPACE musehub::
    DESTINATION ${MUSEHUB_CMAKE_DIR})
foreach(component IN LISTS MUSEHUB_INSTALLED_COMPONENTS)
    install(TARGETS musehub_${component}
        EXPORT musehub-${component}Targets
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    install(EXPORT musehub-${component}Targets
        NAMESPACE musehub::
        DESTINATION ${MUSEHUB_CMAKE_DIR})
endforeach()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/musehubConfig.cmake.in
    ${PROJECT_BINARY_DIR}/musehubConfig.cmake
    INSTALL_DESTINATION ${MUSEHUB_CMAKE_DIR})
# SameMinorVersion until 1.0: a 0.x minor release may break the API.
# ARCH_INDEPENDENT: no compiled code, so a 32-bit consumer may use a 64-bit install's headers.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/musehubConfigVersion.cmake
    COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
    ${PROJECT_BINARY_DIR}/musehubConfig.cmake
    ${PROJECT_BINARY_DIR}/musehubConfigVersion.cmake
    ${PROJECT_SOURCE_DIR}/cmake/MusehubDependencies.cmake
    DESTINATION ${MUSEHUB_CMAKE_DIR})

# pkg-config: the prefix is derived from the .pc file's own location (${pcfiledir}, understood by
# pkgconf and pkg-config alike) so the file stays valid after `cmake --install --prefix`.
if(IS_ABSOLUTE "${MUSEHUB_PKGCONFIG_DIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(MUSEHUB_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")   # absolute dirs were chosen: honour them
else()
    file(RELATIVE_PATH _musehub_up /prefix/${MUSEHUB_PKGCONFIG_DIR} /prefix)   # e.g. "../.."
    string(REGEX REPLACE "/$" "" _musehub_up "${_musehub_up}")
    set(MUSEHUB_PC_PREFIX "\${pcfiledir}/${_musehub_up}")
endif()
# musehub.pc is core + memory; musehub-<component>.pc adds one backend and its library.
set(MUSEHUB_fs_PC_REQUIRES sqlite3)
set(MUSEHUB_s3_PC_REQUIRES libcurl)
set(MUSEHUB_postgres_PC_REQUIRES libpq)
configure_file(${PROJECT_SOURCE_DIR}/cmake/musehub.pc.in ${PROJECT_BINARY_DIR}/musehub.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/musehub.pc DESTINATION ${MUSEHUB_PKGCONFIG_DIR})
foreach(MUSEHUB_PC_COMPONENT IN LISTS MUSEHUB_INSTALLED_COMPONENTS)
    set(MUSEHUB_PC_REQUIRES ${MUSEHUB_${MUSEHUB_PC_COMPONENT}_PC_REQUIRES})
    configure_file(${PROJECT_SOURCE_DIR}/cmake/musehub-component.pc.in
        ${PROJECT_BINARY_DIR}/musehub-${MUSEHUB_PC_COMPONENT}.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/musehub-${MUSEHUB_PC_COMPONENT}.pc
        DESTINATION ${MUSEHUB_PKGCONFIG_DIR})
endforeach()
