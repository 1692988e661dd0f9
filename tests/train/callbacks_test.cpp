// ProgressBar (plain lines off a terminal, a redrawn bar when forced live), CsvLogger and
// JsonLinesLogger (columns, append on resume) over real fit() runs.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::cross_entropy_loss;
using testing::separable_2d;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

struct Small {
  data::DataLoader train{separable_2d(12, 70), {.batch_size = 4}};
  data::DataLoader val{separable_2d(4, 71), {.batch_size = 4}};
  nn::Sequential model{nn::Linear(2, 2)};
  optim::SGD opt{model.parameters(), {.lr = 0.1}};
  FitOptions options(std::vector<CallbackPtr> cbs, int64_t epochs = 2) {
    return {.epochs = epochs,
            .validation = &val,
            .metrics = {std::make_shared<Accuracy>()},
            .callbacks = std::move(cbs),
            .verbose = 0};
  }
};

TEST(ProgressBar, PlainLinePerEpochOffATerminal) {
  manual_seed(70);
  Small s;
  std::ostringstream os;
  auto bar = std::make_shared<ProgressBar>(ProgressBarOptions{.stream = &os});
  History h = fit(s.model, cross_entropy_loss, s.opt, s.train, s.options({bar}));
  EXPECT_FALSE(bar->live());
  const auto ls = lines(os.str());
  ASSERT_EQ(ls.size(), 2u) << os.str();
  EXPECT_EQ(ls[0].rfind("epoch 1/2  loss ", 0), 0u) << ls[0];
  for (const char* key : {"  accuracy ", "  val_loss ", "  val_accuracy ", "  lr 0.1  "})
    EXPECT_NE(ls[1].find(key), std::string::npos) << ls[1];
  EXPECT_EQ(os.str().find('\r'), std::string::npos);
}

TEST(ProgressBar, LiveBarRedrawsWithEta) {
  manual_seed(71);
  Small s;
  std::ostringstream os;
  auto bar = std::make_shared<ProgressBar>(
      ProgressBarOptions{.stream = &os, .live = Live::Always, .width = 10, .refresh_seconds = 0});
  auto stop = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_epoch_end = [](TrainState& st) { st.request_stop("test over"); }});
  fit(s.model, cross_entropy_loss, s.opt, s.train, s.options({bar, stop}));
  const std::string out = os.str();
  EXPECT_TRUE(bar->live());
  EXPECT_NE(out.find("\repoch 1/2 [==========] 3/3 ETA "), std::string::npos) << out;
  EXPECT_NE(out.find("[===>......] 1/3"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped: test over\n"), std::string::npos) << out;
}

TEST(Loggers, CsvAndJsonLinesWithAppend) {
  TempDir dir;
  manual_seed(72);
  Small s;
  const std::string csv = dir.file("h.csv"), jsonl = dir.file("h.jsonl");
  History h =
      fit(s.model, cross_entropy_loss, s.opt, s.train,
          s.options({std::make_shared<CsvLogger>(csv), std::make_shared<JsonLinesLogger>(jsonl)}));
  auto rows = lines(slurp(csv));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], "epoch,loss,accuracy,val_loss,val_accuracy,lr,time");
  EXPECT_EQ(rows[1].rfind("1,", 0), 0u);
  // The CSV numbers read back as the history's numbers exactly.
  std::stringstream row2(rows[2]);
  std::string cell;
  std::getline(row2, cell, ',');
  EXPECT_EQ(cell, "2");
  std::getline(row2, cell, ',');
  EXPECT_EQ(std::stod(cell), h.epochs[1].loss);

  auto js = lines(slurp(jsonl));
  ASSERT_EQ(js.size(), 2u);
  auto j = nlohmann::json::parse(js[1]);
  EXPECT_EQ(j["epoch"], 2);
  EXPECT_EQ(j["val_loss"].get<double>(), h.epochs[1].val_loss);
  EXPECT_EQ(j["lr"].get<double>(), 0.1);

  // Resume: append continues the files under the same header.
  fit(s.model, cross_entropy_loss, s.opt, s.train,
      {.epochs = 3,
       .validation = &s.val,
       .metrics = {std::make_shared<Accuracy>()},
       .callbacks = {std::make_shared<CsvLogger>(csv, LoggerOptions{.append = true}),
                     std::make_shared<JsonLinesLogger>(jsonl, LoggerOptions{.append = true})},
       .initial_epoch = 2,
       .initial_history = h,
       .verbose = 0});
  rows = lines(slurp(csv));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], "epoch,loss,accuracy,val_loss,val_accuracy,lr,time");
  EXPECT_EQ(rows[3].rfind("3,", 0), 0u);
  EXPECT_EQ(lines(slurp(jsonl)).size(), 3u);

  // Without append the file starts over.
  fit(s.model, cross_entropy_loss, s.opt, s.train,
      s.options({std::make_shared<CsvLogger>(csv)}, 1));
  EXPECT_EQ(lines(slurp(csv)).size(), 2u);
  EXPECT_THROW(fit(s.model, cross_entropy_loss, s.opt, s.train,
                   s.options({std::make_shared<CsvLogger>(dir.file("no/such/dir/h.csv"))}, 1)),
               IOError);
}

}  // namespace
}  // namespace sn::train
