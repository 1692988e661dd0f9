// Hebb rule: the textbook AND cases worked by hand (bipolar with and without bias, binary),
// the per-sample weight history, and encoding errors.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

namespace {
using sn::classic::Encoding;
using sn::classic::Hebb;

void expect_vec(const sn::Tensor& t, std::vector<double> want) {
  std::vector<double> got = t.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << "index " << i;
}
}  // namespace

TEST(Hebb, BipolarAndWithBias) {
  auto x = sn::tensor({{1, 1}, {1, -1}, {-1, 1}, {-1, -1}});
  auto y = sn::tensor({1, -1, -1, -1});
  Hebb h(2);
  auto r = h.fit(x, y);
  // Δw̃ = x̃·y: [1,1,1], [-1,-1,1], [-1,1,-1], [-1,1,1]
  ASSERT_EQ(r.weights.size(), 4u);
  expect_vec(r.weights[0], {1, 1, 1});
  expect_vec(r.weights[1], {0, 0, 2});
  expect_vec(r.weights[2], {-1, 1, 1});
  expect_vec(r.weights[3], {-2, 2, 2});
  EXPECT_EQ(r.errors, 0);
  EXPECT_TRUE(sn::equal(h.predict(x), y.to(sn::kFloat64)));
  expect_vec(h.net_input(x), {2, -2, -2, -6});
}

TEST(Hebb, WithoutBiasTheThresholdStaysZero) {
  auto x = sn::tensor({{1, 1}, {1, -1}, {-1, 1}, {-1, -1}});
  Hebb h(2, {.lr = 0.5, .bias = false});
  h.fit(x, sn::tensor({1, -1, -1, -1}));
  expect_vec(h.weights(), {0, 1, 1});  // 0.5·[2, 2]
}

TEST(Hebb, BinaryAndCannotBeLearned) {
  // with 0/1 targets only the (1,1) sample changes anything: w̃ = [1, 1, 1] fires for all inputs
  auto x = sn::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
  Hebb h(2, {.encoding = Encoding::Binary});
  auto r = h.fit(x, sn::tensor({0, 0, 0, 1}));
  expect_vec(h.weights(), {1, 1, 1});
  EXPECT_EQ(r.errors, 3);
  expect_vec(h.predict(x), {1, 1, 1, 1});
}

TEST(Hebb, MoreEpochsScaleTheWeights) {
  auto x = sn::tensor({{1, 1}, {1, -1}, {-1, 1}, {-1, -1}});
  Hebb h(2, {.epochs = 3});
  auto r = h.fit(x, sn::tensor({1, 1, 1, -1}));  // OR
  EXPECT_EQ(r.weights.size(), 12u);
  expect_vec(h.weights(), {6, 6, 6});
}

TEST(Hebb, EncodingErrors) {
  Hebb bipolar(2);
  try {
    bipolar.fit(sn::tensor({{0, 1}, {1, 0}}), sn::tensor({1, -1}));
    FAIL() << "0 accepted as bipolar";
  } catch (const sn::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Encoding::Binary"), std::string::npos) << e.what();
  }
  Hebb binary(2, {.encoding = Encoding::Binary});
  EXPECT_THROW(binary.fit(sn::tensor({{0, 1}, {1, 0}}), sn::tensor({1, -1})), sn::ValueError);
  EXPECT_THROW(binary.fit(sn::tensor({{0, 1, 1}}), sn::tensor({1})), sn::ShapeError);
  EXPECT_THROW(Hebb(0), sn::ValueError);
  EXPECT_THROW(Hebb(2, {.lr = 0.0}), sn::ValueError);
}
