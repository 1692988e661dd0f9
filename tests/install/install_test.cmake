# ctest install.consumer: installs the build tree BUILD_DIR into WORK_DIR/prefix (nothing is
# rebuilt), then builds tests/install/consumer against it with CMake (shared and static library)
# and with pkg-config, and runs each program. Run as cmake -DBUILD_DIR=... -DSOURCE_DIR=...
# -DWORK_DIR=... -DCXX=... -DGENERATOR=... -P install_test.cmake
cmake_minimum_required(VERSION 3.20)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (exit ${rc}):\n${ARGN}\n${out}")
  endif()
  message(STATUS "install test: ${what}: ok")
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# the shared library carries its SOVERSION: a link for the soname beside the versioned file
file(GLOB_RECURSE sonames ${prefix}/lib*/libsinapsis.so.*)
file(GLOB_RECURSE archives ${prefix}/lib*/libsinapsis.a)
file(GLOB_RECURSE pcfiles ${prefix}/lib*/sinapsis.pc)
if(NOT sonames OR NOT archives OR NOT pcfiles OR NOT EXISTS ${prefix}/bin/sinapsis
   OR NOT EXISTS ${prefix}/include/sinapsis/sinapsis.h)
  message(FATAL_ERROR "install test: missing from ${prefix}: shared '${sonames}', static "
                      "'${archives}', pkg-config '${pcfiles}', bin/sinapsis or the headers")
endif()
# the man page and the bash completion, generated from the command definitions
set(man ${prefix}/share/man/man1/sinapsis.1)
set(completion ${prefix}/share/bash-completion/completions/sinapsis)
foreach(f ${man} ${completion})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "install test: missing from ${prefix}: ${f}")
  endif()
endforeach()
file(READ ${man} text)
if(NOT text MATCHES "\\.TH SINAPSIS 1" OR NOT text MATCHES "train")
  message(FATAL_ERROR "install test: ${man} is not the man page of sinapsis")
endif()
file(READ ${completion} text)
if(NOT text MATCHES "complete [^\n]*-F _sinapsis sinapsis")
  message(FATAL_ERROR "install test: ${completion} registers no bash completion for sinapsis")
endif()

# CMake: find_package(sinapsis 0.1) and both targets
run("configure the CMake consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/cmake -G
    ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix})
run("build the CMake consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
run("run consumer_shared" ${WORK_DIR}/cmake/consumer_shared)
message(STATUS "${run_out}")
run("run consumer_static" ${WORK_DIR}/cmake/consumer_static)

# pkg-config: flags from the installed sinapsis.pc, the shared library found through it
list(GET pcfiles 0 pcfile)
get_filename_component(pcdir ${pcfile} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
run("pkg-config" pkg-config --cflags --libs sinapsis)
string(STRIP "${run_out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
list(GET sonames 0 soname)
get_filename_component(libdir ${soname} DIRECTORY)
run("build the pkg-config consumer" ${CXX} -std=c++20 -O1 ${SOURCE_DIR}/main.cpp ${flags}
    -Wl,-rpath,${libdir} -o ${WORK_DIR}/consumer_pkgconfig)
run("run the pkg-config consumer" ${WORK_DIR}/consumer_pkgconfig)
