// `sinapsis devices` and --device: the CPU is listed and checked; without a GPU (or without the
// CUDA backend) the command says why and still exits 0; asking train/eval/predict/generate for
// a device that is not there is one clear error naming it (exit 2).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "backend/backend.h"
#include "cli_run.h"

namespace {

using sn::test::run_cli;

bool have_gpu() {
  sn::backend::Backend* cuda = sn::backend::find(sn::DeviceType::CUDA);
  return cuda && cuda->device_count() > 0;
}

class DevicesCli : public sn::test::TempDirTest {};

TEST_F(DevicesCli, ListsAndChecksTheCpu) {
  const sn::test::CliResult r = run_cli("devices");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("cpu\n", 0), 0u) << r.out;
  for (const char* s : {"name:", "cores:", "kernels:", "matmul float32:", "matmul float64:"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_EQ(r.out.find("MISMATCH"), std::string::npos) << r.out;
  if (have_gpu()) {
    EXPECT_NE(r.out.find("cuda:0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("compute capability:"), std::string::npos) << r.out;
  } else if (sn::backend::find(sn::DeviceType::CUDA)) {
    EXPECT_NE(r.out.find("cuda: no GPU: cudaGetDeviceCount"), std::string::npos) << r.out;
  } else {
    EXPECT_NE(r.out.find("cuda: not in this build"), std::string::npos) << r.out;
  }
}

TEST_F(DevicesCli, AnUnusableDeviceIsOneClearError) {
  if (have_gpu()) GTEST_SKIP() << "this machine has a GPU";
  const std::string csv = write("d.csv", "a,b,y\n1,2,0\n2,1,1\n3,1,1\n1,3,0\n2,2,0\n3,3,1\n");
  for (const std::string cmd :
       {"train --data " + csv + " --target y --epochs 1 --out " + path("r"),
        std::string("eval no_such_run"), "predict no_such_run --input " + csv,
        std::string("generate no_such_run")}) {
    const sn::test::CliResult r = run_cli(cmd + " --device cuda:0");
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("--device: "), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("cuda:0"), std::string::npos) << cmd << "\n" << r.out;
  }
  const sn::test::CliResult bad = run_cli("train --data x.csv --device tpu");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--device: device: 'tpu' is not a device"), std::string::npos) << bad.out;
}

TEST_F(DevicesCli, CpuIsAcceptedEverywhere) {
  std::string rows = "a,b,y\n";
  for (int i = 0; i < 40; ++i)
    rows += std::to_string(i % 7) + "," + std::to_string((i * 3) % 5) + "," +
            std::to_string(i % 7 > 3) + "\n";
  const std::string csv = write("d.csv", rows);
  const std::string run = path("r");
  const sn::test::CliResult t = run_cli(
      "train --data " + csv + " --target y --epochs 1 --threads 1 --device cpu --out " + run);
  ASSERT_EQ(t.code, 0) << t.out;
  const sn::test::CliResult e = run_cli("eval " + run + " --device cpu");
  EXPECT_EQ(e.code, 0) << e.out;
}

}  // namespace
