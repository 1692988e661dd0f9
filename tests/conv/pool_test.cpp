// Pooling: max_pool1d/2d, avg_pool1d/2d and adaptive_avg_pool2d against PyTorch golden values
// (output and input gradient), gradchecks, tie/NaN behaviour of max pooling, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "conv/conv_helpers.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;
using testing::ints;

void run_pool_golden(const char* key, DType dt) {
  const auto& cases = testing::conv_golden()[key];
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(key) + " " + c["name"].get<std::string>() + " " + dtype_name(dt));
    Tensor x = from_json(c["x"], dt, true);
    Tensor y;
    const std::string k = key;
    if (k == "max_pool") {
      MaxPoolOptions o;
      o.stride = IntArgs(ints(c["stride"]));
      o.padding = IntArgs(ints(c["padding"]));
      o.dilation = IntArgs(ints(c["dilation"]));
      o.ceil_mode = c["ceil_mode"].get<bool>();
      const IntArgs kernel(ints(c["kernel"]));
      y = c["dim"] == 1 ? max_pool1d(x, kernel, o) : max_pool2d(x, kernel, o);
    } else if (k == "avg_pool") {
      AvgPoolOptions o;
      o.stride = IntArgs(ints(c["stride"]));
      o.padding = IntArgs(ints(c["padding"]));
      o.ceil_mode = c["ceil_mode"].get<bool>();
      o.count_include_pad = c["count_include_pad"].get<bool>();
      const IntArgs kernel(ints(c["kernel"]));
      y = c["dim"] == 1 ? avg_pool1d(x, kernel, o) : avg_pool2d(x, kernel, o);
    } else {
      y = adaptive_avg_pool2d(x, IntArgs(ints(c["output_size"])));
    }
    const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
    EXPECT_TRUE(close(y, from_json(c["y"], kFloat64), rt, at));
    y.backward(from_json(c["gy"], dt));
    EXPECT_TRUE(close(x.grad(), from_json(c["dx"], kFloat64), rt, at));
  }
}

TEST(MaxPool, MatchesPyTorch) {
  run_pool_golden("max_pool", kFloat64);
  run_pool_golden("max_pool", kFloat32);
}
TEST(AvgPool, MatchesPyTorch) {
  run_pool_golden("avg_pool", kFloat64);
  run_pool_golden("avg_pool", kFloat32);
}
TEST(AdaptiveAvgPool2d, MatchesPyTorch) {
  run_pool_golden("adaptive_avg_pool2d", kFloat64);
  run_pool_golden("adaptive_avg_pool2d", kFloat32);
}

template <typename F>
void expect_gradcheck(const Shape& shape, F&& f) {
  manual_seed(11);
  // distinct values (a permutation) so no max-pool window has a tie finite differences would split
  Tensor x = (randperm(shape.numel()).to(kFloat64) * 0.1 +
              randn({shape.numel()}, {.dtype = kFloat64}) * 0.01)
                 .reshape(shape)
                 .detach()
                 .requires_grad_(true);
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& v) { return f(v[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(MaxPool, Gradcheck) {
  expect_gradcheck({2, 2, 6, 5}, [](const Tensor& x) { return max_pool2d(x, 2); });
  expect_gradcheck({1, 2, 7, 6}, [](const Tensor& x) {
    return max_pool2d(x, {3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}});
  });
  expect_gradcheck({1, 2, 7, 7}, [](const Tensor& x) {
    return max_pool2d(x, 3, {.stride = 2, .ceil_mode = true});
  });
  expect_gradcheck({2, 3, 9},
                   [](const Tensor& x) { return max_pool1d(x, 3, {.stride = 2, .padding = 1}); });
  // non-contiguous input
  expect_gradcheck({2, 6, 5, 2}, [](const Tensor& x) {
    return max_pool2d(x.permute({0, 3, 1, 2}), 2);
  });
}

TEST(AvgPool, Gradcheck) {
  expect_gradcheck({2, 2, 5, 6},
                   [](const Tensor& x) { return avg_pool2d(x, 3, {.stride = 2, .padding = 1}); });
  expect_gradcheck({1, 2, 7, 5}, [](const Tensor& x) {
    return avg_pool2d(
        x, {2, 3},
        {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true, .count_include_pad = false});
  });
  expect_gradcheck({2, 2, 9},
                   [](const Tensor& x) { return avg_pool1d(x, 4, {.stride = 3, .padding = 2}); });
  expect_gradcheck({2, 3, 5, 7}, [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 4}); });
  expect_gradcheck({2, 3, 4, 4}, [](const Tensor& x) { return adaptive_avg_pool2d(x, 1); });
}

