# MPI for sn::distributed (src/distributed/distributed.cpp): OpenMPI from Debian
# (libopenmpi-dev, openmpi-bin; scripts/install-deps.sh). SN_MPI=ON (the default) uses MPI
# when find_package finds it and says why it is skipped when not; without it the library
# builds the same API as a world of one process. Included from the top-level CMakeLists.txt.
option(SN_MPI "Data-parallel training over MPI (sn::distributed), when MPI is found" ON)
set(SN_MPI_ENABLED OFF)
if(SN_MPI)
  set(MPI_CXX_SKIP_MPICXX ON)  # the C API only; MPI's deprecated C++ bindings are not used
  find_package(MPI QUIET COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(SN_MPI_ENABLED ON)
    target_link_libraries(sinapsis PUBLIC MPI::MPI_CXX)
    set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/distributed/distributed.cpp APPEND PROPERTY
                 COMPILE_DEFINITIONS SN_HAVE_MPI=1)
    message(STATUS "sinapsis: MPI ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE}): sn::distributed on")
  else()
    message(STATUS "sinapsis: SN_MPI skipped: MPI not found (Debian: libopenmpi-dev, "
                   "openmpi-bin; scripts/install-deps.sh); sn::distributed is a world of one")
  endif()
else()
  message(STATUS "sinapsis: SN_MPI off: sn::distributed is a world of one")
endif()
