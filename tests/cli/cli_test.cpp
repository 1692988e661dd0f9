// End-to-end tests of the `sinapsis` executable: train / resume / eval / predict / info on a
// small generated CSV and a Fashion-MNIST subset, and the one-line errors with exit code 2.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include "cli_run.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Result = sn::test::CliResult;
using sn::test::read_file;
using sn::test::run_cli;

class CliTest : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // two well-separated Gaussian blobs in 3-D, labels "a" / "b"
    std::mt19937 g(7);
    std::normal_distribution<double> n(0.0, 0.5);
    std::ofstream f(dir_ / "blobs.csv");
    f << "x1,x2,x3,label\n";
    for (int i = 0; i < 300; ++i) {
      const bool b = i % 2;
      f << (b ? 2.0 : -2.0) + n(g) << "," << (b ? -1.0 : 1.0) + n(g) << "," << n(g) << ","
        << (b ? "b" : "a") << "\n";
    }
  }
};

TEST_F(CliTest, TrainEvalPredictInfoResumeOnCsv) {
  const std::string runp = (dir_ / "run").string();
  Result r =
      run_cli("train --data " + (dir_ / "blobs.csv").string() +
              " --target label --preset mlp --epochs 3 --batch-size 16 --threads 1 --out " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy: "), std::string::npos) << r.out;
  for (const char* f : {"best.safetensors", "last.safetensors", "model.json", "run.json",
                        "history.csv", "history.jsonl", "result.json", "curves.svg"})
    EXPECT_TRUE(fs::exists(fs::path(runp) / f)) << f;
  // separable blobs: the test accuracy is (near) perfect
  const std::string result = read_file(fs::path(runp) / "result.json");
  const auto pos = result.find("\"accuracy\":");
  ASSERT_NE(pos, std::string::npos) << result;
  EXPECT_GE(std::stod(result.substr(pos + 11)), 0.95) << result;
  // three epochs logged, plus the header
  const std::string csv = read_file(fs::path(runp) / "history.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;

  r = run_cli("eval " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("accuracy"), std::string::npos) << r.out;

  // predict on rows without the label column
  {
    std::ofstream f(dir_ / "new.csv");
    f << "x1,x2,x3\n2.1,-0.9,0.1\n-2.2,1.1,0.0\n";
  }
  const std::string preds = (dir_ / "preds.csv").string();
  r = run_cli("predict " + runp + " --input " + (dir_ / "new.csv").string() + " --output " + preds);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string p = read_file(preds);
  EXPECT_NE(p.find("0,1,b,"), std::string::npos) << p;
  EXPECT_NE(p.find("1,0,a,"), std::string::npos) << p;

  r = run_cli("info " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("model.1.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model_spec"), std::string::npos) << r.out;

  // a finished cosine run ended at lr 0; resuming it for more epochs re-plans the schedule
  r = run_cli("resume " + runp + " --epochs 4 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 4/4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cosine re-planned from 3 to 4 epochs"), std::string::npos) << r.out;
  const std::string csv2 = read_file(fs::path(runp) / "history.csv");
  EXPECT_EQ(std::count(csv2.begin(), csv2.end(), '\n'), 5) << csv2;
  // the 4th epoch trained at lr = 1e-3·(1 + cos(π·3/4))/2 ≈ 1.464e-4, not at 0
  const std::string header = csv2.substr(0, csv2.find('\n'));
  int lr_col = 0;
  for (size_t i = 0; i < header.find("lr"); ++i) lr_col += header[i] == ',';
  std::string last = csv2.substr(csv2.rfind('\n', csv2.size() - 2) + 1);
  for (int c = 0; c < lr_col; ++c) last = last.substr(last.find(',') + 1);
  EXPECT_NEAR(std::stod(last), 1e-3 * (1 + std::cos(3.14159265358979 * 3 / 4)) / 2, 1e-9)
      << header << "\n"
      << csv2;
  EXPECT_NE(read_file(fs::path(runp) / "run.json").find("\"epochs\": 4"), std::string::npos);
  r = run_cli("resume " + runp + " --threads 1");
  EXPECT_EQ(r.code, 2) << r.out;  // nothing left to do
  EXPECT_NE(r.out.find("already has 4 of 4 epochs"), std::string::npos) << r.out;
}

TEST_F(CliTest, FashionMnistSubset) {
  const std::string runp = (dir_ / "fm").string();
  Result r = run_cli(
      "train --data fashion-mnist --limit 600 --epochs 1 --batch-size 64 --threads 1 --out " +
      runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("limited to 600 train"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy: "), std::string::npos) << r.out;
}

TEST_F(CliTest, GlassBoxCommands) {
  // the lecture graph, drawn and traced: dE/dh sums the two paths
  const std::string g = (dir_ / "lecture").string();
  Result r = run_cli("graph --out " + g + " --trace");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dot = read_file(g + ".dot");
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("x3"), std::string::npos);
  EXPECT_NE(r.out.find("dE/dh += dE/dy1"), std::string::npos) << r.out;
  // a recurrent network unrolled over 3 steps: W_hh's gradient is the sum over time
  const std::string u = (dir_ / "rnn").string();
  r = run_cli("graph --rnn 3 --out " + u + " --trace");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string rdot = read_file(u + ".dot");
  for (const char* name : {"W_hh", "h1", "h2", "h3", "x3"})
    EXPECT_NE(rdot.find(name), std::string::npos) << name;
  EXPECT_NE(r.out.find("dE/dW_hh = (via u3) + (via u2) + (via u1)"), std::string::npos) << r.out;
  r = run_cli("graph --rnn 2 --preset mlp --input-shape 4");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--rnn draws its own network"), std::string::npos) << r.out;
  r = run_cli("graph --rnn 9");
  EXPECT_EQ(r.code, 2) << r.out;

  {
    std::ofstream f(dir_ / "m.json");
    f << R"({"input": [4], "layers": [{"type": "Linear", "out": 5}, {"type": "Tanh"},
             {"type": "Linear", "out": 2}]})";
  }
  r = run_cli("gradcheck --model " + (dir_ / "m.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("0.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all gradients agree"), std::string::npos) << r.out;

  {
    std::ofstream f(dir_ / "and.csv");
    f << "a,b,t\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n";
  }
  r = run_cli("classic perceptron --data " + (dir_ / "and.csv").string() + " --target t");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("converged in epoch"), std::string::npos) << r.out;
  r = run_cli("classic linreg --data " + (dir_ / "blobs.csv").string() + " --target x1 --epochs 5");
  ASSERT_EQ(r.code, 2) << r.out;  // the label column is text: not a regression input
  EXPECT_NE(r.out.find("label"), std::string::npos) << r.out;
}

