// The CLI's data handling end to end: one CSV reader for train, eval and predict (columns by
// header name, BOM/CRLF/quotes, non-finite values), targets and classes (single class, many
// text classes, a model with the wrong number of outputs), eval mapping labels by the model's
// classes, tiny data sets, and checkpoint fields checked against the model before use.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "sinapsis/sinapsis.h"

namespace fs = std::filesystem;

namespace {

using Result = sn::test::CliResult;
using sn::test::read_file;
using sn::test::run_cli;

struct Row {
  double x1, x2;
  std::string label;
};

class DataCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // three separated blobs in 2-D: cat, dog, emu
    std::mt19937 g(3);
    std::normal_distribution<double> n(0.0, 0.6);
    const char* names[] = {"cat", "dog", "emu"};
    const double cx[] = {-2, 2, 0}, cy[] = {-1, -1, 2};
    for (int i = 0; i < 120; ++i)
      rows_.push_back({cx[i % 3] + n(g), cy[i % 3] + n(g), names[i % 3]});
    std::string text = "x1,x2,label\n";
    for (const Row& r : rows_) text += num(r.x1) + "," + num(r.x2) + "," + r.label + "\n";
    csv_ = write("pets.csv", text);
  }

  static std::string num(double v) {
    std::ostringstream os;
    os.precision(9);
    os << v;
    return os.str();
  }
  // Trains a small run on pets.csv into `out`; returns the run folder.
  std::string train(const std::string& out = "run", const std::string& more = "") {
    Result r = run_cli("train --data " + csv_ + " --target label --epochs 3 --seed 1 --out " +
                       path(out) + " " + more);
    EXPECT_EQ(r.code, 0) << r.out;
    return path(out);
  }

  std::vector<Row> rows_;
  std::string csv_;
};

// The "label" column of a predictions file, in row order.
std::vector<std::string> predicted_labels(const std::string& csv) {
  std::vector<std::string> out;
  std::istringstream is(csv);
  std::string line;
  std::getline(is, line);  // header: index,class,label,probability
  while (std::getline(is, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
    if (f.size() == 4) out.push_back(f[2]);
  }
  return out;
}

}  // namespace

TEST_F(DataCli, PredictReadsColumnsByNameAsTrainDoes) {
  const std::string runp = train();
  std::string plain = "x1,x2\n", fancy = "\xEF\xBB\xBF\"label\",x2,\"note, quoted\",x1\r\n";
  for (int i = 0; i < 12; ++i) {
    plain += num(rows_[i].x1) + "," + num(rows_[i].x2) + "\n";
    fancy += rows_[i].label + ",\"" + num(rows_[i].x2) + "\",\"a, b\"," + num(rows_[i].x1) + "\r\n";
  }
  Result a = run_cli("predict " + runp + " --input " + write("plain.csv", plain) + " --output " +
                     path("a.csv"));
  ASSERT_EQ(a.code, 0) << a.out;
  Result b = run_cli("predict " + runp + " --input " + write("fancy.csv", fancy) + " --output " +
                     path("b.csv"));
  ASSERT_EQ(b.code, 0) << b.out;
  const std::string pa = sn::test::read_file(path("a.csv"));
  EXPECT_EQ(pa, sn::test::read_file(path("b.csv")));
  EXPECT_EQ(predicted_labels(pa).size(), 12u) << pa;

  // a missing column is named; non-finite values name line and column
  Result m = run_cli("predict " + runp + " --input " + write("missing.csv", "x1,y\n1,2\n"));
  EXPECT_EQ(m.code, 2) << m.out;
  EXPECT_NE(m.out.find("no feature column 'x2'"), std::string::npos) << m.out;
  for (const std::string bad : {"nan", "inf", "1e400", "-Infinity"}) {
    Result r = run_cli("predict " + runp + " --input " +
                       write("bad.csv", "x2,x1\n0.5,1\n" + bad + ",2\n"));
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("line 3"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("column 'x2' (1)"), std::string::npos) << r.out;
  }
}

