// view()/reshape() of non-contiguous tensors whose layout still allows a view (split or merge
// dims inside a contiguous run): no copy, same values as the copying path, gradients intact;
// and the layouts that cannot be viewed still refuse (view) or copy (reshape).
#include <gtest/gtest.h>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

TEST(ViewStrides, NarrowThenSplitLastDimIsAView) {
  Tensor qkv = arange(2 * 3 * 12).reshape({2, 3, 12});
  Tensor k = qkv.narrow(2, 4, 4);  // [2, 3, 4], strides [36, 12, 1]
  ASSERT_FALSE(k.is_contiguous());
  Tensor v = k.view({2, 3, 2, 2});
  EXPECT_TRUE(v.shares_storage(qkv));
  EXPECT_EQ(v.strides(), (Shape{36, 12, 2, 1}));
  EXPECT_TRUE(equal(v, k.contiguous().view({2, 3, 2, 2})));
  Tensor r = k.reshape({2, 3, 2, 2});
  EXPECT_TRUE(r.shares_storage(qkv));
  EXPECT_TRUE(equal(r, v));
}

TEST(ViewStrides, MergesDimsInsideAContiguousRun) {
  Tensor a = arange(4 * 6 * 5).reshape({4, 6, 5}).narrow(0, 1, 2);  // [2, 6, 5], rows contiguous
  Tensor v = a.view({2, 30});
  EXPECT_TRUE(v.shares_storage(a));
  EXPECT_TRUE(equal(v, a.contiguous().view({2, 30})));
  Tensor w = a.view({2, 3, 10});
  EXPECT_TRUE(equal(w, a.contiguous().view({2, 3, 10})));
  Tensor u = a.unsqueeze(1).view({2, 1, 6, 5, 1});  // size-1 dims anywhere
  EXPECT_TRUE(equal(u.squeeze(), a));
}

TEST(ViewStrides, TransposedCannotMergeButReshapeCopies) {
  Tensor t = arange(6).reshape({2, 3}).t();  // [3, 2], strides [1, 3]
  EXPECT_THROW(t.view({6}), ShapeError);
  Tensor r = t.reshape({6});
  EXPECT_FALSE(r.shares_storage(t));
  EXPECT_EQ(r.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  // splitting a dim of a transposed tensor is still a view
  Tensor s = arange(12).reshape({3, 4}).t().view({2, 2, 3});
  EXPECT_TRUE(equal(s, arange(12).reshape({3, 4}).t().contiguous().view({2, 2, 3})));
}

TEST(ViewStrides, GradientFlowsThroughAStridedView) {
  Tensor x = randn({2, 3, 8}, {.dtype = kFloat64}).requires_grad_();
  Tensor w = randn({2, 3, 2, 2}, {.dtype = kFloat64});
  Tensor y = sum(mul(x.narrow(2, 2, 4).view({2, 3, 2, 2}), w));
  y.backward();
  Tensor want = zeros({2, 3, 8}, {.dtype = kFloat64});
  want.narrow(2, 2, 4).copy_(w.reshape({2, 3, 4}));
  EXPECT_TRUE(allclose(x.grad(), want));
}

}  // namespace
}  // namespace sn