TEST_F(CliTest, ClassicLearners) {
  auto write = [&](const char* name, const char* text) {
    std::ofstream f(dir_ / name);
    f << text;
    return (dir_ / name).string();
  };
  const std::string bip = write("and_bipolar.csv", "x1,x2,y\n1,1,1\n1,-1,-1\n-1,1,-1\n-1,-1,-1\n");
  const std::string bin = write("and_binary.csv", "x1,x2,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n");
  const std::string three = write("three.csv", "x,y\n0,a\n1,b\n2,c\n");
  std::string pts = "x,y\n";
  for (int i = 0; i < 40; ++i)  // y = 2x + 1 on [-1, 1], with a little deterministic wiggle
    pts += std::to_string(-1 + i / 20.0) + "," +
           std::to_string(1 + 2 * (-1 + i / 20.0) + 0.05 * ((i * 7) % 5 - 2)) + "\n";
  const std::string line = write("line.csv", pts.c_str());

  // Hebb learns bipolar AND in one pass: w = (-2, 2, 2)
  Result r = run_cli("classic hebb --data " + bip + " --target y");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("encoding: bipolar"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("after sample 4: w = -2.0000 2.0000 2.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 of 4 training samples misclassified"), std::string::npos) << r.out;
  // binary data is detected too; --epochs is honoured
  r = run_cli("classic hebb --data " + bin + " --target y --epochs 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("encoding: binary"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 2, after sample 4: w = 2.0000 2.0000 2.0000"), std::string::npos)
      << r.out;
  r = run_cli("classic hebb --data " + bin + " --target y --encoding bipolar");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("must be bipolar"), std::string::npos) << r.out;

  // the perceptron takes bipolar labels as two classes; minibatch is not its rule
  r = run_cli("classic perceptron --data " + bip + " --target y --mode batch");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("'-1' → 0, '1' → 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("converged in epoch"), std::string::npos) << r.out;
  r = run_cli("classic perceptron --data " + bip + " --target y --mode minibatch");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("minibatch"), std::string::npos) << r.out;
  r = run_cli("classic perceptron --data " + three + " --target y");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("separates exactly two"), std::string::npos) << r.out;

  // too large a learning rate: divergence is reported early, as an error; numbers stay short
  r = run_cli("classic linreg --data " + line + " --target y --lr 5 --mode batch --epochs 200");
  ASSERT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("diverged in epoch"), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("sinapsis: ", 0) != 0) {
      EXPECT_LT(l.size(), 100u) << l;
    }
  r = run_cli("classic adaline --data " + line +
              " --target y --mode minibatch --batch-size 10 --epochs 20 --lr 0.1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 20: mse"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("diverged"), std::string::npos) << r.out;

  // logistic regression names the classes and the weight rows
  r = run_cli("classic logreg --data " + (dir_ / "blobs.csv").string() +
              " --target label --epochs 20");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("classes: 'a' → 0, 'b' → 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("P(label = 'b')"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  x2 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 20: loss"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("accuracy 1.0000"), std::string::npos) << r.out;
}

