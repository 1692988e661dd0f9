// `sinapsis train --preset autoencoder|conv-autoencoder|vae` end to end on a tiny IDX set (300
// training and 100 test images of 28 x 28 in $SN_FASHION_MNIST_DIR): result.json's test BCE and
// MSE, the pictures (a valid PNG, a well-formed SVG with the classes in its legend), `eval`
// printing the same numbers, `resume`, --denoise, and the one-line errors for bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli/cli_run.h"
#include "viz/xml_check.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

void put32(std::ofstream& f, uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  f.write(reinterpret_cast<const char*>(b), 4);
}

// n images of class i % 10: a bright bar whose row depends on the class, plus noise
void write_idx(const fs::path& dir, const std::string& split, int n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> noise(0, 40);
  std::ofstream img(dir / (split + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream lab(dir / (split + "-labels-idx1-ubyte"), std::ios::binary);
  put32(img, 0x803);
  put32(img, n);
  put32(img, 28);
  put32(img, 28);
  put32(lab, 0x801);
  put32(lab, n);
  for (int i = 0; i < n; ++i) {
    const int c = i % 10;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool bar = y >= 2 + 2 * c && y < 5 + 2 * c && x >= 4 && x < 24;
        img.put(static_cast<char>(bar ? 200 + noise(g) : noise(g)));
      }
    lab.put(static_cast<char>(c));
  }
}

// A fresh folder per test (TempDirTest) holding the tiny data set.
class AutoencoderCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    fs::create_directories(dir_ / "fm");
    write_idx(dir_ / "fm", "train", 300, 1);
    write_idx(dir_ / "fm", "t10k", 100, 2);
    ::setenv("SN_FASHION_MNIST_DIR", (dir_ / "fm").c_str(), 1);
  }
  sn::test::CliResult run(const std::string& args) { return sn::test::run_cli(args); }
  json result(const fs::path& run) { return json::parse(sn::test::read_file(run / "result.json")); }
};

bool is_png(const fs::path& p) {
  const std::string s = sn::test::read_file(p);
  return s.size() > 50 && s.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0 &&
         s.compare(12, 4, "IHDR") == 0 && s.find("IEND") != std::string::npos;
}

