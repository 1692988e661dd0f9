// conv_transpose2d and nn::ConvTranspose2d: PyTorch 1.13 golden values (output and every
// gradient, float64 and float32, from tests/golden/gen_generative.py), finite-difference
// gradchecks over stride/padding/output_padding/dilation/groups, the adjoint identity with conv2d,
// the module's parameters, init and repr as PyTorch's, the model-spec entry, and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "conv/conv_helpers.h"
#include "conv/generative_golden.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;
using testing::ints;

const nlohmann::json& golden() { return testing::generative_golden(); }

ConvTransposeOptions options_of(const nlohmann::json& c) {
  return {.stride = IntArgs(ints(c["stride"])),
          .padding = IntArgs(ints(c["padding"])),
          .output_padding = IntArgs(ints(c["output_padding"])),
          .dilation = IntArgs(ints(c["dilation"])),
          .groups = c["groups"].get<int64_t>()};
}

void run_golden(DType dt) {
  const auto& cases = golden()["conv_transpose2d"];
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
    Tensor x = from_json(c["x"], dt, true), w = from_json(c["w"], dt, true);
    Tensor b = c.contains("b") ? from_json(c["b"], dt, true) : Tensor();
    Tensor y = conv_transpose2d(x, w, b, options_of(c));
    const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
    EXPECT_TRUE(close(y, from_json(c["y"], kFloat64), rt, at));
    y.backward(from_json(c["gy"], dt));
    EXPECT_TRUE(close(x.grad(), from_json(c["dx"], kFloat64), rt, at));
    EXPECT_TRUE(close(w.grad(), from_json(c["dw"], kFloat64), rt, at));
    if (b.defined()) {
      EXPECT_TRUE(close(b.grad(), from_json(c["db"], kFloat64), rt, at));
    }
  }
}

TEST(ConvTranspose2d, MatchesPyTorchFloat64) { run_golden(kFloat64); }
TEST(ConvTranspose2d, MatchesPyTorchFloat32) { run_golden(kFloat32); }

void expect_gradcheck(const Shape& xs, const Shape& ws, bool bias, ConvTransposeOptions o) {
  manual_seed(11);
  Tensor x = randn(xs, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = randn(ws, {.dtype = kFloat64, .requires_grad = true});
  std::vector<Tensor> in{x, w};
  if (bias) in.push_back(randn({ws[1] * o.groups}, {.dtype = kFloat64, .requires_grad = true}));
  auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& v) {
        return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o);
      },
      in);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(ConvTranspose2d, Gradcheck) {
  expect_gradcheck({2, 2, 3, 3}, {2, 3, 3, 2}, true, {});
  expect_gradcheck({1, 2, 3, 2}, {2, 2, 3, 3}, true,
                   {.stride = 2, .padding = 1, .output_padding = 1});
  expect_gradcheck({1, 2, 2, 3}, {2, 1, 2, 3}, false,
                   {.stride = {2, 3}, .padding = {0, 1}, .output_padding = {1, 2}});
  expect_gradcheck({1, 2, 3, 3}, {2, 2, 2, 2}, true,
                   {.padding = 1, .output_padding = {1, 0}, .dilation = {2, 1}});
  expect_gradcheck({2, 4, 2, 2}, {4, 1, 3, 3}, true, {.stride = 2, .groups = 2});
  expect_gradcheck({1, 3, 2, 3}, {3, 2, 1, 1}, true, {});                 // 1x1
  expect_gradcheck({2, 3, 1, 1}, {3, 2, 4, 4}, true, {});                 // latent to image
  expect_gradcheck({1, 13, 3, 3}, {13, 2, 3, 3}, false, {.padding = 1});  // many channels
}

