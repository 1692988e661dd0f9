// Every loss against PyTorch 1.13 golden values (tests/golden/loss.json, written by
// tests/golden/gen_loss.py): the value and the gradients for input (and target where PyTorch
// gives one) across reductions, class weights, pos_weight, label smoothing and target kinds.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/ops.h"

namespace {

using json = nlohmann::json;
using namespace sn;

json load_golden() {
  std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/loss.json");
  if (!f) return json();
  return json::parse(f);
}

Tensor decode(const json& j) {
  if (j.is_null()) return Tensor();
  Shape shape;
  for (auto& d : j["shape"]) shape.push_back(d.get<int64_t>());
  const std::string dt = j["dtype"];
  if (dt == "int64") return tensor(j["data"].get<std::vector<int64_t>>(), shape);
  Tensor t = tensor(j["data"].get<std::vector<double>>(), shape, {.dtype = kFloat64});
  return dt == "float32" ? t.to(kFloat32) : t;
}

loss::Reduction reduction_of(const std::string& r) {
  if (r == "none") return loss::Reduction::None;
  if (r == "sum") return loss::Reduction::Sum;
  if (r == "batchmean") return loss::Reduction::BatchMean;
  return loss::Reduction::Mean;
}

Tensor run(const std::string& kind, const json& o, const Tensor& x, const Tensor& y) {
  const loss::Reduction red = reduction_of(o["reduction"]);
  const Tensor w = o.contains("weight") ? decode(o["weight"]) : Tensor();
  if (kind == "mse") return loss::mse(x, y, {.reduction = red});
  if (kind == "l1") return loss::l1(x, y, {.reduction = red});
  if (kind == "huber") return loss::huber(x, y, {.delta = o["delta"], .reduction = red});
  if (kind == "smooth_l1") return loss::smooth_l1(x, y, {.beta = o["beta"], .reduction = red});
  if (kind == "bce") return loss::binary_cross_entropy(x, y, {.weight = w, .reduction = red});
  if (kind == "bce_logits") {
    const Tensor pw = o.contains("pos_weight") ? decode(o["pos_weight"]) : Tensor();
    return loss::binary_cross_entropy_with_logits(
        x, y, {.weight = w, .pos_weight = pw, .reduction = red});
  }
  if (kind == "cross_entropy")
    return loss::cross_entropy(x, y,
                               {.weight = w,
                                .ignore_index = o.value("ignore_index", int64_t{-100}),
                                .label_smoothing = o.value("label_smoothing", 0.0),
                                .reduction = red});
  if (kind == "nll_loss")
    return loss::nll_loss(
        x, y,
        {.weight = w, .ignore_index = o.value("ignore_index", int64_t{-100}), .reduction = red});
  if (kind == "kl_div")
    return loss::kl_div(x, y, {.reduction = red, .log_target = o.value("log_target", false)});
  ADD_FAILURE() << "unknown loss kind " << kind;
  return Tensor();
}

// |a - b| <= atol + rtol·|b| elementwise; reports the first bad element.
void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol,
                  const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << ": missing";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_vector(), w = want.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isinf(w[i])) {
      EXPECT_EQ(g[i], w[i]) << what << " element " << i;
      continue;
    }
    ASSERT_LE(std::abs(g[i] - w[i]), atol + rtol * std::abs(w[i]))
        << what << " element " << i << ": got " << g[i] << ", PyTorch " << w[i];
  }
}

TEST(LossGolden, MatchesPyTorch) {
  const json golden = load_golden();
  ASSERT_FALSE(golden.is_null()) << "tests/golden/loss.json is missing";
  int checked = 0;
  for (const json& c : golden["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    Tensor x = decode(c["input"]);
    Tensor y = decode(c["target"]);
    const bool f32 = x.dtype() == kFloat32;
    const double rtol = f32 ? 2e-5 : 1e-10, atol = f32 ? 1e-5 : 1e-12;
    x.requires_grad_(true);
    const bool grad_target = !c["grad_target"].is_null();
    if (grad_target) y.requires_grad_(true);
    Tensor out = run(c["loss"], c["options"], x, y);
    expect_close(out, decode(c["output"]), rtol, atol, name + " value");
    Tensor go = decode(c["grad_output"]);
    out.backward(go);
    // PyTorch's BCE gradient at p = 0 or 1 is ±1e12 (its ε = 1e-12): compare relatively
    expect_close(x.grad(), decode(c["grad_input"]), rtol, atol, name + " grad_input");
    if (grad_target)
      expect_close(y.grad(), decode(c["grad_target"]), rtol, atol, name + " grad_target");
    ++checked;
  }
  EXPECT_GE(checked, 90);
}

}  // namespace
