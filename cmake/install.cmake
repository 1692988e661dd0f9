# What `cmake --install` puts into a prefix, and `cpack -G DEB` into a Debian package:
#   lib/libsinapsis.so.0.1.0 (+ the .so.0.1 and .so links), lib/libsinapsis.a
#   include/sinapsis/...      the public headers
#   bin/sinapsis              the command-line tool, with share/man/man1/sinapsis.1 and
#                             share/bash-completion/completions/sinapsis
#   lib/cmake/sinapsis/       the CMake package: find_package(sinapsis 0.1) gives
#                             sinapsis::sinapsis (shared) and sinapsis::sinapsis_static
#   lib/pkgconfig/sinapsis.pc pkg-config --cflags --libs sinapsis
# (lib/ is GNUInstallDirs' CMAKE_INSTALL_LIBDIR: lib/x86_64-linux-gnu under /usr.)
# Included from the top-level CMakeLists.txt, after the targets exist.
include(CMakePackageConfigHelpers)
set(SN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sinapsis)

install(TARGETS sinapsis_shared EXPORT sinapsisTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS sinapsis EXPORT sinapsisStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sinapsis
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
if(TARGET sinapsis_cli)
  install(TARGETS sinapsis_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # made by the build from the tool's command definitions (tools/cli/CMakeLists.txt)
  install(FILES ${PROJECT_BINARY_DIR}/tools/cli/sinapsis.1
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_BINARY_DIR}/tools/cli/sinapsis.bash-completion
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sinapsis)
endif()

# Two export sets: the shared library needs nothing found by its user, the static one needs
# everything it links (sinapsisConfig.cmake finds those before loading it).
install(EXPORT sinapsisTargets NAMESPACE sinapsis:: DESTINATION ${SN_CMAKE_DIR})
install(EXPORT sinapsisStaticTargets NAMESPACE sinapsis:: DESTINATION ${SN_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sinapsisConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/sinapsisConfig.cmake
                              INSTALL_DESTINATION ${SN_CMAKE_DIR})
# 0.x: minor versions may break the interface, so 0.1 accepts 0.1.*, not 0.2
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sinapsisConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sinapsisConfig.cmake
              ${PROJECT_BINARY_DIR}/sinapsisConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/sinapsisDependencies.cmake
        DESTINATION ${SN_CMAKE_DIR})

# pkg-config: prefix relative to the .pc file, so the installed tree can be moved (and
# `cmake --install --prefix DIR` needs no reconfigure)
set(SN_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH SN_PC_TO_PREFIX /prefix/${SN_PC_DIR} /prefix)
string(REGEX REPLACE "/$" "" SN_PC_TO_PREFIX "${SN_PC_TO_PREFIX}")
get_filename_component(SN_OPENBLAS_LIBDIR ${SN_OPENBLAS} DIRECTORY)
set(SN_PC_MPI "")
if(SN_MPI_ENABLED)
  set(SN_PC_MPI ", ompi-c")  # Debian's OpenMPI pkg-config module
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/sinapsis.pc.in ${PROJECT_BINARY_DIR}/sinapsis.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sinapsis.pc DESTINATION ${SN_PC_DIR})

# cpack -G DEB (run in the build folder): one package with the library, headers, CLI and the
# CMake/pkg-config files. Depends lists the run-time packages, found by dpkg-shlibdeps from what
# the shared library and the CLI link; building against the static library also needs the
# development packages in Suggests.
set(CPACK_PACKAGE_NAME sinapsis)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "sinapsis developers <sinapsis@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "C++20 deep-learning library (tensors, autograd, neural networks) and command-line tool")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libopenblas-openmp-dev, liblapacke-dev, zlib1g-dev, libomp-dev, cmake, pkg-config, libopenmpi-dev, openmpi-bin")
include(CPack)

# The test: install this build into a temporary prefix, then build and run a small program
# against it with CMake (shared and static) and with pkg-config. Not under the sanitizers
# (the consumer would need their run-time libraries too).
if(SN_BUILD_TESTS AND NOT SN_SANITIZE)
  add_test(NAME install.consumer
           COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR}
                   -DSOURCE_DIR=${PROJECT_SOURCE_DIR}/tests/install/consumer
                   -DWORK_DIR=${PROJECT_BINARY_DIR}/install_test
                   -DCXX=${CMAKE_CXX_COMPILER} -DGENERATOR=${CMAKE_GENERATOR}
                   -P ${PROJECT_SOURCE_DIR}/tests/install/install_test.cmake)
  set_tests_properties(install.consumer PROPERTIES ENVIRONMENT "OMP_WAIT_POLICY=PASSIVE")
endif()