TEST_F(AutoencoderCli, TrainEvalResumeAndPictures) {
  const fs::path out = dir_ / "ae";
  auto r =
      run("train --data fashion-mnist --preset autoencoder --epochs 2 --batch-size 32 "
          "--threads 1 --out " +
          out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("binary cross-entropy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test reconstruction: BCE "), std::string::npos) << r.out;
  const json res = result(out);
  for (const char* k : {"test_bce", "test_mse", "test_examples", "best_epoch", "epochs_run"})
    EXPECT_TRUE(res.contains(k)) << k << "\n" << res.dump();
  const double bce = res["test_bce"].get<double>(), mse = res["test_mse"].get<double>();
  EXPECT_GT(bce, 0.0);
  EXPECT_LT(bce, 0.69);  // better than a constant 0.5 output after 2 epochs
  EXPECT_GT(mse, 0.0);
  EXPECT_LT(mse, 0.25);
  EXPECT_EQ(res["test_examples"].get<int64_t>(), 100);
  for (const char* f :
       {"best.safetensors", "last.safetensors", "model.json", "run.json", "history.csv",
        "history.json", "curves.svg", "reconstructions.png", "latent.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_TRUE(is_png(out / "reconstructions.png"));
  const std::string svg = sn::test::read_file(out / "latent.svg");
  EXPECT_EQ(viz_test::xml_problem(svg), "");
  EXPECT_NE(svg.find("PC1 of the 32-value codes"), std::string::npos);
  EXPECT_NE(svg.find("class=\"legend\""), std::string::npos);
  EXPECT_NE(svg.find("T-shirt/top"), std::string::npos);            // Fashion-MNIST's class names
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 100, true);  // 100 points drawn

  // eval reports the numbers of result.json
  r = run("eval " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  char want[96];
  std::snprintf(want, sizeof want, "test reconstruction: BCE %.4f, MSE %.4f", bce, mse);
  EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;

  // predict has nothing to predict
  r = run("predict " + out.string() + " --input " +
          (dir_ / "fm" / "t10k-images-idx3-ubyte").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("is an autoencoder"), std::string::npos) << r.out;

  // resume for one more epoch: the history grows, the run stays an autoencoder run
  r = run("resume " + out.string() + " --epochs 3 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resume: from epoch 2 of 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 3/3"), std::string::npos) << r.out;
  const std::string csv = sn::test::read_file(out / "history.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  EXPECT_EQ(result(out)["epochs_run"].get<int64_t>(), 3);
  r = run("resume " + out.string() + " --threads 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("already has 3 of 3 epochs"), std::string::npos) << r.out;
}

TEST_F(AutoencoderCli, ConvAndDenoisingVae) {
  const fs::path conv = dir_ / "conv";
  auto r =
      run("train --data fashion-mnist --preset conv-autoencoder --epochs 1 --batch-size 50 "
          "--threads 1 --val-split 0.2 --out " +
          conv.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ConvTranspose2d"), std::string::npos) << r.out;
  EXPECT_TRUE(result(conv).contains("test_bce"));
  EXPECT_TRUE(is_png(conv / "reconstructions.png"));
  EXPECT_NE(sn::test::read_file(conv / "run.json").find("\"val_split\": 0.2"), std::string::npos);

  const fs::path vae = dir_ / "vae";
  r =
      run("train --data fashion-mnist --preset vae --denoise mask:0.25 --epochs 1 --batch-size 50 "
          "--threads 1 --out " +
          vae.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("denoising (mask:0.25 on the input only)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KL term"), std::string::npos) << r.out;
  const json res = result(vae);
  EXPECT_TRUE(res.contains("test_kl")) << res.dump();
  EXPECT_NE(sn::test::read_file(vae / "model.json").find("\"MaskNoise\""), std::string::npos);
  const std::string svg = sn::test::read_file(vae / "latent.svg");
  EXPECT_EQ(viz_test::xml_problem(svg), "");
  EXPECT_NE(svg.find(">z1<"), std::string::npos);  // the 2-D latent itself, no PCA
  r = run("eval " + vae.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(", KL "), std::string::npos) << r.out;
}

TEST_F(AutoencoderCli, ClearErrors) {
  std::ofstream(dir_ / "wide.csv") << "a,b,c,label\n0.1,0.5,3,x\n0.2,0.4,0.9,y\n0.3,0.3,0.8,x\n"
                                      "0.1,0.2,0.7,y\n0.6,0.1,0.5,x\n";
  const std::string csv = (dir_ / "wide.csv").string();
  const std::string o = " --threads 1 --out " + (dir_ / "x").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train --data fashion-mnist --preset autoencoder --denoise gaussian:-1",
       "--denoise gaussian:-1: the noise's standard deviation must be > 0 (got -1)"},
      {"train --data fashion-mnist --preset autoencoder --denoise mask:1.5",
       "the masked fraction must be in (0, 1) (got 1.5)"},
      {"train --data fashion-mnist --preset autoencoder --denoise salt:0.1",
       "--denoise: expected gaussian:STD"},
      {"train --data fashion-mnist --preset autoencoder --denoise gaussian:abc",
       "'abc' is not a number"},
      {"train --data fashion-mnist --preset mlp --denoise gaussian:0.1",
       "--denoise: not used without an autoencoder"},
      {"train --data fashion-mnist --preset autoencoder --schedule step",
       "--schedule: not used by autoencoder runs"},
      {"train --data fashion-mnist --preset autoencoder --optimizer lbfgs",
       "--optimizer lbfgs: not for autoencoder runs"},
      {"train --data fashion-mnist --reconstruct", "--reconstruct: needs --model FILE"},
      {"train --data " + csv + " --target label --preset conv-autoencoder",
       "preset conv-autoencoder: takes images [C, H, W] with H and W divisible by 4 (got [3])"},
      {"train --data " + csv + " --target label --preset autoencoder",
       "has values in [0.1, 3], but an autoencoder with a final Sigmoid reproduces values in [0, "
       "1]"},
  };
  for (const auto& [args, want] : cases) {
    auto r = run(args + o);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(want), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "x")) << args;  // a run that fails to start leaves nothing
  }
  // "data:" is printed once the data have loaded, as train prints it for classifiers
  auto r = run("train --data " + (dir_ / "none.csv").string() + " --preset autoencoder" + o);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.find("data:"), std::string::npos) << r.out;
  r = run("train --data fashion-mnist --preset autoencoder --epochs 1 --batch-size 100" + o);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("data:   Fashion-MNIST ("), std::string::npos) << r.out;
}

}  // namespace
