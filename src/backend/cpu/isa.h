// Run-time choice of the CPU kernels (see sinapsis/core/cpu.h). The library is compiled for its
// baseline; loops that gain from wider vectors are compiled twice more inside target clones
// (GCC target attributes: AVX2 + FMA, AVX-512) and the clone for cpu::level() is called.
// with_level(f) calls f() through a clone marked flatten: f and everything it calls inline are
// compiled into it for that level, so the vectoriser uses ymm/zmm registers and FMA there.
// Functions from headers keep the baseline target (no AVX code leaks into shared inline
// copies); only the clones themselves carry the wider ISA, and run only on CPUs that have it.
#pragma once
#include <type_traits>
#include <utility>

#include "sinapsis/core/cpu.h"

// The ISA extensions of each level (x86-64-v3 for AVX2; the Skylake-X set for AVX-512, with
// 256-bit vectors preferred by the vectoriser as GCC's tuning for these CPUs does under
// -march=native; AVX-512's masks and 32 registers are used either way).
#define SN_ISA_AVX2 "avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe"
#define SN_ISA_AVX512 SN_ISA_AVX2 ",avx512f,avx512bw,avx512dq,avx512vl,avx512cd"
#define SN_TARGET_AVX2 gnu::target(SN_ISA_AVX2)
#define SN_TARGET_AVX512 gnu::target(SN_ISA_AVX512 ",prefer-vector-width=256")

namespace sn::cpu {

// The level the kernels run at: detected once (cpuid, lowered by SN_CPU_LEVEL).
CpuLevel detect_level();
inline CpuLevel level() {
  static const CpuLevel l = detect_level();
  return l;
}

template <typename F>
[[SN_TARGET_AVX2, gnu::flatten]] void run_avx2(F& f) {
  f();
}
template <typename F>
[[SN_TARGET_AVX512, gnu::flatten]] void run_avx512(F& f) {
  f();
}

// f() compiled for the chosen level. Where the build already targets the wider ISA
// (SN_NATIVE on an AVX-512 machine) the clones cost only compile time.
template <typename F>
inline void with_level(F&& f) {
  switch (level()) {
    case CpuLevel::AVX512:
      run_avx512(f);
      return;
    case CpuLevel::AVX2:
      run_avx2(f);
      return;
    default:
      f();
  }
}

// Vector width in bytes of the chosen level: 64 (AVX-512), 32 (AVX2), 16 (baseline SSE).
inline int vector_bytes() {
  switch (level()) {
    case CpuLevel::AVX512:
      return 64;
    case CpuLevel::AVX2:
      return 32;
    default:
      return 16;
  }
}

// Like with_level, for kernels written for a vector width: f(std::integral_constant<int, VB>)
// runs in the clone of the level whose width VB is (vector_bytes()). An OpenMP parallel region
// is outlined into a function of its own, which the clones' target attributes do not reach: call
// this inside the region (around an `omp for`), not around it.
template <int VB>
using VecBytes = std::integral_constant<int, VB>;
template <typename F>
[[SN_TARGET_AVX2, gnu::flatten]] void run_avx2_vb(F& f) {
  f(VecBytes<32>{});
}
template <typename F>
[[SN_TARGET_AVX512, gnu::flatten]] void run_avx512_vb(F& f) {
  f(VecBytes<64>{});
}
template <typename F>
inline void with_vector_bytes(F&& f) {
  switch (level()) {
    case CpuLevel::AVX512:
      run_avx512_vb(f);
      return;
    case CpuLevel::AVX2:
      run_avx2_vb(f);
      return;
    default:
      f(VecBytes<16>{});
  }
}

}  // namespace sn::cpu
