// Metrics on cases small enough to check by hand: accuracy (multi-class, binary, one-hot),
// top-k, confusion matrix, MSE/MAE, MeanLoss, make_metric, and their error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sinapsis/sinapsis.h"
#include "test_util.h"

namespace sn::train {
namespace {

Tensor idx(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return tensor(v, Shape{n});
}

TEST(Metrics, AccuracyMultiClassArgmax) {
  Accuracy acc;
  EXPECT_TRUE(std::isnan(acc.value()));
  acc.update(tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}}), idx({1, 1, 1}));
  EXPECT_DOUBLE_EQ(acc.value(), 2.0 / 3.0);
  acc.update(tensor({{5.0, 1.0}}), idx({0}));  // running over batches
  EXPECT_EQ(acc.correct(), 3);
  EXPECT_EQ(acc.total(), 4);
  EXPECT_DOUBLE_EQ(acc.value(), 0.75);
  acc.reset();
  EXPECT_TRUE(std::isnan(acc.value()));
}

TEST(Metrics, AccuracyBinaryAndOneHot) {
  Accuracy probs;  // threshold 0.5
  probs.update(tensor({0.2, 0.7, 0.6}), tensor({0.0, 1.0, 0.0}));
  EXPECT_DOUBLE_EQ(probs.value(), 2.0 / 3.0);
  Accuracy logits(0.0);  // [N, 1] logits against [N, 1] float targets
  logits.update(tensor({-1.0, 0.5, 2.0, -0.1}).reshape({4, 1}),
                tensor({0.0, 1.0, 0.0, 0.0}).reshape({4, 1}));
  EXPECT_DOUBLE_EQ(logits.value(), 0.75);
  Accuracy onehot;
  onehot.update(tensor({{0.1, 0.2, 0.7}, {0.9, 0.05, 0.05}}),
                tensor({{0.0, 0.0, 1.0}, {0.0, 1.0, 0.0}}));
  EXPECT_DOUBLE_EQ(onehot.value(), 0.5);
}

TEST(Metrics, AccuracyRejectsBadTargets) {
  Accuracy acc;
  EXPECT_THROW(acc.update(tensor({{0.1, 0.9}}), idx({2})), IndexError);  // class 2 of 2
  EXPECT_THROW(acc.update(tensor({{0.1, 0.9}, {0.2, 0.8}}), idx({1})), ShapeError);
  EXPECT_THROW(acc.update(zeros({2, 2, 2}), idx({0, 1})), ShapeError);
  try {
    acc.update(tensor({{0.1, 0.9}}), tensor({0.5}));
    FAIL() << "a fractional class index must throw";
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("not a class index in [0, 2)"), std::string::npos);
  }
  EXPECT_EQ(acc.total(), 0);  // nothing was counted by the failed updates
}

TEST(Metrics, TopKAccuracy) {
  TopKAccuracy top2(2);
  EXPECT_EQ(top2.name(), "top2_accuracy");
  // row 0: true class 2 is second best (hit); row 1: true class 2 is last (miss).
  top2.update(tensor({{0.1, 0.5, 0.4}, {0.6, 0.3, 0.1}}), idx({2, 2}));
  EXPECT_DOUBLE_EQ(top2.value(), 0.5);
  TopKAccuracy top1(1);
  top1.update(tensor({{0.1, 0.5, 0.4}, {0.6, 0.3, 0.1}}), idx({1, 0}));
  EXPECT_DOUBLE_EQ(top1.value(), 1.0);
  TopKAccuracy top4(4);
  EXPECT_THROW(top4.update(tensor({{0.1, 0.5, 0.4}}), idx({0})), ValueError);
  EXPECT_THROW(TopKAccuracy(0), ValueError);
}

