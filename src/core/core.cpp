// Shape, dtype table, devices, errors, storage, tensor metadata, factories, RNG and the thread
// knob. Views and math live in src/ops, printing in print.cpp; memory and copies on a device go
// through its backend (src/backend/backend.h).
#include <omp.h>

#include <cblas.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <ostream>
#include <random>
#include <sstream>

#include "backend/backend.h"
#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"

extern "C" void openblas_set_num_threads(int);

namespace sn {

// ---------------------------------------------------------------- errors
namespace detail {
void assert_fail(const char* cond, const char* file, int line, const std::string& msg) {
  throw Error(concat("internal error: ", cond, " failed at ", file, ":", line,
                     msg.empty() ? "" : " (", msg, msg.empty() ? "" : ")",
                     "; this is a bug in sinapsis"));
}
}  // namespace detail

// ---------------------------------------------------------------- dtype
const DTypeInfo kDTypeTable[kNumDTypes] = {
    {DType::Bool, "bool", "BOOL", 1, false},
    {DType::Int64, "int64", "I64", 8, false},
    {DType::Float32, "float32", "F32", 4, true},
    {DType::Float64, "float64", "F64", 8, true},
};
static_assert(sizeof(kDTypeTable) / sizeof(kDTypeTable[0]) == kNumDTypes);

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

// ---------------------------------------------------------------- device
Device::Device(std::string_view text) {
  auto bad = [&](const char* why) {
    SN_THROW(DeviceError, "device: '", text, "' is not a device (", why,
             "); expected cpu, cuda or cuda:N");
  };
  if (text == "cpu") return;
  if (text.substr(0, 4) != "cuda") bad("unknown type");
  type = DeviceType::CUDA;
  if (text.size() == 4) return;
  if (text[4] != ':' || text.size() == 5 || text.size() > 9) bad("bad index");
  int i = 0;
  for (char c : text.substr(5)) {
    if (c < '0' || c > '9') bad("bad index");
    i = i * 10 + (c - '0');
  }
  index = i;
}
std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}
std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

// ---------------------------------------------------------------- shape
Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}
Shape::Shape(const std::vector<int64_t>& dims) {
  for (int64_t d : dims) push_back(d);
}
void Shape::push_back(int64_t v) {
  SN_CHECK(n_ < kMaxDims, ShapeError, "shape: at most ", kMaxDims, " dimensions are supported");
  d_[n_++] = v;
}
void Shape::insert(int pos, int64_t v) {
  SN_CHECK(n_ < kMaxDims, ShapeError, "shape: at most ", kMaxDims, " dimensions are supported");
  for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
  d_[pos] = v;
  ++n_;
}
void Shape::erase(int pos) {
  for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
  --n_;
}
void Shape::resize(int n, int64_t fill) {
  SN_CHECK(n <= kMaxDims, ShapeError, "shape: at most ", kMaxDims, " dimensions are supported");
  for (int i = n_; i < n; ++i) d_[i] = fill;
  n_ = n;
}
int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < n_; ++i)
    SN_CHECK(!__builtin_mul_overflow(n, d_[i], &n), ShapeError, "shape: ", *this,
             " has too many elements (more than 2^63)");
  return n;
}
std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}
bool operator==(const Shape& a, const Shape& b) {
  if (a.n_ != b.n_) return false;
  for (int i = 0; i < a.n_; ++i)
    if (a.d_[i] != b.d_[i]) return false;
  return true;
}
std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '[';
  for (int i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  return os << ']';
}
Shape contiguous_strides(const Shape& shape) {
  Shape st;
  st.resize(shape.size());
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const int n = std::max(a.size(), b.size());
  Shape out;
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    const int ia = i - (n - a.size()), ib = i - (n - b.size());
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    SN_CHECK(da == db || da == 1 || db == 1, ShapeError, op, ": shapes ", a, " and ", b,
             " cannot be broadcast (", da, " vs ", db, " at dim ", i, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}
int wrap_dim(int64_t dim, int ndim, const char* op) {
  const int n = std::max(ndim, 1);
  SN_CHECK(dim >= -n && dim < n, IndexError, op, ": dim ", dim, " is out of range for a ", ndim,
           "-d tensor (expected -", n, " <= dim < ", n, ")");
  return static_cast<int>(dim < 0 ? dim + n : dim);
}

// ---------------------------------------------------------------- storage
// CPU buffers come from the caching allocator (allocator.cpp): steady-state training reuses
// them. Other devices allocate through their backend (which may cache too).
Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = device.is_cpu() ? detail::alloc_buffer(nbytes)
                          : backend::get(device, "tensor").alloc(nbytes, device);
}
Storage::Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}
Storage::~Storage() {
  if (owner_) return;
  if (device_.is_cpu())
    detail::free_buffer(data_, nbytes_);
  else if (backend::Backend* b = backend::find(device_.type))
    b->free(data_, nbytes_, device_);
}

