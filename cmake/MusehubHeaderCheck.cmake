# Every public header compiles on its own: one generated translation unit per header of
# musehub::core and every backend that is built, each including its header twice (the second include proves
# the #pragma once / include guard), all built into one OBJECT library with our strict warnings.
function(musehub_header_check target_name)
    set(sources)
    set(libs musehub_core musehub_memory)
    foreach(component IN LISTS MUSEHUB_INSTALLED_COMPONENTS)
        list(APPEND libs musehub_${component})
    endforeach()
    foreach(lib IN LISTS libs)
        get_target_property(base_dirs ${lib} HEADER_DIRS)   # the FILE_SET HEADERS base dirs
        foreach(base IN LISTS base_dirs)
            file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${base} ${base}/*.hpp)
            foreach(header IN LISTS headers)
                # file(GENERATE) rewrites only when the content changes, so a reconfigure does
                # not touch the timestamps and ccache/ninja see nothing new.
                set(tu ${CMAKE_CURRENT_BINARY_DIR}/${target_name}/${lib}/${header}.cpp)
                file(GENERATE OUTPUT ${tu}
                    CONTENT "#include <${header}>\n#include <${header}>\n")
                list(APPEND sources ${tu})
            endforeach()
        endforeach()
    endforeach()
    if(NOT sources)
        message(FATAL_ERROR "musehub_header_check: no headers found")
    endif()
    add_library(${target_name} OBJECT ${sources})
    target_link_libraries(${target_name} PRIVATE ${libs})
    musehub_strict(${target_name})
endfunction()
