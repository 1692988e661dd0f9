// Autoencoder layers (sinapsis/nn/autoencoder.h): input noise and the VAE's Gaussian latent.
// All math goes through differentiable ops (add, mul, reparameterize, gaussian_kl), whose
// Backward nodes give the gradients; the modules add the train/eval switch and the checks.
#include "sinapsis/nn/autoencoder.h"

#include <cmath>
#include <sstream>

#include "sinapsis/ops/ops.h"
#include "sinapsis/ops/vae.h"

namespace sn::nn {

namespace {
std::string fmt(double v) {  // PyTorch's float style: 1 -> 1.0
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

// ============================================================== GaussianNoise
GaussianNoise::GaussianNoise(double stddev) : std_(stddev) {
  SN_CHECK(std::isfinite(stddev) && stddev >= 0, ValueError,
           "GaussianNoise: std must be finite and >= 0 (got ", stddev, ")");
}

// y = x + std·ε: dy/dx = 1
Tensor GaussianNoise::forward(const Tensor& x) {
  if (!is_training() || std_ == 0) return x;
  SN_CHECK(x.is_floating_point(), DTypeError, label(), ": expected a floating-point input, got ",
           x.dtype());
  return add(x, mul(randn(x.shape(), {.dtype = x.dtype()}), std_));
}

std::string GaussianNoise::extra_repr() const { return "std=" + fmt(std_); }

// ============================================================== MaskNoise
MaskNoise::MaskNoise(double p) : p_(p) {
  SN_CHECK(p >= 0 && p < 1, ValueError, "MaskNoise: p must be in [0, 1) (got ", p, ")");
}

// y = x·m, m ∈ {0, 1} with P(m = 0) = p: dy/dx = m
Tensor MaskNoise::forward(const Tensor& x) {
  if (!is_training() || p_ == 0) return x;
  SN_CHECK(x.is_floating_point(), DTypeError, label(), ": expected a floating-point input, got ",
           x.dtype());
  Tensor keep = ge(rand(x.shape(), {.dtype = x.dtype()}), p_).to(x.dtype());
  return mul(x, keep);
}

std::string MaskNoise::extra_repr() const { return "p=" + fmt(p_); }

// ============================================================== GaussianLatent
GaussianLatent::GaussianLatent(int64_t in_features, int64_t latent)
    : in_(in_features), latent_(latent) {
  SN_CHECK(in_features > 0 && latent > 0, ValueError,
           "GaussianLatent: sizes must be positive (got ", in_features, ", ", latent, ")");
  mu_ = register_module("mu", Linear(in_features, latent));
  logvar_ = register_module("logvar", Linear(in_features, latent));
}

// z = μ + exp(½·logvar)·ε in training (ops/vae.h has the gradients), μ in eval
Tensor GaussianLatent::forward(const Tensor& h) {
  mu_out_ = (*mu_)(h);
  logvar_out_ = (*logvar_)(h);
  return is_training() ? reparameterize(mu_out_, logvar_out_) : mu_out_;
}

Value GaussianLatent::forward_multi(const Value& in) {
  Tensor z = forward(in[0]);
  std::vector<Tensor> out = {z, mu_out_, logvar_out_};
  for (const Tensor& t : in.rest()) out.push_back(t);  // state riding along stays behind them
  return Value(out);
}

Tensor GaussianLatent::kl(loss::Reduction reduction) const {
  SN_CHECK(mu_out_.defined(), ValueError, label(), ": kl() before any forward");
  return gaussian_kl(mu_out_, logvar_out_, reduction);
}

std::string GaussianLatent::extra_repr() const {
  return "in_features=" + std::to_string(in_) + ", latent=" + std::to_string(latent_);
}
std::string GaussianLatent::brief() const {
  return "GaussianLatent(" + std::to_string(in_) + " → " + std::to_string(latent_) + ")";
}

}  // namespace sn::nn