void TensorImpl::throw_not_host() const {
  SN_THROW(DeviceError, "cpu kernel: a tensor on ", storage->device(), " (shape ", shape,
           ") reached code that runs on the CPU; hint: this op has no ", storage->device(),
           " kernel yet (docs/backends.md lists them): move its inputs with .to(sn::kCPU)");
}

TensorImpl::TensorImpl() = default;
TensorImpl::~TensorImpl() = default;
void TensorImpl::refresh() {
  numel = shape.numel();
  contiguous = true;
  int64_t expected = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expected) {
      contiguous = false;
      break;
    }
    expected *= shape[i];
  }
}

namespace detail {
Tensor make_tensor(const Shape& shape, DType dtype, Device device) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    SN_CHECK(d >= 0, ShapeError, "tensor: negative dimension in shape ", shape);
    SN_CHECK(
        !__builtin_mul_overflow(numel, d, &numel) && numel <= static_cast<int64_t>(SIZE_MAX / 8),
        ShapeError, "tensor: shape ", shape, " has too many elements");
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->numel = numel;  // counted (and checked) above
  impl->dtype = dtype;
  impl->contiguous = true;
  impl->storage =
      std::make_shared<Storage>(static_cast<size_t>(impl->numel) * itemsize(dtype), device);
  return Tensor(std::move(impl));
}
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->refresh();
  return Tensor(std::move(impl));
}
Tensor expand_raw(const Tensor& base, const Shape& shape) {
  if (base.shape() == shape) return base;
  const Shape& bs = base.shape();
  SN_ASSERT(bs.size() <= shape.size(), bs.str(), " vs ", shape.str());
  Shape st;
  st.resize(shape.size());
  const int lead = shape.size() - bs.size();
  for (int i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      st[i] = 0;
    } else {
      const int64_t d = bs[i - lead];
      SN_ASSERT(d == shape[i] || d == 1, bs.str(), " vs ", shape.str());
      st[i] = (d == shape[i]) ? base.strides()[i - lead] : 0;
    }
  }
  return make_view(base, shape, st, base.offset());
}
}  // namespace detail

// ---------------------------------------------------------------- tensor metadata
void Tensor::throw_undefined() {
  SN_THROW(ValueError,
           "tensor: the tensor is undefined (default-constructed); hint: assign it "
           "the result of a factory or an op first");
}
int64_t Tensor::size(int64_t dim) const {
  SN_CHECK(this->dim() > 0, IndexError, "size: a 0-d tensor has no dim ", dim);
  return shape()[wrap_dim(dim, this->dim(), "size")];
}
int64_t Tensor::stride(int64_t dim) const {
  SN_CHECK(this->dim() > 0, IndexError, "stride: a 0-d tensor has no dim ", dim);
  return strides()[wrap_dim(dim, this->dim(), "stride")];
}
void Tensor::bump_version() const { ++checked()->storage->version; }
uint32_t Tensor::version() const { return checked()->storage->version; }

double Tensor::item() const {
  SN_CHECK(defined(), ValueError, "item: tensor is undefined");
  SN_CHECK(numel() == 1, ValueError,
           "item: only a one-element tensor can be converted to a number (shape ", shape(), ", ",
           numel(), " elements)");
  if (!device().is_cpu()) return to(kCPU).item();
  double v = 0;
  SN_DISPATCH_ALL(dtype(), "item",
                  [&] { v = static_cast<double>(*static_cast<scalar_t*>(raw_data())); });
  return v;
}

