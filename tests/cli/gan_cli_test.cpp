// End-to-end GAN runs of the `sinapsis` executable on a tiny IDX image file: train --preset
// dcgan (both losses in the history, a PNG grid per epoch, warnings in result.json), sample
// (a valid IDX file of the right count, the same bytes for the same seed, a PNG grid), resume,
// and the one-line errors for bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"

namespace fs = std::filesystem;

namespace {

using Result = sn::test::CliResult;
Result run(const std::string& args) { return sn::test::run_cli(args); }
std::string read(const fs::path& p) { return sn::test::read_file(p); }

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

bool is_png(const std::string& bytes) {
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

class GanCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sinapsis_gan_cli_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // 64 images 28x28: a bright disc of varying size and place on a dark ground
    std::string idx = {0, 0, 8, 3};
    for (uint32_t v : {64u, 28u, 28u})
      for (int i = 3; i >= 0; --i) idx.push_back(char((v >> (8 * i)) & 0xff));
    for (int n = 0; n < 64; ++n)
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) {
          const double cx = 10 + n % 8, cy = 10 + n / 8, r = 4 + n % 5;
          const bool in = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
          idx.push_back(char(in ? 230 : 10));
        }
    std::ofstream(dir_ / "images-idx3-ubyte", std::ios::binary) << idx;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(GanCli, TrainSampleResume) {
  const std::string runp = path("run");
  Result r = run("train --data " + path("images-idx3-ubyte") +
                 " --preset dcgan --epochs 2 --batch-size 16 --threads 1 --out " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 2/2  loss_d "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loss_g "), std::string::npos) << r.out;
  for (const char* f :
       {"last.safetensors", "generator.json", "discriminator.json", "run.json", "history.csv",
        "history.jsonl", "history.json", "steps.csv", "result.json", "curves.svg", "samples.png",
        "samples/epoch-001.png", "samples/epoch-002.png"})
    EXPECT_TRUE(fs::exists(fs::path(runp) / f)) << f;
  EXPECT_TRUE(is_png(read(fs::path(runp) / "samples/epoch-001.png")));
  const std::string csv = read(fs::path(runp) / "history.csv");
  EXPECT_NE(csv.find("loss_d"), std::string::npos) << csv;
  EXPECT_NE(csv.find("loss_g"), std::string::npos) << csv;
  EXPECT_NE(csv.find("diversity"), std::string::npos) << csv;
  const std::string svg = read(fs::path(runp) / "curves.svg");
  EXPECT_NE(svg.find("discriminator loss"), std::string::npos);
  EXPECT_NE(svg.find("generator loss"), std::string::npos);
  const auto result = nlohmann::json::parse(read(fs::path(runp) / "result.json"));
  EXPECT_TRUE(result["warnings"].is_array());
  EXPECT_EQ(result["epochs_run"], 2);
  EXPECT_TRUE(result["last_epoch"]["loss_d"].is_number());

  // sample: a valid IDX file, the same bytes for the same seed
  r = run("sample " + runp + " --n 10 --seed 3 --out " + path("a-idx3-ubyte") + " --grid " +
          path("a.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string a = read(path("a-idx3-ubyte"));
  ASSERT_EQ(a.size(), 16u + 10u * 784u);
  EXPECT_EQ(be32(a, 0), 0x803u);
  EXPECT_EQ(be32(a, 4), 10u);
  EXPECT_EQ(be32(a, 8), 28u);
  EXPECT_EQ(be32(a, 12), 28u);
  EXPECT_TRUE(is_png(read(path("a.png"))));
  ASSERT_EQ(run("sample " + runp + " --n 10 --seed 3 --out " + path("b-idx3-ubyte")).code, 0);
  EXPECT_EQ(read(path("b-idx3-ubyte")), a);
  ASSERT_EQ(run("sample " + runp + " --n 10 --seed 4 --out " + path("c-idx3-ubyte")).code, 0);
  EXPECT_NE(read(path("c-idx3-ubyte")), a);
  // the samples read back as images: a GAN can train on them
  r = run("predict " + runp + " --input " + path("a-idx3-ubyte"));
  EXPECT_NE(r.code, 0);  // a GAN run is no classifier; said in one line, not a crash
  EXPECT_EQ(r.out.find("terminate"), std::string::npos) << r.out;

  // resume to 3 epochs: the history continues
  r = run("resume " + runp + " --epochs 3 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resume: from epoch 2 of 3"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(runp) / "samples/epoch-003.png"));
  const auto h = nlohmann::json::parse(read(fs::path(runp) / "history.json"));
  EXPECT_EQ(h["epochs"].size(), 3u);
  r = run("resume " + runp + " --epochs 3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("already has 3 of 3 epochs"), std::string::npos) << r.out;
}

TEST_F(GanCli, Errors) {
  const std::string data = " --data " + path("images-idx3-ubyte") + " --preset dcgan";
  Result r = run("train" + data + " --optimizer sgd --out " + path("x"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--optimizer: not used by --preset dcgan"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("x")));
  r = run("train" + data + " --batch-size 100 --out " + path("x"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("64 images make no full batch of 100"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("x")));

  // sample: not a GAN run, --n 0, --n huge (refused before allocating)
  std::ofstream(path("t.csv")) << "a,b,y\n1,2,0\n2,1,1\n3,3,0\n1,1,1\n2,2,0\n3,1,1\n";
  r = run("train --data " + path("t.csv") +
          " --target y --preset linear --epochs 1 --val-split 0 --threads 1 --out " + path("lin"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("sample " + path("lin") + " --out " + path("s-idx3-ubyte"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("is not a GAN run's checkpoint"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("s-idx3-ubyte")));
  r = run("sample " + path("nothing") + " --out " + path("s-idx3-ubyte"));
  EXPECT_NE(r.code, 0);

  ASSERT_EQ(run("train" + data + " --epochs 1 --batch-size 32 --threads 1 --out " + path("g")).code,
            0);
  r = run("sample " + path("g") + " --n 0 --out " + path("s-idx3-ubyte"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--n"), std::string::npos) << r.out;
  r = run("sample " + path("g") + " --n 100000000000 --out " + path("s-idx3-ubyte"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--n: 100000000000 images of [1, 28, 28]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("at most 5478274 images"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("s-idx3-ubyte")));
}

}  // namespace
