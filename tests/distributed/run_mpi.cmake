# Runs COMMAND (a ;-list) on NP ranks with MPIEXEC on this host and checks the outcome:
# EXPECT=pass needs exit status 0; EXPECT=fail needs a non-zero status and "rank 1" in the
# output, within 20 s (a rank that fails must not leave the others hanging).
# Invoked by the mpi.* tests (mpi_tests.cmake) as cmake -D... -P run_mpi.cmake.
cmake_minimum_required(VERSION 3.20)
if(NOT MPIEXEC)
  message("mpi test skipped: built without MPI or mpirun not found (install libopenmpi-dev and "
          "openmpi-bin, e.g. with scripts/install-deps.sh)")
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/mpi_env.cmake)
execute_process(COMMAND ${MPIEXEC} -np ${NP} ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE out TIMEOUT 20)
message("${out}")
if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mpirun -np ${NP} failed (${rc})")
  endif()
else()
  if(rc EQUAL 0 OR rc MATCHES "timeout")
    message(FATAL_ERROR "expected the job to fail quickly, got: ${rc}")
  endif()
  if(NOT out MATCHES "rank 1")
    message(FATAL_ERROR "the output does not name the failing rank (rank 1)")
  endif()
  message("the job failed as expected (${rc})")
endif()
