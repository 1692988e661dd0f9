// A variational autoencoder's two pieces as differentiable ops: the reparameterisation
// z = μ + σ·ε and the KL divergence of N(μ, σ²) from N(0, 1). Both are written with the
// elementwise ops (their Backward nodes give the gradients); the encoder, decoder and the
// reconstruction loss are ordinary modules and losses.
#pragma once
#include "sinapsis/core/tensor.h"
#include "sinapsis/loss/loss.h"

namespace sn {

// z = μ + exp(½·logvar)·ε with ε ~ N(0, 1) drawn from the library's generator (manual_seed), of
// μ's shape. mu and logvar have the same shape. dz/dμ = 1, dz/dlogvar = ½·σ·ε.
Tensor reparameterize(const Tensor& mu, const Tensor& logvar);
// The same with a given ε (same shape as μ; no gradient flows into it).
Tensor reparameterize(const Tensor& mu, const Tensor& logvar, const Tensor& eps);

// KL(N(μ, σ²) ‖ N(0, 1)) per element: −½·(1 + logvar − μ² − e^logvar), reduced:
// Sum (the VAE paper's and PyTorch example's), Mean over all elements, BatchMean (the sum over
// everything divided by the batch size, dim 0: the KL per sample), None (per element).
// d/dμ = μ, d/dlogvar = ½·(e^logvar − 1), times the reduction's factor.
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar,
                   loss::Reduction reduction = loss::Reduction::Sum);

}  // namespace sn
