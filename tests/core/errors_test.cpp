// Error messages are part of the API: the texts users see for the common mistakes are pinned
// here, exactly or by a precise substring. Bad input must throw an sn::Error subclass, never
// crash; the last test throws a pile of hostile calls at the ops.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

// The message of the ErrorType that fn throws ("" and a test failure if it throws nothing or
// something else).
template <typename ErrorType>
std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ErrorType& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw the wrong error type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

TEST(Errors, MatmulShapeMismatch) {
  EXPECT_EQ(message_of<ShapeError>([] {
              matmul(ones({2, 3}), ones({4, 5}));
            }),
            "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  EXPECT_EQ(message_of<ShapeError>([] { matmul(ones({3}), ones({4})); }),
            "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
  EXPECT_EQ(message_of<ShapeError>([] {
              mm(ones({2, 3}), ones({2, 3}));
            }),
            "mm: shapes [2, 3] and [2, 3] cannot be multiplied (3 != 2)");
  EXPECT_EQ(message_of<ShapeError>([] {
              matmul(ones({2, 2, 3}), ones({3, 3, 1}));
            }),
            "matmul: shapes [2] and [3] cannot be broadcast (2 vs 3 at dim 0)");
  EXPECT_EQ(message_of<ShapeError>([] {
              linear(ones({4, 3}), ones({5, 2}));
            }),
            "linear: input [4, 3] cannot be multiplied with weight [5, 2] (3 != 2)");
}

TEST(Errors, BroadcastMismatch) {
  EXPECT_EQ(message_of<ShapeError>([] {
              add(ones({2, 3}), ones({4}));
            }),
            "add: shapes [2, 3] and [4] cannot be broadcast (3 vs 4 at dim 1)");
  EXPECT_EQ(message_of<ShapeError>([] {
              mul(ones({2, 3, 4}), ones({3, 3, 1}));
            }),
            "mul: shapes [2, 3, 4] and [3, 3, 1] cannot be broadcast (2 vs 3 at dim 0)");
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({2, 3}).expand({4, 3});
            }),
            "expand: cannot expand shape [2, 3] to [4, 3] (size 2 vs 4 at dim 0)");
}

TEST(Errors, ReshapeElementCount) {
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({2, 3}).reshape({4, 2});
            }),
            "reshape: shape [4, 2] is invalid for input of shape [2, 3] (6 elements vs 8)");
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({2, 3}).view({4, -1});
            }),
            "view: shape [4, -1] is invalid for input of shape [2, 3] (6 elements)");
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({6}).reshape({-1, -1});
            }),
            "reshape: only one dimension can be -1 (shape [-1, -1])");
  EXPECT_CONTAINS(message_of<ShapeError>([] {
                    ones({2, 3}).t().view({6});
                  }),
                  "view: tensor of shape [3, 2] with strides [1, 3] is not contiguous; hint: use "
                  "reshape()");
}

TEST(Errors, SizesThatOverflowInt64) {
  // 2^32 · 2^32 does not fit in int64: every path that multiplies sizes says so instead of
  // wrapping around (a wrapped count used to reach a signed-overflow in reshape)
  constexpr int64_t k32 = int64_t{1} << 32;
  EXPECT_EQ(message_of<ShapeError>([] {
              zeros({k32, k32});
            }),
            "tensor: shape [4294967296, 4294967296] has too many elements");
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({4}).reshape({k32, k32});
            }),
            "reshape: shape [4294967296, 4294967296] has too many elements (more than 2^63)");
  EXPECT_EQ(message_of<ShapeError>([] {
              ones({1}).expand({k32, k32});
            }),
            "shape: [4294967296, 4294967296] has too many elements (more than 2^63)");
  EXPECT_EQ(message_of<ShapeError>([] {
              Shape({k32, k32, 2}).numel();
            }),
            "shape: [4294967296, 4294967296, 2] has too many elements (more than 2^63)");
}

