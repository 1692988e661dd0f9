// Devices (sinapsis/core/device.h) and the backend seam (src/backend/backend.h): parsing and
// printing, factories and to(), module.to(), the registry, the mixed-device error, the error
// for a device this build or machine lacks, and what happens to an op a device does not
// implement. A fake second device (fake_device.h) stands in for a GPU.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

#include "backend/backend.h"
#include "backend/fake_device.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DeviceError& e) {
    return e.what();
  }
  return "(no DeviceError)";
}

TEST(Device, ParsesAndPrints) {
  EXPECT_EQ(Device("cpu"), kCPU);
  EXPECT_EQ(Device("cuda"), Device(DeviceType::CUDA, 0));
  EXPECT_EQ(Device("cuda:1"), Device(DeviceType::CUDA, 1));
  EXPECT_EQ(Device("cuda:12").index, 12);
  EXPECT_EQ(Device("cpu").str(), "cpu");
  EXPECT_EQ(Device("cuda").str(), "cuda:0");
  EXPECT_EQ(Device("cuda:3").str(), "cuda:3");
  std::ostringstream os;
  os << Device("cuda:2");
  EXPECT_EQ(os.str(), "cuda:2");
  EXPECT_TRUE(Device("cuda:0").is_cuda());
  EXPECT_TRUE(kCPU.is_cpu());
  EXPECT_FALSE(Device("cuda:0") == Device("cuda:1"));
  for (const char* bad :
       {"gpu", "", "CPU", "cuda:", "cuda:x", "cuda1", "cuda:-1", "cpu:0", "cuda:1234567"})
    EXPECT_THROW(Device{std::string_view(bad)}, DeviceError) << bad;
  EXPECT_NE(error_of([] { Device d("tpu"); }).find("device: 'tpu' is not a device"),
            std::string::npos);
}

TEST(Device, TensorsAreOnTheCpuByDefault) {
  EXPECT_EQ(zeros({2, 3}).device(), kCPU);
  EXPECT_EQ(tensor({1.0, 2.0}).device(), kCPU);
  EXPECT_EQ(randn({2}, {.device = kCPU}).device(), kCPU);
  Tensor x = ones({2});
  EXPECT_TRUE(x.to(kCPU).is_same(x));
  EXPECT_TRUE(x.to("cpu").is_same(x));
  EXPECT_EQ(backend::available_devices().front(), kCPU);
  EXPECT_STREQ(backend::cpu().name(), "cpu");
  EXPECT_EQ(backend::find(DeviceType::CPU), &backend::cpu());
}