TEST_F(DataCli, EvalMapsLabelsByTheModelsClasses) {
  const std::string runp = train();
  // emu and cat only, emu first, columns in another order: the file's own classes would be
  // {cat, emu} -> {0, 1}, which the model reads as cat and dog
  std::string sub = "label,x2,x1\n";
  std::vector<std::string> truth;
  for (const Row& r : rows_)
    if (r.label != "dog" && truth.size() < 40) {
      sub += r.label + "," + num(r.x2) + "," + num(r.x1) + "\n";
      truth.push_back(r.label);
    }
  const std::string subp = write("sub.csv", sub);
  Result e = run_cli("eval " + runp + " --data " + subp);
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("over 40 examples"), std::string::npos) << e.out;  // the whole file
  const size_t at = e.out.find("\naccuracy ");
  ASSERT_NE(at, std::string::npos) << e.out;
  const double acc = std::stod(e.out.substr(at + 10));
  // the accuracy predict's labels give on the same rows
  Result p = run_cli("predict " + runp + " --input " + subp + " --output " + path("p.csv"));
  ASSERT_EQ(p.code, 0) << p.out;
  const std::vector<std::string> got = predicted_labels(sn::test::read_file(path("p.csv")));
  ASSERT_EQ(got.size(), truth.size());
  int right = 0;
  for (size_t i = 0; i < got.size(); ++i) right += got[i] == truth[i];
  EXPECT_NEAR(acc, static_cast<double>(right) / 40.0, 1e-4) << e.out;
  EXPECT_GT(acc, 0.8) << e.out;  // separated blobs: the right mapping scores high

  // labels the model does not know: an error that lists them
  Result u = run_cli("eval " + runp + " --data " +
                     write("unknown.csv", "x1,x2,label\n1,1,cat\n2,2,wolf\n3,3,fox\n"));
  EXPECT_EQ(u.code, 2) << u.out;
  EXPECT_NE(u.out.find("\"wolf\" (line 3)"), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("\"fox\" (line 4)"), std::string::npos) << u.out;
}

TEST_F(DataCli, TargetsMustMakeSenseForTheModel) {
  // a single class is an error, not 100% accuracy
  Result one = run_cli("train --data " + write("one.csv", "x,y\n1,a\n2,a\n3,a\n4,a\n5,a\n") +
                       " --target y --out " + path("one"));
  EXPECT_EQ(one.code, 2) << one.out;
  EXPECT_NE(one.out.find("single class"), std::string::npos) << one.out;
  // a NaN target is an error with its line
  Result nan = run_cli("train --data " + write("nan.csv", "x,y\n1,a\n2,NaN\n3,b\n") +
                       " --target y --out " + path("nan"));
  EXPECT_EQ(nan.code, 2) << nan.out;
  EXPECT_NE(nan.out.find("line 3"), std::string::npos) << nan.out;
  // 25 text classes: classification, not regression
  std::string many = "x,y\n";
  for (int i = 0; i < 100; ++i)
    many += std::to_string(i % 25) + ",k" + std::to_string(i % 25) + "\n";
  Result m = run_cli("train --data " + write("many.csv", many) + " --target y --epochs 1 --out " +
                     path("many"));
  EXPECT_EQ(m.code, 0) << m.out;
  EXPECT_NE(m.out.find("25 classes"), std::string::npos) << m.out;
  // a model whose outputs do not match the classes is refused before training
  const std::string spec =
      write("five.json", R"({"layers": [{"type": "Linear", "out": 8}, {"type": "ReLU"},
                                        {"type": "Linear", "out": 5}]})");
  Result w = run_cli("train --data " + csv_ + " --target label --model " + spec + " --out " +
                     path("five"));
  EXPECT_EQ(w.code, 2) << w.out;
  EXPECT_NE(w.out.find("3 classes but the model has 5 outputs"), std::string::npos) << w.out;
  EXPECT_FALSE(fs::exists(path("five"))) << w.out;
}

TEST_F(DataCli, TinyDataSetsGiveAClearErrorOrADefinedResult) {
  const std::string tiny = write("tiny.csv", "x,y\n0,a\n1,b\n0.2,a\n");
  // with the default validation split nothing is left to validate: say which option
  Result v = run_cli("train --data " + tiny + " --target y --epochs 1 --out " + path("v"));
  EXPECT_EQ(v.code, 2) << v.out;
  EXPECT_NE(v.out.find("--val-split"), std::string::npos) << v.out;
  // fewer rows than a batch and an empty test split: trains, and says the test part is empty
  Result t =
      run_cli("train --data " + tiny + " --target y --epochs 2 --val-split 0 --out " + path("t"));
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("test metrics omitted"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("nan"), std::string::npos) << t.out;
  Result e = run_cli("eval " + path("t"));
  EXPECT_EQ(e.code, 2) << e.out;
  EXPECT_NE(e.out.find("test split"), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("nan"), std::string::npos) << e.out;
  // another file is evaluated whole
  Result w = run_cli("eval " + path("t") + " --data " + write("two.csv", "y,x\nb,1\na,0\n"));
  EXPECT_EQ(w.code, 0) << w.out;
  EXPECT_NE(w.out.find("over 2 examples"), std::string::npos) << w.out;
  // 10 rows -> 8 training rows in batches of 7: the last batch of one example (which BatchNorm
  // cannot train on) is dropped instead of failing the run
  std::string ten = "x,y\n";
  for (int i = 0; i < 10; ++i) ten += std::to_string(i) + (i % 2 ? ",a\n" : ",b\n");
  const std::string bn = write("bn.json", R"({"layers": [{"type": "Linear", "out": 4},
      {"type": "BatchNorm1d"}, {"type": "ReLU"}, {"type": "Linear", "out": 2}]})");
  Result b = run_cli("train --data " + write("ten.csv", ten) + " --target y --model " + bn +
                     " --batch-size 7 --val-split 0 --epochs 2 --out " + path("bn"));
  EXPECT_EQ(b.code, 0) << b.out;
  EXPECT_EQ(b.out.find("nan"), std::string::npos) << b.out;
}

