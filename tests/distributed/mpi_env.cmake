# The environment of every mpi.* test: included by run_mpi.cmake and cli_mpi.cmake.
# CI runs as root; one host; a 2-core machine runs 2 ranks; shared memory between ranks, no
# network probing (UCX, InfiniBand)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT} 1)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT_CONFIRM} 1)
set(ENV{OMPI_MCA_pml} ob1)
set(ENV{OMPI_MCA_btl} self,vader)
set(ENV{OMPI_MCA_rmaps_base_oversubscribe} 1)
set(ENV{OMPI_MCA_hwloc_base_binding_policy} none)
set(ENV{OMP_NUM_THREADS} 1)
# LeakSanitizer (the sanitizer build): OpenMPI's own allocations kept until exit are suppressed
# by library name, which needs its plug-ins still loaded at exit (no dlclose) and full stacks
# through its frame-pointer-less code (slow unwinding on malloc; these tests are small)
set(ENV{LSAN_OPTIONS} "suppressions=${SUPP}:print_suppressions=0")
set(ENV{OMPI_MCA_mca_base_component_disable_dlclose} 1)
if(DEFINED ENV{ASAN_OPTIONS})
  set(ENV{ASAN_OPTIONS} "$ENV{ASAN_OPTIONS}:fast_unwind_on_malloc=0")
else()
  set(ENV{ASAN_OPTIONS} "fast_unwind_on_malloc=0")
endif()
