// The CPU level of the kernels (sinapsis/core/cpu.h, backend/cpu/isa.h): never above what the
// CPU supports, named consistently, and with_level runs its callable exactly once at any level.
// The other suites run again at each lower level (ctest cpu_level.*, tests/cpu_levels.cmake).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend/cpu/isa.h"
#include "backend/cpu/loops.h"
#include "sinapsis/core/cpu.h"

namespace {

TEST(CpuLevel, NotAboveTheCpuAndNamed) {
  EXPECT_LE(static_cast<int>(sn::cpu_level()), static_cast<int>(sn::cpu_level_supported()));
  EXPECT_EQ(sn::cpu_level(), sn::cpu::level());
  EXPECT_STREQ(sn::cpu_level_name(sn::CpuLevel::Baseline), "baseline");
  EXPECT_STREQ(sn::cpu_level_name(sn::CpuLevel::AVX2), "avx2");
  EXPECT_STREQ(sn::cpu_level_name(sn::CpuLevel::AVX512), "avx512");
  const std::string k = sn::cpu_kernels();
  EXPECT_EQ(k.rfind(sn::cpu_level_name(sn::cpu_level()), 0), 0u) << k;
}

TEST(CpuLevel, FollowsTheEnvironment) {
  // this process's level was fixed at first use; the variable, when set, can only lower it
  const char* env = std::getenv("SN_CPU_LEVEL");
  if (env == nullptr) {
    EXPECT_EQ(sn::cpu_level(), sn::cpu_level_supported());
    return;
  }
  for (sn::CpuLevel l : {sn::CpuLevel::Baseline, sn::CpuLevel::AVX2, sn::CpuLevel::AVX512})
    if (std::strcmp(env, sn::cpu_level_name(l)) == 0) {
      const sn::CpuLevel want = static_cast<int>(l) < static_cast<int>(sn::cpu_level_supported())
                                    ? l
                                    : sn::cpu_level_supported();
      EXPECT_EQ(sn::cpu_level(), want) << env;
    }
}

TEST(CpuLevel, WithLevelRunsOnceAndVectorLoopsAgree) {
  int calls = 0;
  sn::cpu::with_level([&] { ++calls; });
  EXPECT_EQ(calls, 1);
  // a loop the clones vectorise: the same float results as a plain loop (one rounding each)
  std::vector<float> a(1003), b(1003), out(1003);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = 0.25f * static_cast<float>(i) - 7.0f;
    b[i] = 1.0f / (1.0f + static_cast<float>(i));
  }
  sn::cpu::parallel_for(static_cast<int64_t>(a.size()), 1, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = a[i] * b[i];
  });
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(out[i], a[i] * b[i]) << i;
}

}  // namespace