// <conv_transpose(x, W), z> = <x, conv(z, W)>: the op is the adjoint of conv2d.
TEST(ConvTranspose2d, AdjointOfConv2d) {
  manual_seed(5);
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = randn({2, 6, 5, 4}, {.dtype = dt});
    Tensor w = randn({6, 2, 3, 3}, {.dtype = dt});
    const ConvTransposeOptions o{.stride = 2, .padding = 1, .output_padding = 1, .groups = 2};
    Tensor y = conv_transpose2d(x, w, Tensor(), o);
    EXPECT_EQ(y.shape(), (Shape{2, 4, 10, 8}));
    Tensor z = randn(y.shape(), {.dtype = dt});
    Tensor cz = conv2d(z, w, Tensor(), {.stride = 2, .padding = 1, .groups = 2});
    const double a = sum(mul(y, z)).item(), b = sum(mul(x, cz)).item();
    EXPECT_NEAR(a, b, (dt == kFloat64 ? 1e-10 : 1e-3) * (1 + std::abs(a)));
  }
}

// A batch that the im2col path splits into chunks (7x7 inputs: up to 5 samples side by side, so
// 12 samples run as 3 chunks of 4) gives what each sample gives alone, output and all three
// gradients.
TEST(ConvTranspose2d, ChunkedBatchEqualsSampleBySample) {
  manual_seed(9);
  const TensorOptions f64{.dtype = kFloat64};
  Tensor x = randn({12, 16, 7, 7}, f64).requires_grad_(true);
  Tensor w = randn({16, 8, 4, 4}, f64).requires_grad_(true);
  Tensor b = randn({16}, f64).requires_grad_(true);
  const ConvTransposeOptions o{.stride = 2, .padding = 1, .groups = 2};
  Tensor y = conv_transpose2d(x, w, b, o);
  ASSERT_EQ(y.shape(), (Shape{12, 16, 14, 14}));
  Tensor gy = randn(y.shape(), f64);
  y.backward(gy);
  Tensor dw = zeros(w.shape(), f64), db = zeros({16}, f64);
  for (int64_t n = 0; n < 12; ++n) {
    SCOPED_TRACE(n);
    Tensor xn = x.detach().narrow(0, n, 1).clone().requires_grad_(true);
    Tensor wn = w.detach().clone().requires_grad_(true);
    Tensor bn = b.detach().clone().requires_grad_(true);
    Tensor yn = conv_transpose2d(xn, wn, bn, o);
    EXPECT_TRUE(close(yn, y.detach().narrow(0, n, 1), 1e-12, 1e-12));
    yn.backward(gy.narrow(0, n, 1).contiguous());
    EXPECT_TRUE(close(xn.grad(), x.grad().narrow(0, n, 1), 1e-12, 1e-12));
    dw = add(dw, wn.grad());
    db = add(db, bn.grad());
  }
  EXPECT_TRUE(close(w.grad(), dw, 1e-10, 1e-10));
  EXPECT_TRUE(close(b.grad(), db, 1e-10, 1e-10));
}

TEST(ConvTranspose2d, UnbatchedOnlyNeededGradientsAndNoGrad) {
  manual_seed(2);
  Tensor x = randn({3, 4, 4}, {.requires_grad = true});
  Tensor w = randn({3, 2, 2, 2});  // no gradient wanted
  Tensor b = randn({2}, {.requires_grad = true});
  Tensor y = conv_transpose2d(x, w, b, {.stride = 2});
  EXPECT_EQ(y.shape(), (Shape{2, 8, 8}));
  Tensor yb = conv_transpose2d(x.unsqueeze(0), w, b, {.stride = 2}).squeeze(0);
  EXPECT_TRUE(close(y, yb, 0, 0));
  sum(y).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // d/db Σy = H_out·W_out per channel
  EXPECT_TRUE(close(b.grad(), full({2}, 64.0), 1e-6, 1e-6));
  NoGradGuard ng;
  EXPECT_FALSE(conv_transpose2d(x, w, b).requires_grad());
}