TEST(MaxPool, TiesGoToTheFirstMaxAndNaNPropagates) {
  Tensor x = tensor({1, 3, 3, 2}, {.dtype = kFloat64}).reshape({1, 1, 2, 2}).requires_grad_(true);
  Tensor y = max_pool2d(x, 2);
  EXPECT_EQ(y.item(), 3.0);
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 1, 0, 0}));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor xn = tensor({1, nan, 5, 2, 0, 1, 7, 8, 9}, {.dtype = kFloat64}).reshape({1, 1, 3, 3});
  EXPECT_TRUE(std::isnan(max_pool2d(xn, 2).item()));  // fast 2x2 path
  Tensor y3 = max_pool2d(xn, 2, {.stride = 1});       // general path
  std::vector<double> v = y3.to_vector();
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
  EXPECT_EQ(v[2], 8.0);
  EXPECT_EQ(v[3], 9.0);
  // -inf everywhere still gives a gradient to an input element
  Tensor xi = full({1, 1, 2, 2}, -std::numeric_limits<double>::infinity(), {.dtype = kFloat64});
  xi.requires_grad_(true);
  max_pool2d(xi, 2).sum().backward();
  EXPECT_EQ(xi.grad().sum().item(), 1.0);
}

TEST(Pooling, LeNetShapesAndUnbatched) {
  Tensor x = randn({4, 6, 28, 28});
  EXPECT_EQ(max_pool2d(x, 2).shape(), (Shape{4, 6, 14, 14}));
  EXPECT_EQ(max_pool2d(x[0], 2).shape(), (Shape{6, 14, 14}));
  EXPECT_TRUE(close(max_pool2d(x[1], 2), max_pool2d(x, 2)[1], 0, 0));
  EXPECT_TRUE(close(avg_pool2d(x[2], 3, {.stride = 2}), avg_pool2d(x, 3, {.stride = 2})[2], 0, 0));
  // global average pooling is the mean over H and W
  EXPECT_TRUE(close(adaptive_avg_pool2d(x, 1).reshape({4, 6}), mean(x, {2, 3}), 1e-5, 1e-6));
  // max pooling commutes with ReLU (what a fused conv+ReLU+pool relies on)
  EXPECT_TRUE(close(max_pool2d(relu(x), 2), relu(max_pool2d(x, 2)), 0, 0));
}

TEST(Pooling, TwoThreadsMatchOneThread) {
  // many small planes split over two threads: the 2x2 fast path writes whole vectors per row and
  // must stay inside each thread's planes
  manual_seed(9);
  const int before = get_num_threads();
  for (const Shape& s : {Shape{64, 6, 10, 10}, Shape{37, 5, 11, 9}, Shape{50, 6, 28, 28}}) {
    Tensor x = randn(s, {.requires_grad = true});
    set_num_threads(1);
    Tensor y1 = max_pool2d(x, 2);
    Tensor gy = randn(y1.shape());
    Tensor g1 = autograd::grad({y1}, {x}, {gy})[0];
    Tensor a1 = avg_pool2d(x, 3, {.stride = 2, .padding = 1});
    Tensor n1;
    {
      NoGradGuard ng;
      n1 = max_pool2d(x, 2);
    }
    set_num_threads(2);
    Tensor y2 = max_pool2d(x, 2);
    Tensor g2 = autograd::grad({y2}, {x}, {gy})[0];
    Tensor n2;
    {
      NoGradGuard ng;
      n2 = max_pool2d(x, 2);
    }
    EXPECT_TRUE(close(y2, y1, 0, 0)) << s;
    EXPECT_TRUE(close(g2, g1, 0, 0)) << s;
    EXPECT_TRUE(close(n2, n1, 0, 0)) << s;
    EXPECT_TRUE(close(n1, y1, 0, 0)) << s;
    EXPECT_TRUE(close(avg_pool2d(x, 3, {.stride = 2, .padding = 1}), a1, 0, 0)) << s;
  }
  set_num_threads(before);
}

TEST(Pooling, ClearErrors) {
  Tensor x = zeros({2, 3, 4, 4});
  EXPECT_NE(error_of([&] { max_pool2d(x, 5); })
                .find("max_pool2d: kernel [5, 5] is larger than the padded input [4, 4] (input [4, "
                      "4], padding [0, 0])"),
            std::string::npos);
  EXPECT_NE(error_of([&] { max_pool2d(x, 2, {.padding = 2}); })
                .find("padding must be between 0 and half the kernel size (got padding [2, 2] for "
                      "kernel [2, 2])"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              max_pool2d(zeros({4, 4}), 2);
            })
                .find("max_pool2d: expected a 4-D input [N, C, H, W] (or 3-D without the batch "
                      "dim), got [4, 4]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { max_pool1d(x, 2); }).find("max_pool1d: expected a 3-D input [N, C, L]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              avg_pool2d(x, {2, 2, 2});
            }).find("kernel_size needs 1 or 2 values (got [2, 2, 2])"),
            std::string::npos);
  EXPECT_NE(error_of([&] { avg_pool2d(x, 2, {.stride = 0}); }).find("stride must be positive"),
            std::string::npos);
  EXPECT_NE(error_of([&] { max_pool2d(x, 0); }).find("kernel_size must be positive"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              adaptive_avg_pool2d(x, {0, 2});
            }).find("output_size must be positive"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              max_pool2d(zeros({1, 1, 4, 4}, {.dtype = kInt64}), 2);
            }).find("expected a floating-point input, got int64"),
            std::string::npos);
}

}  // namespace
}  // namespace sn