static int64_t element_offset(const Tensor& t, std::initializer_list<int64_t> index,
                              const char* op) {
  SN_CHECK(static_cast<int>(index.size()) == t.dim(), IndexError, op, ": got ", index.size(),
           " indices for a ", t.dim(), "-d tensor of shape ", t.shape());
  int64_t off = 0;
  int d = 0;
  for (int64_t i : index) {
    const int64_t n = t.shape()[d];
    SN_CHECK(i >= -n && i < n, IndexError, op, ": index ", i, " is out of range for dim ", d,
             " of size ", n, " (shape ", t.shape(), ")");
    off += (i < 0 ? i + n : i) * t.strides()[d];
    ++d;
  }
  return off;
}
double Tensor::at(std::initializer_list<int64_t> index) const {
  const int64_t off = element_offset(*this, index, "at");
  if (!device().is_cpu()) return detail::make_view(*this, Shape{}, Shape{}, offset() + off).item();
  double v = 0;
  SN_DISPATCH_ALL(dtype(), "at",
                  [&] { v = static_cast<double>(static_cast<scalar_t*>(raw_data())[off]); });
  return v;
}
void Tensor::set(std::initializer_list<int64_t> index, double value) {
  const int64_t off = element_offset(*this, index, "set");
  detail::check_inplace(*this, "set");
  SN_DISPATCH_ALL(dtype(), "set",
                  [&] { static_cast<scalar_t*>(raw_data())[off] = static_cast<scalar_t>(value); });
  bump_version();
}
std::vector<double> Tensor::to_vector() const { return to_vector_as<double>(); }

// ---------------------------------------------------------------- autograd metadata
static AutogradMeta& meta(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl->autograd) impl->autograd = std::make_unique<AutogradMeta>();
  return *impl->autograd;
}
bool Tensor::requires_grad() const {
  return impl_ && impl_->autograd && (impl_->autograd->requires_grad || impl_->autograd->grad_fn);
}
Tensor& Tensor::requires_grad_(bool value) {
  SN_CHECK(defined(), ValueError, "requires_grad_: tensor is undefined");
  SN_CHECK(!value || is_floating_point(), DTypeError,
           "requires_grad_: only floating-point tensors can require gradients (dtype ", dtype(),
           ")");
  SN_CHECK(is_leaf(), AutogradError,
           "requires_grad_: can only change requires_grad of a leaf tensor; hint: use detach()");
  meta(impl_).requires_grad = value;
  return *this;
}
Tensor Tensor::grad() const { return impl_ && impl_->autograd ? impl_->autograd->grad : Tensor(); }
void Tensor::set_grad(const Tensor& g) {
  checked();
  if (g.defined())
    SN_CHECK(g.shape() == shape(), ShapeError, "set_grad: gradient shape ", g.shape(),
             " does not match tensor shape ", shape());
  meta(impl_).grad = g;
}
Tensor& Tensor::grad_ref() {
  checked();
  return meta(impl_).grad;
}
const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return impl_ && impl_->autograd ? impl_->autograd->grad_fn : none;
}
uint32_t Tensor::output_nr() const {
  return impl_ && impl_->autograd ? impl_->autograd->output_nr : 0;
}
bool Tensor::is_leaf() const { return !grad_fn(); }
void Tensor::retain_grad() {
  SN_CHECK(requires_grad(), AutogradError, "retain_grad: tensor does not require grad (shape ",
           shape(), ")");
  if (is_leaf()) return;
  auto& m = meta(impl_);
  if (m.retains_grad) return;
  m.retains_grad = true;
  m.grad_fn->retained.emplace_back(m.output_nr, impl_);
}
bool Tensor::retains_grad() const {
  return impl_ && impl_->autograd && impl_->autograd->retains_grad;
}
void Tensor::zero_grad(bool set_to_none) {
  if (!impl_ || !impl_->autograd || !impl_->autograd->grad.defined()) return;
  if (set_to_none)
    impl_->autograd->grad = Tensor();
  else
    detail::fill_raw(impl_->autograd->grad, 0.0);
}
void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph);
}
Tensor& Tensor::set_name(std::string name) {
  checked();
  meta(impl_).name = std::move(name);
  return *this;
}
std::string Tensor::name() const { return impl_ && impl_->autograd ? impl_->autograd->name : ""; }

