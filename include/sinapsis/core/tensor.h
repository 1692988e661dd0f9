// Tensor: a value handle over a shared TensorImpl (storage + shape + strides + offset + dtype,
// with optional autograd metadata). Views share storage; contiguous()/clone() copy.
// The math lives in free functions (sinapsis/ops/ops.h); methods here are metadata, views,
// element access, autograd entry points and thin forwards to the common ops.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/device.h"
#include "sinapsis/core/dtype.h"
#include "sinapsis/core/error.h"
#include "sinapsis/core/shape.h"

namespace sn {

class Node;
struct AutogradMeta;

// 64-byte aligned, reference-counted buffer on a device (allocated by that device's backend).
// `version` counts in-place writes so autograd can detect a saved tensor that was modified after
// it was saved.
class Storage {
 public:
  explicit Storage(size_t nbytes, Device device = kCPU);
  // Memory owned by someone else, kept alive by `owner` (e.g. a CPU view of a host-accessible
  // device buffer); freed by nobody here.
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint32_t version = 0;

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::shared_ptr<void> owner_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  int64_t numel = 0;
  DType dtype = kFloat32;
  bool contiguous = true;
  std::unique_ptr<AutogradMeta> autograd;
  TensorImpl();
  ~TensorImpl();
  // The first element's address on the storage's device (backends use it; CPU code reads
  // through host_data()).
  void* data() const { return static_cast<char*>(storage->data()) + offset * itemsize(dtype); }
  // data(), or DeviceError when the memory is on a device CPU code cannot read: the catch-all
  // for a kernel that has no implementation on that device yet.
  void* host_data() const {
    if (!storage->device().is_cpu()) [[unlikely]]
      throw_not_host();
    return data();
  }
  [[noreturn]] void throw_not_host() const;
  void refresh();  // recompute numel and contiguous from shape/strides
};

struct TensorOptions {
  DType dtype = kFloat32;
  bool requires_grad = false;
  Device device = kCPU;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // --- metadata ---
  const Shape& shape() const { return checked()->shape; }
  const Shape& sizes() const { return checked()->shape; }
  int64_t size(int64_t dim) const;
  int dim() const { return checked()->shape.size(); }
  int64_t numel() const { return checked()->numel; }
  const Shape& strides() const { return checked()->strides; }
  int64_t stride(int64_t dim) const;
  int64_t offset() const { return checked()->offset; }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage->device(); }
  bool is_floating_point() const { return sn::is_floating(dtype()); }
  bool is_contiguous() const { return checked()->contiguous; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * itemsize(dtype()); }
  bool shares_storage(const Tensor& o) const { return checked()->storage == o.checked()->storage; }

  // --- raw data (pointer to the first element; checks the dtype) ---
  template <typename T>
  T* data_ptr() const;
  // Host pointers: DeviceError for a tensor on a device CPU code cannot read (backends use
  // impl()->data()).
  void* raw_data() const { return checked()->host_data(); }

  // --- element access ---
  double item() const;  // 0-d or one-element tensor
  template <typename T>
  T item() const {
    return static_cast<T>(item());
  }
  double at(std::initializer_list<int64_t> index) const;  // one element, as double
  void set(std::initializer_list<int64_t> index, double value);
  Tensor operator[](int64_t i) const { return select(0, i); }
  std::vector<double> to_vector() const;  // all elements in row-major order
  template <typename T>
  std::vector<T> to_vector_as() const;

  // --- views (share storage; differentiable) ---
  Tensor view(const Shape& shape) const;     // needs compatible strides; -1 infers one dim
  Tensor reshape(const Shape& shape) const;  // view when possible, else copy
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // 2-D transpose (0-d/1-d unchanged)
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a size
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  // A copy on `device` (this tensor itself when it is there already); differentiable.
  Tensor to(Device device) const;
  Tensor to(const char* device) const { return to(Device(device)); }
  Tensor detach() const;  // shares storage, no history

  // --- autograd ---
  bool requires_grad() const;
  Tensor& requires_grad_(bool value = true);
  Tensor grad() const;  // undefined until backward reaches this tensor
  void set_grad(const Tensor& g);
  Tensor& grad_ref();  // the stored gradient slot (for optimizers)
  const std::shared_ptr<Node>& grad_fn() const;
  uint32_t output_nr() const;
  bool is_leaf() const;
  void retain_grad();
  bool retains_grad() const;
  void zero_grad(bool set_to_none = true);
  // Backpropagates from this tensor. A non-scalar needs `gradient` of the same shape.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor& set_name(std::string name);  // shown by printing and the graph viewer
  std::string name() const;

