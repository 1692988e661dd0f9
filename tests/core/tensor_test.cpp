// Tensor basics: dtypes, 0-d to 8-d shapes, views sharing storage, contiguous/clone, element
// access, dtype conversion. Factories and printing have their own files.
#include <gtest/gtest.h>

#include <numeric>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

std::vector<double> iota_vec(int64_t n, double start = 0) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(DType, TableAndPromotion) {
  EXPECT_STREQ(dtype_name(kFloat32), "float32");
  EXPECT_STREQ(dtype_name(kFloat64), "float64");
  EXPECT_STREQ(dtype_name(kInt64), "int64");
  EXPECT_STREQ(dtype_name(kBool), "bool");
  EXPECT_EQ(itemsize(kFloat32), 4u);
  EXPECT_EQ(itemsize(kFloat64), 8u);
  EXPECT_EQ(itemsize(kInt64), 8u);
  EXPECT_EQ(itemsize(kBool), 1u);
  EXPECT_TRUE(is_floating(kFloat32));
  EXPECT_FALSE(is_floating(kInt64));
  EXPECT_EQ(promote(kBool, kInt64), kInt64);
  EXPECT_EQ(promote(kInt64, kFloat32), kFloat32);
  EXPECT_EQ(promote(kFloat32, kFloat64), kFloat64);
  EXPECT_EQ(promote(kFloat64, kBool), kFloat64);
}

TEST(DType, EveryDTypeStoresAndReads) {
  for (DType dt : {kFloat32, kFloat64, kInt64, kBool}) {
    Tensor t = tensor({0, 1, 1, 0}, {.dtype = dt}).reshape({2, 2});
    EXPECT_EQ(t.dtype(), dt);
    EXPECT_EQ(t.nbytes(), 4 * itemsize(dt));
    EXPECT_EQ(t.at({0, 1}), 1.0);
    EXPECT_EQ(t.at({1, 1}), 0.0);
    EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 1, 1, 0}));
  }
  EXPECT_EQ(tensor({2.5}, {.dtype = kInt64}).item(), 2.0);  // truncates like a C++ cast
  EXPECT_EQ(tensor({-3.0}, {.dtype = kBool}).item(), 1.0);
}

TEST(Shape, PrintsAndComparesLikeAList) {
  Shape s{2, 3};
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[2, 3]");
  EXPECT_EQ(Shape{}.str(), "[]");
  EXPECT_EQ(s.numel(), 6);
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ(Shape({4, 0, 2}).numel(), 0);
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(broadcast_shapes({3, 1}, {4}), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}), (Shape{2, 2}));
}

TEST(Tensor, ZeroToEightDims) {
  for (int nd = 0; nd <= 8; ++nd) {
    Shape s;
    for (int d = 0; d < nd; ++d) s.push_back(d % 2 ? 2 : 1 + (d % 3));
    Tensor t = arange(static_cast<double>(s.numel())).reshape(s);
    ASSERT_EQ(t.dim(), nd);
    EXPECT_EQ(t.shape(), s);
    EXPECT_EQ(t.numel(), s.numel());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.strides(), contiguous_strides(s));
    // the sum of 0..n-1 survives any reshape
    const double n = static_cast<double>(s.numel());
    EXPECT_EQ(t.sum().item(), n * (n - 1) / 2);
    // and a full permutation (reversed dims) keeps every element
    std::vector<int64_t> rev(nd);
    std::iota(rev.rbegin(), rev.rend(), 0);
    Tensor p = t.permute(rev);
    EXPECT_TRUE(p.shares_storage(t));
    EXPECT_EQ(p.sum().item(), n * (n - 1) / 2);
    EXPECT_EQ(p.contiguous().permute(rev).to_vector(), t.to_vector());
  }
  Tensor s = tensor(7.0);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 7.0);
  EXPECT_EQ(s.at({}), 7.0);
}

TEST(Tensor, MoreThanMaxDimsIsAnError) {
  Shape s;
  for (int i = 0; i < kMaxDims; ++i) s.push_back(1);
  EXPECT_THROW(s.push_back(1), ShapeError);
}

TEST(Views, ReshapeAndViewShareStorage) {
  Tensor a = arange(6.0);
  Tensor v = a.view({2, 3});
  Tensor r = a.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_TRUE(v.shares_storage(a));
  EXPECT_TRUE(r.shares_storage(a));
  v.set({1, 2}, 50);
  EXPECT_EQ(a.at({5}), 50);
  EXPECT_EQ(r.at({2, 1}), 50);
  // reshape of a non-contiguous tensor has to copy; view refuses
  Tensor t = v.t();
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_THROW(t.view({6}), ShapeError);
  Tensor flat = t.reshape({6});
  EXPECT_FALSE(flat.shares_storage(a));
  EXPECT_EQ(flat.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 50}));
}

