// The backend registry (one slot per device type), the mixed-device check, the default bodies
// of the Backend entry points (an error naming the op and the device) and the names of the
// elementwise op enums.
#include <array>
#include <atomic>

#include "backend/backend.h"

namespace sn::backend {

#ifdef SN_HAVE_CUDA
Backend* cuda_backend();  // src/backend/cuda/cuda_backend.cu
#endif

namespace {
std::array<Backend*, kNumDeviceTypes>& slots() {
  static std::array<Backend*, kNumDeviceTypes> s = [] {
    std::array<Backend*, kNumDeviceTypes> a{};
    a[static_cast<int>(DeviceType::CPU)] = &cpu();
#ifdef SN_HAVE_CUDA
    a[static_cast<int>(DeviceType::CUDA)] = cuda_backend();
#endif
    return a;
  }();
  return s;
}
const char* type_name(DeviceType t) { return t == DeviceType::CPU ? "cpu" : "cuda"; }
}  // namespace

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum",     "minimum",   "eq",
                                "ne",  "lt",  "le",  "gt",  "ge",  "logical_and", "logical_or"};
  return names[static_cast<int>(op)];
}
const char* unary_name(UnaryOp op) {
  static const char* names[] = {"exp",  "log",     "sqrt",      "rsqrt", "sin",
                                "cos",  "sigmoid", "tanh",      "relu",  "leaky_relu",
                                "elu",  "gelu",    "gelu_tanh", "silu",  "softplus",
                                "step", "clamp",   "neg",       "abs",   "square"};
  static_assert(std::size(names) == static_cast<size_t>(UnaryOp::kCount));
  return names[static_cast<int>(op)];
}

Backend* find(DeviceType type) { return slots()[static_cast<int>(type)]; }

Backend* register_backend(DeviceType type, Backend* b) {
  Backend*& slot = slots()[static_cast<int>(type)];
  Backend* prev = slot;
  slot = b;
  return prev;
}

Backend& get(Device d, const char* op) {
  Backend* b = slots()[static_cast<int>(d.type)];
  if (d.is_cpu()) [[likely]]
    return *b;
  SN_CHECK(b, DeviceError, op, ": no ", type_name(d.type), " backend in this build, so ", d,
           " cannot be used; hint: rebuild with -DSN_CUDA=ON (the CUDA toolkit must be found)");
  const int n = b->device_count();
  if (d.index < 0 || d.index >= n) {
    if (n == 0) SN_THROW(DeviceError, op, ": ", d, " is not available: ", b->unavailable_reason());
    SN_THROW(DeviceError, op, ": ", d, " does not exist (", n, " ", type_name(d.type), " device",
             n == 1 ? "" : "s", ": ", type_name(d.type), ":0 to ", type_name(d.type), ":", n - 1,
             ")");
  }
  return *b;
}

Device common_device(const char* op, std::initializer_list<const Tensor*> inputs) {
  const Tensor* first = nullptr;
  for (const Tensor* t : inputs) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (!(t->device() == first->device())) [[unlikely]] {
      SN_THROW(DeviceError, op, ": tensors on ", first->device(), " and ", t->device(),
               "; hint: move them to one device with .to(device)");
    }
  }
  return first ? first->device() : kCPU;
}

Device common_device(const char* op, const std::vector<Tensor>& inputs) {
  for (size_t i = 1; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[0].defined() && !(inputs[i].device() == inputs[0].device()))
      SN_THROW(DeviceError, op, ": tensors on ", inputs[0].device(), " and ", inputs[i].device(),
               "; hint: move them to one device with .to(device)");
  return inputs.empty() || !inputs[0].defined() ? kCPU : inputs[0].device();
}

Backend& for_inputs(const char* op, std::initializer_list<const Tensor*> inputs) {
  return get(common_device(op, inputs), op);
}

std::vector<Device> available_devices() {
  std::vector<Device> out{kCPU};
  for (int t = 1; t < kNumDeviceTypes; ++t)
    if (Backend* b = slots()[t])
      for (int i = 0; i < b->device_count(); ++i) out.emplace_back(static_cast<DeviceType>(t), i);
  return out;
}

// ---- defaults: the op is not implemented on this backend
void Backend::missing(const char* op, const Tensor& t) const {
  SN_THROW(DeviceError, op, ": not implemented on ", t.device(), " (the ", name(),
           " backend has no kernel for it yet; docs/backends.md lists what each backend has)");
}
void Backend::copy(const Tensor& dst, const Tensor&) { missing("copy", dst); }
void Backend::fill(const Tensor& dst, double) { missing("fill", dst); }
void Backend::binary(BinaryOp op, const Tensor& out, const Tensor&, const Tensor&, double) {
  missing(binary_name(op), out);
}
void Backend::scalar(ScalarOp op, const Tensor& out, const Tensor&, double) {
  static const char* names[] = {"add", "mul", "rsub", "rdiv", "pow", "pow"};
  missing(names[static_cast<int>(op)], out);
}
void Backend::where(const Tensor& out, const Tensor&, const Tensor&, const Tensor&) {
  missing("where", out);
}
void Backend::unary(UnaryOp op, const Tensor& out, const Tensor&, double, double) {
  missing(unary_name(op), out);
}
void Backend::unary_backward(UnaryOp op, const Tensor& gx, const Tensor&, const Tensor&,
                             const Tensor&, double, double) {
  missing(unary_name(op), gx);
}
void Backend::sum(const Tensor& out, const Tensor&, const std::vector<bool>&) {
  missing("sum", out);
}
void Backend::softmax(const Tensor& out, const Tensor&, int, bool log) {
  missing(log ? "log_softmax" : "softmax", out);
}
void Backend::gemm(const Tensor&, const Tensor&, const Tensor& C, double, double) {
  missing("matmul", C);
}

}  // namespace sn::backend

namespace sn {
namespace {
std::atomic<bool> g_allow_tf32{false};
}
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }
std::vector<Device> devices() { return backend::available_devices(); }
void synchronize(Device d) {
  if (!d.is_cpu()) backend::get(d, "synchronize").synchronize(d);
}
}  // namespace sn
