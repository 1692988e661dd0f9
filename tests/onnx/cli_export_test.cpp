// `sinapsis export` end to end: a CSV classifier, a char-lstm text model and a VAE trained by the
// CLI, exported, checked by ONNX's checker, and (where node and onnxruntime-node are present) run
// in ONNX Runtime: the classifier on the raw feature columns gives `predict --proba`'s
// probabilities, the text model on token ids the checkpoint's logits and state, the VAE on raw
// pixels the checkpoint's reconstruction (its deterministic path). Bad uses are clear errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ort.h"
#include "sinapsis/onnx/onnx.h"

namespace {

namespace fs = std::filesystem;
using sn::test::sh;

const std::string kCli = std::string(SN_BINARY_DIR) + "/tools/cli/sinapsis";
bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {(std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()};
}

class ExportCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream f(dir_ / "d.csv");
    f << "x1,x2,x3,label\n";
    for (int i = 0; i < 120; ++i) {
      const int l = i % 3;
      f << (l + 0.3 * ((i * 7) % 5 - 2)) << "," << (-l + 0.2 * ((i * 3) % 7 - 3)) << ","
        << 0.1 * (i % 11) << ","
        << "ABC"[l] << "\n";
    }
  }
};

TEST_F(ExportCli, ExportsAClassifierThatOnnxRuntimeRunsLikePredict) {
  auto r = sh(kCli + " train --data " + path("d.csv") +
              " --target label --epochs 2 --threads 1 --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = sh(kCli + " export " + path("run") + " --out " + path("m.onnx"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "input [N, 3] float32 (feature columns)")) << r.out;
  EXPECT_TRUE(has(r.out, "passes ONNX's checker")) << r.out;
  const std::string bytes = read(path("m.onnx"));
  EXPECT_NO_THROW(sn::onnx::check_model_bytes(bytes));
  EXPECT_TRUE(has(bytes, "[\"A\",\"B\",\"C\"]")) << "the classes are in metadata_props";

  // the same rows through predict and through ONNX Runtime
  {
    std::ofstream f(path("feats.csv"));
    f << "x1,x2,x3\n0.5,-0.2,0.3\n2.1,-1.9,0.0\n-0.4,0.6,1.0\n";
  }
  r = sh(kCli + " predict " + path("run") + " --input " + path("feats.csv") + " --proba");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<double> want;  // A, B, C probabilities per row
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(c);
    ASSERT_EQ(cols.size(), 7u) << line;
    for (int j = 4; j < 7; ++j) want.push_back(std::stod(cols[j]));
  }
  ASSERT_EQ(want.size(), 9u) << r.out;
  if (const std::string why = sn::test::ort_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const sn::Tensor rows = sn::tensor(
      std::vector<float>{0.5f, -0.2f, 0.3f, 2.1f, -1.9f, 0.0f, -0.4f, 0.6f, 1.0f}, sn::Shape{3, 3});
  const auto o = sn::test::run_ort(path("m.onnx"), {{"", rows}}, dir_);
  ASSERT_EQ(o.code, 0) << o.out;
  const std::vector<float> got = o.floats("probabilities");
  ASSERT_EQ(got.size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_NEAR(got[i], want[i], 6e-5) << "row " << i / 3;
}

TEST_F(ExportCli, ExportsATextRunWithItsTokenizer) {
  {
    std::ofstream f(path("play.txt"));
    for (int i = 0; i < 60; ++i) f << "to be, or not to be: that is the question " << i << ".\n";
  }
  auto r =
      sh(kCli + " train --data text:" + path("play.txt") +
         " --preset char-lstm --steps 2 --block 16 --batch-size 4 --threads 1 --out " + path("lm"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = sh(kCli + " export " + path("lm") + " --out " + path("lm.onnx"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "input tokens [N, T] int64 (char tokenizer, ")) << r.out;
  EXPECT_TRUE(has(r.out, "state h0, c0 in ([2, N or 1, 256]; zeros to start), hN, cN out"))
      << r.out;
  const std::string bytes = read(path("lm.onnx"));
  EXPECT_NO_THROW(sn::onnx::check_model_bytes(bytes));
  for (const char* key : {"tokenizer", "vocabulary", "context"})
    EXPECT_TRUE(has(bytes, key)) << key << " is in metadata_props";
  EXPECT_TRUE(has(bytes, "\"q\"")) << "the vocabulary lists the characters";

  // ONNX Runtime against the checkpoint the export read
  if (const std::string why = sn::test::ort_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string ck = fs::exists(path("lm/best.safetensors")) ? path("lm/best.safetensors")
                                                                 : path("lm/last.safetensors");
  const auto info = sn::train::read_checkpoint_info(ck);
  sn::nn::BuiltModel m = sn::nn::build_model(info.model_spec, sn::Shape());
  sn::train::load_checkpoint(ck, *m.module, {.restore_rng = false});
  m.module->eval();
  const int64_t V = m.output_shape.back();
  const sn::Tensor tokens = sn::randint(0, V, sn::Shape{2, 11});
  std::vector<sn::Tensor> want;
  {
    sn::NoGradGuard ng;
    want = m.module->call({tokens}).items();
  }
  const auto o = sn::test::run_ort(
      path("lm.onnx"),
      {{"", tokens}, {"h0", sn::zeros({2, 1, 256})}, {"c0", sn::zeros({2, 1, 256})}}, dir_);
  ASSERT_EQ(o.code, 0) << o.out;
  EXPECT_LT(sn::test::max_abs_diff(o.floats("logits"), want[0]), 1e-5);
  EXPECT_LT(sn::test::max_abs_diff(o.floats("hN"), want[1]), 1e-5);
}

void put32(std::ofstream& f, uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  f.write(reinterpret_cast<const char*>(b), 4);
}
// n 28x28 images in Fashion-MNIST's IDX files: a bright bar whose row depends on the class
void write_idx(const fs::path& dir, const std::string& split, int n) {
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
        img.put(static_cast<char>(bar ? 200 + (x * y + i) % 40 : (x + 3 * y + i) % 40));
      }
    lab.put(static_cast<char>(c));
  }
}

TEST_F(ExportCli, ExportsAVaesDeterministicPath) {
  fs::create_directories(dir_ / "fm");
  write_idx(dir_ / "fm", "train", 100);
  write_idx(dir_ / "fm", "t10k", 50);
  ::setenv("SN_FASHION_MNIST_DIR", (dir_ / "fm").c_str(), 1);
  auto r = sh(kCli + " train --data fashion-mnist --preset vae --epochs 1 --batch-size 50 " +
              "--threads 1 --out " + path("vae"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = sh(kCli + " export " + path("vae") + " --out " + path("vae.onnx") + " --opset 13");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out,
                  "input [N, 1, 28, 28] float32 (pixels 0-255), output reconstruction "
                  "[N, 784] (a VAE: its deterministic path, z = mu)"))
      << r.out;
  const std::string bytes = read(path("vae.onnx"));
  EXPECT_NO_THROW(sn::onnx::check_model_bytes(bytes));
  EXPECT_TRUE(has(bytes, "the decoder gets the mean z = mu")) << "metadata 'latent'";

  if (const std::string why = sn::test::ort_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string ck = fs::exists(path("vae/best.safetensors")) ? path("vae/best.safetensors")
                                                                  : path("vae/last.safetensors");
  const auto info = sn::train::read_checkpoint_info(ck);
  sn::nn::BuiltModel m = sn::nn::build_model(info.model_spec, sn::Shape());
  sn::train::load_checkpoint(ck, *m.module, {.restore_rng = false});
  m.module->eval();
  sn::Tensor raw = sn::zeros({2, 1, 28, 28});
  float* px = raw.data_ptr<float>();
  for (int64_t i = 0; i < raw.numel(); ++i) px[i] = static_cast<float>((i * 31 + 5) % 256);
  sn::Tensor want;
  {
    sn::NoGradGuard ng;
    want = (*m.module)(raw * (1.0 / 255.0));
  }
  const auto o = sn::test::run_ort(path("vae.onnx"), {{"", raw}}, dir_);
  ASSERT_EQ(o.code, 0) << o.out;
  EXPECT_LT(sn::test::max_abs_diff(o.floats("reconstruction"), want), 1e-5);
}

TEST_F(ExportCli, ClearErrors) {
  auto r = sh(kCli + " train --data " + path("d.csv") +
              " --target label --epochs 1 --threads 1 --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = sh(kCli + " export " + path("run") + " --out " + path("run/best.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.out, "is the checkpoint this command reads")) << r.out;
  r = sh(kCli + " export " + path("run") + " --out " + path("m.onnx") + " --opset 12");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.out, "--opset")) << r.out;
  r = sh(kCli + " export " + path("nothing") + " --out " + path("m.onnx"));
  EXPECT_NE(r.code, 0);
  EXPECT_FALSE(fs::exists(path("m.onnx")));
}

}  // namespace
