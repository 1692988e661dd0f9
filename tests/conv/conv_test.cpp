// conv1d / conv2d: PyTorch golden values (output and every gradient, float64 and float32),
// finite-difference gradchecks, the fused ReLU against the composite, non-contiguous and
// unbatched inputs, and the error messages.
#include <gtest/gtest.h>

#include "conv/conv_helpers.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;
using testing::ints;

ConvOptions options_of(const nlohmann::json& c) {
  ConvOptions o;
  o.stride = IntArgs(ints(c["stride"]));
  if (c["padding"].is_string())
    o.padding = Padding(c["padding"].get<std::string>().c_str());
  else
    o.padding = Padding(ints(c["padding"]));
  o.dilation = IntArgs(ints(c["dilation"]));
  o.groups = c["groups"].get<int64_t>();
  o.relu = c["relu"].get<bool>();
  return o;
}

void run_golden(const char* key, DType dt) {
  const auto& cases = testing::conv_golden()[key];
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(key) + " " + c["name"].get<std::string>() + " " + dtype_name(dt));
    Tensor x = from_json(c["x"], dt, true), w = from_json(c["w"], dt, true);
    Tensor b = c.contains("b") ? from_json(c["b"], dt, true) : Tensor();
    const ConvOptions o = options_of(c);
    Tensor y = std::string(key) == "conv1d" ? conv1d(x, w, b, o) : conv2d(x, w, b, o);
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

TEST(Conv2d, MatchesPyTorchFloat64) { run_golden("conv2d", kFloat64); }
TEST(Conv2d, MatchesPyTorchFloat32) { run_golden("conv2d", kFloat32); }
TEST(Conv1d, MatchesPyTorchFloat64) { run_golden("conv1d", kFloat64); }
TEST(Conv1d, MatchesPyTorchFloat32) { run_golden("conv1d", kFloat32); }

// Finite differences on small f64 problems, every input differentiated.
void expect_gradcheck(const Shape& xs, const Shape& ws, bool bias, ConvOptions o, bool one_d) {
  manual_seed(7);
  Tensor x = randn(xs, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = randn(ws, {.dtype = kFloat64, .requires_grad = true});
  std::vector<Tensor> in{x, w};
  if (bias) in.push_back(randn({ws[0]}, {.dtype = kFloat64, .requires_grad = true}));
  auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& v) {
        Tensor b = v.size() > 2 ? v[2] : Tensor();
        return one_d ? conv1d(v[0], v[1], b, o) : conv2d(v[0], v[1], b, o);
      },
      in);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Conv2d, GradcheckStridePaddingDilationGroups) {
  expect_gradcheck({2, 2, 5, 4}, {3, 2, 3, 2}, true, {}, false);
  expect_gradcheck({1, 2, 6, 5}, {2, 2, 2, 3}, true, {.stride = {2, 1}, .padding = {1, 2}}, false);
  expect_gradcheck({1, 2, 6, 6}, {2, 2, 2, 2}, false, {.padding = 1, .dilation = {2, 1}}, false);
  expect_gradcheck({2, 4, 4, 4}, {4, 2, 3, 3}, true, {.stride = 2, .padding = 1, .groups = 2},
                   false);
  expect_gradcheck({1, 3, 3, 3}, {2, 3, 1, 1}, true, {}, false);  // direct 1x1 path
  expect_gradcheck({1, 2, 5, 4}, {2, 2, 4, 3}, true, {.padding = "same"}, false);
}

