# Extra system libraries the library links (each from a Debian package installed by
# scripts/install-deps.sh). Included from the top-level CMakeLists.txt.
find_package(ZLIB REQUIRED)   # gzip-compressed IDX files
target_link_libraries(sinapsis PUBLIC ZLIB::ZLIB)
find_library(SN_LAPACKE lapacke)
if(SN_LAPACKE)
  target_link_libraries(sinapsis PUBLIC ${SN_LAPACKE})
endif()
