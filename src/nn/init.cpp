// nn::init: fan/gain formulas and the in-place initialisers, all drawing from the global
// generator. orthogonal_ runs its own Householder QR in float64 (no LAPACK needed).
#include "sinapsis/nn/init.h"

#include <cmath>
#include <vector>

#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn::init {

namespace {
Tensor checked(const Tensor& t, const char* op) {
  SN_CHECK(t.defined(), ValueError, op, ": tensor is undefined");
  SN_CHECK(t.is_floating_point(), DTypeError, op, ": expected a floating-point tensor, got ",
           t.dtype());
  return t;
}
}  // namespace

double calculate_gain(Nonlinearity nl, double param) {
  switch (nl) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::SELU:
      return 3.0 / 4.0;
  }
  return 1.0;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  SN_CHECK(t.defined(), ValueError, "calculate_fan_in_and_fan_out: tensor is undefined");
  SN_CHECK(t.dim() >= 2, ShapeError,
           "calculate_fan_in_and_fan_out: fans need a tensor with at least 2 dims (got ", t.shape(),
           ")");
  int64_t receptive = 1;
  for (int d = 2; d < t.dim(); ++d) receptive *= t.shape()[d];
  return {t.shape()[1] * receptive, t.shape()[0] * receptive};
}

Tensor uniform_(const Tensor& t, double a, double b) {
  Tensor x = checked(t, "uniform_");
  NoGradGuard ng;
  x.uniform_(a, b);
  return x;
}
Tensor normal_(const Tensor& t, double mean, double std) {
  Tensor x = checked(t, "normal_");
  NoGradGuard ng;
  x.normal_(mean, std);
  return x;
}
Tensor constant_(const Tensor& t, double value) {
  SN_CHECK(t.defined(), ValueError, "constant_: tensor is undefined");
  Tensor x = t;
  NoGradGuard ng;
  x.fill_(value);
  return x;
}
Tensor zeros_(const Tensor& t) { return constant_(t, 0.0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1.0); }

Tensor xavier_uniform_(const Tensor& t, double gain) {
  checked(t, "xavier_uniform_");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}
Tensor xavier_normal_(const Tensor& t, double gain) {
  checked(t, "xavier_normal_");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

namespace {
double kaiming_std(const Tensor& t, const KaimingOptions& o, const char* op) {
  checked(t, op);
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const int64_t fan = o.mode == FanMode::FanIn ? fan_in : fan_out;
  SN_CHECK(fan > 0, ValueError, op, ": cannot initialise a tensor with zero elements (shape ",
           t.shape(), ")");
  return calculate_gain(o.nonlinearity, o.a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace

Tensor kaiming_uniform_(const Tensor& t, KaimingOptions opts) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, opts, "kaiming_uniform_");
  return uniform_(t, -bound, bound);
}
Tensor kaiming_normal_(const Tensor& t, KaimingOptions opts) {
  return normal_(t, 0.0, kaiming_std(t, opts, "kaiming_normal_"));
}

Tensor orthogonal_(const Tensor& t, double gain) {
  checked(t, "orthogonal_");
  SN_CHECK(t.dim() >= 2, ShapeError, "orthogonal_: needs a tensor with at least 2 dims (got ",
           t.shape(), ")");
  const int64_t rows = t.shape()[0], cols = t.numel() / std::max<int64_t>(rows, 1);
  if (t.numel() == 0) return t;
  // QR of a tall m×n Gaussian matrix (m ≥ n; transpose when the tensor is wide)
  const bool wide = rows < cols;
  const int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  const Tensor g = randn(Shape{rows, cols}, {.dtype = kFloat64});
  const double* pg = g.data_ptr<double>();
  std::vector<double> A(static_cast<size_t>(m * n));  // column-major: A[i + j·m]
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = wide ? c : r, j = wide ? r : c;
      A[static_cast<size_t>(i + j * m)] = pg[r * cols + c];
    }
  // Householder: H_k = I - 2·v·vᵀ zeroes column k below the diagonal; R's diagonal is kept.
  std::vector<std::vector<double>> vs(static_cast<size_t>(n));
  std::vector<double> rdiag(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    double norm = 0;
    for (int64_t i = k; i < m; ++i) norm += A[i + k * m] * A[i + k * m];
    norm = std::sqrt(norm);
    std::vector<double> v(static_cast<size_t>(m - k));
    for (int64_t i = k; i < m; ++i) v[i - k] = A[i + k * m];
    const double alpha = v[0] > 0 ? -norm : norm;  // sign chosen to avoid cancellation
    v[0] -= alpha;
    double vn = 0;
    for (double e : v) vn += e * e;
    vn = std::sqrt(vn);
    if (vn > 0)
      for (double& e : v) e /= vn;
    for (int64_t j = k; j < n; ++j) {
      double dot = 0;
      for (int64_t i = k; i < m; ++i) dot += v[i - k] * A[i + j * m];
      for (int64_t i = k; i < m; ++i) A[i + j * m] -= 2 * dot * v[i - k];
    }
    rdiag[k] = A[k + k * m];
    vs[k] = std::move(v);
  }
  // Q = H_0·H_1···H_{n-1}·[I; 0], applied right to left
  std::vector<double> Q(static_cast<size_t>(m * n), 0.0);
  for (int64_t j = 0; j < n; ++j) Q[j + j * m] = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const std::vector<double>& v = vs[k];
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t i = k; i < m; ++i) dot += v[i - k] * Q[i + j * m];
      for (int64_t i = k; i < m; ++i) Q[i + j * m] -= 2 * dot * v[i - k];
    }
  }
  // sign fix (as PyTorch): make R's diagonal positive so Q is uniformly distributed
  Tensor out = empty(Shape{rows, cols}, {.dtype = kFloat64});
  double* po = out.data_ptr<double>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = wide ? c : r, j = wide ? r : c;
      const double s = rdiag[j] < 0 ? -1.0 : 1.0;
      po[r * cols + c] = gain * s * Q[i + j * m];
    }
  Tensor x = t;
  NoGradGuard ng;
  x.copy_(out.reshape(t.shape()));
  return x;
}

}  // namespace sn::nn::init
