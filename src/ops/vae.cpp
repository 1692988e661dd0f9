// reparameterize and gaussian_kl (ops/vae.h): composites of the elementwise ops, so each step's
// Backward node is the elementwise op's own; what this file adds is the checks that name the op.
#include "sinapsis/ops/vae.h"

#include "sinapsis/ops/ops.h"

namespace sn {

namespace {
void check_pair(const char* op, const Tensor& mu, const Tensor& logvar) {
  SN_CHECK(mu.defined() && logvar.defined(), ValueError, op, ": mu and logvar must be defined");
  SN_CHECK(is_floating(mu.dtype()) && mu.dtype() == logvar.dtype(), DTypeError, op,
           ": expected floating-point mu and logvar of one dtype (got ", mu.dtype(), " and ",
           logvar.dtype(), ")");
  SN_CHECK(mu.shape() == logvar.shape(), ShapeError, op,
           ": mu and logvar must have the same shape (got ", mu.shape(), " and ", logvar.shape(),
           "); hint: the encoder's two heads should have the same size");
}
}  // namespace

Tensor reparameterize(const Tensor& mu, const Tensor& logvar, const Tensor& eps) {
  check_pair("reparameterize", mu, logvar);
  SN_CHECK(eps.defined() && eps.shape() == mu.shape(), ShapeError,
           "reparameterize: eps must have mu's shape ", mu.shape(), " (got ",
           eps.defined() ? eps.shape() : Shape{}, ")");
  // σ = exp(½·logvar): z = μ + σ·ε
  return add(mu, mul(exp(mul(logvar, 0.5)), eps.detach().to(mu.dtype())));
}

Tensor reparameterize(const Tensor& mu, const Tensor& logvar) {
  check_pair("reparameterize", mu, logvar);
  return reparameterize(mu, logvar, randn(mu.shape(), {.dtype = mu.dtype()}));
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, loss::Reduction reduction) {
  check_pair("gaussian_kl", mu, logvar);
  // −½·(1 + logvar − μ² − e^logvar) = ½·(μ² + e^logvar − logvar − 1)
  Tensor k = mul(sub(add(square(mu), exp(logvar)), add(logvar, 1.0)), 0.5);
  switch (reduction) {
    case loss::Reduction::None:
      return k;
    case loss::Reduction::Sum:
      return sum(k);
    case loss::Reduction::Mean:
      return mean(k);
    case loss::Reduction::BatchMean:
      SN_CHECK(mu.dim() >= 1 && mu.shape()[0] > 0, ShapeError,
               "gaussian_kl: BatchMean needs a batch dim (got mu ", mu.shape(), ")");
      return div(sum(k), static_cast<double>(mu.shape()[0]));
  }
  SN_THROW(ValueError, "gaussian_kl: unknown reduction");
}

}  // namespace sn