TEST(Device, CudaWithoutABackendOrGpuIsAClearError) {
  backend::Backend* cuda = backend::find(DeviceType::CUDA);
  if (cuda && cuda->device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  const std::string e = error_of([] { zeros({2}, {.device = Device("cuda:0")}); });
  EXPECT_NE(e.find("cuda:0"), std::string::npos) << e;
  if (!cuda)
    EXPECT_NE(e.find("no cuda backend in this build"), std::string::npos) << e;
  else
    EXPECT_NE(e.find("is not available"), std::string::npos) << e;
  const std::string t = error_of([] { ones({2}).to("cuda:1"); });
  EXPECT_NE(t.find("cuda:1"), std::string::npos) << t;
}

TEST(Device, RegistryInstallsAndRestores) {
  backend::Backend* before = backend::find(DeviceType::CUDA);
  {
    test::FakeDeviceGuard fake;
    EXPECT_EQ(backend::find(DeviceType::CUDA), &fake.dev);
    EXPECT_EQ(&backend::get(Device("cuda:1"), "x"), &fake.dev);
    const std::vector<Device> devs = backend::available_devices();
    ASSERT_EQ(devs.size(), 3u);
    EXPECT_EQ(devs[2], Device("cuda:1"));
    const std::string e = error_of([] { backend::get(Device("cuda:5"), "zeros"); });
    EXPECT_EQ(e, "zeros: cuda:5 does not exist (2 cuda devices: cuda:0 to cuda:1)");
  }
  EXPECT_EQ(backend::find(DeviceType::CUDA), before);
}

TEST(Device, FactoriesAndToOnADevice) {
  test::FakeDeviceGuard fake;
  const Device d("cuda:0");
  {
    Tensor z = zeros({2, 3}, {.device = d});
    EXPECT_EQ(z.device(), d);
    EXPECT_EQ(z.sum().item(), 0.0);
    Tensor f = full({2}, 2.5, {.dtype = kFloat64, .device = d});
    EXPECT_EQ(f.dtype(), kFloat64);
    EXPECT_EQ(f.to_vector(), (std::vector<double>{2.5, 2.5}));
    Tensor t = tensor({1.0, 2.0, 3.0}, {.device = d});
    EXPECT_EQ(t.device(), d);
    EXPECT_EQ(t.at({1}), 2.0);
    EXPECT_EQ(t[2].item(), 3.0);
    manual_seed(3);
    Tensor r_cpu = randn({4});
    manual_seed(3);
    Tensor r_dev = randn({4}, {.device = d});
    EXPECT_TRUE(equal(r_dev.to(kCPU), r_cpu)) << "the same numbers on every device";
    EXPECT_EQ(zeros_like(r_dev).device(), d);
    EXPECT_EQ(empty_like(r_dev).device(), d);
    EXPECT_EQ(arange(0, 5, 1, {.dtype = kInt64, .device = d}).device(), d);

    Tensor x = tensor({{1.0, -2.0, 3.0}, {4.0, 5.0, -6.0}});
    Tensor xd = x.to(d);
    EXPECT_EQ(xd.device(), d);
    EXPECT_FALSE(xd.shares_storage(x));
    EXPECT_TRUE(xd.to(d).is_same(xd));
    Tensor back = xd.to(kCPU);
    EXPECT_EQ(back.device(), kCPU);
    EXPECT_TRUE(equal(back, x));
    // strided and between two devices of the same type
    Tensor tr = xd.t().to("cuda:1");
    EXPECT_EQ(tr.device(), Device("cuda:1"));
    EXPECT_TRUE(equal(tr.to(kCPU), x.t()));
    EXPECT_TRUE(equal(x.t().to(d).to(kCPU), x.t()));
    // copy_ across devices, with broadcasting and dtype conversion
    Tensor dst = zeros({2, 3}, {.dtype = kFloat64, .device = d});
    dst.copy_(tensor({7.0, 8.0, 9.0}));
    EXPECT_EQ(dst.to(kCPU).to_vector(), (std::vector<double>{7, 8, 9, 7, 8, 9}));
    const std::string s = xd.str();
    EXPECT_NE(s.find("device='cuda:0'"), std::string::npos) << s;
  }
  EXPECT_EQ(fake.dev.live_bytes.load(), 0) << "device memory is given back";
  EXPECT_GT(fake.dev.allocs.load(), 0);
}

TEST(Device, ToIsDifferentiable) {
  test::FakeDeviceGuard fake;
  Tensor x = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
  Tensor y = mul(x.to("cuda:0"), 2.0).sum();
  EXPECT_EQ(y.device(), Device("cuda:0"));
  y.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().device(), kCPU);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 2, 2}));
}

TEST(Device, MixedDevicesAreAnErrorNamingBoth) {
  test::FakeDeviceGuard fake;
  Tensor a = ones({2, 3});
  Tensor b = ones({2, 3}, {.device = Device("cuda:0")});
  EXPECT_EQ(error_of([&] { add(a, b); }).rfind("add: tensors on cpu and cuda:0", 0), 0u);
  EXPECT_EQ(error_of([&] { b* a; }).rfind("mul: tensors on cuda:0 and cpu", 0), 0u);
  EXPECT_EQ(error_of([&] { matmul(a, b.t()); }).rfind("matmul: tensors on cpu and cuda:0", 0), 0u);
  EXPECT_EQ(error_of([&] { cat({a, b}); }).rfind("cat: tensors on cpu and cuda:0", 0), 0u);
  EXPECT_EQ(error_of([&] { where(gt(b, 0.0), a, a); }).rfind("where: tensors on cuda:0 and cpu", 0),
            0u);
  Tensor c = ones({2, 3}, {.device = Device("cuda:1")});
  EXPECT_EQ(error_of([&] { sub(b, c); }).rfind("sub: tensors on cuda:0 and cuda:1", 0), 0u);
  EXPECT_EQ(error_of([&] { b.add_(a); }).rfind("add_: tensors on cuda:0 and cpu", 0), 0u);
}

TEST(Device, AnOpWithoutAKernelOnTheDeviceIsAnErrorNeverACpuFallback) {
  test::FakeDeviceGuard fake;
  Tensor x = ones({2, 3}, {.device = Device("cuda:0")});
  // a kernel that still reads memory on the CPU (amax is not in the Backend interface yet)
  const std::string e = error_of([&] { amax(x, {1}); });
  EXPECT_NE(e.find("cuda:0"), std::string::npos) << e;
  EXPECT_THROW(x.data_ptr<float>(), DeviceError);
  EXPECT_THROW(x.raw_data(), DeviceError);
  // an entry point the device's backend does not implement names the op and the device
  fake.dev.has_gemm = false;
  Tensor w = ones({4, 3}, {.device = Device("cuda:1")});
  EXPECT_EQ(error_of([&] { mm(w, w.t()); }).rfind("matmul: not implemented on cuda:1", 0), 0u);
}

