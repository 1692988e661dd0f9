// The CLI against a new user's mistakes, second round: a text run that blows up without a NaN
// stops as an epoch run does (once, exit 2); errors and warnings start on their own line; a
// target that names rows is warned about; sizes asked by options that cannot fit are refused
// before anything that size is allocated; a named data set and a path of the same name are
// told apart by a stated rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "cli_run.h"

namespace fs = std::filesystem;

namespace {

using sn::test::CliResult;
using sn::test::run_cli;

size_t occurrences(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

// Every "sinapsis:" (an error) and "warning:" starts a line.
bool messages_start_lines(const std::string& out) {
  for (const std::string tag : {"sinapsis: ", "warning: "})
    for (size_t at = out.find(tag); at != std::string::npos; at = out.find(tag, at + 1))
      if (at > 0 && out[at - 1] != '\n') return false;
  return true;
}

class GuardTest : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::mt19937 g(5);
    std::normal_distribution<double> n(0.0, 0.5);
    std::string csv = "x1,x2,label\n", ids = "x,id\n";
    for (int i = 0; i < 120; ++i) {
      const bool b = i % 2;
      csv += std::to_string((b ? 2.0 : -2.0) + n(g)) + "," + std::to_string(n(g)) + "," +
             (b ? "b" : "a") + "\n";
      ids += std::to_string(n(g)) + "," + std::to_string(1000 + (i * 37) % 120) + "\n";
    }
    write("blobs.csv", csv);
    write("ids.csv", ids);
    std::string text;
    for (int i = 0; i < 80; ++i)
      text += "To be, or not to be: that is the question " + std::to_string(i % 9) + ".\n";
    write("play.txt", text);
  }
};

TEST_F(GuardTest, ATextRunThatBlowsUpStopsOnce) {
  CliResult r = run_cli("train --data text:" + path("play.txt") +
                        " --preset bigram --lr 1e30 --steps 30 --threads 1 --out " + path("run"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(occurrences(r.out, "the run blew up"), 1u) << r.out;
  EXPECT_NE(r.out.find("fit_steps: the loss is "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; hint: a smaller --lr"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("stopped:"), std::string::npos) << r.out;
  EXPECT_TRUE(messages_start_lines(r.out)) << r.out;
}

TEST_F(GuardTest, AnEpochRunThatDivergesSaysSoOnce) {
  CliResult r = run_cli("train --data " + path("blobs.csv") +
                        " --target label --lr 1e30 --epochs 3 --threads 1 --out " + path("run"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(occurrences(r.out, "the run diverged"), 1u) << r.out;
  EXPECT_EQ(occurrences(r.out, "fit: the "), 1u) << r.out;  // the reason, once
  EXPECT_EQ(r.out.find("stopped:"), std::string::npos) << r.out;
  EXPECT_TRUE(messages_start_lines(r.out)) << r.out;
}

TEST_F(GuardTest, ErrorsStartOnTheirOwnLine) {
  for (const std::string& data :
       {path("missing.csv") + " --target label", "text:" + path("missing.txt")}) {
    CliResult r = run_cli("train --data " + data + " --out " + path("run"));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(r.out.rfind("sinapsis: ", 0), 0u) << r.out;  // nothing before it
    EXPECT_EQ(r.out.find("data:"), std::string::npos) << r.out;
  }
}

TEST_F(GuardTest, ATargetThatNamesRowsIsWarnedAbout) {
  // integers that are the row numbers 1000..1119 in some order: regression on an ID
  CliResult r = run_cli("train --data " + path("ids.csv") +
                        " --target id --epochs 1 --threads 1 --out " + path("r1"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("warning: --data " + path("ids.csv") +
                       ": target 'id' looks like an ID: the integers 1000..1119, each once"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(messages_start_lines(r.out)) << r.out;
  // as classes: one per row
  r = run_cli("train --data " + path("ids.csv") +
              " --target id --task classification --epochs 1 --threads 1 --out " + path("r2"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("target 'id' looks like an ID: 120 distinct integers in 120 rows"),
            std::string::npos)
      << r.out;
  // eval of 120 classes: a readable summary, a picture of 50 of them
  r = run_cli("eval " + path("r2"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("120 classes, too many for a table"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("more classes with less support"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(the 50 classes with the most examples)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "r2" / "confusion.svg"));
  // an ordinary target: no warning
  r = run_cli("train --data " + path("blobs.csv") +
              " --target label --epochs 1 --threads 1 --out " + path("r3"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("warning:"), std::string::npos) << r.out;
}

TEST_F(GuardTest, SizesFromOptionsAreRefusedBeforeAllocating) {
  const std::string text = "train --data text:" + path("play.txt") +
                           " --preset gpt --steps 1 --threads 1 --out " + path("run");
  struct Case {
    std::string args, want;
  };
  const std::vector<Case> cases = {
      {text + " --batch-size 1000000000",
       "--batch-size 1000000000: a training batch of 1000000000 examples ("},
      {text + " --block 1000000000", "--block 1000000000: the training part has "},
      {text + " --block 9223372036854775807", "--block 9223372036854775807: the training part"},
      {"gradcheck --preset mlp --input-shape 4 --batch 1000000000000",
       "--batch 1000000000000: a training batch of 1000000000000 examples"},
  };
  for (const Case& c : cases) {
    CliResult r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
    if (c.want.rfind("--block", 0) != 0) {
      EXPECT_NE(r.out.find("more than half the memory"), std::string::npos) << r.out;
    }
    EXPECT_EQ(r.out.find("bad_alloc"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(path("run"))) << c.args;
  }
  // a batch larger than the data is the data: nothing that large is made
  CliResult r = run_cli("train --data " + path("blobs.csv") +
                        " --target label --epochs 1 --batch-size 1000000000 --threads 1 --out " +
                        path("big"));
  EXPECT_EQ(r.code, 0) << r.out;
  // generate: every token kept
  r = run_cli("train --data text:" + path("play.txt") + " --preset bigram --steps 2 --threads 1 " +
              "--out " + path("lm"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_cli("generate " + path("lm") + " --tokens 1000000000000");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--tokens 1000000000000: keeping the generated token ids would take "),
            std::string::npos)
      << r.out;
  // integers past int64 are a parse error naming the option, not a wrapped-around value
  r = run_cli("train --data text:" + path("play.txt") + " --steps 99999999999999999999");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--steps"), std::string::npos) << r.out;
}

TEST_F(GuardTest, ANamedDataSetAndAPathOfItsNameAreToldApart) {
  // a folder named kjv is no text: --data kjv stays the named set, and says so
  fs::create_directories(dir_ / "kjv");
  CliResult r = run_cli("train --data kjv --steps 1 --out run", {.cwd = dir_, .timeout_s = 120});
  EXPECT_NE(r.out.find("note:   --data kjv is the named data set; ./kjv is not a text file"),
            std::string::npos)
      << r.out;
  // a text file named kjv wins, and the progress says which was read
  fs::remove(dir_ / "kjv");
  fs::copy_file(dir_ / "play.txt", dir_ / "kjv");
  r = run_cli("train --data kjv --preset bigram --steps 2 --threads 1 --out run",
              {.cwd = dir_, .timeout_s = 120});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("note:   --data kjv reads ./kjv (a path in the working directory wins "
                       "over the named data set)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("data:   text:./kjv: "), std::string::npos) << r.out;
  // ... and its run records the file, so eval finds it from anywhere
  r = run_cli("eval " + path("run"), {.cwd = "/"});
  EXPECT_EQ(r.code, 0) << r.out;
}

}  // namespace
