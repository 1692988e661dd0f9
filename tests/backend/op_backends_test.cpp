// The op table on every backend: each row of tests/ops/op_table.h, forward and backward, on each
// device present, against the CPU result. An op the table lists for a backend must match the
// CPU; an op it does not list must fail on that device with a DeviceError naming the device
// (never run silently on the CPU), so the table in ops/op_backends.h cannot go stale either
// way. Here the devices are the fake device (fake_device.h: the seam itself, on any machine)
// and every real GPU present; without one the CUDA suite skips and says why.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "backend/backend.h"
#include "backend/fake_device.h"
#include "ops/op_backends.h"
#include "ops/op_table.h"

namespace sn::test {
namespace {

Tensor draw(const Shape& shape, Domain d) {
  Tensor u = rand(shape, {.dtype = kFloat64});
  if (d == Domain::Positive) return add(mul(u, 1.5), 0.5);
  Tensor sign = sub(mul(step(sub(rand(shape, {.dtype = kFloat64}), 0.5)), 2.0), 1.0);
  return mul(add(mul(u, 1.8), 0.2), sign);
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

// Runs a row on `dev` from CPU inputs xs, backward with gradient g (CPU); results back on the CPU.
Result run(const Row& row, const std::vector<Tensor>& xs, const Tensor& g, Device dev) {
  std::vector<Tensor> in;
  for (const Tensor& x : xs) in.push_back(x.to(dev).detach().requires_grad_(true));
  Tensor y = row.fn(in);
  EXPECT_EQ(y.device(), dev) << row.id << ": output on the wrong device";
  y.backward(g.to(dev));
  Result r{y.detach().to(kCPU), {}};
  for (const Tensor& x : in) {
    const Tensor gx = x.grad();
    if (gx.defined()) {
      EXPECT_EQ(gx.device(), dev) << row.id << ": gradient on the wrong device";
    }
    r.grads.push_back(gx.defined() ? gx.to(kCPU) : Tensor());
  }
  return r;
}

void check_row_on(const Row& row, Device dev) {
  manual_seed(7);
  std::vector<Tensor> xs;
  for (const In& in : row.inputs) xs.push_back(draw(in.shape, in.domain));
  // the reference on the CPU, with a fixed upstream gradient
  std::vector<Tensor> in;
  for (const Tensor& x : xs) in.push_back(x.detach().requires_grad_(true));
  Tensor y = row.fn(in);
  const Tensor g = randn(y.shape(), {.dtype = y.dtype()});
  y.backward(g);
  if (!implements(row.op, dev.type)) {
    try {
      run(row, xs, g, dev);
    } catch (const DeviceError& e) {
      EXPECT_NE(std::string(e.what()).find(dev.str()), std::string::npos)
          << row.id << ": the error does not name the device: " << e.what();
      return;
    }
    ADD_FAILURE() << row.id << " runs on " << dev << " but ops/op_backends.h says its backend "
                  << "does not implement " << info(row.op).name << ": add it there";
    return;
  }
  Result r;
  try {
    r = run(row, xs, g, dev);
  } catch (const Error& e) {
    FAIL() << row.id << " on " << dev << ": " << e.what();
  }
  // float64 throughout, but for the to(float32) row
  const double tol = y.dtype() == kFloat64 ? 1e-9 : 1e-5;
  EXPECT_TRUE(allclose(r.y, y.detach(), tol, tol)) << row.id << " forward on " << dev;
  for (size_t i = 0; i < in.size(); ++i) {
    const Tensor want = in[i].grad();
    ASSERT_EQ(want.defined(), r.grads[i].defined()) << row.id << " input " << i;
    if (want.defined()) {
      EXPECT_TRUE(allclose(r.grads[i], want, tol, tol))
          << row.id << " gradient " << i << " on " << dev << ": " << r.grads[i] << " vs " << want;
    }
  }
}

class OpOnFakeDevice : public ::testing::TestWithParam<size_t> {};

TEST_P(OpOnFakeDevice, MatchesTheCpuOrFailsNamingTheDevice) {
  FakeDeviceGuard fake;
  check_row_on(op_rows()[GetParam()], Device("cuda:1"));
}

std::vector<size_t> all_rows() {
  std::vector<size_t> v(op_rows().size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}
std::string row_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string s = op_rows()[info.param].id;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(OpTable, OpOnFakeDevice, ::testing::ValuesIn(all_rows()), row_name);

// The real GPUs: every row on each CUDA device present.
TEST(OpOnCuda, EveryRowOnEveryGpu) {
  backend::Backend* cuda = backend::find(DeviceType::CUDA);
  if (!cuda) GTEST_SKIP() << "this build has no CUDA backend (configure with -DSN_CUDA=ON)";
  if (cuda->device_count() == 0) GTEST_SKIP() << "no usable GPU: " << cuda->unavailable_reason();
  for (int d = 0; d < cuda->device_count(); ++d)
    for (const Row& row : op_rows()) {
      SCOPED_TRACE(row.id);
      check_row_on(row, Device(DeviceType::CUDA, d));
    }
}

TEST(OpBackends, TheCpuImplementsEveryOp) {
  for (const OpBackends& ob : kOpBackends)
    EXPECT_TRUE(implements(ob.op, DeviceType::CPU)) << info(ob.op).name;
}

}  // namespace
}  // namespace sn::test
