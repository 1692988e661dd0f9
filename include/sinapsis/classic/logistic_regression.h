// Logistic regression by gradient descent: binary (sigmoid + binary cross-entropy) or
// multinomial (softmax + cross-entropy) over K classes, with optional L2 on the weights (not
// on the bias). No second-order solvers (Newton/IRLS) here.
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/classic/common.h"
#include "sinapsis/core/tensor.h"

namespace sn::classic {

struct LogisticOptions {
  double lr = 0.1;
  int64_t epochs = 100;
  UpdateMode mode = UpdateMode::Batch;
  int64_t batch_size = 32;  // MiniBatch only
  bool shuffle = true;
  double l2 = 0.0;  // adds l2/2·|w|² (bias excluded) to the loss
};

struct LogisticReport {
  std::vector<double> loss{};      // mean cross-entropy over all samples after each epoch
  std::vector<double> accuracy{};  // training accuracy after each epoch
  int64_t epochs = 0;
};

class LogisticRegression {
 public:
  // num_classes = 2: one sigmoid unit, weights [d + 1]; more: softmax, weights [d + 1, K].
  explicit LogisticRegression(int64_t num_features, int64_t num_classes = 2);

  // x [N, d]; y [N] of class indices 0..K-1 (any dtype holding whole numbers).
  LogisticReport fit(const Tensor& x, const Tensor& y, const LogisticOptions& options = {});
  // binary: P(y = 1 | x) as float64 [N]; multinomial: class probabilities float64 [N, K].
  Tensor predict_proba(const Tensor& x) const;
  Tensor predict(const Tensor& x) const;  // class indices, int64 [N]

  const Tensor& weights() const { return w_; }  // w0 (bias) first
  // Replaces the weights (e.g. with a copy kept at the best validation epoch); same shape.
  void set_weights(const Tensor& weights);
  int64_t num_classes() const { return classes_; }

 private:
  Tensor logits(const Tensor& xb) const;  // xb already has the bias column
  int64_t classes_;
  Tensor w_;
};

}  // namespace sn::classic
