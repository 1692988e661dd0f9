// Datasets: TensorDataset views and batched gathers, the default stacking get_batch, Subset,
// seeded permutations and random splits (sizes, disjointness, determinism).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
using data::Example;

namespace {

// x_i = [i, 10 i], y_i = i: every value tells which example it came from.
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  Tensor idx = arange(static_cast<double>(n));
  Tensor x = stack({idx, idx * 10.0}, 1);
  return data::tensor_dataset(x, arange(static_cast<double>(n), {.dtype = kInt64}));
}

std::vector<int64_t> ids(const data::Dataset& ds) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < ds.size(); ++i) out.push_back(static_cast<int64_t>(ds.get(i).y.item()));
  return out;
}

// Computes x = i * 2 on demand; exercises Dataset's default get_batch.
class Doubling : public data::Dataset {
 public:
  int64_t size() const override { return 5; }
  Example get(int64_t i) const override {
    return {full({2}, static_cast<double>(2 * i)), tensor(static_cast<double>(i))};
  }
  std::string name() const override { return "Doubling"; }
};

}  // namespace

TEST(TensorDataset, GetReturnsRowsAndGetBatchGathersThem) {
  auto ds = numbered(6);
  EXPECT_EQ(ds->size(), 6);
  Example e = ds->get(4);
  EXPECT_EQ(e.x.to_vector(), (std::vector<double>{4, 40}));
  EXPECT_EQ(e.y.item(), 4);
  Example b = ds->get_batch({5, 0, 5});
  EXPECT_EQ(b.x.shape(), (Shape{3, 2}));
  EXPECT_EQ(b.x.to_vector(), (std::vector<double>{5, 50, 0, 0, 5, 50}));
  EXPECT_EQ(b.y.to_vector(), (std::vector<double>{5, 0, 5}));
  EXPECT_EQ(b.y.dtype(), kInt64);
}

TEST(TensorDataset, ChecksShapesAndIndices) {
  EXPECT_THROW(data::TensorDataset(zeros({3, 2}), zeros({4})), ShapeError);
  EXPECT_THROW(data::TensorDataset(tensor(1.0)), ShapeError);
  auto ds = numbered(3);
  EXPECT_THROW(ds->get(3), IndexError);
  EXPECT_THROW(ds->get(-1), IndexError);
  EXPECT_THROW(ds->get_batch({0, 7}), IndexError);
  EXPECT_THROW(ds->get_batch({}), ValueError);
}

TEST(TensorDataset, UnlabelledDataHasNoY) {
  auto ds = data::tensor_dataset(ones({4, 3}));
  EXPECT_FALSE(ds->get(0).y.defined());
  EXPECT_FALSE(ds->get_batch({1, 2}).y.defined());
}

TEST(TensorDataset, DetachesItsInputs) {
  Tensor x = ones({2, 2}, {.requires_grad = true});
  auto ds = data::tensor_dataset(x);
  EXPECT_FALSE(ds->get(0).x.requires_grad());
}

TEST(Dataset, DefaultGetBatchStacksExamples) {
  Doubling ds;
  Example b = ds.get_batch({3, 1});
  EXPECT_EQ(b.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(b.x.to_vector(), (std::vector<double>{6, 6, 2, 2}));
  EXPECT_EQ(b.y.to_vector(), (std::vector<double>{3, 1}));
}

TEST(Subset, MapsIndicesIntoItsBase) {
  auto base = numbered(10);
  data::Subset s(base, {7, 2, 9});
  EXPECT_EQ(s.size(), 3);
  EXPECT_EQ(ids(s), (std::vector<int64_t>{7, 2, 9}));
  EXPECT_EQ(s.get_batch({2, 0}).y.to_vector(), (std::vector<double>{9, 7}));
  EXPECT_THROW(data::Subset(base, {10}), IndexError);
  EXPECT_THROW(s.get(3), IndexError);
}

TEST(Permutation, SeededIsDeterministicAndAPermutation) {
  const auto a = data::permutation(100, 42), b = data::permutation(100, 42);
  const auto c = data::permutation(100, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
}

TEST(Permutation, UnseededFollowsManualSeed) {
  manual_seed(5);
  const auto a = data::permutation(50);
  manual_seed(5);
  const auto b = data::permutation(50);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, data::permutation(50));
}

TEST(RandomSplit, CountsAndFractionsPartitionTheData) {
  auto ds = numbered(10);
  auto parts = data::random_split(ds, {6, 3, 1}, 7);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]->size(), 6);
  EXPECT_EQ(parts[1]->size(), 3);
  EXPECT_EQ(parts[2]->size(), 1);
  std::set<int64_t> seen;
  for (const auto& p : parts)
    for (int64_t id : ids(*p)) EXPECT_TRUE(seen.insert(id).second) << "example " << id << " twice";
  EXPECT_EQ(seen.size(), 10u);

  // 10 * 0.25 = 2.5 -> floors 2 and 7 (of 0.75), remainder 1 to the first part.
  auto fr = data::random_split(ds, {0.25, 0.75}, 7);
  EXPECT_EQ(fr[0]->size(), 3);
  EXPECT_EQ(fr[1]->size(), 7);
  EXPECT_EQ(ids(*data::random_split(ds, {0.5, 0.5}, 1)[0]),
            ids(*data::random_split(ds, {0.5, 0.5}, 1)[0]));
  EXPECT_THROW(data::random_split(ds, {0.5, 0.6}), ValueError);
  EXPECT_THROW(data::random_split(ds, {4, 4}), ValueError);
  EXPECT_THROW(data::random_split(ds, {-1, 11}), ValueError);
}

TEST(RandomSplit, TrainValidationSplitHoldsOutTheFraction) {
  auto ds = numbered(20);
  auto [train, val] = data::train_validation_split(ds, 0.25, 3);
  EXPECT_EQ(train->size(), 15);
  EXPECT_EQ(val->size(), 5);
  const std::vector<int64_t> tr = ids(*train);
  std::set<int64_t> t(tr.begin(), tr.end());
  for (int64_t id : ids(*val)) EXPECT_FALSE(t.count(id)) << id;
  auto again = data::train_validation_split(ds, 0.25, 3);
  EXPECT_EQ(ids(*again.validation), ids(*val));
  EXPECT_THROW(data::train_validation_split(ds, 1.5), ValueError);
}
