// `sinapsis export` end to end: a CSV classifier trained by the CLI, exported, checked by ONNX's
// checker, and (where node and onnxruntime-node are present) run in ONNX Runtime on the raw
// feature columns, giving `predict --proba`'s probabilities; bad uses are clear errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sinapsis/onnx/onnx.h"

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
const std::string kModules = std::string(SN_SOURCE_DIR) + "/third_party_data/node_modules";
bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class ExportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sinapsis_export_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream f(dir_ / "d.csv");
    f << "x1,x2,x3,label\n";
    for (int i = 0; i < 120; ++i) {
      const int l = i % 3;
      f << (l + 0.3 * ((i * 7) % 5 - 2)) << "," << (-l + 0.2 * ((i * 3) % 7 - 3)) << ","
        << 0.1 * (i % 11) << ","
        << "ABC"[l] << "\n";
    }
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }
  fs::path dir_;
};

TEST_F(ExportCli, ExportsAClassifierThatOnnxRuntimeRunsLikePredict) {
  Result r = sh(kCli + " train --data " + path("d.csv") +
                " --target label --epochs 2 --threads 1 --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = sh(kCli + " export " + path("run") + " --out " + path("m.onnx"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "input [N, 3] float32 (feature columns)")) << r.out;
  EXPECT_TRUE(has(r.out, "passes ONNX's checker")) << r.out;
  std::ifstream mf(path("m.onnx"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(mf)), std::istreambuf_iterator<char>());
  EXPECT_NO_THROW(sn::onnx::check_model_bytes(bytes));
  EXPECT_TRUE(has(bytes, "[\"A\",\"B\",\"C\"]")) << "the classes are in metadata_props";

  // the same rows through predict and through ONNX Runtime
  {
    std::ofstream f(path("feats.csv"));
    f << "x1,x2,x3\n0.5,-0.2,0.3\n2.1,-1.9,0.0\n-0.4,0.6,1.0\n";
  }
  r = sh(kCli + " predict " + path("run") + " --input " + path("feats.csv") + " --proba");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::vector<double>> want;  // A, B, C probabilities per row
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(c);
    ASSERT_EQ(cols.size(), 7u) << line;
    want.push_back({std::stod(cols[4]), std::stod(cols[5]), std::stod(cols[6])});
  }
  ASSERT_EQ(want.size(), 3u) << r.out;
  if (sh("command -v node").code != 0 || !fs::exists(kModules + "/onnxruntime-node"))
    GTEST_SKIP() << "node or the npm package onnxruntime-node is missing (scripts/install-deps.sh)";
  {
    const float rows[9] = {0.5f, -0.2f, 0.3f, 2.1f, -1.9f, 0.0f, -0.4f, 0.6f, 1.0f};
    std::ofstream f(path("in.bin"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(rows), sizeof rows);
  }
  r = sh("NODE_PATH='" + kModules + "' node '" + SN_SOURCE_DIR + "/tests/onnx/ort_run.cjs' '" +
         path("m.onnx") + "' '" + path("in.bin") + "' 3,3 '" + path("out") + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream pf(path("out.probabilities.bin"), std::ios::binary);
  float got[9] = {};
  pf.read(reinterpret_cast<char*>(got), sizeof got);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(got[i * 3 + j], want[i][j], 6e-5) << "row " << i << " class " << j;
}

TEST_F(ExportCli, ClearErrors) {
  Result r = sh(kCli + " train --data " + path("d.csv") +
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