TEST(Conv2d, GradcheckFusedRelu) {
  // keep pre-activations away from 0, where ReLU has no derivative
  manual_seed(3);
  Tensor x = randn({2, 2, 4, 4}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = randn({3, 2, 3, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = tensor({0.3, -0.2, 0.1}, {.dtype = kFloat64, .requires_grad = true});
  {
    NoGradGuard ng;
    Tensor pre = conv2d(x, w, b, {.padding = 1});
    ASSERT_GT(min(abs(pre)).item(), 1e-4);
  }
  auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) { return conv2d_relu(v[0], v[1], v[2], {.padding = 1}); },
      {x, w, b});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Conv1d, Gradcheck) {
  expect_gradcheck({2, 3, 7}, {2, 3, 3}, true, {.stride = 2, .padding = 1}, true);
  expect_gradcheck({1, 4, 9}, {4, 2, 2}, true, {.dilation = 3, .groups = 2}, true);
  expect_gradcheck({1, 2, 6}, {3, 2, 4}, false, {.padding = "same"}, true);
}

TEST(Conv2d, FusedReluEqualsComposite) {
  manual_seed(1);
  Tensor x = randn({3, 2, 6, 5}, {.requires_grad = true});
  Tensor w = randn({4, 2, 3, 3}, {.requires_grad = true});
  Tensor b = randn({4}, {.requires_grad = true});
  Tensor y1 = conv2d(x, w, b, {.stride = 2, .padding = 1, .relu = true});
  Tensor y2 = relu(conv2d(x, w, b, {.stride = 2, .padding = 1}));
  EXPECT_TRUE(close(y1, y2, 1e-6, 1e-6));
  Tensor gy = randn(y1.shape());
  auto g1 = autograd::grad({y1}, {x, w, b}, {gy});
  auto g2 = autograd::grad({y2}, {x, w, b}, {gy});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(g1[i], g2[i], 1e-5, 1e-5)) << i;
  EXPECT_EQ(y1.grad_fn()->name(), "Conv2dBackward");
}

TEST(Conv2d, NonContiguousAndUnbatchedInputs) {
  manual_seed(2);
  Tensor base = randn({2, 5, 3, 6}, {.dtype = kFloat64});
  Tensor x = base.permute({0, 3, 1, 2});  // [2, 6, 5, 3], not contiguous
  ASSERT_FALSE(x.is_contiguous());
  Tensor w = randn({4, 3, 2, 2}, {.dtype = kFloat64}).transpose(2, 3);  // non-contiguous weight
  Tensor y = conv2d(x, w, Tensor(), {.groups = 2});
  Tensor yc = conv2d(x.contiguous(), w.contiguous(), Tensor(), {.groups = 2});
  EXPECT_TRUE(close(y, yc, 1e-12, 1e-12));
  // an unbatched [C, H, W] input gives the batched result without the batch dim
  Tensor x0 = x[1];
  Tensor y0 = conv2d(x0, w, Tensor(), {.groups = 2});
  EXPECT_EQ(y0.shape(), (Shape{4, 4, 2}));
  EXPECT_TRUE(close(y0, yc[1], 1e-12, 1e-12));
  auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& v) {
        return conv2d(v[0].transpose(1, 2), v[1], Tensor(), {.padding = {1, 0}});
      },
      {randn({2, 4, 3}, {.dtype = kFloat64, .requires_grad = true}),
       randn({2, 2, 2, 2}, {.dtype = kFloat64, .requires_grad = true})});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Conv2d, OnlyNeededGradientsAndNoGraphUnderNoGrad) {
  manual_seed(4);
  Tensor x = randn({2, 1, 6, 6});  // the data: no gradient needed (as LeNet's first conv)
  Tensor w = randn({3, 1, 3, 3}, {.requires_grad = true});
  Tensor b = zeros({3}, {.requires_grad = true});
  Tensor y = conv2d(x, w, b);
  sum(y).backward();
  EXPECT_FALSE(x.grad().defined());
  // dL/db = number of output positions per channel (sum over N·OH·OW of ones)
  EXPECT_TRUE(close(b.grad(), full({3}, 2 * 4 * 4), 0, 1e-4));
  {
    NoGradGuard ng;
    Tensor z = conv2d(x, w, b);
    EXPECT_FALSE(z.requires_grad());
  }
  // the output size formula: (H + 2p - d(k - 1) - 1) / s + 1
  Tensor big = zeros({1, 1, 11, 10});
  EXPECT_EQ(conv2d(big, zeros({2, 1, 3, 3}), Tensor(), {.stride = 3, .padding = 1, .dilation = 2})
                .shape(),
            (Shape{1, 2, 3, 3}));
  EXPECT_EQ(conv2d(big, zeros({2, 1, 4, 3}), Tensor(), {.padding = "same"}).shape(),
            (Shape{1, 2, 11, 10}));
  EXPECT_EQ(conv2d(zeros({0, 1, 5, 5}), zeros({2, 1, 3, 3})).shape(), (Shape{0, 2, 3, 3}));
}

