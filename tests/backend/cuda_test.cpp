// The CUDA backend on a real GPU: copies both ways, the caching allocator, cuBLAS against the
// CPU with TF32 off (and on), the device properties `sinapsis devices` prints. Without the CUDA
// backend in this build, or without a usable GPU, every test skips and says why (the reason is
// cudaGetDeviceCount's error); the op table runs on the GPU in op_backends_test.cpp.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    cuda_ = backend::find(DeviceType::CUDA);
    if (!cuda_) GTEST_SKIP() << "this build has no CUDA backend (configure with -DSN_CUDA=ON)";
    if (cuda_->device_count() == 0)
      GTEST_SKIP() << "no usable GPU: " << cuda_->unavailable_reason();
  }
  backend::Backend* cuda_ = nullptr;
};

TEST_F(Cuda, CopiesBothWaysAndReusesFreedMemory) {
  const Tensor x = randn({1000, 3});
  Tensor y = x.to("cuda");
  EXPECT_EQ(y.device(), Device("cuda:0"));
  EXPECT_TRUE(equal(y.to(kCPU), x));
  EXPECT_TRUE(equal(y.t().to(kCPU), x.t()));  // strided on the device
  EXPECT_TRUE(equal(y.to(kFloat64).to(kCPU), x.to(kFloat64)));
  void* p = y.impl()->data();
  y = Tensor();  // back to the cache, not to cudaFree
  Tensor z = empty({1000, 3}, {.device = Device("cuda")});
  EXPECT_EQ(z.impl()->data(), p);
}

TEST_F(Cuda, MatmulMatchesTheCpuWithTf32OffByDefault) {
  EXPECT_FALSE(allow_tf32());
  manual_seed(3);
  const Tensor a = randn({96, 80}), b = randn({80, 72});
  const Tensor ref = matmul(a.to(kFloat64), b.to(kFloat64));
  auto rel_err = [&](const Tensor& got) {
    return amax(abs(sub(got.to(kCPU).to(kFloat64), ref)), {0, 1}).item() /
           amax(abs(ref), {0, 1}).item();
  };
  const Tensor ad = a.to("cuda"), bd = b.to("cuda");
  EXPECT_LT(rel_err(matmul(ad, bd)), 1e-5);
  EXPECT_LT(rel_err(matmul(ad.t().contiguous().t(), bd)), 1e-5);  // a column-major operand
  set_allow_tf32(true);
  EXPECT_LT(rel_err(matmul(ad, bd)), 5e-3);
  set_allow_tf32(false);
  EXPECT_LT(rel_err(matmul(ad, bd)), 1e-5);
}

TEST_F(Cuda, PropertiesNameTheGpu) {
  const auto props = cuda_->properties(Device("cuda:0"));
  ASSERT_FALSE(props.empty());
  EXPECT_EQ(props[0].first, "name");
  bool cc = false;
  for (const auto& [k, v] : props) cc |= k == "compute capability";
  EXPECT_TRUE(cc);
}

}  // namespace
}  // namespace sn
