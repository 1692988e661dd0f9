// Adversarial training: two models (a generator G and a discriminator D), two optimizers, and
// per batch one D step then one G step, as in Goodfellow et al. and DCGAN. The losses and the
// noise are plug-ins (defaults: BCE with logits and the non-saturating generator loss, z ~ N(0,1)),
// so LSGAN, hinge or other two-player setups use the same loop. Also here: the checkpoint of a
// generator-discriminator pair (both models and both optimizers in one file). Not here: model
// architectures (nn::gan_preset), pictures of samples (viz) and the command line.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/data/loader.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/optim/optimizer.h"
#include "sinapsis/train/callback.h"
#include "sinapsis/train/checkpoint.h"
#include "sinapsis/train/fit.h"
#include "sinapsis/train/history.h"

namespace sn::train {

// D's loss from its outputs on a real batch and on a fake batch (the fakes detached: this loss
// trains D only). Default: bce_with_logits(d_real, 1) + bce_with_logits(d_fake, 0).
using DiscriminatorLossFn = std::function<Tensor(const Tensor& d_real, const Tensor& d_fake)>;
// G's loss from D's outputs on the same fakes, D run again after its step (the graph reaches G).
// Default, the non-saturating loss: bce_with_logits(d_fake, 1) = -log σ(D(G(z))).
using GeneratorLossFn = std::function<Tensor(const Tensor& d_fake)>;
// A noise batch of n examples for G. Default: randn([n, latent_dim]) from sn's generator.
using NoiseFn = std::function<Tensor(int64_t n)>;

Tensor gan_discriminator_loss(const Tensor& d_real, const Tensor& d_fake);
Tensor gan_generator_loss(const Tensor& d_fake);

struct AdversarialOptions {
  int64_t epochs = 1;  // training ends before this epoch index (as FitOptions::epochs)
  // z for a batch: noise(n), or randn([n, latent_dim]) when noise is empty.
  int64_t latent_dim = 64;
  NoiseFn noise{};
  DiscriminatorLossFn d_loss{};  // empty: gan_discriminator_loss
  GeneratorLossFn g_loss{};      // empty: gan_generator_loss
  // Callbacks see TrainState with model = G and optimizer = G's optimizer; the epoch's History
  // record holds "loss" (loss_d + loss_g: one number for tools that want one), and the metrics
  // "loss_d", "loss_g" (means over the epoch's batches), "d_real", "d_fake" (mean σ(D) on real
  // and fake batches, for the default losses' logits) and, with fixed_noise, "diversity".
  std::vector<CallbackPtr> callbacks{};
  // Resume: as FitOptions.
  int64_t initial_epoch = 0;
  History initial_history{};
  // 0 silent; 1 a live line on a terminal (one line per epoch otherwise); 2 one line per epoch.
  // Warnings are printed at every level but 0.
  int verbose = 1;
  std::ostream* stream = nullptr;  // progress and warnings (null: std::cerr)
  // Stop at the first non-finite loss, without stepping on it: DivergenceError naming the epoch,
  // batch, which loss, and the first op with a non-finite output.
  bool stop_on_nonfinite = true;
  // Warnings (see AdversarialResult::warnings). The discriminator has won when its loss,
  // averaged over d_loss_window batches, stays below d_loss_floor: G's gradients vanish then.
  double d_loss_floor = 0.01;
  int64_t d_loss_window = 100;
  // With fixed_noise [n >= 2, ...]: after every epoch G (eval mode) maps it to samples, and the
  // epoch's "diversity" is their mean pairwise distance over that of real batches (1: as varied
  // as the data). Below diversity_floor the samples have stopped varying (mode collapse).
  Tensor fixed_noise{};
  double diversity_floor = 0.2;
};

struct AdversarialResult {
  History history;
  // One line each, "epoch 3: ..." (also printed, and counted in the epoch's "warnings" metric).
  std::vector<std::string> warnings;
};

// Trains G (`generator`, noise -> samples) against D (`discriminator`, samples -> one logit per
// example) on the x of `real`'s batches, for the epochs [initial_epoch, epochs). Per batch:
//   z = noise(n); fake = G(z)
//   D step: loss_d = d_loss(D(x), D(fake.detach())); d_opt steps on it
//   G step: loss_g = g_loss(D(fake)) with D's parameters frozen (no gradient is computed for
//           them: the G step never changes D); g_opt steps on it
// Both models are in train mode (BatchNorm: batch statistics) during the steps; D runs three
// times per batch (real, fake, fake again), as PyTorch's DCGAN recipe. The models are left in
// train mode.
AdversarialResult fit_adversarial(nn::Module& generator, nn::Module& discriminator,
                                  optim::Optimizer& g_opt, optim::Optimizer& d_opt,
                                  data::DataLoader& real, const AdversarialOptions& options = {});

// One D step then one G step (the body of fit_adversarial's loop, and what bench/dcgan_train
// times): fake = G(z); D step on d_loss(D(x), D(fake.detach())); G step on g_loss(D(fake)) with
// D's parameters frozen. The models' modes are left as they are (train mode for GANs). A
// non-finite loss_d skips both updates and loss_g (NaN then); a non-finite loss_g skips G's,
// unless step_on_nonfinite.
struct AdversarialStep {
  double loss_d = 0, loss_g = 0;
  double d_real = 0, d_fake = 0;  // mean σ(D(x)) and σ(D(fake)) before D's update
};
AdversarialStep adversarial_step(nn::Module& generator, nn::Module& discriminator,
                                 optim::Optimizer& g_opt, optim::Optimizer& d_opt, const Tensor& x,
                                 const Tensor& z,
                                 const DiscriminatorLossFn& d_loss = gan_discriminator_loss,
                                 const GeneratorLossFn& g_loss = gan_generator_loss,
                                 bool step_on_nonfinite = false);

// Mean Euclidean distance over all pairs of the n >= 2 examples of x [n, ...] (no grad).
double mean_pairwise_distance(const Tensor& x);

// ---- checkpoints of a pair ----
// One safetensors file: G's state_dict as "generator.<name>", D's as "discriminator.<name>", the
// optimizers' state tensors as "generator_optim.<key>" / "discriminator_optim.<key>", and in
// __metadata__: "format" "sinapsis.adversarial-checkpoint", "format_version" "1", "epoch",
// "rng_state", "generator_spec" / "discriminator_spec" (JSON model specs, when given),
// "generator_optimizer" / "discriminator_optimizer" ({"name", "scalars"}) and the caller's
// extra keys. Written atomically.
struct AdversarialCheckpointData {
  int64_t epoch = 0;
  std::string generator_spec{}, discriminator_spec{};
  std::map<std::string, std::string> extra{};
};
void save_adversarial_checkpoint(const std::string& path, const nn::Module& generator,
                                 const nn::Module& discriminator, const optim::Optimizer* g_opt,
                                 const optim::Optimizer* d_opt,
                                 const AdversarialCheckpointData& data = {});

struct AdversarialCheckpointInfo {
  int64_t epoch = 0;
  std::string rng_state, generator_spec, discriminator_spec;
  bool has_optimizers = false;
  std::map<std::string, std::string> extra;
};
// True when the file is an adversarial checkpoint (reads only its header).
bool is_adversarial_checkpoint(const std::string& path);
// Reads the metadata only.
AdversarialCheckpointInfo read_adversarial_checkpoint_info(const std::string& path);
// Restores G and D (and, when given, both optimizers and the RNG). Everything is checked before
// anything changes; a file of another kind or of other shapes throws and leaves the objects as
// they were. Either model may be null (`sample` loads G alone).
AdversarialCheckpointInfo load_adversarial_checkpoint(
    const std::string& path, nn::Module* generator, nn::Module* discriminator,
    optim::Optimizer* g_opt = nullptr, optim::Optimizer* d_opt = nullptr, bool restore_rng = true);

// Saves a pair checkpoint after every epoch (for callbacks of fit_adversarial).
class AdversarialCheckpoint : public Callback {
 public:
  AdversarialCheckpoint(std::string path, nn::Module& generator, nn::Module& discriminator,
                        optim::Optimizer& g_opt, optim::Optimizer& d_opt,
                        AdversarialCheckpointData data = {});
  void on_epoch_end(TrainState& s) override;

 private:
  std::string path_;
  nn::Module &g_, &d_;
  optim::Optimizer &g_opt_, &d_opt_;
  AdversarialCheckpointData data_;
};

}  // namespace sn::train
