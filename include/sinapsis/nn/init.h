// Weight initialisation, as torch.nn.init: fills a tensor in place (without recording
// gradients) from the global generator and returns the same tensor handle. Formulas for fans
// and gains follow PyTorch so models start from the same distributions.
#pragma once
#include <cstdint>
#include <utility>

#include "sinapsis/core/tensor.h"

namespace sn::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };

// Recommended gain for a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh), √2 (relu),
// √(2/(1+slope²)) (leaky relu; `param` is the slope, default 0.01), 3/4 (selu).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
// (fan_in, fan_out) of a weight [out, in, k...]: in·Πk and out·Πk. Needs at least 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor uniform_(const Tensor& t, double a = 0.0, double b = 1.0);
Tensor normal_(const Tensor& t, double mean = 0.0, double std = 1.0);
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);

// Glorot: U(±gain·√(6/(fan_in+fan_out))) and N(0, gain·√(2/(fan_in+fan_out))).
Tensor xavier_uniform_(const Tensor& t, double gain = 1.0);
Tensor xavier_normal_(const Tensor& t, double gain = 1.0);

struct KaimingOptions {
  double a = 0.0;  // negative slope of the leaky relu that follows (leaky_relu only)
  FanMode mode = FanMode::FanIn;
  Nonlinearity nonlinearity = Nonlinearity::LeakyReLU;
};
// He: std = gain/√fan; uniform bound = √3·std.
Tensor kaiming_uniform_(const Tensor& t, KaimingOptions opts = {});
Tensor kaiming_normal_(const Tensor& t, KaimingOptions opts = {});

// A (semi-)orthogonal matrix times gain: the tensor viewed as [size(0), rest] gets orthonormal
// rows or columns (whichever are fewer), from the Householder QR of a Gaussian matrix.
Tensor orthogonal_(const Tensor& t, double gain = 1.0);

}  // namespace sn::nn::init
