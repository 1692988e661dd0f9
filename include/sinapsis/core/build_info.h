// What this build of sinapsis is: its version (CMake's project version), the compiler that built
// it and the CPU kernels it runs. For `sinapsis --version` and bug reports; nothing here changes
// behaviour. The kernel line says what is known: the instruction sets the binary was compiled
// for (run-time kernel dispatch, when present, reports the level it picked here too).
#pragma once
#include <string>
#include <vector>

namespace sn {

struct BuildInfo {
  std::string version;           // "0.1.0"
  std::string compiler;          // "GCC 12.2.0", "Clang 16.0.6"
  std::string build_type;        // "optimised" or "debug" (from NDEBUG)
  std::vector<std::string> isa;  // instruction sets compiled in: "AVX-512F", "AVX2", "FMA", ...
  std::string kernels;           // one line on the CPU kernels in use
  std::vector<std::string> sanitizers;  // "address", "undefined" when built with them
};

// The build's facts, computed once.
const BuildInfo& build_info();
// A few lines for `--version`: "sinapsis 0.1.0\ncompiler: ...\nkernels: ...\n".
std::string build_info_string();

}  // namespace sn
