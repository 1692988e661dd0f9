// Training autoencoders with fit(): the target is the input. What fit needs (the module it runs
// and the loss), the data set of (input, input) pairs, the test reconstruction error as
// shared/reference/generative.py reports it, and the codes of the bottleneck with a 2-D view of
// them (principal components). The layers (input noise, a VAE's Gaussian latent) are in
// nn/autoencoder.h; the pictures in viz (image_grid, scatter_svg). No training loop here.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/data/dataset.h"
#include "sinapsis/data/loader.h"
#include "sinapsis/nn/autoencoder.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/train/fit.h"

namespace sn::train {

// How fit() trains `model` to reproduce its input.
//  - trainee: the module fit runs. For a model whose last layer (inside nested Sequentials) is a
//    Sigmoid it is the same layers without that Sigmoid (sharing every parameter, with the same
//    state dict names, so checkpoints of it load into `model`); its logits go into the fused,
//    stable binary_cross_entropy_with_logits. Otherwise it is `model` itself.
//  - loss(output, target): target is reshaped to the output's shape (a [N, 784] reconstruction
//    of [N, 1, 28, 28] images). Plain autoencoder: the BCE, mean over values (generative.py's
//    loss), or the MSE when the model has no final Sigmoid. VAE (a GaussianLatent inside): the
//    BCE summed over the values of each example plus the latent's KL term, averaged over the
//    batch (the negative ELBO per example, nats), or the summed squared error plus KL.
struct AutoencoderTraining {
  std::shared_ptr<nn::Module> trainee;
  LossFn loss;
  nn::GaussianLatent* latent = nullptr;  // the VAE's latent (owned by the model), or null
  bool logits = false;                   // trainee ends before the Sigmoid
  std::string description;               // one line for the user: what the loss is
};
AutoencoderTraining autoencoder_training(const std::shared_ptr<nn::Module>& model);

// The examples of `base` as (x, x): the target is the input (labels are dropped).
data::DatasetPtr reconstruction_dataset(const data::DatasetPtr& base);

// The test reconstruction error of `model` (run in eval mode under no_grad, mode restored):
// bce and mse are means over every value of every example, as generative.py's
// F.binary_cross_entropy(r, x) and F.mse_loss(r, x) (the BCE on outputs clamped to [0, 1], its
// logs at -100 as PyTorch's); kl is the VAE latent's KL per example (NaN without one).
struct ReconstructionError {
  double bce = 0, mse = 0, kl = 0;
  int64_t examples = 0;
};
ReconstructionError evaluate_reconstruction(nn::Module& model, data::DataLoader& loader);

// The codes of x [N, ...] at the model's bottleneck, [N, ...code], in eval mode under no_grad in
// batches of batch_size: the output of the top-level child named "encoder" (the presets), or
// else of the layer with the fewest values per example (the first such). The model must be a
// Sequential (ValueError otherwise).
Tensor encode(nn::Module& model, const Tensor& x, int64_t batch_size = 1000);

// Principal component analysis of the rows of x [N, D] (N >= 2): the scores on the first k
// components [N, k] (float64, centred data projected on the unit eigenvectors of the
// covariance, each signed so that its largest loading is positive) and the fraction of the
// variance each explains. k <= D.
struct Pca {
  Tensor scores;
  std::vector<double> explained;
};
Pca principal_components(const Tensor& x, int64_t k);

}  // namespace sn::train
