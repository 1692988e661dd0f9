// `sinapsis devices`: every device this build and machine can use (the CPU: model, cores, the
// kernel level; each GPU: name, compute capability, memory, driver and runtime versions), each
// checked with a small matrix product against the CPU. On a machine without a GPU, or a build
// without the CUDA backend, it says so and why, and exits 0. Also the --device option that
// train, eval, predict and generate share (parse_device below).
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "backend/backend.h"
#include "cli.h"

namespace sn::cli {

namespace {

// max |A·B (on d) - A·B (reference)| / max |reference| for random float32 and float64
// operands; the CPU's own reference is a plain triple loop in float64.
double matmul_check(Device d, DType dt) {
  manual_seed(1234);
  const int64_t M = 64, K = 48, N = 40;
  Tensor a = randn({M, K}, {.dtype = dt}), b = randn({K, N}, {.dtype = dt});
  Tensor ref = zeros({M, N}, {.dtype = kFloat64});
  if (d.is_cpu()) {
    const std::vector<double> va = a.to_vector(), vb = b.to_vector();
    std::vector<double> vc(static_cast<size_t>(M * N), 0.0);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < N; ++j) vc[i * N + j] += va[i * K + k] * vb[k * N + j];
    ref = tensor(vc, {M, N}, {.dtype = kFloat64});
  } else {
    ref = matmul(a, b).to(kFloat64);
  }
  Tensor got = matmul(a.to(d), b.to(d)).to(kCPU).to(kFloat64);
  const double scale = std::max(1e-30, amax(abs(ref), {0, 1}).item());
  return amax(abs(sub(got, ref)), {0, 1}).item() / scale;
}

void add_devices(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "devices", "List the CPU and GPUs this build can use, each checked with a small matmul");
  cmd->callback([] {
    const std::vector<Device> devs = backend::available_devices();
    for (const Device& d : devs) {
      backend::Backend& b = backend::get(d, "devices");
      std::cout << d << "\n";
      for (const auto& [k, v] : b.properties(d))
        std::cout << "  " << std::left << std::setw(20) << (k + ":") << v << "\n";
      for (DType dt : {kFloat32, kFloat64}) {
        const double err = matmul_check(d, dt);
        const double tol = dt == kFloat32 ? 1e-4 : 1e-12;
        std::ostringstream e;
        e << std::setprecision(2) << err;
        std::cout << "  " << std::left << std::setw(20)
                  << (std::string("matmul ") + dtype_name(dt) + ":")
                  << (err <= tol ? "ok" : "MISMATCH") << " (64x48 by 48x40, max relative error "
                  << e.str() << (d.is_cpu() ? " against a plain loop" : " against the CPU")
                  << ")\n";
        SN_CHECK(err <= tol, Error, "devices: the ", dtype_name(dt), " matmul on ", d,
                 " differs from the CPU's (max relative error ", err, ")");
      }
    }
    backend::Backend* cuda = backend::find(DeviceType::CUDA);
    if (!cuda)
      std::cout << "cuda: not in this build (the CUDA backend is built with -DSN_CUDA=ON or AUTO "
                   "where CMake finds the CUDA toolkit; see README)\n";
    else if (cuda->device_count() == 0)
      std::cout << "cuda: no GPU: " << cuda->unavailable_reason() << "\n";
  });
}

}  // namespace

Device parse_device(const std::string& text, const char* option) {
  Device d;
  try {
    d = Device(text);
  } catch (const DeviceError& e) {
    SN_THROW(ValueError, option, ": ", e.what());
  }
  backend::get(d, option);  // DeviceError naming the device when this build or machine lacks it
  return d;
}

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "where the model runs: cpu, cuda or cuda:N (sinapsis devices lists them); an "
                  "op the device has no kernel for yet is an error naming it")
      ->capture_default_str();
}

Register reg_devices(85, add_devices);

}  // namespace sn::cli