TEST(Errors, ArangeNonFiniteOrTooLong) {
  // 1e300 elements used to be cast to int64 (undefined behaviour) and came back as an empty tensor
  EXPECT_EQ(message_of<ValueError>([] { arange(0, 1e300, 1); }),
            "arange: range [0, 1e+300) with step 1 has too many elements (1e+300)");
  EXPECT_EQ(message_of<ValueError>([] { arange(0, std::nan(""), 1); }),
            "arange: start, end and step must be finite (got 0, nan, 1)");
  EXPECT_EQ(message_of<ValueError>([] { arange(0, 1, INFINITY); }),
            "arange: start, end and step must be finite (got 0, 1, inf)");
}

TEST(Errors, DTypeMismatch) {
  EXPECT_EQ(message_of<DTypeError>([] {
              matmul(ones({2, 2}), ones({2, 2}, {.dtype = kFloat64}));
            }),
            "matmul: dtype mismatch (float32 and float64); hint: convert one with .to()");
  EXPECT_EQ(message_of<DTypeError>([] { dot(ones({2}), ones({2}, {.dtype = kInt64})); }),
            "dot: dtype mismatch (float32 and int64)");
  EXPECT_EQ(message_of<DTypeError>([] { ones({2}, {.dtype = kInt64}).requires_grad_(); }),
            "requires_grad_: only floating-point tensors can require gradients (dtype int64)");
  EXPECT_EQ(message_of<DTypeError>([] { where(ones({2}), ones({2}), ones({2})); }),
            "where: condition must be bool (got float32); hint: build it with a comparison such "
            "as x > 0");
  EXPECT_EQ(message_of<DTypeError>([] { gather(ones({2}), 0, ones({2})); }),
            "gather: index must be int64 (got float32)");
  EXPECT_EQ(message_of<DTypeError>([] { rand({2}, {.dtype = kInt64}); }),
            "rand: expected a floating-point tensor, got int64; hint: convert with "
            ".to(sn::kFloat32)");
}

TEST(Errors, DimOutOfRange) {
  EXPECT_EQ(message_of<IndexError>([] {
              ones({2, 3}).sum({2});
            }),
            "sum: dim 2 is out of range for a 2-d tensor (expected -2 <= dim < 2)");
  EXPECT_EQ(message_of<IndexError>([] {
              softmax(ones({2, 3}), -3);
            }),
            "softmax: dim -3 is out of range for a 2-d tensor (expected -2 <= dim < 2)");
  EXPECT_EQ(message_of<IndexError>([] {
              ones({2, 3}).transpose(0, 5);
            }),
            "transpose: dim 5 is out of range for a 2-d tensor (expected -2 <= dim < 2)");
  EXPECT_EQ(message_of<IndexError>([] {
              cat({ones({2}), ones({2})}, 1);
            }),
            "cat: dim 1 is out of range for a 1-d tensor (expected -1 <= dim < 1)");
  EXPECT_EQ(message_of<IndexError>([] { ones({2}).unsqueeze(3); }),
            "unsqueeze: dim 3 is out of range for a 2-d tensor (expected -2 <= dim < 2)");
}

TEST(Errors, IndexOutOfRange) {
  EXPECT_EQ(message_of<IndexError>([] { ones({3}).at({5}); }),
            "at: index 5 is out of range for dim 0 of size 3 (shape [3])");
  EXPECT_EQ(message_of<IndexError>([] {
              ones({2, 3}).select(1, 3);
            }),
            "select: index 3 is out of range for dim 1 of size 3 (shape [2, 3])");
  EXPECT_EQ(message_of<IndexError>([] {
              ones({2, 3})[-3];
            }),
            "select: index -3 is out of range for dim 0 of size 2 (shape [2, 3])");
  EXPECT_EQ(message_of<IndexError>([] {
              index_select(ones({3, 2}), 0, tensor({0, 7}, {.dtype = kInt64}));
            }),
            "index_select: index 7 is out of bounds for dim 0 of size 3");
  EXPECT_EQ(message_of<IndexError>([] {
              gather(ones({2, 2}), 1, tensor({{0, -1}}, {.dtype = kInt64}));
            }),
            "gather: index -1 is out of bounds for dim 1 of size 2");
  EXPECT_EQ(message_of<IndexError>([] { ones({4}).narrow(0, 2, 3); }),
            "narrow: range [2, 5) is out of bounds for dim 0 of size 4 (shape [4])");
  EXPECT_EQ(message_of<IndexError>([] {
              one_hot(tensor({1, 3}, {.dtype = kInt64}), 3);
            }),
            "one_hot: index 3 is out of bounds for dim 0 of size 3");
}

