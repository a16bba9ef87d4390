# Warnings and sanitizers for musehub's own targets (never pushed onto consumers).
function(musehub_strict target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(MUSEHUB_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(MUSEHUB_SANITIZE)
        target_compile_options(${target} PRIVATE -fsanitize=${MUSEHUB_SANITIZE} -fno-omit-frame-pointer
                               -fno-sanitize-recover=all)
        target_link_options(${target} PRIVATE -fsanitize=${MUSEHUB_SANITIZE})
    endif()
endfunction()
