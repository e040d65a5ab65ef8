# The version is defined once, by project(VERSION ...) in the root CMakeLists.txt, and the
# application's identity once here. The code reads them as WSW_VERSION and WSW_APP_ID from
# the generated header "wswversion.h": link ws::version to include it.

# Reverse-DNS name of the desktop file, the icon and the AppStream component, and Qt's
# desktop file name (the Wayland app id). The project's organisation domain is
# wsworkbench.invalid (as in QSettings) until it has one of its own.
set(WSW_APP_ID "invalid.wsworkbench.wsworkbench")

configure_file("${CMAKE_CURRENT_LIST_DIR}/wswversion.h.in"
               "${PROJECT_BINARY_DIR}/generated/wswversion.h" @ONLY)
add_library(wsversion INTERFACE)
add_library(ws::version ALIAS wsversion)
target_include_directories(wsversion INTERFACE "${PROJECT_BINARY_DIR}/generated")