TEST(Errors, BackwardOnNonScalarWithoutGradient) {
  Tensor x = ones({2}, {.requires_grad = true});
  Tensor y = x * 2.0;
  EXPECT_EQ(message_of<AutogradError>([&] { y.backward(); }),
            "backward: grad can be implicitly created only for scalar outputs (got shape [2]); "
            "hint: pass a gradient of the same shape, or reduce with sum() first");
  EXPECT_EQ(message_of<ShapeError>([&] { y.backward(ones({3})); }),
            "backward: gradient shape [3] does not match output shape [2]");
}

TEST(Errors, BackwardTwiceThroughFreedGraph) {
  Tensor x = ones({2}, {.requires_grad = true});
  Tensor y = (x * x).sum();
  y.backward();
  EXPECT_CONTAINS(message_of<AutogradError>([&] { y.backward(); }),
                  "trying to backward through the graph a second time (its saved tensors were "
                  "freed after the first backward); hint: pass retain_graph = true to the first "
                  "backward");
}

TEST(Errors, BackwardOnTensorThatDoesNotRequireGrad) {
  Tensor x = ones({2});
  EXPECT_EQ(message_of<AutogradError>([&] { (x * 2.0).sum().backward(); }),
            "backward: tensor does not require grad and has no grad_fn (shape []); hint: create "
            "the inputs with requires_grad = true");
  Tensor w = ones({2}, {.requires_grad = true});
  EXPECT_EQ(message_of<AutogradError>([&] { autograd::grad({(w * 2.0).sum()}, {x}); }),
            "grad: input 0 does not require grad (shape [2])");
}

TEST(Errors, InPlaceOnAGraphTensor) {
  Tensor w = ones({2}, {.requires_grad = true});
  EXPECT_CONTAINS(message_of<AutogradError>([&] { w.add_(ones({2})); }),
                  "add_: a leaf tensor that requires grad (shape [2]) cannot be modified in place "
                  "while recording; hint: wrap the update in sn::NoGradGuard");
  Tensor y = w * 2.0;
  EXPECT_CONTAINS(message_of<AutogradError>([&] { y.mul_(2.0); }),
                  "mul_: in-place change of a tensor that is part of a graph (shape [2])");
}

TEST(Errors, ErrorTypesShareOneBase) {
  EXPECT_THROW(matmul(ones({2, 3}), ones({4, 5})), Error);
  EXPECT_THROW(ones({2}).at({3}), Error);
  EXPECT_THROW(ones({2}).backward(), Error);
  EXPECT_THROW(ones({2}).backward(), std::runtime_error);
}

