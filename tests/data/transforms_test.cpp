// Transforms: values of normalize/one_hot/flatten, composition order, and that each batch form
// gives exactly what the per-example form gives, stacked.
#include <gtest/gtest.h>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
using data::Example;

namespace {

// 4 "images" [2, 1, 3] (2 channels), labels 0..3.
std::shared_ptr<data::TensorDataset> images() {
  Tensor x = arange(24.0).reshape({4, 2, 1, 3});
  return data::tensor_dataset(x, tensor(std::vector<int64_t>{2, 0, 3, 1}, Shape{4}));
}

void expect_batch_matches_examples(const data::Dataset& ds, const std::vector<int64_t>& idx) {
  Example b = ds.get_batch(idx);
  std::vector<Tensor> xs, ys;
  for (int64_t i : idx) {
    Example e = ds.get(i);
    xs.push_back(e.x);
    ys.push_back(e.y);
  }
  EXPECT_TRUE(allclose(b.x, stack(xs), 1e-6, 1e-6));
  EXPECT_EQ(b.x.shape(), stack(xs).shape());
  EXPECT_TRUE(equal(b.y, stack(ys)));
}

}  // namespace

TEST(Transforms, NormalizeScalar) {
  auto t = data::normalize(2.0, 4.0);
  Example e = t({tensor({2.0, 6.0, 0.0}), Tensor()});
  EXPECT_EQ(e.x.to_vector(), (std::vector<double>{0.0, 1.0, -0.5}));
  // Integer data becomes float.
  Example i = t({tensor(std::vector<int64_t>{10}, Shape{1}), Tensor()});
  EXPECT_EQ(i.x.dtype(), kFloat32);
  EXPECT_EQ(i.x.item(), 2.0);
  EXPECT_THROW(data::normalize(0.0, 0.0), ValueError);
}

TEST(Transforms, NormalizePerChannel) {
  auto t = data::normalize({1.0, 10.0}, {1.0, 2.0});
  Example e = t({arange(6.0).reshape({2, 1, 3}), Tensor()});
  // channel 0: x - 1; channel 1: (x - 10) / 2
  EXPECT_EQ(e.x.to_vector(), (std::vector<double>{-1, 0, 1, -3.5, -3, -2.5}));
  EXPECT_THROW(t({zeros({3, 4}), Tensor()}), ShapeError);
  // Tabular rows: one mean/std per feature, the same for one row and a batch of rows.
  auto tab = data::normalize({1.0, 10.0, 0.0}, {2.0, 5.0, 1.0});
  EXPECT_EQ(tab({tensor({3.0, 20.0, -1.0}), Tensor()}).x.to_vector(),
            (std::vector<double>{1.0, 2.0, -1.0}));
  EXPECT_EQ(
      tab.apply_batch({tensor({{3.0, 20.0, -1.0}, {1.0, 10.0, 0.0}}), Tensor()}).x.to_vector(),
      (std::vector<double>{1.0, 2.0, -1.0, 0.0, 0.0, 0.0}));
  EXPECT_THROW(data::normalize({1.0}, {1.0, 2.0}), ValueError);
}

TEST(Transforms, OneHotAndFlatten) {
  Example e = data::one_hot(4)({zeros({1, 2, 2}), tensor(std::vector<int64_t>{2}, Shape{})});
  EXPECT_EQ(e.y.dtype(), kFloat32);
  EXPECT_EQ(e.y.to_vector(), (std::vector<double>{0, 0, 1, 0}));
  EXPECT_THROW(data::one_hot(4)({zeros({1}), tensor(std::vector<int64_t>{4}, Shape{})}),
               IndexError);
  Example f = data::flatten()(e);
  EXPECT_EQ(f.x.shape(), (Shape{4}));
}

TEST(Transforms, ComposeRunsLeftToRight) {
  auto add1 = data::lambda(
      [](Example e) {
        e.x = e.x + 1.0;
        return e;
      },
      "add1");
  auto twice = data::lambda(
      [](Example e) {
        e.x = e.x * 2.0;
        return e;
      },
      "twice");
  EXPECT_EQ((add1 | twice)({tensor({1.0}), Tensor()}).x.item(), 4.0);
  EXPECT_EQ((twice | add1)({tensor({1.0}), Tensor()}).x.item(), 3.0);
  EXPECT_EQ(data::compose({add1, add1, twice})({tensor({0.0}), Tensor()}).x.item(), 4.0);
  EXPECT_FALSE((add1 | data::flatten()).has_batch_form());
  EXPECT_TRUE((data::normalize(0.5, 0.5) | data::flatten()).has_batch_form());
}

TEST(TransformDataset, BatchFormsAgreeWithPerExampleForms) {
  auto ds = images();
  auto t1 = data::transform(
      ds, data::normalize({1.0, 2.0}, {3.0, 4.0}) | data::flatten() | data::one_hot(4));
  EXPECT_EQ(t1->get(0).x.shape(), (Shape{6}));
  EXPECT_EQ(t1->get(0).y.to_vector(), (std::vector<double>{0, 0, 1, 0}));
  expect_batch_matches_examples(*t1, {3, 0, 2});
  // A lambda has no batch form: batches are built example by example.
  auto t2 = data::transform(ds, data::flatten() | data::lambda([](Example e) {
                                  e.x = e.x.sum().reshape({1});
                                  return e;
                                }));
  EXPECT_EQ(t2->get(1).x.item(), 6 + 7 + 8 + 9 + 10 + 11);
  expect_batch_matches_examples(*t2, {1, 2});
  // apply_batch of a transform without batch form splits and restacks.
  Example b = data::lambda([](Example e) {
                e.x = e.x * 3.0;
                return e;
              }).apply_batch(ds->get_batch({0, 1}));
  EXPECT_TRUE(equal(b.x, ds->get_batch({0, 1}).x * 3.0));
}
