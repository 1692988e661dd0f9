// Rosenblatt's perceptron: a step unit o = step(w0 + w·x) trained with w ← w + η·(t − o)·x̃,
// online (after every sample) or in batch (summed over the epoch). Binary targets {0, 1}.
// It does not do multi-class or soft outputs (see LogisticRegression).
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/classic/common.h"
#include "sinapsis/core/tensor.h"

namespace sn::classic {

struct PerceptronOptions {
  double lr = 1.0;  // η
  int64_t max_epochs = 100;
  UpdateMode mode = UpdateMode::Online;  // Online or Batch
  bool shuffle = false;  // online: visit the samples in a fresh random order each epoch
};

struct PerceptronReport {
  bool converged = false;  // an epoch made no mistake
  int64_t epochs = 0;      // epochs run; when converged, the (1-based) epoch without mistakes
  std::vector<int64_t> errors{};  // misclassified samples in each epoch
  std::vector<Tensor> weights{};  // w̃ after each epoch (float64 [d + 1], w0 first)
};

class Perceptron {
 public:
  explicit Perceptron(int64_t num_features);           // weights start at zero
  explicit Perceptron(const Tensor& initial_weights);  // [d + 1], w0 (bias) first

  // x [N, d], t [N] with values 0 or 1. Continues from the current weights.
  PerceptronReport fit(const Tensor& x, const Tensor& t, const PerceptronOptions& options = {});
  Tensor net_input(const Tensor& x) const;  // w0 + x·w, float64 [N]
  Tensor predict(const Tensor& x) const;    // step(net) in {0, 1}, float64 [N]

  const Tensor& weights() const { return w_; }  // float64 [d + 1], w0 first
  int64_t num_features() const { return w_.numel() - 1; }

 private:
  Tensor w_;
};

}  // namespace sn::classic
