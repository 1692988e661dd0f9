// ADALINE trained by the Widrow–Hoff (LMS) rule: linear output y = w0 + w·x, squared error,
// w ← w + η·(t − y)·x̃ online, or the mean of that over a (mini-)batch. Reports the MSE after
// every epoch. Thresholding the linear output for classification is left to classify().
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/classic/common.h"
#include "sinapsis/core/tensor.h"

namespace sn::classic {

struct AdalineOptions {
  double lr = 0.01;  // η; online LMS is stable for η < 2 / trace(x̃ᵀx̃ / N) roughly
  int64_t max_epochs = 100;
  UpdateMode mode = UpdateMode::Online;
  int64_t batch_size = 16;  // MiniBatch only
  bool shuffle = false;     // Online/MiniBatch: fresh random order each epoch
  double tolerance = 0.0;   // stop when the MSE changes by less than this between epochs
};

struct AdalineReport {
  std::vector<double> mse{};  // over all samples, after each epoch
  int64_t epochs = 0;
  bool converged = false;  // stopped by `tolerance`
  // The MSE became inf/NaN or grew a million-fold over its value at the starting weights
  // (η too large); training stopped there.
  bool diverged = false;
};

class Adaline {
 public:
  explicit Adaline(int64_t num_features);           // weights start at zero
  explicit Adaline(const Tensor& initial_weights);  // [d + 1], w0 first

  // x [N, d], t [N] (any real targets). Continues from the current weights.
  AdalineReport fit(const Tensor& x, const Tensor& t, const AdalineOptions& options = {});
  Tensor predict(const Tensor& x) const;  // the linear output w0 + x·w, float64 [N]
  // The linear output thresholded at 0: {0, 1} or {-1, 1}.
  Tensor classify(const Tensor& x, Encoding encoding = Encoding::Bipolar) const;

  const Tensor& weights() const { return w_; }  // float64 [d + 1], w0 first

 private:
  Tensor w_;
};

}  // namespace sn::classic
