// Helpers for the attention / transformer tests: the PyTorch golden file
// (tests/golden/transformer.safetensors, made by tests/golden/gen_transformer.py) and a
// finite-difference gradcheck over a module's parameters as well as its inputs (autograd::gradcheck
// perturbs private copies of its inputs, which a module's own parameters cannot be).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sinapsis/autograd/node.h"
#include "sinapsis/io/safetensors.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace sn::test {

inline const io::Checkpoint& transformer_golden() {
  static const io::Checkpoint ck =
      io::load(std::string(SN_SOURCE_DIR) + "/tests/golden/transformer.safetensors");
  return ck;
}

inline nlohmann::json golden_case(const std::string& name) {
  const auto cases = nlohmann::json::parse(transformer_golden().metadata.at("cases"));
  for (const auto& c : cases)
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

inline std::vector<std::string> golden_case_names() {
  std::vector<std::string> out;
  for (const auto& c : nlohmann::json::parse(transformer_golden().metadata.at("cases")))
    out.push_back(c["name"].get<std::string>());
  return out;
}

// "<case>/<key>" of the golden file; undefined when absent.
inline Tensor golden_tensor(const std::string& c, const std::string& key) {
  const auto& t = transformer_golden().tensors;
  auto it = t.find(c + "/" + key);
  return it == t.end() ? Tensor() : it->second;
}

// The case's state_dict (the keys without a further '/': PyTorch's parameter names).
inline nn::StateDict golden_state_dict(const std::string& c) {
  nn::StateDict sd;
  const std::string prefix = c + "/";
  for (const auto& [k, v] : transformer_golden().tensors)
    if (k.rfind(prefix, 0) == 0 && k.find('/', prefix.size()) == std::string::npos)
      sd.insert(k.substr(prefix.size()), v);
  return sd;
}

// max |a - b| / (atol + rtol·|b|) <= 1, with the worst element in the failure message.
inline ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol,
                                        double atol) {
  if (!got.defined() || !want.defined())
    return ::testing::AssertionFailure()
           << "undefined tensor (got " << got.defined() << ", want " << want.defined() << ")";
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << got.shape() << " != " << want.shape();
  const auto a = got.to_vector(), b = want.to_vector();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double s = std::abs(a[i] - b[i]) / (atol + rtol * std::abs(b[i]));
    if (!(s <= worst)) worst = s, at = i;
    if (std::isnan(a[i]) != std::isnan(b[i])) worst = INFINITY, at = i;
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << at << ": got " << a[at] << ", want "
                                       << b[at] << " (score " << worst << ")";
}

// Gradcheck of f() with respect to `inputs` (float64 leaves that require grad) and every
// parameter of `m` (float64): analytic gradients by one backward of a fixed projection of f(),
// numeric ones by central differences, perturbing the tensors in place.
inline ::testing::AssertionResult module_gradcheck(nn::Module& m, const std::function<Tensor()>& f,
                                                   const std::vector<Tensor>& inputs,
                                                   double eps = 1e-6, double atol = 1e-6,
                                                   double rtol = 1e-4) {
  std::vector<std::pair<std::string, Tensor>> leaves;
  for (size_t i = 0; i < inputs.size(); ++i)
    leaves.emplace_back("input " + std::to_string(i), inputs[i]);
  for (auto& np : m.named_parameters()) leaves.push_back(np);
  for (auto& [n, t] : leaves) {
    if (t.dtype() != kFloat64 || !t.is_contiguous() || !t.requires_grad())
      return ::testing::AssertionFailure() << n << " must be a contiguous f64 leaf needing grad";
    t.zero_grad();
  }
  auto project = [](const Tensor& y) {
    Tensor w = empty(y.shape(), {.dtype = kFloat64});
    double* p = w.data_ptr<double>();
    for (int64_t i = 0; i < w.numel(); ++i) p[i] = 1.0 - 0.1 * (i % 7) + 0.05 * (i % 3);
    return sum(mul(y, w));
  };
  project(f()).backward();
  NoGradGuard ng;
  for (auto& [n, t] : leaves) {
    const Tensor g =
        t.grad().defined() ? t.grad().contiguous() : zeros(t.shape(), {.dtype = kFloat64});
    const double* pg = g.data_ptr<double>();
    double* px = t.data_ptr<double>();
    for (int64_t e = 0; e < t.numel(); ++e) {
      const double orig = px[e];
      px[e] = orig + eps;
      const double fp = project(f()).item();
      px[e] = orig - eps;
      const double fm = project(f()).item();
      px[e] = orig;
      const double num = (fp - fm) / (2 * eps);
      if (!(std::abs(pg[e] - num) <= atol + rtol * std::abs(num)))
        return ::testing::AssertionFailure()
               << n << " element " << e << ": analytic " << pg[e] << ", numeric " << num;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sn::test
