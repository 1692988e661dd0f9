// A region of a .cpp compiled for a wider ISA than the build's (the kernels written with that
// ISA's intrinsics, in sgemm_avx2.cpp and gemm_packed.cpp): SN_ISA_BEGIN(SN_ISA_AVX2) ...
// SN_ISA_END. GCC's target pragmas, or under clang (scripts/fuzz.sh's compiler) its attribute
// push: clang ignores `#pragma GCC target` and then refuses the intrinsics. Only the functions
// defined inside the region get the ISA; the headers included before it stay baseline.
#pragma once
#include "backend/cpu/isa.h"

#define SN_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define SN_ISA_BEGIN(isa) \
  SN_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define SN_ISA_END SN_PRAGMA(clang attribute pop)
#else
#define SN_ISA_BEGIN(isa) SN_PRAGMA(GCC push_options) SN_PRAGMA(GCC target(isa))
#define SN_ISA_END SN_PRAGMA(GCC pop_options)
#endif
