// Presets that are a pair of models: a generator (noise -> images) and a discriminator (images ->
// one logit each), for adversarial training (sinapsis/train/adversarial.h). Each half is an
// ordinary JSON model spec (spec.h builds it); the pair adds the noise size and the initialiser.
// Not here: the training loop, sampling and pictures.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sinapsis/core/shape.h"
#include "sinapsis/nn/module.h"

namespace sn::nn {

struct GanPreset {
  std::string name;
  std::string generator;      // JSON spec, input [latent_dim], output the image shape
  std::string discriminator;  // JSON spec, input the image shape, output [1] (a logit)
  int64_t latent_dim = 64;
  std::string init;  // the initialiser init_gan_ applies: "dcgan"
};

// "dcgan": shared/reference/generative.py --model dcgan, for images [C, H, W] with H and W
// divisible by 4 ([1, 28, 28]: Fashion-MNIST):
//   G: z [64] -> Linear(64, 128·H/4·W/4, no bias) -> BatchNorm1d -> ReLU -> [128, H/4, W/4] ->
//      ConvTranspose2d(128, 64, 4, 2, 1, no bias) -> BatchNorm2d -> ReLU ->
//      ConvTranspose2d(64, C, 4, 2, 1) -> tanh                      (images in [-1, 1])
//   D: Conv2d(C, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(64, 128, 4, 2, 1, no bias) ->
//      BatchNorm2d -> LeakyReLU(0.2) -> Flatten -> Linear(128·H/4·W/4, 1)
GanPreset gan_preset(const std::string& name, const Shape& image_shape, int64_t latent_dim = 64);
std::vector<std::string> gan_preset_names();
bool is_gan_preset(const std::string& name);

// DCGAN's initialisation (Radford et al.), in place from sn's generator: the weights of every
// Conv1d/Conv2d/ConvTranspose2d/Linear ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), their biases
// 0. `init` names it ("dcgan"; "default" leaves PyTorch's defaults).
void init_gan_(Module& model, const std::string& init = "dcgan");

}  // namespace sn::nn
