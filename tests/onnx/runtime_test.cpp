// The exported presets run in ONNX Runtime (npm onnxruntime-node, through tests/onnx/ort_run.cjs)
// and give sinapsis's logits and probabilities on raw 0-255 pixels, with the scaling and the
// normalisation inside the graph. Skipped, with the reason, where node or the package is missing
// (scripts/install-deps.sh installs it into third_party_data/ when npm is there).
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sinapsis/onnx/onnx.h"

namespace {

using namespace sn;
namespace fs = std::filesystem;

const std::string kModules = std::string(SN_SOURCE_DIR) + "/third_party_data/node_modules";

std::string skip_reason() {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return "node is not installed";
  if (!fs::exists(kModules + "/onnxruntime-node"))
    return "the npm package onnxruntime-node is not in " + kModules +
           " (scripts/install-deps.sh installs it when npm is present)";
  return "";
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

class OnnxRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    dir_ = fs::temp_directory_path() /
           ("sinapsis_onnx_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  // Runs the model in ONNX Runtime on x; returns {logits, probabilities}.
  std::pair<std::vector<float>, std::vector<float>> run_ort(const std::string& model,
                                                            const Tensor& x) {
    const std::string in = (dir_ / "input.bin").string();
    {
      Tensor c = x.contiguous();
      std::ofstream f(in, std::ios::binary);
      f.write(static_cast<const char*>(c.raw_data()), c.numel() * 4);
    }
    std::ostringstream dims;
    for (size_t i = 0; i < x.shape().size(); ++i) dims << (i ? "," : "") << x.shape()[i];
    const std::string prefix = (dir_ / "out").string();
    const std::string cmd = "NODE_PATH='" + kModules + "' node '" + SN_SOURCE_DIR +
                            "/tests/onnx/ort_run.cjs' '" + model + "' '" + in + "' " + dims.str() +
                            " '" + prefix + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    const int rc = p ? pclose(p) : -1;
    EXPECT_EQ(rc, 0) << out;
    return {read_floats(prefix + ".logits.bin"), read_floats(prefix + ".probabilities.bin")};
  }
  fs::path dir_;
};

TEST_F(OnnxRuntime, PresetsGiveTheLibrarysAnswersOnRawPixels) {
  for (const char* name : {"mlp", "lenet", "resnet"}) {
    manual_seed(11);
    nn::BuiltModel m =
        nn::build_model(nn::preset_spec(name, Shape{1, 28, 28}, 10), Shape{1, 28, 28});
    // a trained-like state: BatchNorm statistics away from 0/1
    m.module->train();
    {
      NoGradGuard ng;
      (*m.module)(randn({16, 1, 28, 28}) * 0.5 + 0.3);
    }
    m.module->eval();
    const double mean = 0.286, std = 0.353;  // Fashion-MNIST's pixel statistics
    sn::onnx::ExportOptions o;
    o.input_scale = 1.0 / 255.0;
    o.mean = full({}, mean);
    o.std = full({}, std);
    o.probabilities = true;
    const std::string model = (dir_ / (std::string(name) + ".onnx")).string();
    sn::onnx::export_model(*m.module, zeros({2, 1, 28, 28}), model, o);

    Tensor raw = zeros({5, 1, 28, 28});  // whole pixel values 0-255, as predict reads them
    float* px = raw.data_ptr<float>();
    for (int64_t i = 0; i < raw.numel(); ++i) px[i] = static_cast<float>((i * 7919 + 13) % 256);
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m.module)((raw * (1.0 / 255.0) - mean) / std);
    }
    const Tensor probs = softmax(logits, 1);
    auto [ol, op] = run_ort(model, raw);
    ASSERT_EQ(ol.size(), static_cast<size_t>(logits.numel())) << name;
    ASSERT_EQ(op.size(), static_cast<size_t>(probs.numel())) << name;
    double dl = 0, dp = 0;
    for (int64_t i = 0; i < logits.numel(); ++i) {
      dl = std::max(dl, std::abs(ol[i] - logits.flatten().at({i})));
      dp = std::max(dp, std::abs(op[i] - probs.flatten().at({i})));
    }
    std::cout << name << ": ONNX Runtime vs sinapsis, max |logit diff| " << dl
              << ", max |probability diff| " << dp << "\n";
    EXPECT_LT(dl, 1e-4) << name << ": logits differ by " << dl;
    EXPECT_LT(dp, 1e-5) << name << ": probabilities differ by " << dp;
  }
}

}  // namespace
