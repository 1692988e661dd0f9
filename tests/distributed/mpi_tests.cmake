# Tests that run programs on several ranks with mpirun on this host (loopback), labelled "mpi".
# Each ctest entry runs tests/distributed/run_mpi.cmake, which launches `mpirun -np 2`, as root
# too (OpenMPI's allow-run-as-root variables), with LeakSanitizer told about OpenMPI's own
# leaks (lsan_openmpi.supp). Without MPI or mpirun they are skipped with the reason.
# Included from the top-level CMakeLists.txt inside its SN_BUILD_TESTS block.
set(SN_MPI_TEST_DIR ${PROJECT_SOURCE_DIR}/tests/distributed)
add_executable(test_mpi_ranks ${SN_MPI_TEST_DIR}/mpi/ranks_main.cpp)
target_link_libraries(test_mpi_ranks PRIVATE sinapsis GTest::gtest)
target_include_directories(test_mpi_ranks PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_options(test_mpi_ranks PRIVATE ${SN_TEST_OPT})
add_executable(test_mpi_fail ${SN_MPI_TEST_DIR}/mpi/fail_main.cpp)
target_link_libraries(test_mpi_fail PRIVATE sinapsis)
target_compile_options(test_mpi_fail PRIVATE ${SN_TEST_OPT})

set(SN_MPIEXEC "")
if(SN_MPI_ENABLED AND MPIEXEC_EXECUTABLE)
  set(SN_MPIEXEC ${MPIEXEC_EXECUTABLE})
endif()

# name, expected outcome (pass / fail), program and its arguments
function(sn_mpi_test name expect)
  add_test(NAME mpi.${name}
           COMMAND ${CMAKE_COMMAND} "-DMPIEXEC=${SN_MPIEXEC}" -DNP=2 -DEXPECT=${expect}
                   "-DSUPP=${SN_MPI_TEST_DIR}/lsan_openmpi.supp" "-DCOMMAND=${ARGN}"
                   -P ${SN_MPI_TEST_DIR}/run_mpi.cmake)
  set_tests_properties(mpi.${name} PROPERTIES LABELS mpi TIMEOUT 60
                       SKIP_REGULAR_EXPRESSION "mpi test skipped:"
                       ENVIRONMENT "OMP_WAIT_POLICY=PASSIVE")
endfunction()

foreach(group Collectives Sampler Equivalence Mismatch Fit)
  sn_mpi_test(${group} pass $<TARGET_FILE:test_mpi_ranks> --gtest_filter=${group}.*)
endforeach()
# a rank that fails: the job ends within the timeout, with an error naming the rank
sn_mpi_test(failing_rank fail $<TARGET_FILE:test_mpi_fail>)
if(TARGET sinapsis_cli)
  add_test(NAME mpi.cli_train
           COMMAND ${CMAKE_COMMAND} "-DMPIEXEC=${SN_MPIEXEC}" -DSINAPSIS=$<TARGET_FILE:sinapsis_cli>
                   -DWORK=${PROJECT_BINARY_DIR}/mpi_cli_test
                   "-DSUPP=${SN_MPI_TEST_DIR}/lsan_openmpi.supp" -P ${SN_MPI_TEST_DIR}/cli_mpi.cmake)
  set_tests_properties(mpi.cli_train PROPERTIES LABELS mpi TIMEOUT 120
                       SKIP_REGULAR_EXPRESSION "mpi test skipped:"
                       ENVIRONMENT "OMP_WAIT_POLICY=PASSIVE")
endif()
