# wsw_set_warnings(<target>): the project's warning flags, errors when WSW_WERROR is on.
function(wsw_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                           -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual)
    if(WSW_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
