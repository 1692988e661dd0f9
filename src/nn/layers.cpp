// The small layers: Flatten, Unflatten, Dropout, Embedding, LayerNorm. Each forwards to existing
// differentiable ops (their Backward nodes come from those ops; LayerNorm's is the fused
// layer_norm); what the module adds is the boundary check that names the layer. Linear has its
// own file.
#include <cmath>
#include <sstream>

#include "core/dispatch.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {
std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  // PyTorch prints floats with a dot: 1 -> 1.0
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

// ============================================================== Flatten
Tensor Flatten::forward(const Tensor& x) {
  try {
    return x.flatten(start_dim_, end_dim_);
  } catch (const IndexError& e) {
    SN_THROW(IndexError, label(), ": cannot flatten dims ", start_dim_, "..", end_dim_,
             " of an input of shape ", x.shape(), " (", e.what(), ")");
  }
}
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

// ============================================================== Unflatten
Tensor Unflatten::forward(const Tensor& x) {
  const int64_t nd = x.dim(), d = dim_ < 0 ? dim_ + nd : dim_;
  SN_CHECK(d >= 0 && d < nd, IndexError, label(), ": dim ", dim_, " is out of range for an input",
           " of shape ", x.shape());
  int64_t known = 1, infer = 0;
  for (int64_t s : sizes_) {
    SN_CHECK(s > 0 || s == -1, ValueError, label(), ": sizes must be positive or -1 (got ",
             Shape(sizes_), ")");
    if (s == -1)
      ++infer;
    else
      known *= s;
  }
  const int64_t n = x.shape()[d];
  SN_CHECK(infer <= 1 && (infer ? known > 0 && n % known == 0 : known == n), ShapeError, label(),
           ": cannot split dim ", d, " of size ", n, " of input ", x.shape(), " into ",
           Shape(sizes_));
  Shape out(x.shape().begin(), x.shape().begin() + d);
  for (int64_t s : sizes_) out.push_back(s == -1 ? n / known : s);
  for (int64_t i = d + 1; i < nd; ++i) out.push_back(x.shape()[i]);
  return x.reshape(out);
}
std::string Unflatten::extra_repr() const {
  std::ostringstream os;
  os << "dim=" << dim_ << ", unflattened_size=(";
  for (size_t i = 0; i < sizes_.size(); ++i) os << (i ? ", " : "") << sizes_[i];
  os << (sizes_.size() == 1 ? ",)" : ")");
  return os.str();
}

// ============================================================== Dropout
Dropout::Dropout(double p) : p_(p) {
  SN_CHECK(p >= 0.0 && p <= 1.0, ValueError, "Dropout: probability must be in [0, 1] (got ", p,
           ")");
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  SN_CHECK(x.is_floating_point(), DTypeError, label(), ": expected a floating-point input, got ",
           x.dtype());
  if (p_ == 1.0) return mul(x, 0.0);
  // mask = 1/(1-p) where kept, 0 where dropped; y = x·mask (so dx = g·mask)
  Tensor mask = rand(x.shape(), {.dtype = x.dtype()});
  const double keep = 1.0 - p_;
  SN_DISPATCH_FLOAT(x.dtype(), "Dropout", [&] {
    scalar_t* m = mask.data_ptr<scalar_t>();
    const scalar_t k = static_cast<scalar_t>(keep), s = static_cast<scalar_t>(1.0 / keep);
    for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = m[i] < k ? s : scalar_t(0);
  });
  return mul(x, mask);
}
std::string Dropout::extra_repr() const { return "p=" + fmt(p_); }

// ============================================================== Embedding
Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim)
    : num_(num_embeddings), dim_(embedding_dim) {
  SN_CHECK(num_embeddings > 0 && embedding_dim > 0, ValueError,
           "Embedding: sizes must be positive (got ", num_embeddings, ", ", embedding_dim, ")");
  weight_ = register_parameter("weight", empty(Shape{num_embeddings, embedding_dim}));
  init::normal_(weight_);
}

Tensor Embedding::forward(const Tensor& indices) {
  SN_CHECK(indices.dtype() == kInt64, DTypeError, label(), ": indices must be int64, got ",
           indices.dtype(), "; hint: convert with .to(sn::kInt64)");
  const Tensor flat = indices.reshape(Shape{-1}).contiguous();
  const int64_t* p = flat.data_ptr<int64_t>();
  for (int64_t i = 0, n = flat.numel(); i < n; ++i)
    if (p[i] < 0 || p[i] >= num_) [[unlikely]]
      SN_THROW(IndexError, label(), ": index ", p[i], " is out of range for ", num_,
               " embeddings (valid: 0..", num_ - 1, ")");
  Shape out = indices.shape();
  out.push_back(dim_);
  return index_select(weight_, 0, flat).reshape(out);
}
std::string Embedding::extra_repr() const {
  return std::to_string(num_) + ", " + std::to_string(dim_);
}
std::string Embedding::brief() const { return "Embedding(" + extra_repr() + ")"; }

// ============================================================== LayerNorm
LayerNorm::LayerNorm(const Shape& normalized_shape, LayerNormOptions opts)
    : shape_(normalized_shape), opts_(opts) {
  SN_CHECK(!normalized_shape.empty() && normalized_shape.numel() > 0, ValueError,
           "LayerNorm: normalized_shape must be non-empty with positive sizes (got ",
           normalized_shape, ")");
  SN_CHECK(opts.eps > 0, ValueError, "LayerNorm: eps must be positive (got ", opts.eps, ")");
  if (opts.elementwise_affine) {
    weight_ = register_parameter("weight", ones(normalized_shape));
    if (opts.bias) bias_ = register_parameter("bias", zeros(normalized_shape));
  }
}

// y = (x - μ)/√(σ² + eps)·w + b over the trailing dims, by the fused sn::layer_norm op (its
// Backward node holds the formulas); the module adds the check that names the layer.
Tensor LayerNorm::forward(const Tensor& x) {
  const int k = shape_.size();
  bool ok = x.dim() >= k;
  for (int i = 0; ok && i < k; ++i) ok = x.shape()[x.dim() - k + i] == shape_[i];
  if (!ok) [[unlikely]] {
    std::string want = "[*";
    for (int64_t d : shape_) want += ", " + std::to_string(d);
    SN_THROW(ShapeError, label(), ": expected input ", want, "], got ", x.shape());
  }
  SN_CHECK(x.is_floating_point(), DTypeError, label(), ": expected a floating-point input, got ",
           x.dtype());
  return layer_norm(x, shape_, weight_, bias_, opts_.eps);
}
std::string LayerNorm::extra_repr() const {
  std::string s = "(";
  for (int i = 0; i < shape_.size(); ++i) s += std::to_string(shape_[i]) + ",";
  if (shape_.size() > 1) s.pop_back();
  std::ostringstream eps;
  eps << opts_.eps;
  return s + "), eps=" + eps.str() +
         ", elementwise_affine=" + (opts_.elementwise_affine ? "True" : "False") +
         (opts_.elementwise_affine && !opts_.bias ? ", bias=False" : "");
}
std::string LayerNorm::brief() const { return "LayerNorm(" + shape_.str() + ")"; }

}  // namespace sn::nn