TEST_F(DataCli, CheckpointFieldsAreCheckedAgainstTheModel) {
  const std::string runp = train();
  const std::string input = write("in.csv", "x1,x2\n0,0\n1,1\n");
  sn::io::Checkpoint c = sn::io::load(runp + "/best.safetensors");
  auto with = [&](const std::string& key, const std::string& value) {
    sn::io::Metadata m = c.metadata;
    m[key] = value;
    const std::string p =
        path("ck_" + std::to_string(std::hash<std::string>{}(key + value)) + ".safetensors");
    sn::io::save(c.tensors, p, m);
    return run_cli("predict " + p + " --input " + input);
  };
  struct Case {
    std::string key, value, expect;
  };
  for (const Case& k : std::vector<Case>{
           {"classes", R"(["cat", "dog"])", "lists 2 classes but the model has 3 outputs"},
           {"classes", "[]", "no classes"},
           {"classes", "7", "'classes' has the wrong type"},
           {"normalisation", R"({"mean": [0], "std": [1, 1]})", "1 means and 2 standard"},
           {"normalisation", R"({"mean": [0, 0, 0], "std": [1, 1, 1]})", "3 means"},
           {"normalisation", R"({"mean": [0, 0], "std": [1, -1]})", "not usable"},
           {"normalisation", R"({"mean": [0, 0]})", "needs 'mean' and 'std'"},
           {"features", R"(["x1"])", "lists 1 feature columns but the model takes 2"},
       }) {
    Result r = with(k.key, k.value);
    EXPECT_EQ(r.code, 2) << k.key << "=" << k.value << ": " << r.out;
    EXPECT_NE(r.out.find(k.expect), std::string::npos) << k.key << "=" << k.value << ": " << r.out;
  }
  // a stored std of 0 (a constant column, older runs) is used as 1, never -nan
  Result z = with("normalisation", R"({"mean": [0, 0], "std": [0, 1]})");
  EXPECT_EQ(z.code, 0) << z.out;
  EXPECT_EQ(z.out.find("nan"), std::string::npos) << z.out;
}

TEST_F(DataCli, ConstantColumnFeaturesAndDelimiterAreStoredInTheRun) {
  std::string text = "x1;k;x2;label\n";
  for (const Row& r : rows_) text += num(r.x1) + ";5;" + num(r.x2) + ";" + r.label + "\n";
  const std::string data = write("semi.csv", text);
  Result t =
      run_cli("train --data " + data + " --target label --features x2,k,x1 --delimiter ';' " +
              "--epochs 2 --out " + path("semi"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("3 features"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("nan"), std::string::npos) << t.out;
  // the constant column is stored with std 1, not 0
  sn::train::CheckpointInfo info =
      sn::train::read_checkpoint_info(path("semi") + "/best.safetensors");
  auto norm = nlohmann::json::parse(info.extra.at("normalisation"));
  EXPECT_EQ(norm["std"][1].get<double>(), 1.0) << info.extra.at("normalisation");
  EXPECT_EQ(nlohmann::json::parse(info.extra.at("features")), nlohmann::json({"x2", "k", "x1"}));
  // eval and predict use the stored columns and delimiter
  Result e = run_cli("eval " + path("semi"));
  EXPECT_EQ(e.code, 0) << e.out;
  EXPECT_EQ(e.out.find("nan"), std::string::npos) << e.out;
  Result p = run_cli("predict " + path("semi") + " --input " +
                     write("semi_in.csv", "label;x1;k;x2\ncat;-2;5;-1\n"));
  EXPECT_EQ(p.code, 0) << p.out;
  EXPECT_NE(p.out.find("0,0,cat,"), std::string::npos) << p.out;
  // another file with other column names, mapped with --features and its own delimiter
  Result q =
      run_cli("predict " + path("semi") + " --input " +
              write("renamed.csv", "b\ta\tc\n-1\t-2\t5\n") + " --features b,c,a --delimiter tab");
  EXPECT_EQ(q.code, 0) << q.out;
  EXPECT_NE(q.out.find("0,0,cat,"), std::string::npos) << q.out;
  Result bad =
      run_cli("train --data " + data + " --target label --delimiter ab --out " + path("x"));
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--delimiter"), std::string::npos) << bad.out;
}
