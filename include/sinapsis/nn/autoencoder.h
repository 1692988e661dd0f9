// The layers an autoencoder needs besides the usual ones: input noise for denoising
// autoencoders (GaussianNoise, MaskNoise: active in training only, like Dropout) and the
// Gaussian latent of a variational autoencoder (two Linear heads for μ and log σ², the
// reparameterisation z = μ + σ·ε in training, z = μ in eval). The losses and their evaluation
// are in train/autoencoder.h.
#pragma once
#include <cstdint>

#include "sinapsis/loss/loss.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/module.h"

namespace sn::nn {

// Training: x + std·ε, ε ~ N(0, 1) from the global generator; eval: x. The noise is not
// clipped (a target in [0, 1] stays clean: only the input is corrupted). std >= 0.
class GaussianNoise : public Module {
 public:
  explicit GaussianNoise(double stddev);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GaussianNoise"; }
  std::string extra_repr() const override;
  double std() const { return std_; }

 private:
  double std_;
};

// Training: each element set to 0 with probability p (masking noise; unlike Dropout the rest
// is NOT rescaled, the input keeps its pixel values); eval: x. p in [0, 1).
class MaskNoise : public Module {
 public:
  explicit MaskNoise(double p);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaskNoise"; }
  std::string extra_repr() const override;
  double p() const { return p_; }

 private:
  double p_;
};

// The variational autoencoder's latent: h [N, in] -> μ = mu(h), log σ² = logvar(h), both
// [N, latent] (PyTorch-initialised Linear heads), and z = reparameterize(μ, log σ²) in
// training, z = μ in eval. forward gives z; forward_multi gives {z, μ, log σ², rest...}, so a
// Sequential ending in a decoder returns {reconstruction, μ, log σ²} from call().
// The layer keeps the μ and log σ² of its last forward: kl() is the KL term of that batch, which
// a loss adds to the reconstruction term (the way Keras' add_loss works), so fit() with a
// two-argument loss can train a VAE.
class GaussianLatent : public Module {
 public:
  GaussianLatent(int64_t in_features, int64_t latent);
  Tensor forward(const Tensor& h) override;
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "GaussianLatent"; }
  std::string extra_repr() const override;
  std::string brief() const override;

  // KL(N(μ, σ²) ‖ N(0, 1)) of the last forward (ops/vae.h gaussian_kl); BatchMean: per example.
  // ValueError before any forward.
  Tensor kl(loss::Reduction reduction = loss::Reduction::BatchMean) const;
  const Tensor& last_mu() const { return mu_out_; }
  const Tensor& last_logvar() const { return logvar_out_; }
  int64_t in_features() const { return in_; }
  int64_t latent() const { return latent_; }

 private:
  int64_t in_, latent_;
  std::shared_ptr<Linear> mu_, logvar_;
  Tensor mu_out_, logvar_out_;
};

}  // namespace sn::nn
