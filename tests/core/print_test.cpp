// Printing matches PyTorch 1.13's repr() (captured with /usr/bin/python3), spelled the C++ way:
// true/false, dtype=float64, requires_grad=true, grad_fn names without PyTorch's trailing 0.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

std::string str(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

TEST(Print, MatrixWithRequiresGrad) {
  EXPECT_EQ(str(tensor({{1, 2}, {3, 4}}, {.requires_grad = true})),
            "tensor([[1., 2.],\n        [3., 4.]], requires_grad=true)");
}

TEST(Print, Scalars) {
  EXPECT_EQ(str(tensor(3.0)), "tensor(3.)");
  EXPECT_EQ(str(tensor(-0.5)), "tensor(-0.5000)");
  EXPECT_EQ(str(tensor(3.5, {.dtype = kFloat64, .requires_grad = true})),
            "tensor(3.5000, dtype=float64, requires_grad=true)");
}

TEST(Print, FixedAndIntegralFloatsAlign) {
  EXPECT_EQ(str(tensor({1.5, -2.25, 3})), "tensor([ 1.5000, -2.2500,  3.0000])");
  EXPECT_EQ(str(tensor({1, -2, 30})), "tensor([ 1., -2., 30.])");
  EXPECT_EQ(str(zeros({3})), "tensor([0., 0., 0.])");
  EXPECT_EQ(str(tensor({1.5, 2}, {.dtype = kFloat64})), "tensor([1.5000, 2.0000], dtype=float64)");
}

TEST(Print, IntegersAndBools) {
  EXPECT_EQ(str(tensor({1, -20, 3}, {.dtype = kInt64})), "tensor([  1, -20,   3])");
  EXPECT_EQ(str(tensor({1, 0}, {.dtype = kBool})), "tensor([ true, false])");
  EXPECT_EQ(str(arange(12.0, {.dtype = kInt64}).reshape({2, 2, 3})),
            "tensor([[[ 0,  1,  2],\n"
            "         [ 3,  4,  5]],\n"
            "\n"
            "        [[ 6,  7,  8],\n"
            "         [ 9, 10, 11]]])");
}

TEST(Print, ScientificNotation) {
  EXPECT_EQ(str(tensor({1, 1e4})), "tensor([1.0000e+00, 1.0000e+04])");  // spread > 1000
  EXPECT_EQ(str(tensor({1e-5, 1})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(str(tensor({1e9, 1})), "tensor([1.0000e+09, 1.0000e+00])");
}

TEST(Print, NonFiniteValues) {
  EXPECT_EQ(str(tensor({0, NAN, 1.5})), "tensor([0.0000,    nan, 1.5000])");
  EXPECT_EQ(str(tensor({1, INFINITY, -INFINITY})), "tensor([1., inf, -inf])");
}

TEST(Print, Empty) {
  EXPECT_EQ(str(zeros({0})), "tensor([])");
  EXPECT_EQ(str(zeros({2, 0})), "tensor([], size=(2, 0))");
  EXPECT_EQ(str(zeros({0}, {.dtype = kInt64})), "tensor([], dtype=int64)");
}

TEST(Print, LongRowsWrapAt80Columns) {
  EXPECT_EQ(str(arange(20.0)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19.])");
  Tensor t = div(arange(30.0, {.dtype = kFloat64}).reshape({3, 10}), 3.0);
  t.requires_grad_(true);
  EXPECT_EQ(str(t),
            "tensor([[0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
            "         3.0000],\n"
            "        [3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667, 6.0000,\n"
            "         6.3333],\n"
            "        [6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667, 9.0000, 9.3333,\n"
            "         9.6667]], dtype=float64, requires_grad=true)");
}

TEST(Print, ThreeDimsBlankLineBetweenBlocks) {
  EXPECT_EQ(str(div(arange(24.0).reshape({2, 3, 4}), 7.0)),
            "tensor([[[0.0000, 0.1429, 0.2857, 0.4286],\n"
            "         [0.5714, 0.7143, 0.8571, 1.0000],\n"
            "         [1.1429, 1.2857, 1.4286, 1.5714]],\n"
            "\n"
            "        [[1.7143, 1.8571, 2.0000, 2.1429],\n"
            "         [2.2857, 2.4286, 2.5714, 2.7143],\n"
            "         [2.8571, 3.0000, 3.1429, 3.2857]]])");
}

TEST(Print, LargeTensorsAreSummarised) {
  EXPECT_EQ(str(arange(2000.0)),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
            "        1.9990e+03])");
  const std::string s = str(arange(1001.0, {.dtype = kInt64}).reshape({7, 11, 13}));
  const std::string head =
      "tensor([[[   0,    1,    2,  ...,   10,   11,   12],\n"
      "         [  13,   14,   15,  ...,   23,   24,   25],\n"
      "         [  26,";
  EXPECT_EQ(s.substr(0, head.size()), head);
  EXPECT_NE(s.find("         ...,\n         [ 104,  105,  106,  ...,  114,  115,  116],"),
            std::string::npos);
  EXPECT_NE(s.find("428]],\n\n        ...,\n\n        [[ 572,"), std::string::npos);
  const std::string tail = "\n         [ 988,  989,  990,  ...,  998,  999, 1000]]])";
  EXPECT_EQ(s.substr(s.size() - tail.size()), tail);
}

TEST(Print, SummarisedViewsReadThroughStrides) {
  EXPECT_EQ(str(arange(2000.0, {.dtype = kInt64}).reshape({40, 50}).t()),
            "tensor([[   0,   50,  100,  ..., 1850, 1900, 1950],\n"
            "        [   1,   51,  101,  ..., 1851, 1901, 1951],\n"
            "        [   2,   52,  102,  ..., 1852, 1902, 1952],\n"
            "        ...,\n"
            "        [  47,   97,  147,  ..., 1897, 1947, 1997],\n"
            "        [  48,   98,  148,  ..., 1898, 1948, 1998],\n"
            "        [  49,   99,  149,  ..., 1899, 1949, 1999]])");
  EXPECT_EQ(str(tensor({1.5, 2}).expand({600, 2})),
            "tensor([[1.5000, 2.0000],\n"
            "        [1.5000, 2.0000],\n"
            "        [1.5000, 2.0000],\n"
            "        ...,\n"
            "        [1.5000, 2.0000],\n"
            "        [1.5000, 2.0000],\n"
            "        [1.5000, 2.0000]])");
}

TEST(Print, GradFnIsNamed) {
  Tensor x = tensor({1, 2}, {.requires_grad = true});
  EXPECT_EQ(str(mul(x, 2.0)), "tensor([2., 4.], grad_fn=<MulBackward>)");
  EXPECT_EQ(str(x.sum()), "tensor(3., grad_fn=<SumBackward>)");
  EXPECT_EQ(str(x.detach()), "tensor([1., 2.])");
}

TEST(Print, NonContiguousPrintsLogicalOrder) {
  EXPECT_EQ(str(arange(6.0, {.dtype = kInt64}).reshape({2, 3}).t()),
            "tensor([[0, 3],\n        [1, 4],\n        [2, 5]])");
}

}  // namespace
}  // namespace sn