TEST(ConvTranspose2d, ModuleMatchesPyTorchLayout) {
  manual_seed(1);
  const auto& ref = golden()["conv_transpose2d_module"];
  nn::ConvTranspose2d m(6, 4, {3, 2},
                        {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2});
  auto named = m.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[1].first, "bias");
  EXPECT_EQ(named[0].second.shape(), Shape(ref["params"]["weight"].get<std::vector<int64_t>>()));
  EXPECT_EQ(named[1].second.shape(), Shape(ref["params"]["bias"].get<std::vector<int64_t>>()));
  EXPECT_EQ("ConvTranspose2d(" + m.extra_repr() + ")", ref["repr"].get<std::string>());
  // PyTorch's default init: weight and bias within ±1/√fan_in, fan_in = (4/2)·3·2 = 12
  const double bound = 1.0 / std::sqrt(12.0);
  EXPECT_LE(max(abs(m.weight())).item(), bound + 1e-7);
  EXPECT_GT(max(abs(m.weight())).item(), 0.5 * bound);
  EXPECT_LE(max(abs(m.bias())).item(), bound + 1e-7);
  EXPECT_EQ(m(zeros({2, 6, 5, 5})).shape(), (Shape{2, 4, 10, 9}));
  EXPECT_EQ(error_of([&] {
              m(zeros({2, 4, 5, 5}));
            }),
            "ConvTranspose2d(6 → 4, 3×2): expected input [N, 6, H, W], got [2, 4, 5, 5]");
  EXPECT_NE(error_of([] {
              nn::ConvTranspose2d(4, 4, 3, {.stride = 2, .output_padding = 2});
            }).find("output_padding must be smaller than stride or dilation"),
            std::string::npos);
  EXPECT_EQ(nn::ConvTranspose2d(2, 3, 4, {.bias = false}).extra_repr(),
            "2, 3, kernel_size=(4, 4), stride=(1, 1), bias=False");
}

TEST(ConvTranspose2d, ModelSpec) {
  auto m = nn::build_model(R"({"input": [8], "layers": [
      {"type": "Unflatten", "dim": 1, "sizes": [2, 2, 2]},
      {"type": "ConvTranspose2d", "out": 3, "kernel": 4, "stride": 2, "padding": 1},
      {"type": "ConvTranspose2d", "out": 1, "kernel": 3, "stride": 2, "padding": 1,
       "output_padding": 1, "bias": false}]})");
  EXPECT_EQ(m.output_shape, (Shape{1, 8, 8}));
  EXPECT_NE(m.spec.find("ConvTranspose2d"), std::string::npos);
}

TEST(ConvTranspose2d, ClearErrors) {
  EXPECT_EQ(error_of([] {
              conv_transpose2d(zeros({2, 3, 4, 4}), zeros({4, 2, 3, 3}));
            }),
            "conv_transpose2d: expected input [N, 4, H, W] for weight [4, 2, 3, 3] ([in_channels, "
            "out_channels / groups, KH, KW]), got [2, 3, 4, 4]");
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({2, 3, 4, 4}), zeros({2, 3, 3, 3}));
            }).find("hint: are the weight's first two dims swapped?"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({2, 3, 4, 4}), zeros({3, 2, 3}));
            })
                .find("weight must be 4-D [in_channels, out_channels / groups, KH, KW] (got [3, 2, "
                      "3])"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({2, 3, 4, 4}), zeros({3, 2, 3, 3}), zeros({3}));
            }).find("bias must be [2] for weight [3, 2, 3, 3] (got [3])"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), Tensor(),
                               {.stride = 2, .output_padding = 2});
            })
                .find("output_padding must be smaller than stride or dilation (got output_padding "
                      "[2, 2], stride [2, 2], dilation [1, 1])"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({1, 1, 1, 1}), zeros({1, 1, 1, 1}), Tensor(), {.padding = 1});
            }).find("output would be empty"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({1, 4, 3, 3}), zeros({4, 1, 3, 3}), Tensor(), {.groups = 3});
            }).find("groups (3) must divide the input channels (4)"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              conv_transpose2d(zeros({4, 3}), zeros({4, 1, 3, 3}));
            }).find("conv_transpose2d: expected a 4-D input"),
            std::string::npos);
}

}  // namespace
}  // namespace sn
