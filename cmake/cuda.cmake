# The CUDA backend (src/backend/cuda/): SN_CUDA=AUTO (the default) builds it when CMake finds the
# CUDA toolkit (FindCUDAToolkit: nvcc on the PATH, CUDAToolkit_ROOT, or /usr/local/cuda, where
# NVIDIA's installer puts it), ON requires it, OFF builds exactly the CPU-only library. A
# machine without a GPU builds and tests it too: the CUDA tests skip and say why.
# The kernels (kernels.cu, nvcc) are their own static library, linked into sinapsis; the host
# side (cuda_backend.cpp) is compiled with the library and links cudart and cuBLAS by file, as
# cmake/mpi.cmake does MPI, so no CUDA target leaks into the exported CMake package.
# Included from the top-level CMakeLists.txt.
set(SN_CUDA AUTO CACHE STRING "CUDA backend: AUTO (when the CUDA toolkit is found), ON or OFF")
set_property(CACHE SN_CUDA PROPERTY STRINGS AUTO ON OFF)
set(SN_CUDA_ARCHITECTURES "80;90" CACHE STRING
    "GPU architectures the CUDA kernels are compiled for (e.g. 80;90, native)")
set(SN_CUDA_ENABLED OFF)
if(SN_CUDA STREQUAL "AUTO" OR SN_CUDA)
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND NOT CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
  endif()
  if(CUDAToolkit_FOUND AND EXISTS "${CMAKE_CUDA_COMPILER}")
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES ${SN_CUDA_ARCHITECTURES})
    endif()
    enable_language(CUDA)
    set(SN_CUDA_ENABLED ON)
  elseif(NOT SN_CUDA STREQUAL "AUTO")
    message(FATAL_ERROR "sinapsis: SN_CUDA=ON but the CUDA toolkit (nvcc, cudart, cuBLAS) was "
                        "not found; set CUDAToolkit_ROOT to its folder (e.g. /usr/local/cuda)")
  endif()
endif()

if(SN_CUDA_ENABLED)
  add_library(sinapsis_cuda STATIC ${PROJECT_SOURCE_DIR}/src/backend/cuda/kernels.cu)
  # the C++ flags set with add_compile_options (-Wall, -march, -fsanitize ...) are not nvcc's
  set_target_properties(sinapsis_cuda PROPERTIES COMPILE_OPTIONS "" POSITION_INDEPENDENT_CODE ON
                        CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON CUDA_RUNTIME_LIBRARY Shared)
  target_include_directories(sinapsis_cuda PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(sinapsis_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fPIC>)
  if(CMAKE_CXX_COMPILER_LAUNCHER AND NOT CMAKE_CUDA_COMPILER_LAUNCHER)
    set_target_properties(sinapsis_cuda PROPERTIES CUDA_COMPILER_LAUNCHER
                          "${CMAKE_CXX_COMPILER_LAUNCHER}")
  endif()
  set(sn_cuda_host ${PROJECT_SOURCE_DIR}/src/backend/cuda/cuda_backend.cpp)
  target_sources(sinapsis PRIVATE ${sn_cuda_host})
  set_property(SOURCE ${sn_cuda_host} APPEND PROPERTY INCLUDE_DIRECTORIES
               ${CUDAToolkit_INCLUDE_DIRS})
  set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/backend/registry.cpp APPEND PROPERTY
               COMPILE_DEFINITIONS SN_HAVE_CUDA=1)
  find_library(SN_CUDART cudart HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  find_library(SN_CUBLAS cublas HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  target_link_libraries(sinapsis PRIVATE sinapsis_cuda ${SN_CUDART} ${SN_CUBLAS})
  install(TARGETS sinapsis_cuda EXPORT sinapsisStaticTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  message(STATUS "sinapsis: CUDA backend on (CUDA ${CUDAToolkit_VERSION}, ${CMAKE_CUDA_COMPILER}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
elseif(SN_CUDA STREQUAL "AUTO")
  message(STATUS "sinapsis: CUDA backend off: the CUDA toolkit was not found (SN_CUDA=AUTO)")
else()
  message(STATUS "sinapsis: CUDA backend off (SN_CUDA=OFF)")
endif()