TEST_F(CliTest, BadInputIsOneLineAndExitCode2) {
  Result r = run_cli("train --data nosuch-data --epochs 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown data set 'nosuch-data'"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  r = run_cli("train --data " + (dir_ / "blobs.csv").string() + " --epochs 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--target"), std::string::npos) << r.out;

  r = run_cli("train --data " + (dir_ / "blobs.csv").string() +
              " --target label --epochs 1 --optimizer nadam --out " + (dir_ / "x").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown 'nadam'"), std::string::npos) << r.out;

  {
    std::ofstream f(dir_ / "bad.json");
    f << R"({"input": [3], "layers": [{"type": "Linear", "in": 400, "out": 120}]})";
  }
  r = run_cli("train --data " + (dir_ / "blobs.csv").string() + " --target label --model " +
              (dir_ / "bad.json").string() + " --out " + (dir_ / "y").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("layer 0 Linear(400 → 120) gets [N, 3]"), std::string::npos) << r.out;

  {
    std::ofstream f(dir_ / "garbage.safetensors");
    f << "not a safetensors file at all";
  }
  r = run_cli("info " + (dir_ / "garbage.safetensors").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("garbage.safetensors"), std::string::npos) << r.out;

  r = run_cli("frobnicate");
  EXPECT_EQ(r.code, 2) << r.out;
  r = run_cli("--help");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("train"), std::string::npos) << r.out;
}

}  // namespace

