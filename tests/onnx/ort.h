// ONNX Runtime for the ONNX tests: a model run through tests/onnx/ort_run.cjs (node and the npm
// package onnxruntime-node, which scripts/install-deps.sh puts in third_party_data/ when npm is
// there), its inputs and outputs passed as raw files. Tests skip, with the reason, without it.
#pragma once
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace sn::test {

inline const std::string kNodeModules =
    std::string(SN_SOURCE_DIR) + "/third_party_data/node_modules";

// Why ONNX Runtime cannot run here, or "" when it can.
inline std::string ort_skip_reason() {
  if (sh("command -v node").code != 0) return "node is not installed";
  if (!std::filesystem::exists(kNodeModules + "/onnxruntime-node"))
    return "the npm package onnxruntime-node is not in " + kNodeModules +
           " (scripts/install-deps.sh installs it when npm is present)";
  return "";
}

// One input of a run: the graph input `name` ("" = the first) fed with `value` (float32 or int64).
struct OrtInput {
  std::string name;
  Tensor value;
};

// A finished run: exit status, what it printed, and its outputs read back by name.
struct OrtRun {
  int code = -1;
  std::string out{}, prefix{};
  std::vector<float> floats(const std::string& output) const {
    std::ifstream f(prefix + "." + output + ".bin", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<float> v(bytes.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
  }
};

// Runs `model` on `inputs` in ONNX Runtime; files go to `dir` (prefix "out").
inline OrtRun run_ort(const std::string& model, const std::vector<OrtInput>& inputs,
                      const std::filesystem::path& dir) {
  std::string args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor c = inputs[i].value.contiguous();
    const bool ids = c.dtype() == kInt64;
    const std::string file = (dir / ("input" + std::to_string(i) + ".bin")).string();
    {
      const Tensor t = ids ? c : c.to(kFloat32).contiguous();
      std::ofstream f(file, std::ios::binary);
      f.write(static_cast<const char*>(t.raw_data()), t.numel() * (ids ? 8 : 4));
    }
    std::ostringstream dims;
    for (int d = 0; d < c.shape().size(); ++d) dims << (d ? "," : "") << c.shape()[d];
    args += " '" + inputs[i].name + ":" + (ids ? "int64" : "float32") + ":" + dims.str() + ":" +
            file + "'";
  }
  OrtRun r;
  r.prefix = (dir / "out").string();
  const ShellResult s = sh("NODE_PATH='" + kNodeModules + "' node '" + SN_SOURCE_DIR +
                           "/tests/onnx/ort_run.cjs' '" + model + "' '" + r.prefix + "'" + args);
  r.code = s.code;
  r.out = s.out;
  return r;
}

// The largest |a_i - b_i|; infinity when the sizes differ.
inline double max_abs_diff(const std::vector<float>& a, const Tensor& b) {
  const Tensor c = b.to(kFloat32).contiguous();
  if (static_cast<int64_t>(a.size()) != c.numel()) return INFINITY;
  const float* p = c.data_ptr<float>();
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(double(a[i]) - double(p[i])));
  return d;
}

}  // namespace sn::test