TEST(Conv2d, ClearErrors) {
  Tensor x = zeros({8, 1, 28, 28});
  EXPECT_EQ(error_of([&] {
              conv2d(x, zeros({16, 3, 5, 5}));
            }),
            "conv2d: expected input [N, 3, H, W] for weight [16, 3, 5, 5], got [8, 1, 28, 28]");
  EXPECT_NE(error_of([&] {
              conv2d(zeros({2, 4, 5, 5}), zeros({6, 3, 3, 3}), Tensor(), {.groups = 2});
            }).find("expected input [N, 6, H, W] for weight [6, 3, 3, 3] and groups 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(zeros({2, 4, 5, 5}), zeros({6, 2, 3, 3}), Tensor(), {.groups = 4});
            }).find("groups (4) must divide the output channels (6)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(zeros({2, 5, 5, 5}), zeros({6, 1, 3, 3}), Tensor(), {.groups = 3});
            }).find("groups (3) must divide the input channels (5)"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              conv2d(zeros({1, 1, 3, 3}), zeros({2, 1, 5, 5}));
            }),
            "conv2d: kernel [5, 5] is larger than the padded input [3, 3] (input [3, 3], padding "
            "[0, 0])");
  EXPECT_NE(error_of([&] {
              conv2d(zeros({1, 1, 4, 4}), zeros({2, 1, 3, 3}), Tensor(), {.dilation = 2});
            }).find("kernel [3, 3] (dilated [5, 5]) is larger than the padded input [4, 4]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(zeros({1, 28, 28}).unsqueeze(0).unsqueeze(0), zeros({2, 1, 3, 3}));
            })
                .find("expected a 4-D input [N, C, H, W] (or 3-D without the batch dim), got [1, "
                      "1, 1, 28, 28]"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        conv2d(x, zeros({6, 1, 5}));
      }).find("weight must be 4-D [out_channels, in_channels / groups, KH, KW] (got [6, 1, 5])"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}), zeros({5}));
            }).find("bias must be [6] for weight [6, 1, 5, 5] (got [5])"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}), Tensor(), {.stride = 2, .padding = "same"});
            }).find("padding \"same\" needs stride 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}), Tensor(), {.stride = {1, 2, 3}});
            }).find("stride needs 1 or 2 values (got [1, 2, 3])"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}), Tensor(), {.stride = 0});
            }).find("stride must be positive"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}), Tensor(), {.padding = -1});
            }).find("padding must be non-negative"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, zeros({6, 1, 5, 5}, {.dtype = kFloat64}));
            }).find("dtype mismatch (input float32, weight float64)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(zeros({1, 1, 5, 5}, {.dtype = kInt64}), zeros({1, 1, 3, 3}));
            }).find("expected a floating-point input, got int64"),
            std::string::npos);
  EXPECT_NE(error_of([] { Padding p("full"); }).find("\"same\" or \"valid\""), std::string::npos);
  EXPECT_NE(error_of([&] {
              conv1d(zeros({2, 3, 10}), zeros({4, 2, 3}));
            }).find("conv1d: expected input [N, 2, L] for weight [4, 2, 3], got [2, 3, 10]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(Tensor(), zeros({6, 1, 5, 5}));
            }).find("undefined"),
            std::string::npos);
  // "valid" is no padding
  EXPECT_EQ(conv2d(x, zeros({2, 1, 5, 5}), Tensor(), {.padding = "valid"}).shape(),
            (Shape{8, 2, 24, 24}));
}

}  // namespace
}  // namespace sn
