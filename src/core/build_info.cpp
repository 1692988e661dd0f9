// sn::build_info(): the version comes from CMake (SN_VERSION, set on this one file by
// src/cmake_extras.cmake), the rest from the compiler's predefined macros; `kernels` names the
// CPU level the kernels run at (cpu_kernels(), src/backend/cpu/cpu_level.cpp) and the
// instruction sets of the baseline build.
#include "sinapsis/core/build_info.h"

#include "sinapsis/core/cpu.h"

#include <sstream>

#ifndef SN_VERSION
#define SN_VERSION "unknown"
#endif

namespace sn {

namespace {

std::string compiler_name() {
  std::ostringstream os;
#if defined(__clang__)
  os << "Clang " << __clang_major__ << "." << __clang_minor__ << "." << __clang_patchlevel__;
#elif defined(__GNUC__)
  os << "GCC " << __GNUC__ << "." << __GNUC_MINOR__ << "." << __GNUC_PATCHLEVEL__;
#else
  os << "unknown compiler";
#endif
  return os.str();
}

// Most capable first: the first entry is the level the kernels were compiled for.
std::vector<std::string> compiled_isa() {
  std::vector<std::string> v;
#if defined(__AVX512BF16__)
  v.push_back("AVX512-BF16");
#endif
#if defined(__AVX512F__)
  v.push_back("AVX-512F");
#endif
#if defined(__AVX2__)
  v.push_back("AVX2");
#endif
#if defined(__FMA__)
  v.push_back("FMA");
#endif
#if defined(__AVX__)
  v.push_back("AVX");
#endif
#if defined(__SSE4_2__)
  v.push_back("SSE4.2");
#endif
#if defined(__SSE2__)
  v.push_back("SSE2");
#endif
#if defined(__ARM_NEON)
  v.push_back("NEON");
#endif
  return v;
}

std::string arch_name() {
#if defined(__x86_64__)
  return "x86-64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "this CPU";
#endif
}

BuildInfo make_info() {
  BuildInfo b;
  b.version = SN_VERSION;
  b.compiler = compiler_name();
#ifdef NDEBUG
  b.build_type = "optimised";
#else
  b.build_type = "debug";
#endif
  b.isa = compiled_isa();
#if defined(__SANITIZE_ADDRESS__)
  b.sanitizers.push_back("address");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  b.sanitizers.push_back("address");
#endif
#endif
  std::string list;
  for (const auto& i : b.isa) list += (list.empty() ? "" : ", ") + i;
  // the level picked at run time (sinapsis/core/cpu.h), then what the baseline was built with
  b.kernels = cpu_kernels() + "; baseline compiled for " + arch_name() +
              (list.empty() ? "" : " with " + list);
  return b;
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info = make_info();
  return info;
}

std::string build_info_string() {
  const BuildInfo& b = build_info();
  std::ostringstream os;
  os << "sinapsis " << b.version << "\n"
     << "compiler: " << b.compiler << " (" << b.build_type << " build";
  for (const auto& s : b.sanitizers) os << ", " << s << " sanitizer";
  os << ")\n"
     << "kernels:  " << b.kernels << "\n";
  return os.str();
}

}  // namespace sn
