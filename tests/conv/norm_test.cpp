// batch_norm (training with running statistics, eval), layer_norm and group_norm against PyTorch
// golden values (output, gradients, updated running stats), gradchecks, the fused kernels against
// the composite formula built from primitive ops, and errors.
#include <gtest/gtest.h>

#include "conv/conv_helpers.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;
using testing::ints;

Tensor opt_json(const nlohmann::json& c, const char* key, DType dt, bool grad) {
  return c.contains(key) ? from_json(c[key], dt, grad) : Tensor();
}

void check_grads(const nlohmann::json& c, const Tensor& x, const Tensor& w, const Tensor& b,
                 DType dt) {
  const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
  EXPECT_TRUE(close(x.grad(), from_json(c["dx"], kFloat64), rt, at));
  if (w.defined()) {
    EXPECT_TRUE(close(w.grad(), from_json(c["dw"], kFloat64), rt, at));
  }
  if (b.defined()) {
    EXPECT_TRUE(close(b.grad(), from_json(c["db"], kFloat64), rt, at));
  }
}

TEST(BatchNorm, MatchesPyTorchIncludingRunningStats) {
  for (DType dt : {kFloat64, kFloat32})
    for (const auto& c : testing::conv_golden()["batch_norm"]) {
      SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
      Tensor x = from_json(c["x"], dt, true);
      Tensor w = opt_json(c, "w", dt, true), b = opt_json(c, "b", dt, true);
      Tensor rm = opt_json(c, "running_mean", dt, false),
             rv = opt_json(c, "running_var", dt, false);
      const uint32_t v0 = rm.defined() ? rm.version() : 0;
      Tensor y = batch_norm(x, rm, rv, w, b,
                            {.training = c["training"].get<bool>(),
                             .momentum = c["momentum"].get<double>(),
                             .eps = c["eps"].get<double>()});
      const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
      EXPECT_TRUE(close(y, from_json(c["y"], kFloat64), rt, at));
      if (c.contains("new_running_mean")) {
        EXPECT_TRUE(close(rm, from_json(c["new_running_mean"], kFloat64), rt, at));
        EXPECT_TRUE(close(rv, from_json(c["new_running_var"], kFloat64), rt, at));
        if (c["training"].get<bool>()) {
          EXPECT_GT(rm.version(), v0);
        }
      }
      y.backward(from_json(c["gy"], dt));
      check_grads(c, x, w, b, dt);
    }
}

TEST(LayerNorm, MatchesPyTorch) {
  for (DType dt : {kFloat64, kFloat32})
    for (const auto& c : testing::conv_golden()["layer_norm"]) {
      SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
      Tensor x = from_json(c["x"], dt, true);
      Tensor w = opt_json(c, "w", dt, true), b = opt_json(c, "b", dt, true);
      Tensor y = layer_norm(x, Shape(ints(c["normalized_shape"])), w, b, c["eps"].get<double>());
      EXPECT_TRUE(
          close(y, from_json(c["y"], kFloat64), testing::rtol_for(dt), testing::atol_for(dt)));
      y.backward(from_json(c["gy"], dt));
      check_grads(c, x, w, b, dt);
    }
}

TEST(GroupNorm, MatchesPyTorch) {
  for (DType dt : {kFloat64, kFloat32})
    for (const auto& c : testing::conv_golden()["group_norm"]) {
      SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
      Tensor x = from_json(c["x"], dt, true);
      Tensor w = opt_json(c, "w", dt, true), b = opt_json(c, "b", dt, true);
      Tensor y = group_norm(x, c["num_groups"].get<int64_t>(), w, b, c["eps"].get<double>());
      EXPECT_TRUE(
          close(y, from_json(c["y"], kFloat64), testing::rtol_for(dt), testing::atol_for(dt)));
      y.backward(from_json(c["gy"], dt));
      check_grads(c, x, w, b, dt);
    }
}

std::vector<Tensor> f64_inputs(const std::vector<Shape>& shapes, uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> v;
  for (const Shape& s : shapes) v.push_back(randn(s, {.dtype = kFloat64, .requires_grad = true}));
  return v;
}

TEST(BatchNorm, Gradcheck) {
  for (bool training : {true, false}) {
    Tensor rm = tensor({0.1, -0.2, 0.3}, {.dtype = kFloat64});
    Tensor rv = tensor({1.5, 0.7, 1.1}, {.dtype = kFloat64});
    auto r = autograd::gradcheck(
        [&](const std::vector<Tensor>& v) {
          // running stats are passed as copies: the finite differences must not drift them
          return batch_norm(v[0], rm.clone(), rv.clone(), v[1], v[2], {.training = training});
        },
        f64_inputs({{3, 3, 2, 2}, {3}, {3}}, 5));
    EXPECT_TRUE(r.ok) << "training " << training << ": " << r.message;
  }
  auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) {
        return batch_norm(v[0].t(), Tensor(), Tensor(), Tensor(), Tensor(), {.training = true});
      },
      f64_inputs({{4, 5}}, 6));  // [5, 4] non-contiguous, no affine, no running stats
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LayerNorm, GradcheckAndCompositeEquivalence) {
  auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) {
        return layer_norm(v[0], {3, 4}, v[1], v[2]);
      },
      f64_inputs({{2, 3, 4}, {3, 4}, {3, 4}}, 8));
  EXPECT_TRUE(r.ok) << r.message;
  r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) { return layer_norm(v[0].transpose(0, 1), {3}); },
      f64_inputs({{3, 5}}, 9));
  EXPECT_TRUE(r.ok) << r.message;
  // the fused kernel equals the formula written with primitive ops, gradients included
  auto in = f64_inputs({{4, 6}, {6}, {6}}, 10);
  Tensor y1 = layer_norm(in[0], {6}, in[1], in[2], 1e-5);
  Tensor mu = mean(in[0], {1}, true);
  Tensor var0 = var(in[0], {1}, 0, true);
  Tensor y2 = (in[0] - mu) / sqrt(var0 + 1e-5) * in[1] + in[2];
  EXPECT_TRUE(close(y1, y2, 1e-12, 1e-12));
  Tensor gy = randn({4, 6}, {.dtype = kFloat64});
  auto g1 = autograd::grad({y1}, in, {gy});
  auto g2 = autograd::grad({y2}, in, {gy});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(g1[i], g2[i], 1e-10, 1e-10)) << i;
}

