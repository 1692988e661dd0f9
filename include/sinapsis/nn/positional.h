// Positional encodings for sequence models. Learned positions are an nn::Embedding over
// arange(T) (as nn::GPT's wpe); this file holds the fixed sinusoidal table of "Attention Is All
// You Need" (the PyTorch tutorial's PositionalEncoding, without its dropout).
#pragma once
#include <cstdint>
#include <string>

#include "sinapsis/nn/module.h"

namespace sn::nn {

// x [..., T, d_model] -> x + pe[start : start + T], with
//   pe[pos, 2i] = sin(pos / 10000^(2i/d_model)),  pe[pos, 2i+1] = cos(pos / 10000^(2i/d_model)).
// The table (max_len x d_model) is a non-persistent buffer: not in state_dict, as PyTorch's
// tutorial registers it persistent but it is a pure function of the sizes.
class SinusoidalPositionalEncoding : public Module {
 public:
  explicit SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000);
  Tensor forward(const Tensor& x) override { return forward_at(x, 0); }
  // Positions start at `start` (generation with a cache).
  Tensor forward_at(const Tensor& x, int64_t start);
  // The rows [start, start + length) of the table, [length, d_model].
  Tensor encoding(int64_t start, int64_t length) const;
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  std::string extra_repr() const override;

 private:
  int64_t d_, max_len_;
  Tensor pe_;
};

}  // namespace sn::nn
