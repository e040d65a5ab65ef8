# Installation (GNUInstallDirs) and the Debian package (CPack):
#   cmake --build build --target package   ->  build/wsworkbench_<version>_<arch>.deb
# scripts/package.sh wraps it; scripts/check-package.sh lints, installs and tries the result.
include(GNUInstallDirs)

set(WSW_HOMEPAGE "https://wsworkbench.invalid/"
    CACHE STRING "Project home page (package Homepage, AppStream url)")
set(WSW_MAINTAINER "WebSocket Workbench maintainers <maintainers@wsworkbench.invalid>"
    CACHE STRING "Package maintainer, \"Name <address>\"")
set(WSW_SCREENSHOT_URL "${WSW_HOMEPAGE}docs/screenshot.png"
    CACHE STRING "Where AppStream finds docs/screenshot.png")
set(WSW_VENDOR "WebSocket Workbench maintainers")
# The date of this version's entry in packaging/changelog.
set(WSW_RELEASE_DATE "2026-12-03")

set(packaging_dir "${PROJECT_SOURCE_DIR}/packaging")
set(generated_dir "${PROJECT_BINARY_DIR}/packaging")

# The changelog is history, written by hand; its newest entry must be this version.
file(STRINGS "${packaging_dir}/changelog" changelog_head LIMIT_COUNT 1)
if(NOT changelog_head MATCHES "^wsworkbench \\(${PROJECT_VERSION}\\) ")
    message(FATAL_ERROR "packaging/changelog starts with \"${changelog_head}\": "
                        "add an entry for version ${PROJECT_VERSION}")
endif()

# Debian wants manual pages and changelogs compressed with gzip -9n (no name, no time
# stamp: reproducible). Done at configure time, after filling in @PROJECT_VERSION@ and
# @WSW_RELEASE_DATE@ (not in the changelog: COPYONLY); configure_file makes CMake re-run
# when the source changes.
function(wsw_gzip source output)
    get_filename_component(name "${source}" NAME)
    set(mode @ONLY)
    if(ARGN STREQUAL "COPYONLY")
        set(mode COPYONLY)
    endif()
    configure_file("${source}" "${generated_dir}/${name}" ${mode})
    execute_process(COMMAND gzip -9nc "${generated_dir}/${name}" OUTPUT_FILE "${output}"
                    RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "gzip ${source} failed")
    endif()
endfunction()

# Debian's hardening for what gets installed: every symbol resolved at start, then the
# relocations made read-only (lintian: hardening-no-relro, hardening-no-bindnow).
foreach(program wsw wsworkbench)
    if(TARGET ${program})
        target_link_options(${program} PRIVATE LINKER:-z,relro LINKER:-z,now)
    endif()
endforeach()

if(TARGET wsw)
    install(TARGETS wsw RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
    wsw_gzip("${packaging_dir}/man/wsw.1" "${generated_dir}/wsw.1.gz")
    install(FILES "${generated_dir}/wsw.1.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
    install(FILES "${packaging_dir}/completion/wsw"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")
endif()

if(TARGET wsworkbench)
    install(TARGETS wsworkbench RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
    wsw_gzip("${packaging_dir}/man/wsworkbench.1" "${generated_dir}/wsworkbench.1.gz")
    install(FILES "${generated_dir}/wsworkbench.1.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
    configure_file("${PROJECT_SOURCE_DIR}/resources/wsworkbench.desktop.in"
                   "${generated_dir}/${WSW_APP_ID}.desktop" @ONLY)
    configure_file("${PROJECT_SOURCE_DIR}/resources/wsworkbench.metainfo.xml.in"
                   "${generated_dir}/${WSW_APP_ID}.metainfo.xml" @ONLY)
    install(FILES "${generated_dir}/${WSW_APP_ID}.desktop"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
    install(FILES "${generated_dir}/${WSW_APP_ID}.metainfo.xml"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")
    install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/wsworkbench.svg"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps"
            RENAME "${WSW_APP_ID}.svg")
endif()

# A native package: the changelog is changelog.gz, beside the copyright file.
wsw_gzip("${packaging_dir}/changelog" "${generated_dir}/changelog.gz" COPYONLY)
install(FILES "${packaging_dir}/copyright" "${generated_dir}/changelog.gz"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/wsworkbench")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "wsworkbench")
set(CPACK_PACKAGE_VENDOR "${WSW_VENDOR}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "workbench for WebSocket clients and servers")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${WSW_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${WSW_HOMEPAGE}")
# The libraries come from dpkg-shlibdeps; what Qt loads as plugins it cannot see: the SVG
# icon engine draws the window icon (the platform and TLS plugins come with libqt6gui6
# and libqt6network6, which the libraries pull in).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6svg6")
# CPack takes the synopsis from the summary above and formats this as the extended
# description (an empty line becomes " .").
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "WebSocket Workbench helps people who build and debug WebSocket (RFC 6455)
clients and servers: connect to a server by hand and talk to it, host a
local echo, greeting or broadcast server, and inspect live traffic frame by
frame, every bit of every frame, ping, pong and close included.

The package contains two programs:
 * wsworkbench, the window: connections and servers, a message log, a frame
   inspector with the RFC 6455 bit diagram, a send box for text, JSON,
   binary and deliberately malformed frames, and a round-trip chart;
 * wsw, the command line: a server (echo, greeting, broadcast, manual), an
   interactive client like wscat, and a load generator.
Both speak ws:// and wss:// (TLS, certificate pinning) and permessage-deflate.")
include(CPack)