  // --- in-place (not recorded by autograd; error if recording would need them) ---
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // broadcasts src
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other) { return add_(other, -1.0); }
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double s);
  Tensor& div_(const Tensor& other);
  Tensor& add_(double s);
  Tensor& clamp_(double lo, double hi);
  Tensor& uniform_(double lo = 0.0, double hi = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  void bump_version() const;
  uint32_t version() const;

  // --- common ops as methods (same as the free functions) ---
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor pow(double e) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  std::string str() const;  // PyTorch-style printing

 private:
  // The impl, or a ValueError for an undefined (default-constructed) tensor: bad input must
  // throw, never dereference null.
  TensorImpl* checked() const {
    if (!impl_) [[unlikely]]
      throw_undefined();
    return impl_.get();
  }
  [[noreturn]] static void throw_undefined();
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  std::weak_ptr<Node> grad_accumulator;
  uint32_t output_nr = 0;
  std::string name;
};

// C++ type <-> DType.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return kFloat32;
}
template <>
constexpr DType dtype_of<double>() {
  return kFloat64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return kInt64;
}
template <>
constexpr DType dtype_of<bool>() {
  return kBool;
}

template <typename T>
T* Tensor::data_ptr() const {
  SN_CHECK(impl_, ValueError, "data_ptr: tensor is undefined");
  SN_CHECK(dtype() == dtype_of<T>(), DTypeError, "data_ptr: tensor has dtype ", dtype(),
           ", asked for ", dtype_of<T>());
  return static_cast<T*>(impl_->host_data());
}

template <typename T>
std::vector<T> Tensor::to_vector_as() const {
  Tensor c = to(kCPU).to(dtype_of<T>()).contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

// ---------------------------------------------------------------------------------------------
// Factories. Default dtype float32.
Tensor empty(const Shape& shape, TensorOptions opts = {});
Tensor zeros(const Shape& shape, TensorOptions opts = {});
Tensor ones(const Shape& shape, TensorOptions opts = {});
Tensor full(const Shape& shape, double value, TensorOptions opts = {});
Tensor tensor(double value, TensorOptions opts = {});                          // 0-d
Tensor tensor(std::initializer_list<double> values, TensorOptions opts = {});  // 1-d
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts = {});
Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions opts = {});
Tensor tensor(const std::vector<float>& values, const Shape& shape, TensorOptions opts = {});
Tensor tensor(const std::vector<int64_t>& values, const Shape& shape,
              TensorOptions opts = {.dtype = kInt64});
Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype);
Tensor arange(double end, TensorOptions opts = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions opts = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions opts = {});
Tensor eye(int64_t n, int64_t m = -1, TensorOptions opts = {});
Tensor rand(const Shape& shape, TensorOptions opts = {});   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opts = {});  // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape,
               TensorOptions opts = {.dtype = kInt64});
Tensor randperm(int64_t n);
Tensor empty_like(const Tensor& t, TensorOptions opts);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor zeros_like(const Tensor& t, TensorOptions opts);
Tensor ones_like(const Tensor& t);
Tensor ones_like(const Tensor& t, TensorOptions opts);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);

// ---------------------------------------------------------------------------------------------
// Random numbers: one global generator, seeded by manual_seed.
void manual_seed(uint64_t seed);
std::string rng_state();  // opaque text, for checkpoints
void set_rng_state(const std::string& state);
uint64_t random_u64();    // next raw value of the global generator
double random_uniform();  // U[0, 1)
double random_normal();   // N(0, 1)

// Threads: one knob for every pool (OpenMP and BLAS). Default = number of cores.
// get_num_threads() is what ops started on the calling thread may use: the global value, capped
// by any ThreadLimitGuard alive on this thread.
void set_num_threads(int n);
int get_num_threads();

// Caps the threads used by ops that the calling thread runs, while the guard lives (nests; the
// tightest cap wins). The DataLoader's prefetch thread runs its transforms under a cap of 1, so
// it never starts a second OpenMP team beside the training loop's.
class ThreadLimitGuard {
 public:
  explicit ThreadLimitGuard(int max_threads);
  ~ThreadLimitGuard();
  ThreadLimitGuard(const ThreadLimitGuard&) = delete;
  ThreadLimitGuard& operator=(const ThreadLimitGuard&) = delete;

 private:
  int prev_;
};

}  // namespace sn