TEST(Views, TransposeAndPermute) {
  Tensor a = arange(24.0).reshape({2, 3, 4});
  Tensor t = a.transpose(0, 2);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(t.strides(), (Shape{1, 4, 12}));
  EXPECT_TRUE(t.shares_storage(a));
  EXPECT_EQ(t.at({3, 1, 1}), a.at({1, 1, 3}));
  Tensor p = a.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(p.at({2, 3, 1}), a.at({1, 2, 3}));
  EXPECT_EQ(a.permute({-1, 0, 1}).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(arange(6.0).reshape({2, 3}).t().shape(), (Shape{3, 2}));
  EXPECT_EQ(arange(3.0).t().shape(), (Shape{3}));
  p.set({0, 0, 1}, -1);
  EXPECT_EQ(a.at({1, 0, 0}), -1);
}

TEST(Views, SliceNarrowSelect) {
  Tensor a = arange(20.0).reshape({4, 5});
  Tensor s = a.slice(1, 1, 5, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{4, 2}));
  EXPECT_TRUE(s.shares_storage(a));
  EXPECT_EQ(s.to_vector(), (std::vector<double>{1, 3, 6, 8, 11, 13, 16, 18}));
  EXPECT_EQ(a.slice(0, -2, 100).shape(), (Shape{2, 5}));  // clamped like Python slicing
  EXPECT_EQ(a.slice(0, 3, 1).numel(), 0);
  Tensor n = a.narrow(0, 1, 2);
  EXPECT_EQ(n.shape(), (Shape{2, 5}));
  EXPECT_EQ(n.at({0, 0}), 5);
  Tensor row = a.select(0, -1);
  EXPECT_EQ(row.shape(), (Shape{5}));
  EXPECT_EQ(row.at({4}), 19);
  Tensor col = a[2];
  EXPECT_EQ(col.to_vector(), (std::vector<double>{10, 11, 12, 13, 14}));
  row.set({0}, 100);
  EXPECT_EQ(a.at({3, 0}), 100);
  s.set({0, 1}, 200);
  EXPECT_EQ(a.at({0, 3}), 200);
}

TEST(Views, ExpandUsesStrideZero) {
  Tensor a = tensor({1, 2, 3}).reshape({3, 1});
  Tensor e = a.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.strides()[2], 0);
  EXPECT_TRUE(e.shares_storage(a));
  EXPECT_EQ(e.at({1, 2, 3}), 3);
  EXPECT_EQ(a.expand({-1, 2}).shape(), (Shape{3, 2}));
  EXPECT_EQ(e.sum().item(), 2 * 4 * 6);
  EXPECT_EQ(tensor(5.0).expand_as(zeros({2, 2})).to_vector(), (std::vector<double>(4, 5.0)));
  EXPECT_THROW(a.expand({3, 4, 5}), ShapeError);
}