TEST(Device, ModuleToMovesParametersBuffersAndGradients) {
  test::FakeDeviceGuard fake;
  const Device d("cuda:0");
  manual_seed(0);
  nn::Sequential model({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)});
  model.register_buffer("steps", tensor({5.0}));
  Tensor x = randn({5, 3});
  Tensor y_cpu = model(x);
  y_cpu.sum().backward();
  const Tensor w0 = model.parameters()[0];  // handles stay valid across to()
  const Tensor g0 = w0.grad();
  model.to(d);
  for (const Tensor& p : model.parameters()) {
    EXPECT_EQ(p.device(), d);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().device(), d);
  }
  for (const Tensor& b : model.buffers()) EXPECT_EQ(b.device(), d);
  EXPECT_EQ(w0.device(), d);
  EXPECT_TRUE(equal(w0.grad().to(kCPU), g0));
  Tensor y = model(x.to(d));
  EXPECT_EQ(y.device(), d);
  EXPECT_TRUE(allclose(y.to(kCPU), y_cpu, 1e-6, 1e-6));
  // a checkpoint (CPU tensors) loads onto the device; saving reads it back through the CPU
  nn::Sequential other({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)});
  other.register_buffer("steps", tensor({0.0}));
  other.to(d);
  model.to(kCPU);
  other.load_state_dict(model.state_dict());
  EXPECT_EQ(other.parameters()[0].device(), d);
  EXPECT_TRUE(allclose(other(x.to(d)).to(kCPU), y_cpu, 1e-6, 1e-6));
  io::TensorMap tensors;
  for (const auto& [k, v] : other.state_dict()) tensors[k] = v;
  const io::Checkpoint ck = io::load_bytes(io::save_bytes(tensors));
  EXPECT_TRUE(equal(ck.tensors.at("0.weight"), model.parameters()[0]));
  other.to(kCPU);
  EXPECT_EQ(other.parameters()[0].device(), kCPU);
}

// An MLP's training steps (linear, ReLU, cross-entropy, SGD with momentum or AdamW) on a device
// match the CPU's: the loss and optimizers take their composed forms there.
TEST(Device, TrainingStepsOnADeviceMatchTheCpu) {
  test::FakeDeviceGuard fake;
  const Device d("cuda:0");
  for (int which = 0; which < 2; ++which) {
    auto make = [] {
      manual_seed(5);
      return nn::Sequential({nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 4)});
    };
    nn::Sequential cpu_model = make(), dev_model = make();
    dev_model.to(d);
    auto opt_for = [&](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
      if (which == 0)
        return std::make_unique<optim::SGD>(m.parameters(),
                                            optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      return std::make_unique<optim::AdamW>(m.parameters(),
                                            optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.1});
    };
    auto oc = opt_for(cpu_model), od = opt_for(dev_model);
    manual_seed(9);
    const Tensor x = randn({10, 6}), y = randint(0, 4, {10});
    double lc = 0, ld = 0;
    for (int step = 0; step < 3; ++step) {
      oc->zero_grad();
      Tensor l1 = loss::cross_entropy(cpu_model(x), y);
      l1.backward();
      oc->step();
      od->zero_grad();
      Tensor l2 = loss::cross_entropy(dev_model(x.to(d)), y.to(d));
      EXPECT_EQ(l2.device(), d);
      l2.backward();
      od->step();
      lc = l1.item();
      ld = l2.item();
    }
    EXPECT_NEAR(lc, ld, 1e-5) << which;
    const std::vector<Tensor> pc = cpu_model.parameters(), pd = dev_model.parameters();
    for (size_t i = 0; i < pc.size(); ++i) {
      EXPECT_EQ(pd[i].device(), d);
      EXPECT_TRUE(allclose(pd[i].to(kCPU), pc[i], 1e-4, 1e-5)) << which << " param " << i;
    }
    // optimizer state as a checkpoint holds it (CPU tensors) loads onto the parameters' device
    optim::OptimizerState st = od->state_dict();
    for (auto& [k, t] : st.tensors) t = t.to(kCPU);
    auto od2 = opt_for(dev_model);
    od2->load_state_dict(st);
    od2->zero_grad();
    loss::cross_entropy(dev_model(x.to(d)), y.to(d)).backward();
    EXPECT_NO_THROW(od2->step());
  }
}

}  // namespace
}  // namespace sn
