# The BLAS and LAPACK libraries sinapsis links, as imported targets: sinapsis::openblas and
# sinapsis::lapacke. Used by the build (CMakeLists.txt) and by the installed CMake package
# (sinapsisConfig.cmake), so a program linking the static library finds the same libraries.
# Defines nothing for a library that is not found: the caller checks TARGET sinapsis::...
#
# OpenBLAS: Debian's OpenMP build is preferred, so that BLAS and the library's own loops share one
# thread pool (the pthread build oversubscribes the cores; see shared/reference/BASELINES.md).
# Its folder is also put into the run-time search path of whatever links it: libopenblas.so.0 is
# otherwise whichever build Debian's alternatives point at.
set(_sn_arch "${CMAKE_LIBRARY_ARCHITECTURE}")
if(NOT _sn_arch)
  set(_sn_arch x86_64-linux-gnu)
endif()
if(NOT TARGET sinapsis::openblas)
  find_library(SN_OPENBLAS NAMES openblas PATHS /usr/lib/${_sn_arch}/openblas-openmp
               NO_DEFAULT_PATH)
  find_path(SN_OPENBLAS_INC cblas.h PATHS /usr/include/${_sn_arch}/openblas-openmp
            NO_DEFAULT_PATH)
  if(NOT SN_OPENBLAS OR NOT SN_OPENBLAS_INC)
    find_library(SN_OPENBLAS NAMES openblas)
    find_path(SN_OPENBLAS_INC cblas.h PATH_SUFFIXES openblas)
  endif()
  if(SN_OPENBLAS AND SN_OPENBLAS_INC)
    add_library(sinapsis::openblas UNKNOWN IMPORTED)
    get_filename_component(_sn_openblas_dir "${SN_OPENBLAS}" DIRECTORY)
    set_target_properties(sinapsis::openblas PROPERTIES
      IMPORTED_LOCATION "${SN_OPENBLAS}"
      INTERFACE_INCLUDE_DIRECTORIES "${SN_OPENBLAS_INC}"
      INTERFACE_LINK_OPTIONS "-Wl,-rpath,${_sn_openblas_dir}")
  endif()
endif()
if(NOT TARGET sinapsis::lapacke)
  find_library(SN_LAPACKE NAMES lapacke)
  if(SN_LAPACKE)
    add_library(sinapsis::lapacke UNKNOWN IMPORTED)
    set_target_properties(sinapsis::lapacke PROPERTIES IMPORTED_LOCATION "${SN_LAPACKE}")
  endif()
endif()