TEST(Views, SqueezeUnsqueezeFlatten) {
  Tensor a = arange(6.0).reshape({1, 2, 1, 3});
  EXPECT_EQ(a.squeeze().shape(), (Shape{2, 3}));
  EXPECT_EQ(a.squeeze(0).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(a.squeeze(1).shape(), (Shape{1, 2, 1, 3}));  // size 2: unchanged
  EXPECT_EQ(a.squeeze(-2).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(a.unsqueeze(4).shape(), (Shape{1, 2, 1, 3, 1}));
  EXPECT_EQ(a.unsqueeze(-1).shape(), (Shape{1, 2, 1, 3, 1}));
  EXPECT_EQ(a.unsqueeze(0).shape(), (Shape{1, 1, 2, 1, 3}));
  EXPECT_EQ(a.flatten().shape(), (Shape{6}));
  EXPECT_EQ(a.flatten(1, 2).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(tensor(3.0).flatten().shape(), (Shape{1}));
  EXPECT_EQ(tensor(3.0).unsqueeze(0).shape(), (Shape{1}));
  for (Tensor v : {a.squeeze(), a.squeeze(0), a.unsqueeze(2), a.flatten()})
    EXPECT_TRUE(v.shares_storage(a));
  // squeeze stays a view even of a non-contiguous tensor
  Tensor t = arange(6.0).reshape({3, 1, 2}).transpose(0, 2);
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(t.squeeze().shares_storage(t));
  EXPECT_EQ(t.squeeze().to_vector(), (std::vector<double>{0, 2, 4, 1, 3, 5}));
  EXPECT_TRUE(t.unsqueeze(1).shares_storage(t));
  EXPECT_EQ(t.unsqueeze(1).contiguous().to_vector(), t.contiguous().to_vector());
}

TEST(Views, ContiguousAndClone) {
  Tensor a = arange(6.0).reshape({2, 3});
  EXPECT_TRUE(a.contiguous().is_same(a));  // already contiguous: no copy
  Tensor t = a.t();
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(a));
  EXPECT_EQ(c.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor k = a.clone();
  EXPECT_FALSE(k.shares_storage(a));
  k.set({0, 0}, 9);
  EXPECT_EQ(a.at({0, 0}), 0);
  Tensor kt = t.clone();
  EXPECT_EQ(kt.to_vector(), c.to_vector());
}

TEST(Tensor, ItemAtSetAndToVector) {
  Tensor a = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(a.at({1, 2}), 6);
  EXPECT_EQ(a.at({-1, -3}), 4);
  a.set({0, 1}, 20);
  EXPECT_EQ(a.to_vector(), (std::vector<double>{1, 20, 3, 4, 5, 6}));
  EXPECT_EQ(a.to_vector_as<int64_t>(), (std::vector<int64_t>{1, 20, 3, 4, 5, 6}));
  EXPECT_EQ(tensor({4.5}).item(), 4.5);
  EXPECT_EQ(tensor(2.0).item<int>(), 2);
  EXPECT_EQ(a.data_ptr<float>()[1], 20.0f);
  EXPECT_THROW(a.data_ptr<double>(), DTypeError);
  EXPECT_THROW(a.item(), ValueError);
  EXPECT_THROW(a.at({2, 0}), IndexError);
  EXPECT_THROW(a.at({0}), IndexError);
  EXPECT_EQ(a.size(1), 3);
  EXPECT_EQ(a.size(-2), 2);
  EXPECT_EQ(a.stride(0), 3);
  EXPECT_THROW(a.size(2), IndexError);
}

TEST(Tensor, ToDType) {
  Tensor a = tensor({-1.5, 0, 2.7});
  Tensor d = a.to(kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_FALSE(d.shares_storage(a));
  EXPECT_EQ(d.to_vector(), (std::vector<double>{-1.5, 0, static_cast<float>(2.7)}));
  EXPECT_EQ(a.to(kInt64).to_vector(), (std::vector<double>{-1, 0, 2}));
  EXPECT_EQ(a.to(kBool).to_vector(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(a.to(kFloat32).is_same(a), true);
  EXPECT_EQ(a.to(kBool).to(kFloat32).dtype(), kFloat32);
  // conversion of a non-contiguous view
  Tensor t = arange(6.0, {.dtype = kInt64}).reshape({2, 3}).t();
  EXPECT_EQ(t.to(kFloat64).to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, InPlaceOpsWriteThroughViews) {
  Tensor a = zeros({2, 3});
  Tensor row = a[1];
  row.fill_(2);
  row.add_(tensor({1, 2, 3}));
  row.mul_(2.0);
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0, 0, 0, 6, 8, 10}));
  a.t().copy_(tensor({1, 2}));  // broadcasts over the transposed view
  EXPECT_EQ(a.to_vector(), (std::vector<double>{1, 1, 1, 2, 2, 2}));
  const uint32_t v = a.version();
  a.zero_();
  EXPECT_GT(a.version(), v);
  EXPECT_EQ(a.sum().item(), 0);
  Tensor b = arange(4.0);
  b.clamp_(1, 2);
  EXPECT_EQ(b.to_vector(), (std::vector<double>{1, 1, 2, 2}));
  b.div_(tensor(2.0));
  EXPECT_EQ(b.to_vector(), (std::vector<double>{0.5, 0.5, 1, 1}));
  EXPECT_THROW(b.add_(zeros({2, 4})), ShapeError);  // result does not fit the target
}

TEST(Tensor, UndefinedTensorThrowsInsteadOfCrashing) {
  Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_THROW(u.shape(), ValueError);
  EXPECT_THROW(u.dim(), ValueError);
  EXPECT_THROW(u.item(), ValueError);
  EXPECT_THROW(u.reshape({1}), ValueError);
  EXPECT_THROW(u.sum(), ValueError);
  EXPECT_THROW(add(u, ones({2})), ValueError);
  EXPECT_THROW(matmul(u, ones({2, 2})), ValueError);
  EXPECT_THROW(cat({ones({2}), u}), ValueError);
  EXPECT_THROW(u.fill_(1), ValueError);
  EXPECT_THROW(u.backward(), ValueError);
  EXPECT_EQ(u.str(), "tensor(undefined)");
}

TEST(Tensor, FromVectorsAndBlobs) {
  Tensor a = tensor(iota_vec(6), {2, 3}, {.dtype = kFloat64});
  EXPECT_EQ(a.dtype(), kFloat64);
  EXPECT_EQ(a.at({1, 0}), 3);
  Tensor b = tensor(std::vector<float>{1.5f, 2.5f}, {2});
  EXPECT_EQ(b.dtype(), kFloat32);
  Tensor c = tensor(std::vector<int64_t>{7, 8, 9}, {3});
  EXPECT_EQ(c.dtype(), kInt64);
  EXPECT_EQ(c.at({2}), 9);
  const double raw[] = {1, 2, 3, 4};
  Tensor d = from_blob_copy(raw, {2, 2}, kFloat64);
  EXPECT_EQ(d.at({1, 1}), 4);
  EXPECT_THROW(tensor(iota_vec(5), {2, 3}), ShapeError);
  EXPECT_THROW(tensor({{1, 2}, {3}}), ShapeError);
}

}  // namespace
}  // namespace sn