TEST(Metrics, ConfusionMatrixCountsAndPrints) {
  ConfusionMatrix cm(3, {"cat", "dog", "bird"});
  // true: 0 0 1 1 2 2 ; predicted: 0 1 1 1 2 0
  Tensor out = tensor({{9.0, 0.0, 0.0},
                       {0.0, 9.0, 0.0},
                       {0.0, 9.0, 0.0},
                       {0.0, 9.0, 0.0},
                       {0.0, 0.0, 9.0},
                       {9.0, 0.0, 0.0}});
  cm.update(out, idx({0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(cm.count(0, 0), 1);
  EXPECT_EQ(cm.count(0, 1), 1);
  EXPECT_EQ(cm.count(1, 1), 2);
  EXPECT_EQ(cm.count(2, 2), 1);
  EXPECT_EQ(cm.count(2, 0), 1);
  EXPECT_EQ(cm.total(), 6);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(cm.recall(0), 0.5);
  EXPECT_DOUBLE_EQ(cm.recall(1), 1.0);
  EXPECT_DOUBLE_EQ(cm.precision(1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(cm.precision(0), 0.5);
  EXPECT_DOUBLE_EQ(cm.value(), (0.5 + 1.0 + 0.5) / 3.0);  // balanced accuracy
  EXPECT_EQ(cm.matrix().to_vector(), (std::vector<double>{1, 1, 0, 0, 2, 0, 1, 0, 1}));
  const std::string s = cm.to_string();
  EXPECT_NE(s.find("bird"), std::string::npos);
  EXPECT_NE(s.find("66.7%"), std::string::npos);  // accuracy / dog precision
  EXPECT_NE(s.find("precision"), std::string::npos);
  auto fresh = cm.clone();
  EXPECT_TRUE(std::isnan(fresh->value()));
  EXPECT_THROW(cm.update(zeros({2, 4}), idx({0, 1})), ShapeError);  // 4 classes into 3
  EXPECT_THROW(ConfusionMatrix(3, {"a", "b"}), ValueError);
}

// 100,000 classes (an ID column taken for a target): memory and time follow the classes and
// the examples, not classes²; the text stays readable and the dense matrix is refused.
TEST(Metrics, ConfusionMatrixOfManyClassesIsNotQuadratic) {
  const int64_t C = 100000, N = 200;
  ConfusionMatrix cm(C);
  std::vector<int64_t> truth(N), guess(N);
  for (int64_t i = 0; i < N; ++i) {
    truth[i] = (i * 7919) % C;
    guess[i] = i % 4 == 0 ? (truth[i] + 1) % C : truth[i];  // a quarter wrong
  }
  // one-hot logits for the guesses, a few rows at a time (a [N, C] tensor would be the
  // quadratic thing)
  const int64_t B = 20;
  for (int64_t i = 0; i < N; i += B) {
    std::vector<float> out(static_cast<size_t>(B * C), 0.0f);
    for (int64_t j = 0; j < B; ++j) out[static_cast<size_t>(j * C + guess[i + j])] = 1.0f;
    cm.update(tensor(out, Shape{B, C}),
              tensor(std::vector<int64_t>(truth.begin() + i, truth.begin() + i + B), Shape{B}));
  }
  EXPECT_EQ(cm.total(), N);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.75);
  EXPECT_EQ(cm.count(truth[1], truth[1]), 1);
  EXPECT_EQ(cm.count(truth[0], guess[0]), 1);
  EXPECT_EQ(cm.support(truth[0]), 1);
  EXPECT_EQ(cm.top_classes(3).size(), 3u);
  const std::string s = cm.to_string();
  EXPECT_NE(s.find("100000 classes, too many for a table"), std::string::npos) << s;
  EXPECT_NE(s.find("accuracy 75.0% of 200"), std::string::npos) << s;
  EXPECT_LT(s.size(), 2000u) << s;
  const std::string r = cm.report();
  EXPECT_NE(r.find("(99950 more classes with less support; the averages cover all 100000)"),
            std::string::npos)
      << r;
  EXPECT_LT(std::count(r.begin(), r.end(), '\n'), 60);
  EXPECT_NE(sn::test::error_of([&] { cm.matrix(); }).find("100000 classes would take"),
            std::string::npos);
}

TEST(Metrics, ConfusionMatrixF1AndReport) {
  ConfusionMatrix cm(3, {"cat", "dog", "bird"});
  // true: 0 0 1 1 2 2 ; predicted: 0 1 1 1 2 0 (as above)
  cm.update(tensor({{9.0, 0.0, 0.0},
                    {0.0, 9.0, 0.0},
                    {0.0, 9.0, 0.0},
                    {0.0, 9.0, 0.0},
                    {0.0, 0.0, 9.0},
                    {9.0, 0.0, 0.0}}),
            idx({0, 0, 1, 1, 2, 2}));
  // by hand: cat P 1/2 R 1/2; dog P 2/3 R 1; bird P 1 R 1/2
  EXPECT_DOUBLE_EQ(cm.f1(0), 0.5);
  EXPECT_DOUBLE_EQ(cm.f1(1), 0.8);
  EXPECT_DOUBLE_EQ(cm.f1(2), 2.0 / 3.0);
  EXPECT_EQ(cm.support(2), 2);
  const std::string r = cm.report();
  EXPECT_NE(r.find("precision"), std::string::npos) << r;
  EXPECT_NE(r.find("   dog     0.6667     1.0000     0.8000        2"), std::string::npos) << r;
  // macro: P (1/2 + 2/3 + 1)/3, R (1/2 + 1 + 1/2)/3, F1 (1/2 + 4/5 + 2/3)/3
  EXPECT_NE(r.find("macro avg     0.7222     0.6667     0.6556        6"), std::string::npos) << r;
  EXPECT_NE(r.find("weighted avg     0.7222     0.6667     0.6556        6"), std::string::npos)
      << r;
  // a class never predicted and never present: its values are undefined ("-"), and left out
  // of the averages
  ConfusionMatrix two(3);
  two.update(tensor({{9.0, 0.0, 0.0}, {0.0, 9.0, 0.0}}), idx({0, 1}));
  EXPECT_TRUE(std::isnan(two.f1(2)));
  const std::string r2 = two.report();
  EXPECT_NE(r2.find("-          -          -        0"), std::string::npos) << r2;
  EXPECT_NE(r2.find("macro avg     1.0000     1.0000     1.0000        2"), std::string::npos)
      << r2;
  // precision and recall both 0: F1 0, not NaN
  ConfusionMatrix miss(2);
  miss.update(tensor({{0.0, 9.0}, {9.0, 0.0}}), idx({0, 1}));
  EXPECT_EQ(miss.f1(0), 0.0);
}

TEST(Metrics, RegressionMeters) {
  MeanSquaredError mse;
  MeanAbsoluteError mae;
  Tensor out = tensor({1.0, 2.0, 3.0});
  Tensor y = tensor({1.0, 3.0, 5.0}).reshape({3, 1});  // [N, 1] against [N] is accepted
  mse.update(out, y);
  mae.update(out, y);
  EXPECT_DOUBLE_EQ(mse.value(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(mae.value(), 1.0);
  mse.update(tensor({0.0}), tensor({2.0}));
  EXPECT_DOUBLE_EQ(mse.value(), 9.0 / 4.0);
  EXPECT_THROW(mse.update(zeros({2, 3}), zeros({3, 2})), ShapeError);
}

TEST(Metrics, MeanLossWeightsByBatchSize) {
  MeanLoss m;
  EXPECT_TRUE(std::isnan(m.value()));
  m.update(1.0, 2);
  m.update(4.0, 1);
  EXPECT_DOUBLE_EQ(m.value(), 2.0);
  EXPECT_EQ(m.count(), 3);
  EXPECT_THROW(m.update(1.0, 0), ValueError);
}

TEST(Metrics, MakeMetricByName) {
  EXPECT_EQ(make_metric("accuracy")->name(), "accuracy");
  EXPECT_EQ(make_metric("acc")->name(), "accuracy");
  EXPECT_EQ(make_metric("top5_accuracy")->name(), "top5_accuracy");
  EXPECT_EQ(make_metric("mse")->name(), "mse");
  EXPECT_EQ(make_metric("mae")->name(), "mae");
  auto cm = make_metric("confusion_matrix:4");
  ASSERT_NE(dynamic_cast<ConfusionMatrix*>(cm.get()), nullptr);
  EXPECT_EQ(dynamic_cast<ConfusionMatrix*>(cm.get())->num_classes(), 4);
  for (const char* bad : {"accuracyy", "top_accuracy", "topx_accuracy", "confusion_matrix:", ""}) {
    try {
      make_metric(bad);
      FAIL() << bad;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("known:"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace sn::train
