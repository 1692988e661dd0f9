// The CPU level of the kernels (isa.h, sinapsis/core/cpu.h): cpuid through GCC's
// __builtin_cpu_supports (which also checks that the OS saves the AVX/AVX-512 registers),
// lowered by the environment variable SN_CPU_LEVEL.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/cpu/isa.h"

namespace sn {

namespace {
CpuLevel supported() {
  __builtin_cpu_init();
#if defined(__clang__)
  // clang (14, scripts/fuzz.sh's compiler) knows no level names here: the levels' features
  // that the kernels' target attributes use
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return CpuLevel::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
    return CpuLevel::AVX2;
#else
  if (__builtin_cpu_supports("x86-64-v4")) return CpuLevel::AVX512;
  if (__builtin_cpu_supports("x86-64-v3")) return CpuLevel::AVX2;
#endif
  return CpuLevel::Baseline;
}

// SN_CPU_LEVEL's value as a level; false when unset or not a level name.
bool requested(CpuLevel& out, const char*& text) {
  text = std::getenv("SN_CPU_LEVEL");
  if (text == nullptr || *text == '\0') return false;
  for (CpuLevel l : {CpuLevel::Baseline, CpuLevel::AVX2, CpuLevel::AVX512})
    if (std::strcmp(text, cpu_level_name(l)) == 0) {
      out = l;
      return true;
    }
  return false;
}
}  // namespace

CpuLevel cpu::detect_level() {
  const CpuLevel best = supported();
  CpuLevel want = best;
  const char* text = nullptr;
  if (requested(want, text)) return want < best ? want : best;
  if (text != nullptr && *text != '\0')
    std::fprintf(stderr,
                 "sinapsis: SN_CPU_LEVEL=%.40s is not one of baseline, avx2, avx512; using %s\n",
                 text, cpu_level_name(best));
  return best;
}

CpuLevel cpu_level() { return cpu::level(); }
CpuLevel cpu_level_supported() {
  static const CpuLevel l = supported();
  return l;
}

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::AVX512:
      return "avx512";
    case CpuLevel::AVX2:
      return "avx2";
    default:
      return "baseline";
  }
}

std::string cpu_kernels() {
  const CpuLevel l = cpu_level(), best = cpu_level_supported();
  std::string s = cpu_level_name(l);
#if defined(SN_NATIVE_BUILD)
  s += " (built with -march=native; ";
#else
  s += " (portable build, baseline x86-64-v2; ";
#endif
  if (l < best)
    s += std::string("lowered by SN_CPU_LEVEL; the CPU supports ") + cpu_level_name(best) + ")";
  else
    s += "the best this CPU supports)";
  return s;
}

}  // namespace sn