// Hostile calls: each must throw an sn::Error (any subclass), not crash or corrupt memory.
TEST(Errors, BadInputNeverCrashes) {
  const Tensor m = ones({2, 3}), v = ones({3}), s = tensor(1.0), e = zeros({0, 3}), u;
  const Tensor idx_bad = tensor({5}, {.dtype = kInt64});
  const std::vector<std::function<void()>> calls = {
      [&] {
        m.reshape({-2, 3});
      },
      [&] { m.view({7}); },
      [&] { m.permute({0}); },
      [&] {
        m.permute({0, 0});
      },
      [&] { m.slice(0, 0, 1, 0); },
      [&] { m.narrow(1, -1, 3); },
      [&] { s.select(0, 0); },
      [&] { m.flatten(1, 0); },
      [&] { m.expand({3}); },
      [&] {
        m.t().t().view({-1, -1});
      },
      [&] {
        v.t();
        ones({2, 2, 2}).t();
      },
      [&] { cat({}); },
      [&] {
        cat({s, s});
      },
      [&] {
        cat({m, v});
      },
      [&] {
        cat({m, ones({3, 2})});
      },
      [&] {
        stack({m, v});
      },
      [&] { split(m, 0, 0); },
      [&] {
        split(m, std::vector<int64_t>{1, 2}, 0);
      },
      [&] { split(s, 1); },
      [&] { chunk(m, 0); },
      [&] { index_select(m, 0, idx_bad); },
      [&] {
        index_select(m, 0, ones({1}, {.dtype = kInt64}).reshape({1, 1}));
      },
      [&] {
        gather(m, 0, tensor({0, 1}, {.dtype = kInt64}));
      },
      [&] {
        gather(m, 0, ones({3, 4}, {.dtype = kInt64}));
      },
      [&] {
        scatter_add(m, 0, zeros({2, 3}, {.dtype = kInt64}), v);
      },
      [&] {
        scatter_add(m, 0, zeros({2, 3}, {.dtype = kInt64}), ones({1, 3}));
      },
      [&] {
        scatter_add(m, 1, idx_bad.reshape({1, 1}), m);
      },
      [&] { one_hot(tensor({-1}, {.dtype = kInt64})); },
      [&] { pad(m, {1}); },
      [&] {
        pad(m, {1, 1, 1, 1, 1, 1});
      },
      [&] {
        pad(m, {-1, 0});
      },
      [&] { matmul(s, m); },
      [&] { matmul(e, m); },
      [&] { mm(v, m); },
      [&] { dot(v, ones({4})); },
      [&] { outer(m, v); },
      [&] { linear(m, ones({3})); },
      [&] {
        linear(m, ones({4, 3}), ones({5}));
      },
      [&] { matmul(ones({2}, {.dtype = kBool}), ones({2}, {.dtype = kBool})); },
      [&] { max(e, 0); },
      [&] { amax(e, {}); },
      [&] {
        sum(m, {0, 0});
      },
      [&] { var(m, {3}); },
      [&] { clamp(m, 2.0, 1.0); },
      [&] { softplus(m, 0.0); },
      [&] { masked_fill(m, m, 0.0); },
      [&] { where(m > 0.0, m, ones({4})); },
      [&] { m.item(); },
      [&] {
        m.at({0, 0, 0});
      },
      [&] { m.data_ptr<int64_t>(); },
      [&] {
        ones({2, 3}).copy_(ones({3, 2}));
      },
      [&] {
        ones({2, 3}).mul_(ones({2, 3, 1}));
      },
      [&] { ones({2}, {.dtype = kInt64}).add_(ones({2})); },
      [&] { ones({2}, {.dtype = kInt64}) / ones({2}, {.dtype = kInt64}) * ones({3}); },
      [&] {
        m.backward(ones({2, 3}));
      },
      [&] {
        autograd::grad({}, {});
        sum(u);
      },
      [&] { autograd::gradcheck([](const std::vector<Tensor>& x) { return x[0]; }, {m}); },
      [&] {
        Tensor x = ones({2}, {.requires_grad = true});
        (x * 2.0).sum().backward(ones({2}));
      },
      [&] {
        Tensor x = ones({2}, {.requires_grad = true});
        autograd::grad({(x * 2.0).sum()}, {x}, {ones({3})});
      },
      [&] { set_num_threads(-1); },
      [&] { u.squeeze(); },
      [&] { u.to(kFloat64); },
      [&] { u.clone(); },
      [&] {
        Tensor w;
        w.grad_ref();
      },
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    try {
      calls[i]();
      ADD_FAILURE() << "call " << i << " did not throw";
    } catch (const Error&) {
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "call " << i << " threw a non-sinapsis error: " << ex.what();
    }
  }
}

}  // namespace
}  // namespace sn