TEST_F(CliTest, NumericOptionsAreCheckedBeforeAnyWork) {
  const std::string csv = (dir_ / "blobs.csv").string();
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"train --data " + csv + " --target label --epochs 0", "--epochs: must be > 0 (got 0)"},
      {"train --data " + csv + " --target label --batch-size -4",
       "--batch-size: must be > 0 (got -4)"},
      // a negative or zero rate used to fall back to the optimizer's default without a word
      {"train --data " + csv + " --target label --lr -0.5", "--lr: must be > 0 (got -0.5)"},
      {"train --data " + csv + " --target label --lr 0", "--lr: must be > 0 (got 0)"},
      {"train --data " + csv + " --target label --lr inf", "--lr: must be > 0 (got inf)"},
      {"train --data " + csv + " --target label --momentum -1",
       "--momentum: must be >= 0 (got -1)"},
      {"train --data " + csv + " --target label --weight-decay -0.1",
       "--weight-decay: must be >= 0 (got -0.1)"},
      {"train --data " + csv + " --target label --val-split 1",
       "--val-split: must be in [0, 1) (got 1)"},
      {"train --data " + csv + " --target label --test-split 0",
       "--test-split: must be in (0, 1) (got 0)"},
      {"train --data " + csv + " --target label --patience -2",
       "--patience: must be >= 0 (got -2)"},
      {"train --data " + csv + " --target label --threads -3", "--threads: must be >= 0 (got -3)"},
      {"train --data " + csv + " --target label --limit -5", "--limit: must be >= 0 (got -5)"},
      {"train --data " + csv + " --target label --lr fast", "Could not convert: --lr = fast"},
      {"gradcheck --preset mlp --input-shape 4 --samples 0", "--samples: must be > 0 (got 0)"},
      {"gradcheck --preset mlp --input-shape 4 --eps 0", "--eps: must be > 0 (got 0)"},
      {"gradcheck --preset mlp --input-shape 4 --batch 0", "--batch: must be > 0 (got 0)"},
      {"graph --preset mlp --input-shape 4 --outputs 0", "--outputs: must be > 0 (got 0)"},
      {"classic hebb --data " + csv + " --target label --lr -1", "--lr: must be > 0 (got -1)"},
  };
  for (const Case& c : cases) {
    const bool train = c.args.rfind("train ", 0) == 0;
    Result r = run_cli(c.args + (train ? " --out " + (dir_ / "never").string() : ""));
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << c.args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(dir_ / "never"));
  // errors found while loading (unknown data set, preset or optimizer) leave no run folder
  for (const std::string& args : {std::string("train --data nosuch-data"),
                                  "train --data " + csv + " --target label --preset nope",
                                  "train --data " + csv + " --target label --optimizer nadam"}) {
    Result r = run_cli(args + " --out " + (dir_ / "never").string());
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "never")) << args;
  }
  Result r = run_cli("resume " + (dir_ / "never").string() + " --epochs -1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--epochs: must be > 0 (got -1)"), std::string::npos) << r.out;
}

TEST_F(CliTest, EvalOnDataTheModelDoesNotFit) {
  const std::string out = (dir_ / "blobs").string();
  Result r = run_cli("train --data " + (dir_ / "blobs.csv").string() +
                     " --target label --epochs 1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_cli("eval " + out + " --data fashion-mnist");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(
      r.out.find("eval: fashion-mnist has examples of shape [1, 28, 28] but the model takes [3]"),
      std::string::npos)
      << r.out;
  std::string wide = "x1,x2,x3,label\n";
  for (int i = 0; i < 30; ++i)
    wide += std::to_string(i) + ",1,2," + std::string(1, 'a' + i % 3) + "\n";
  {
    std::ofstream f(dir_ / "three.csv");
    f << wide;
  }
  r = run_cli("eval " + out + " --data " + (dir_ / "three.csv").string());
  EXPECT_EQ(r.code, 2) << r.out;
  // labels are mapped onto the model's classes (a, b): the third is named, with its first line
  EXPECT_NE(r.out.find("1 label that the 2 known classes do not include: \"c\" (line 4)"),
            std::string::npos)
      << r.out;
}

TEST_F(CliTest, NoValidationSplitKeepsTheBestByTrainingLoss) {
  // with --val-split 0 there is no val_loss: the best checkpoint and early stopping follow the
  // training loss (this used to stop with a ModelCheckpoint error after the first epoch)
  const std::string out = (dir_ / "noval").string();
  Result r = run_cli("train --data " + (dir_ / "blobs.csv").string() +
                     " --target label --epochs 3 --val-split 0 --patience 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(by loss)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy: "), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "best.safetensors"));
  EXPECT_EQ(read_file(fs::path(out) / "history.csv").find("val_loss"), std::string::npos);
}
