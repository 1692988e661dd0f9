// The Hebb rule: Δw = η·x·y for each (input, target) pair, with or without a bias input, on
// binary {0, 1} or bipolar {-1, 1} data. The unit fires (1) when w0 + w·x > 0, else it gives
// 0 (binary) or -1 (bipolar). It does not correct errors: that is the perceptron's rule.
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/classic/common.h"
#include "sinapsis/core/tensor.h"

namespace sn::classic {

struct HebbOptions {
  double lr = 1.0;   // η
  bool bias = true;  // learn w0 through a constant input 1; without it w0 stays 0
  Encoding encoding = Encoding::Bipolar;  // which values x and y must take
  int64_t epochs = 1;                     // passes over the data (the classic rule makes one)
};

struct HebbReport {
  std::vector<Tensor> weights{};  // w̃ after each sample presentation (float64 [d + 1])
  int64_t errors = 0;             // training samples misclassified after learning
};

class Hebb {
 public:
  explicit Hebb(int64_t num_features, HebbOptions options = {});

  // x [N, d] and y [N], every value in the chosen encoding. Continues from the current weights.
  HebbReport fit(const Tensor& x, const Tensor& y);
  Tensor net_input(const Tensor& x) const;  // w0 + x·w, float64 [N]
  Tensor predict(const Tensor& x) const;    // {0, 1} or {-1, 1}, float64 [N]

  const Tensor& weights() const { return w_; }  // float64 [d + 1], w0 first
  const HebbOptions& options() const { return options_; }

 private:
  HebbOptions options_;
  Tensor w_;
};

}  // namespace sn::classic