TEST(GroupNorm, GradcheckAndCompositeEquivalence) {
  auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) { return group_norm(v[0], 2, v[1], v[2]); },
      f64_inputs({{2, 4, 3, 2}, {4}, {4}}, 12));
  EXPECT_TRUE(r.ok) << r.message;
  auto in = f64_inputs({{2, 6, 5}, {6}, {6}}, 13);
  Tensor y1 = group_norm(in[0], 3, in[1], in[2], 1e-5);
  Tensor xg = in[0].reshape({2, 3, 10});
  Tensor xhat = (xg - mean(xg, {2}, true)) / sqrt(var(xg, {2}, 0, true) + 1e-5);
  Tensor y2 = xhat.reshape({2, 6, 5}) * in[1].reshape({1, 6, 1}) + in[2].reshape({1, 6, 1});
  EXPECT_TRUE(close(y1, y2, 1e-12, 1e-12));
  Tensor gy = randn({2, 6, 5}, {.dtype = kFloat64});
  auto g1 = autograd::grad({y1}, in, {gy});
  auto g2 = autograd::grad({y2}, in, {gy});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(g1[i], g2[i], 1e-10, 1e-10)) << i;
}

TEST(BatchNorm, TrainingStatsAndEvalMode) {
  // channel 0 holds 1..4, channel 1 holds 10 everywhere: batch mean 2.5 / 10, biased var 1.25 / 0
  Tensor x = tensor({1, 10, 2, 10, 3, 10, 4, 10}, {.dtype = kFloat64}).reshape({4, 2});
  Tensor rm = zeros({2}, {.dtype = kFloat64}), rv = ones({2}, {.dtype = kFloat64});
  Tensor y =
      batch_norm(x, rm, rv, Tensor(), Tensor(), {.training = true, .momentum = 0.5, .eps = 0});
  const double s = std::sqrt(1.25);
  EXPECT_TRUE(close(y.select(1, 0),
                    tensor({-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, {.dtype = kFloat64}), 1e-12,
                    1e-12));
  // running_var uses the unbiased variance: 0.5·1 + 0.5·(5/3)
  EXPECT_TRUE(close(rm, tensor({1.25, 5.0}, {.dtype = kFloat64}), 1e-12, 1e-12));
  EXPECT_TRUE(close(rv, tensor({0.5 + 0.5 * 5.0 / 3.0, 0.5}, {.dtype = kFloat64}), 1e-12, 1e-12));
  // eval mode normalises with the running statistics and leaves them alone
  Tensor ye = batch_norm(x, rm, rv, Tensor(), Tensor(), {.training = false, .eps = 0});
  EXPECT_NEAR(ye.at({0, 0}), (1 - 1.25) / std::sqrt(rv.at({0})), 1e-12);
  EXPECT_TRUE(close(rm, tensor({1.25, 5.0}, {.dtype = kFloat64}), 0, 0));
}

TEST(Norms, ClearErrors) {
  Tensor x = zeros({4, 3, 2, 2});
  EXPECT_NE(error_of([&] {
              batch_norm(x, zeros({4}), ones({4}), Tensor(), Tensor(), {.training = true});
            }).find("batch_norm: running_mean must be [3] for input [4, 3, 2, 2] (got [4])"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), {.training = true});
            }).find("expected more than 1 value per channel when training (input [1, 3])"),
            std::string::npos);
  EXPECT_NE(error_of([&] { batch_norm(x, Tensor(), Tensor()); }).find("eval mode"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              batch_norm(zeros({4}), Tensor(), Tensor(), Tensor(), Tensor(), {.training = true});
            }).find("expected input [N, C] or [N, C, *], got [4]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              batch_norm(x, zeros({3}), ones({3}), ones({3}, {.dtype = kFloat64}));
            }).find("dtype mismatch"),
            std::string::npos);
  Tensor leaf = zeros({3}, {.requires_grad = true});
  EXPECT_NE(error_of([&] {
              batch_norm(x, leaf, ones({3}), Tensor(), Tensor(), {.training = true});
            }).find("cannot be modified in place"),
            std::string::npos);
  EXPECT_NE(error_of([&] { layer_norm(x, {3}); })
                .find("layer_norm: normalized_shape [3] does not match the last dims of input [4, "
                      "3, 2, 2]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { layer_norm(x, {2}, ones({3})); }).find("weight must be [2]"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        group_norm(x, 2);
      }).find("group_norm: num_groups (2) must divide the channels (3) of input [4, 3, 2, 2]"),
      std::string::npos);
  EXPECT_NE(error_of([&] { group_norm(x, 3, ones({4})); }).find("weight must be [3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              layer_norm(zeros({2, 2}, {.dtype = kInt64}), {2});
            }).find("expected a floating-point input, got int64"),
            std::string::npos);
}

}  // namespace
}  // namespace sn
