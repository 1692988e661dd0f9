// Perceptron: hand-checked updates of Rosenblatt's rule, convergence on AND/OR (online and batch),
// the reported non-convergence on XOR, and input errors.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

namespace {
using sn::classic::Perceptron;
using sn::classic::UpdateMode;

sn::Tensor inputs() { return sn::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}); }

void expect_vec(const sn::Tensor& t, std::vector<double> want) {
  std::vector<double> got = t.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << "index " << i;
}
}  // namespace

TEST(Perceptron, OnlineRuleByHandOnAnd) {
  Perceptron p(2);
  auto r = p.fit(inputs(), sn::tensor({0, 0, 0, 1}), {.lr = 1.0, .max_epochs = 2});
  // epoch 1: only (1,1) is wrong: w += 1·(1 − 0)·[1, 1, 1]
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0], 1);
  expect_vec(r.weights[0], {1, 1, 1});
  // epoch 2: (0,0) fires wrongly -> [0,1,1]; (0,1) fires wrongly -> [-1,1,0];
  // (1,0) has net 0 -> 0, right; (1,1) has net 0 -> 0, wrong -> [0,2,1]
  EXPECT_EQ(r.errors[1], 3);
  expect_vec(r.weights[1], {0, 2, 1});
  expect_vec(p.weights(), {0, 2, 1});
  EXPECT_FALSE(r.converged);
}

TEST(Perceptron, BatchRuleByHand) {
  Perceptron p(2);
  auto r = p.fit(inputs(), sn::tensor({0, 1, 1, 1}),
                 {.lr = 0.5, .max_epochs = 1, .mode = UpdateMode::Batch});
  // all outputs 0 at w = 0, errors t − o = [0, 1, 1, 1]; Σ err·x̃ = [3, 2, 2]; η = 0.5
  EXPECT_EQ(r.errors[0], 3);
  expect_vec(p.weights(), {1.5, 1, 1});
}

TEST(Perceptron, LearnsAndAndOr) {
  for (UpdateMode mode : {UpdateMode::Online, UpdateMode::Batch}) {
    for (auto target : {sn::tensor({0, 0, 0, 1}), sn::tensor({0, 1, 1, 1})}) {
      Perceptron p(2);
      auto r = p.fit(inputs(), target, {.lr = 0.1, .max_epochs = 100, .mode = mode});
      EXPECT_TRUE(r.converged) << sn::classic::to_string(mode);
      EXPECT_EQ(r.errors.back(), 0);
      EXPECT_EQ(static_cast<int64_t>(r.errors.size()), r.epochs);
      EXPECT_LT(r.epochs, 100);
      EXPECT_TRUE(sn::equal(p.predict(inputs()), target.to(sn::kFloat64)));
      // the weights stop changing once an epoch makes no mistake
      EXPECT_TRUE(sn::equal(r.weights.back(), p.weights()));
    }
  }
}

TEST(Perceptron, ReportsNonConvergenceOnXor) {
  for (UpdateMode mode : {UpdateMode::Online, UpdateMode::Batch}) {
    Perceptron p(2);
    auto r = p.fit(inputs(), sn::tensor({0, 1, 1, 0}), {.max_epochs = 50, .mode = mode});
    EXPECT_FALSE(r.converged);
    EXPECT_EQ(r.epochs, 50);
    ASSERT_EQ(r.errors.size(), 50u);
    for (int64_t e : r.errors) EXPECT_GT(e, 0);
    EXPECT_LT(sn::classic::accuracy(p.predict(inputs()), sn::tensor({0, 1, 1, 0})), 1.0);
  }
}

TEST(Perceptron, ShuffledOnlineStillConverges) {
  sn::manual_seed(3);
  Perceptron p(2);
  auto r = p.fit(inputs(), sn::tensor({0, 0, 0, 1}), {.max_epochs = 200, .shuffle = true});
  EXPECT_TRUE(r.converged);
}

TEST(Perceptron, ClearErrors) {
  Perceptron p(2);
  EXPECT_THROW(p.fit(inputs(), sn::tensor({0, 2, 1, 1})), sn::ValueError);
  EXPECT_THROW(p.fit(inputs(), sn::tensor({0, 1, 1})), sn::ShapeError);
  EXPECT_THROW(p.fit(sn::tensor({0, 1, 1, 0}), sn::tensor({0, 1, 1, 0})), sn::ShapeError);
  EXPECT_THROW(p.fit(sn::tensor({{0, 1, 1}}), sn::tensor({0})), sn::ShapeError);
  EXPECT_THROW(p.fit(inputs(), sn::tensor({0, 0, 0, 1}), {.lr = -1.0}), sn::ValueError);
  EXPECT_THROW(p.fit(inputs(), sn::tensor({0, 0, 0, 1}), {.mode = UpdateMode::MiniBatch}),
               sn::ValueError);
  EXPECT_THROW(p.fit(sn::tensor({{0, NAN}, {0, 1}}), sn::tensor({0, 1})), sn::ValueError);
  try {
    p.fit(inputs(), sn::tensor({-1, 1, 1, 1}));
    FAIL() << "bipolar targets accepted";
  } catch (const sn::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("hint"), std::string::npos) << e.what();
  }
  EXPECT_THROW(p.predict(sn::tensor({{0, 1, 1}})), sn::ShapeError);
}
