// History: flat logs, keys, best epoch, and the JSON form checkpoints store (exact round trip,
// NaN and Inf included; garbage rejected), plus CSV.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sinapsis/sinapsis.h"

namespace sn::train {
namespace {

History sample() {
  History h;
  for (int e = 0; e < 3; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.loss = 1.0 / (e + 1) + 1e-17 * e;
    r.metrics["accuracy"] = 0.5 + 0.1 * e;
    r.has_validation = true;
    r.val_loss = std::vector<double>{0.9, 0.4, 0.6}[e];
    r.val_metrics["accuracy"] = std::vector<double>{0.5, 0.8, 0.7}[e];
    r.lr = 0.1 / (1 << e);
    r.seconds = 0.25;
    r.batches = 4;
    r.examples = 30;
    h.epochs.push_back(r);
  }
  return h;
}

TEST(History, LogsKeysAndSeries) {
  History h = sample();
  EXPECT_EQ(h.keys(), (std::vector<std::string>{"loss", "accuracy", "val_loss", "val_accuracy",
                                                "lr", "time"}));
  auto logs = h.epochs[1].logs();
  EXPECT_DOUBLE_EQ(logs.at("val_accuracy"), 0.8);
  EXPECT_DOUBLE_EQ(logs.at("lr"), 0.05);
  EXPECT_FALSE(h.epochs[0].get("val_top5_accuracy").has_value());
  EXPECT_EQ(h.series("val_loss"), (std::vector<double>{0.9, 0.4, 0.6}));
  EXPECT_TRUE(std::isnan(h.series("mse")[0]));
}

TEST(History, BestEpochByModeAndCompletion) {
  History h = sample();
  EXPECT_EQ(h.best("val_loss"), 1);      // min for losses
  EXPECT_EQ(h.best("val_accuracy"), 1);  // max for accuracies (Mode::Auto)
  EXPECT_EQ(h.best("loss"), 2);
  EXPECT_EQ(h.best("val_loss", Mode::Max), 0);
  EXPECT_EQ(h.best("nothing"), -1);
  h.epochs[1].completed = false;  // abandoned epochs never count as best
  EXPECT_EQ(h.best("val_loss"), 2);
  h.epochs[2].val_loss = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(h.best("val_loss"), 0);
  EXPECT_EQ(resolve_mode(Mode::Auto, "val_top3_accuracy"), Mode::Max);
  EXPECT_EQ(resolve_mode(Mode::Auto, "val_mae"), Mode::Min);
}

TEST(History, JsonRoundTripIsExact) {
  History h = sample();
  h.epochs[2].loss = std::numeric_limits<double>::quiet_NaN();
  h.epochs[2].metrics["accuracy"] = std::numeric_limits<double>::infinity();
  h.epochs[2].completed = false;
  h.best_epoch = 1;
  h.monitor = "val_loss";
  h.stopped_early = true;
  h.stop_reason = "TerminateOnNaN: \"quoted\"";
  History r = History::from_json(h.to_json());
  ASSERT_EQ(r.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.epochs[i].loss, h.epochs[i].loss);  // bit-exact, not approximately
    EXPECT_EQ(r.epochs[i].val_loss, h.epochs[i].val_loss);
    EXPECT_EQ(r.epochs[i].lr, h.epochs[i].lr);
    EXPECT_EQ(r.epochs[i].metrics, h.epochs[i].metrics);
    EXPECT_EQ(r.epochs[i].val_metrics, h.epochs[i].val_metrics);
    EXPECT_EQ(r.epochs[i].examples, 30);
  }
  EXPECT_TRUE(std::isnan(r.epochs[2].loss));
  EXPECT_TRUE(std::isinf(r.epochs[2].metrics.at("accuracy")));
  EXPECT_FALSE(r.epochs[2].completed);
  EXPECT_EQ(r.best_epoch, 1);
  EXPECT_EQ(r.monitor, "val_loss");
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.stop_reason, h.stop_reason);
}

TEST(History, FromJsonRejectsGarbage) {
  EXPECT_THROW(History::from_json("not json"), ValueError);
  EXPECT_THROW(History::from_json("[]"), ValueError);
  EXPECT_THROW(History::from_json("{\"epochs\": 3}"), ValueError);
  std::string good = sample().to_json();
  std::string bad = good;
  bad.replace(bad.find("\"batches\":4"), 11, "\"batches\":\"x\"");
  EXPECT_THROW(History::from_json(bad), ValueError);
  bad = good;
  bad.replace(bad.find("\"best_epoch\":-1"), 15, "\"best_epoch\":7");
  EXPECT_THROW(History::from_json(bad), ValueError);
}

TEST(History, Csv) {
  History h = sample();
  const std::string csv = h.to_csv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "epoch,loss,accuracy,val_loss,val_accuracy,lr,time");
  EXPECT_NE(csv.find("\n2,0.5,0.6,0.4,0.8,0.05,0.25\n"), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

}  // namespace
}  // namespace sn::train