// ---------------------------------------------------------------- factories
// Values made on the CPU (from C++ values, ranges, the random generator: the same numbers on
// every device) move to opts.device here; requires_grad is set on the final tensor.
static Tensor finish(Tensor t, const TensorOptions& opts) {
  if (!opts.device.is_cpu()) t = t.to(opts.device);
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}
Tensor empty(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype, opts.device);
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}
Tensor full(const Shape& shape, double value, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype, opts.device);
  detail::fill_raw(t, value);
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype, opts.device);
  if (opts.device.is_cpu())
    std::memset(t.raw_data(), 0, t.nbytes());
  else
    detail::fill_raw(t, 0.0);
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}
Tensor ones(const Shape& shape, TensorOptions opts) { return full(shape, 1.0, opts); }
Tensor tensor(double value, TensorOptions opts) { return full(Shape{}, value, opts); }

template <typename Src>
static Tensor from_values(const Src* values, size_t n, const Shape& shape, TensorOptions opts,
                          const char* op) {
  SN_CHECK(static_cast<int64_t>(n) == shape.numel(), ShapeError, op, ": ", n,
           " values cannot fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = detail::make_tensor(shape, opts.dtype);
  SN_DISPATCH_ALL(opts.dtype, op, [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(values[i]);
  });
  return finish(t, opts);
}
Tensor tensor(std::initializer_list<double> values, TensorOptions opts) {
  return from_values(values.begin(), values.size(), Shape{static_cast<int64_t>(values.size())},
                     opts, "tensor");
}
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts) {
  std::vector<double> flat;
  const int64_t cols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (auto& r : rows) {
    SN_CHECK(static_cast<int64_t>(r.size()) == cols, ShapeError,
             "tensor: rows have different lengths (", cols, " and ", r.size(), ")");
    flat.insert(flat.end(), r.begin(), r.end());
  }
  return from_values(flat.data(), flat.size(), Shape{static_cast<int64_t>(rows.size()), cols}, opts,
                     "tensor");
}
Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions opts) {
  return from_values(values.data(), values.size(), shape, opts, "tensor");
}
Tensor tensor(const std::vector<float>& values, const Shape& shape, TensorOptions opts) {
  return from_values(values.data(), values.size(), shape, opts, "tensor");
}
Tensor tensor(const std::vector<int64_t>& values, const Shape& shape, TensorOptions opts) {
  return from_values(values.data(), values.size(), shape, opts, "tensor");
}
Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype) {
  Tensor t = detail::make_tensor(shape, dtype);
  if (t.nbytes()) std::memcpy(t.raw_data(), data, t.nbytes());
  return t;
}
Tensor arange(double end, TensorOptions opts) { return arange(0, end, 1, opts); }
Tensor arange(double start, double end, double step, TensorOptions opts) {
  SN_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), ValueError,
           "arange: start, end and step must be finite (got ", start, ", ", end, ", ", step, ")");
  SN_CHECK(step != 0, ValueError, "arange: step must be nonzero");
  SN_CHECK((end - start) / step >= 0 || start == end, ValueError, "arange: range [", start, ", ",
           end, ") with step ", step, " is empty in the wrong direction");
  const double count = std::ceil((end - start) / step);
  SN_CHECK(count < 0x1p62, ValueError, "arange: range [", start, ", ", end, ") with step ", step,
           " has too many elements (", count, ")");
  const int64_t n = static_cast<int64_t>(count);
  Tensor t = detail::make_tensor(Shape{std::max<int64_t>(n, 0)}, opts.dtype);
  SN_DISPATCH_NUMERIC(opts.dtype, "arange", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(start + i * step);
  });
  return finish(t, opts);
}
Tensor linspace(double start, double end, int64_t steps, TensorOptions opts) {
  SN_CHECK(steps >= 0, ValueError, "linspace: steps must be non-negative (got ", steps, ")");
  Tensor t = detail::make_tensor(Shape{steps}, opts.dtype);
  SN_DISPATCH_NUMERIC(opts.dtype, "linspace", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    const double h = steps > 1 ? (end - start) / (steps - 1) : 0.0;
    for (int64_t i = 0; i < steps; ++i)
      // the first half counts up from start, the second down from end (as PyTorch), so
      // both ends are exact; a single step is start
      p[i] = static_cast<scalar_t>(i < steps / 2 || steps == 1 ? start + i * h
                                                               : end - (steps - 1 - i) * h);
  });
  return finish(t, opts);
}
Tensor eye(int64_t n, int64_t m, TensorOptions opts) {
  if (m < 0) m = n;
  Tensor t = zeros(Shape{n, m}, {.dtype = opts.dtype});
  SN_DISPATCH_ALL(opts.dtype, "eye", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = static_cast<scalar_t>(1);
  });
  return finish(t, opts);
}
Tensor rand(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype);
  SN_DISPATCH_FLOAT(opts.dtype, "rand", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<scalar_t>(random_uniform());
  });
  return finish(t, opts);
}
Tensor randn(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype);
  SN_DISPATCH_FLOAT(opts.dtype, "randn", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<scalar_t>(random_normal());
  });
  return finish(t, opts);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts) {
  SN_CHECK(high > low, ValueError, "randint: empty range [", low, ", ", high, ")");
  Tensor t = detail::make_tensor(shape, opts.dtype);
  const uint64_t span = static_cast<uint64_t>(high - low);
  SN_DISPATCH_NUMERIC(opts.dtype, "randint", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<scalar_t>(low + static_cast<int64_t>(random_u64() % span));
  });
  return finish(t, {.dtype = opts.dtype, .device = opts.device});
}
Tensor randperm(int64_t n) {
  Tensor t = arange(0, static_cast<double>(n), 1, {.dtype = kInt64});
  int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(p[i], p[random_u64() % static_cast<uint64_t>(i + 1)]);
  return t;
}
Tensor empty_like(const Tensor& t, TensorOptions opts) { return empty(t.shape(), opts); }
// The *_like factories without options keep t's dtype and device.
static TensorOptions like(const Tensor& t) { return {.dtype = t.dtype(), .device = t.device()}; }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), like(t)); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), like(t)); }
Tensor zeros_like(const Tensor& t, TensorOptions opts) { return zeros(t.shape(), opts); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), like(t)); }
Tensor ones_like(const Tensor& t, TensorOptions opts) { return ones(t.shape(), opts); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, like(t)); }
Tensor rand_like(const Tensor& t) { return rand(t.shape(), like(t)); }
Tensor randn_like(const Tensor& t) { return randn(t.shape(), like(t)); }

