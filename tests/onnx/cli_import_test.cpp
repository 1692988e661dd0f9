// `sinapsis import model.onnx` end to end: PyTorch's MLP export (tests/golden/onnx/mlp.onnx)
// becomes a run folder that `eval` scores on rows labelled with PyTorch's own predictions
// (accuracy 1), with class indices and no normalisation, said once; an existing run is refused
// unless --overwrite.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out;
};
Result sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = p ? pclose(p) : -1;
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
const std::string kCli = std::string(SN_BINARY_DIR) + "/tools/cli/sinapsis";
const std::string kGolden = std::string(SN_SOURCE_DIR) + "/tests/golden/onnx/";
bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ImportCli, AnOnnxMlpEvaluatesWithPyTorchsAnswers) {
  const fs::path dir =
      fs::temp_directory_path() / ("sinapsis_import_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // the golden inputs, labelled with the class PyTorch's output ranks first
  std::ifstream jf(kGolden + "onnx.json");
  const auto c = nlohmann::json::parse(jf)["cases"]["mlp"];
  const auto x = c["input"].get<std::vector<double>>();
  const auto y = c["output"].get<std::vector<double>>();
  const size_t n = c["input_shape"][0], f = c["input_shape"][1], k = c["output_shape"][1];
  {
    std::ofstream csv(dir / "rows.csv");
    for (size_t j = 0; j < f; ++j) csv << "f" << j << ",";
    csv << "label\n";
    for (size_t i = 0; i < n; ++i) {
      size_t best = 0;
      for (size_t j = 1; j < k; ++j)
        if (y[i * k + j] > y[i * k + best]) best = j;
      for (size_t j = 0; j < f; ++j) csv << x[i * f + j] << ",";
      csv << best << "\n";
    }
  }
  const std::string run = (dir / "run").string();
  Result r = sh(kCli + " import " + kGolden + "mlp.onnx --out " + run + " --target label");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "a chain of spec layers")) << r.out;
  EXPECT_TRUE(has(r.out, "stores no class names and no normalisation: classes are indices 0..4"))
      << r.out;
  EXPECT_TRUE(fs::exists(dir / "run" / "best.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "run" / "run.json"));

  r = sh(kCli + " eval " + run + " --data " + (dir / "rows.csv").string() + " --confusion-svg -");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "accuracy 1.0000")) << r.out;

  // an existing run is refused, and replaced with --overwrite
  r = sh(kCli + " import " + kGolden + "mlp.onnx --out " + run);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "--overwrite")) << r.out;
  r = sh(kCli + " import " + kGolden + "mlp.onnx --out " + run + " --target label --overwrite");
  EXPECT_EQ(r.code, 0) << r.out;

  // a bad file: one error line, no run folder left behind
  {
    std::ofstream bad(dir / "bad.onnx", std::ios::binary);
    bad << "this is not protobuf";
  }
  r = sh(kCli + " import " + (dir / "bad.onnx").string() + " --out " + (dir / "run2").string());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.out, "not an ONNX model")) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run2"));
  fs::remove_all(dir);
}

}  // namespace
