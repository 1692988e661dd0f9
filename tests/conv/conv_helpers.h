// Helpers for the conv/pool/norm tests: the PyTorch golden file (tests/golden/conv.json, made by
// tests/golden/gen_conv.py), tensors from its entries, and a closeness check that reports the
// worst element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "sinapsis/sinapsis.h"
#include "test_util.h"

namespace sn::testing {

inline const nlohmann::json& conv_golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/conv.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/conv.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

// {"shape": [...], "data": [...]} -> tensor of `dtype`.
inline Tensor from_json(const nlohmann::json& e, DType dtype, bool requires_grad = false) {
  std::vector<int64_t> shape = e.at("shape").get<std::vector<int64_t>>();
  std::vector<double> data = e.at("data").get<std::vector<double>>();
  Tensor t = tensor(data, Shape(shape), {.dtype = kFloat64}).to(dtype);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

inline std::vector<int64_t> ints(const nlohmann::json& e) { return e.get<std::vector<int64_t>>(); }

// Every element within atol + rtol·|expected|; reports the worst one.
inline ::testing::AssertionResult close(const Tensor& got, const Tensor& expected, double rtol,
                                        double atol) {
  if (!got.defined()) return ::testing::AssertionFailure() << "result is undefined";
  if (got.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << got.shape() << " != " << expected.shape();
  const std::vector<double> a = got.to_vector(), b = expected.to_vector();
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(a[i] - b[i]);
    const double err = diff == 0 ? 0 : diff / (atol + rtol * std::abs(b[i]));
    if (!(err <= worst)) {
      worst = err;
      wi = i;
    }
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << wi << ": got " << a[wi] << ", expected "
                                       << b[wi] << " (shape " << got.shape() << ")";
}

// Tolerances for results computed in `dtype` against float64 PyTorch values.
inline double rtol_for(DType dt) { return dt == kFloat64 ? 1e-9 : 2e-4; }
inline double atol_for(DType dt) { return dt == kFloat64 ? 1e-10 : 2e-4; }

using sn::test::error_of;

}  // namespace sn::testing
