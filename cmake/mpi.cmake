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
    # The library files are linked, not the MPI::MPI_CXX target, whose include paths would reach
    # every object: only the one file that calls MPI sees its headers, the other objects' command
    # lines stay those of a build without MPI (ccache shares them), and no public header
    # includes mpi.h.
    set(sn_mpi_libs ${MPI_CXX_LIBRARIES})
    list(FILTER sn_mpi_libs EXCLUDE REGEX "mpi_cxx")  # the unused C++ bindings
    target_link_libraries(sinapsis PRIVATE ${sn_mpi_libs})
    set(sn_mpi_src ${PROJECT_SOURCE_DIR}/src/distributed/distributed.cpp)
    set_property(SOURCE ${sn_mpi_src} APPEND PROPERTY COMPILE_DEFINITIONS SN_HAVE_MPI=1)
    foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
      get_target_property(value MPI::MPI_CXX INTERFACE_${prop})
      if(value)
        set_property(SOURCE ${sn_mpi_src} APPEND PROPERTY ${prop} ${value})
      endif()
    endforeach()
    message(STATUS "sinapsis: MPI ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE}): sn::distributed on")
  else()
    message(STATUS "sinapsis: SN_MPI skipped: MPI not found (Debian: libopenmpi-dev, "
                   "openmpi-bin; scripts/install-deps.sh); sn::distributed is a world of one")
  endif()
else()
  message(STATUS "sinapsis: SN_MPI off: sn::distributed is a world of one")
endif()
