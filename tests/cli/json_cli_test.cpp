// Hostile JSON through the `sinapsis` executable, as a new user would meet it: a model spec
// nested 100,000 levels (it crashed `train --model`), a checkpoint whose embedded spec is
// nested 40,000 levels (a minute and ~4 GB), a spec asking for a layer of 10^12 features and a
// hand-edited run.json with a wrong type. Each is one clear line and exit code 2.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <sinapsis/sinapsis.h>

#include "cli/cli_run.h"

namespace fs = std::filesystem;
using sn::test::run_cli;

namespace {

class JsonCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream f(dir_ / "d.csv");
    f << "a,b,label\n";
    for (int i = 0; i < 20; ++i) f << i << "," << (i * 7) % 5 << "," << (i % 2 ? "x" : "y") << "\n";
  }
  std::string train(const std::string& spec, const std::string& out) {
    return "train --data " + (dir_ / "d.csv").string() + " --target label --epochs 1 --model " +
           (dir_ / spec).string() + " --out " + (dir_ / out).string();
  }
};

TEST_F(JsonCli, DeepSpecIsAnErrorNotACrash) {
  write("deep.json",
        R"({"input": [2], "layers": )" + std::string(100000, '[') + std::string(100000, ']') + "}");
  auto r = run_cli(train("deep.json", "r1"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("deep.json': JSON nested deeper than 64 levels"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "r1"));
}

TEST_F(JsonCli, SpecFieldsAndSizesAreNamed) {
  write("ten.json", R"({"input": [2], "layers": [{"type": "Linear", "out": "ten"}]})");
  auto r = run_cli(train("ten.json", "r2"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("ten.json': layers[0].out must be an integer (got \"ten\")"),
            std::string::npos)
      << r.out;
  write("huge.json", R"({"input": [2], "layers": [{"type": "Linear", "out": 1000000000000}]})");
  r = run_cli(train("huge.json", "r3"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("layers[0].out is 1000000000000"), std::string::npos) << r.out;
  write("otu.json", R"({"input": [2], "layers": [{"type": "Linear", "otu": 2}]})");
  r = run_cli(train("otu.json", "r4"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("did you mean \"out\"?"), std::string::npos) << r.out;
}

TEST_F(JsonCli, CheckpointAndRunFolderJsonAreGuarded) {
  write("ok.json", R"({"input": [2], "layers": [{"type": "Linear", "out": 2}]})");
  auto r = run_cli(train("ok.json", "run") + " --val-split 0");
  ASSERT_EQ(r.code, 0) << r.out;
  // a copy of best.safetensors whose model_spec is nested 40,000 levels
  const std::string bytes = sn::test::read_file(dir_ / "run" / "best.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  const std::string body = bytes.substr(8 + n);
  const size_t at = header.find("\"model_spec\":\"");
  ASSERT_NE(at, std::string::npos);
  const size_t end = header.find("\",\"", at + 14);
  const std::string deep = "{\\\"input\\\":[2],\\\"layers\\\":" + std::string(40000, '[') +
                           std::string(40000, ']') + "}";
  header = header.substr(0, at + 14) + deep + header.substr(end);
  while ((header.size() + 8) % 8) header += ' ';
  std::string out(8, '\0');
  n = header.size();
  std::memcpy(out.data(), &n, 8);
  write("deep.safetensors", out + header + body);
  r = run_cli("eval " + (dir_ / "deep.safetensors").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("model spec in '" + (dir_ / "deep.safetensors").string() +
                       "': JSON nested deeper than 64 levels"),
            std::string::npos)
      << r.out;

  // run.json edited by hand
  std::string run_json = sn::test::read_file(dir_ / "run" / "run.json");
  const size_t e = run_json.find("\"epochs\": 1");
  ASSERT_NE(e, std::string::npos) << run_json;
  write("run/run.json", run_json.substr(0, e) + "\"epochs\": \"ten\"" + run_json.substr(e + 11));
  r = run_cli("resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("run.json': epochs must be an integer (got \"ten\")"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("json.exception"), std::string::npos) << r.out;
}

// Checkpoints hold no history (it is in history.json, once); a run whose checkpoints embed it
// (written before history.json existed) still resumes with its whole history.
TEST_F(JsonCli, CheckpointsHoldNoHistoryAndOldRunsStillResume) {
  write("ok.json", R"({"input": [2], "layers": [{"type": "Linear", "out": 2}]})");
  auto r = run_cli("train --data " + (dir_ / "d.csv").string() +
                   " --target label --epochs 2 --val-split 0 --model " +
                   (dir_ / "ok.json").string() + " --out " + (dir_ / "run").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path run = dir_ / "run";
  sn::io::Checkpoint ck = sn::io::load((run / "last.safetensors").string());
  EXPECT_EQ(ck.metadata.count("history"), 0u);
  EXPECT_EQ(sn::train::History::load((run / "history.json").string()).size(), 2u);

  // the old layout: the history inside last.safetensors, no history.json
  ck.metadata["history"] = sn::test::read_file(run / "history.json");
  sn::io::save(ck.tensors, (run / "last.safetensors").string(), ck.metadata);
  fs::remove(run / "history.json");
  r = run_cli("resume " + run.string() + " --epochs 3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(sn::test::read_file(run / "result.json").find("\"epochs_run\": 3"), std::string::npos);
  EXPECT_EQ(sn::train::History::load((run / "history.json").string()).size(), 3u);
  // and the new layout resumes from history.json
  r = run_cli("resume " + run.string() + " --epochs 4");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(sn::test::read_file(run / "result.json").find("\"epochs_run\": 4"), std::string::npos);
}

}  // namespace