// ---------------------------------------------------------------- RNG
// mt19937_64 gives the same stream on every platform; the transforms below are ours (not
// std::*_distribution, whose output differs between standard libraries).
static std::mt19937_64& generator() {
  static std::mt19937_64 g(0);
  return g;
}
static bool g_have_spare = false;
static double g_spare = 0.0;
void manual_seed(uint64_t seed) {
  generator().seed(seed);
  g_have_spare = false;
}
uint64_t random_u64() { return generator()(); }
double random_uniform() { return static_cast<double>(generator()() >> 11) * 0x1.0p-53; }
double random_normal() {
  if (g_have_spare) {
    g_have_spare = false;
    return g_spare;
  }
  double u1 = random_uniform(), u2 = random_uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  const double r = std::sqrt(-2.0 * std::log(u1)), th = 2.0 * M_PI * u2;
  g_spare = r * std::sin(th);
  g_have_spare = true;
  return r * std::cos(th);
}
std::string rng_state() {
  std::ostringstream os;
  os << generator() << ' ' << g_have_spare << ' ';
  os.precision(17);
  os << g_spare;
  return os.str();
}
void set_rng_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 g;
  bool have = false;
  double spare = 0;
  is >> g >> have >> spare;
  SN_CHECK(!is.fail(), ValueError, "set_rng_state: the state text is not valid");
  generator() = g;
  g_have_spare = have;
  g_spare = spare;
}

// ---------------------------------------------------------------- threads
static int g_num_threads = 0;
static thread_local int t_thread_limit = 0;  // 0 = no cap on this thread
int get_num_threads() {
  if (g_num_threads == 0) g_num_threads = std::max(1, omp_get_num_procs());
  return t_thread_limit > 0 ? std::min(g_num_threads, t_thread_limit) : g_num_threads;
}
ThreadLimitGuard::ThreadLimitGuard(int max_threads) : prev_(t_thread_limit) {
  SN_CHECK(max_threads >= 1, ValueError, "ThreadLimitGuard: need at least 1 thread (got ",
           max_threads, ")");
  t_thread_limit = prev_ > 0 ? std::min(prev_, max_threads) : max_threads;
}
ThreadLimitGuard::~ThreadLimitGuard() { t_thread_limit = prev_; }
void set_num_threads(int n) {
  SN_CHECK(n >= 1, ValueError, "set_num_threads: need at least 1 thread (got ", n, ")");
  g_num_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}
namespace cpu {
int num_threads() { return get_num_threads(); }
}  // namespace cpu

}  // namespace sn
