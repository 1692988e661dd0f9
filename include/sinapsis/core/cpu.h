// Which CPU kernels this process runs. The library is built for a baseline (x86-64-v2: SSE4.2)
// and carries its hot loops compiled again for AVX2 + FMA and for AVX-512; the best level the
// CPU supports is picked once, at first use. The environment variable SN_CPU_LEVEL
// (baseline, avx2 or avx512) lowers it, e.g. to test every path on one machine; a level above
// what the CPU supports is capped to it.
#pragma once
#include <string>

namespace sn {

enum class CpuLevel { Baseline = 0, AVX2 = 1, AVX512 = 2 };

CpuLevel cpu_level();                        // the level the kernels run at
CpuLevel cpu_level_supported();              // the best level this CPU supports
const char* cpu_level_name(CpuLevel level);  // "baseline", "avx2", "avx512"

// One line for `sinapsis --version`, e.g. "avx512 (AVX-512 kernels; the CPU supports avx512)"
// or "avx2 (lowered by SN_CPU_LEVEL=avx2; the CPU supports avx512)".
std::string cpu_kernels();

}  // namespace sn
