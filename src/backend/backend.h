// The kernel seam: the interface every device's kernels sit behind, and the registry that picks
// a backend by a tensor's device. Ops, losses and optimizers hold the math and the graph; what
// touches memory goes through a Backend chosen once per op call (one virtual call per op, never
// per element). src/backend/cpu/ implements it with the CPU kernels, src/backend/cuda/ (CMake
// option SN_CUDA) with CUDA. What still bypasses the seam is listed in docs/backends.md.
//
// Calling convention: operands are tensors already on the backend's device, of the final dtype
// and already expanded (stride 0) to the output's shape; outputs are allocated by the caller
// (detail::make_tensor(shape, dtype, device)). An entry point a backend does not implement
// throws DeviceError naming the op and the device: never a silent fallback to the CPU.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "sinapsis/core/device.h"
#include "sinapsis/core/tensor.h"

namespace sn::backend {

// Same order as the ops' own enum in ops/elementwise.cpp (it casts between them).
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge, And, Or };
const char* binary_name(BinaryOp op);

// Float unary maps (forward y = f(x; p0, p1) and backward dx = f'(g, x, y; p0, p1)).
enum class UnaryOp {
  Exp,
  Log,
  Sqrt,
  Rsqrt,
  Sin,
  Cos,
  Sigmoid,
  Tanh,
  Relu,
  LeakyRelu,  // p0 = negative slope
  Elu,        // p0 = alpha
  Gelu,
  GeluTanh,
  Silu,
  Softplus,  // p0 = beta, p1 = threshold
  Step,
  Clamp,  // p0 = lo, p1 = hi
  Neg,
  Abs,
  Square,
  kCount
};
const char* unary_name(UnaryOp op);

// Tensor-with-scalar maps: add (x + s), mul (x·s), rsub (s - x), rdiv (s / x), pow (x^s),
// rpow (s^x).
enum class ScalarOp { Add, Mul, RSub, RDiv, Pow, RPow };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceType type() const = 0;
  virtual const char* name() const = 0;  // "cpu", "cuda"

  // ---- devices and memory
  // How many devices of this type can be used now (0 when none; why in unavailable_reason()).
  virtual int device_count() const = 0;
  virtual std::string unavailable_reason() const { return ""; }
  // What `sinapsis devices` prints about a device: (name, value) pairs.
  virtual std::vector<std::pair<std::string, std::string>> properties(Device) const { return {}; }
  virtual void* alloc(size_t nbytes, Device d) = 0;
  virtual void free(void* p, size_t nbytes, Device d) = 0;
  // nbytes between host memory and this device (contiguous bytes; blocks until done).
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes, Device d) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes, Device d) = 0;
  virtual void synchronize(Device) {}

  // ---- copies: dst[...] = src[...] (src expanded to dst's shape; converted to dst's dtype)
  virtual void copy(const Tensor& dst, const Tensor& src);
  virtual void fill(const Tensor& dst, double value);

  // ---- elementwise (a, b, in: dtype `dt`, expanded to out's shape; comparisons write bool)
  virtual void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
                      double alpha);
  virtual void scalar(ScalarOp op, const Tensor& out, const Tensor& in, double s);
  // out = cond ? a : b (cond bool; a, b of out's dtype)
  virtual void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
  virtual void unary(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1);
  // gx = dy/dx · g for the unary op (x, y: its saved input and output; unused ones may be g)
  virtual void unary_backward(UnaryOp op, const Tensor& gx, const Tensor& g, const Tensor& x,
                              const Tensor& y, double p0, double p1);

  // ---- reductions
  // out (contiguous, a's shape without the reduced dims) = the sum of a over the dims where
  // `reduce` is true; float dtypes sum to themselves, integers and bool to int64.
  virtual void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce);
  // softmax (log-softmax with `log`) of a float tensor along `dim` into out (a's shape).
  virtual void softmax(const Tensor& out, const Tensor& a, int dim, bool log);

  // ---- linear algebra: C = alpha·A·B + beta·C; A [M, K] and B [K, N] are 2-D views
  // (row-major or transposed), C a contiguous [M, N] tensor. beta = 0 ignores C's contents.
  virtual void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta);
  // C = A·B + bias (bias [N] added to every row) in one pass when the backend can fuse it;
  // false, doing nothing, when it cannot (the caller then copies the bias into C and calls gemm
  // with beta = 1).
  virtual bool gemm_bias(const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
    return false;
  }

 protected:
  [[noreturn]] void missing(const char* op, const Tensor& t) const;
};

// The backend for a device type, or nullptr when this build has none.
Backend* find(DeviceType type);
// The backend for `d`; DeviceError naming `op` when this build has none, or when `d` is not a
// usable device (no GPU, index out of range).
Backend& get(Device d, const char* op);
// Installs `b` for its device type (tests install fakes); returns the previous one.
Backend* register_backend(DeviceType type, Backend* b);
// The CPU backend (always present).
Backend& cpu();

// The device of all `inputs` (undefined tensors are skipped; none defined: the CPU);
// DeviceError "<op>: tensors on cpu and cuda:0" when two differ. This is the one place the
// mixed-device check lives.
Device common_device(const char* op, std::initializer_list<const Tensor*> inputs);
Device common_device(const char* op, const std::vector<Tensor>& inputs);
// get(common_device(op, inputs), op): the backend an op call runs on.
Backend& for_inputs(const char* op, std::initializer_list<const Tensor*> inputs);

// Every device present: the CPU first, then each usable device of the other backends.
std::vector<Device> available_devices();

}  // namespace sn::backend
