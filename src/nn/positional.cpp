// The sinusoidal positional encoding table and its module (positional.h).
#include "sinapsis/nn/positional.h"

#include <cmath>
#include <vector>

#include "sinapsis/ops/ops.h"

namespace sn::nn {

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len)
    : d_(d_model), max_len_(max_len) {
  SN_CHECK(d_model > 0 && max_len > 0, ValueError,
           "SinusoidalPositionalEncoding: d_model and max_len must be positive (got ", d_model,
           ", ", max_len, ")");
  std::vector<double> pe(static_cast<size_t>(max_len * d_model));
  for (int64_t pos = 0; pos < max_len; ++pos)
    for (int64_t i = 0; i < d_model; i += 2) {
      // the PyTorch tutorial's div_term: exp(2i · -ln(10000) / d_model)
      const double angle = pos * std::exp(i * (-std::log(10000.0) / d_model));
      pe[pos * d_model + i] = std::sin(angle);
      if (i + 1 < d_model) pe[pos * d_model + i + 1] = std::cos(angle);
    }
  pe_ = register_buffer("pe", tensor(pe, Shape{max_len, d_model}), /*persistent=*/false);
}

Tensor SinusoidalPositionalEncoding::encoding(int64_t start, int64_t length) const {
  SN_CHECK(start >= 0 && length >= 0 && start + length <= max_len_, ValueError, label(),
           ": positions ", start, "..", start + length - 1, " exceed max_len ", max_len_);
  return pe_.narrow(0, start, length);
}

Tensor SinusoidalPositionalEncoding::forward_at(const Tensor& x, int64_t start) {
  SN_CHECK(x.dim() >= 2 && x.size(-1) == d_, ShapeError, label(), ": expected input [..., T, ", d_,
           "], got ", x.shape());
  SN_CHECK(x.is_floating_point(), DTypeError, label(), ": expected a floating-point input, got ",
           x.dtype());
  Tensor pe = encoding(start, x.size(-2));
  return add(x, pe.dtype() == x.dtype() ? pe : pe.to(x.dtype()));
}

std::string SinusoidalPositionalEncoding::extra_repr() const {
  return "d_model=" + std::to_string(d_) + ", max_len=" + std::to_string(max_len_);
}

}  // namespace sn::nn
