// Logistic regression by gradient descent (see sinapsis/classic/logistic_regression.h). The
// gradient is written out (x̃ᵀ(p − y)/|B|) rather than taken from autograd, as in the lecture.
#include "sinapsis/classic/logistic_regression.h"

#include <algorithm>
#include <cmath>

#include "classic/data.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

LogisticRegression::LogisticRegression(int64_t num_features, int64_t num_classes)
    : classes_(num_classes) {
  SN_CHECK(num_features >= 1, ValueError, "LogisticRegression: needs at least one feature (got ",
           num_features, ")");
  SN_CHECK(num_classes >= 2, ValueError, "LogisticRegression: needs at least 2 classes (got ",
           num_classes, ")");
  w_ = num_classes == 2 ? zeros({num_features + 1}, {.dtype = kFloat64})
                        : zeros({num_features + 1, num_classes}, {.dtype = kFloat64});
}

void LogisticRegression::set_weights(const Tensor& weights) {
  SN_CHECK(weights.defined() && weights.shape() == w_.shape(), ShapeError,
           "LogisticRegression::set_weights: expected shape ", w_.shape(), " (got ",
           weights.defined() ? weights.shape() : Shape{}, ")");
  Tensor w = weights.detach().to(kFloat64).contiguous().clone();
  detail::check_finite(w, "LogisticRegression::set_weights", "the weights");
  w_ = w;
}

Tensor LogisticRegression::logits(const Tensor& xb) const { return matmul(xb, w_); }

Tensor LogisticRegression::predict_proba(const Tensor& x) const {
  Tensor xb =
      detail::with_bias(detail::features(x, "LogisticRegression::predict_proba", w_.size(0) - 1));
  Tensor z = logits(xb);
  return classes_ == 2 ? sigmoid(z) : softmax(z, 1);
}

Tensor LogisticRegression::predict(const Tensor& x) const {
  Tensor p = predict_proba(x);
  if (classes_ == 2) return gt(p, 0.5).to(kInt64);
  return argmax(p, 1);
}

LogisticReport LogisticRegression::fit(const Tensor& x, const Tensor& y,
                                       const LogisticOptions& opt) {
  const char* op = "LogisticRegression::fit";
  detail::check_options(op, opt.lr, opt.epochs);
  SN_CHECK(opt.l2 >= 0.0 && std::isfinite(opt.l2), ValueError, op, ": l2 must be ≥ 0 (got ", opt.l2,
           ")");
  SN_CHECK(opt.mode != UpdateMode::MiniBatch || opt.batch_size >= 1, ValueError, op,
           ": batch_size must be at least 1 (got ", opt.batch_size, ")");
  Tensor xb = detail::with_bias(detail::features(x, op, w_.size(0) - 1));
  Tensor labels = detail::targets(y, xb.size(0), op);
  const int64_t n = xb.size(0);
  {
    const double* pl = labels.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i)
      SN_CHECK(pl[i] == std::floor(pl[i]) && pl[i] >= 0 && pl[i] < static_cast<double>(classes_),
               ValueError, op, ": label ", pl[i], " at index ", i, " is not a class index in [0, ",
               classes_, ")");
  }
  // targets in the shape of the model's output: y [N] (binary) or one-hot Y [N, K]
  Tensor target =
      classes_ == 2 ? labels : one_hot(labels.to(kInt64), classes_).to(kFloat64).contiguous();
  Tensor no_bias = ones_like(w_);  // L2 mask: the bias row is not penalised
  no_bias.narrow(0, 0, 1).zero_();

  const int64_t bs = opt.mode == UpdateMode::Batch    ? n
                     : opt.mode == UpdateMode::Online ? 1
                                                      : std::min(opt.batch_size, n);
  LogisticReport report;
  for (int64_t epoch = 1; epoch <= opt.epochs; ++epoch) {
    std::vector<int64_t> order = detail::sample_order(n, opt.shuffle && bs < n);
    for (int64_t s = 0; s < n; s += bs) {
      const int64_t e = std::min(n, s + bs);
      Tensor xs = detail::gather_rows(xb, order, s, e),
             ts = detail::gather_rows(target, order, s, e);
      Tensor z = logits(xs);
      // sigmoid + BCE and softmax + CE share one gradient: ∂L/∂z = p − y, so ∂L/∂w = x̃ᵀ(p − y)/|B|
      Tensor prob = classes_ == 2 ? sigmoid(z) : softmax(z, 1);
      Tensor grad = matmul(xs.t(), prob - ts) / static_cast<double>(e - s);
      if (opt.l2 > 0.0) grad = grad + w_ * no_bias * opt.l2;
      w_.sub_(grad * opt.lr);
    }
    Tensor z = logits(xb);
    double loss;
    if (classes_ == 2)  // BCE from logits: softplus(z) − y·z, stable for large |z|
      loss = mean(softplus(z) - target * z).item();
    else
      loss = -(sum(target * log_softmax(z, 1)) / static_cast<double>(n)).item();
    if (opt.l2 > 0.0) loss += 0.5 * opt.l2 * sum(square(w_ * no_bias)).item();
    report.loss.push_back(loss);
    report.accuracy.push_back(accuracy(predict(x), labels));
    report.epochs = epoch;
  }
  return report;
}

}  // namespace sn::classic
