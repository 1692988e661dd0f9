// Linear regression two ways: closed form by the normal equations (XᵀX)·w = Xᵀy, solved with
// LAPACK's Cholesky after a condition check, with an optional least-squares fallback (SVD or
// QR on X itself); and by gradient descent on the MSE (batch, stochastic, mini-batch).
// No regularisation paths or feature scaling here: standardise the inputs yourself.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sinapsis/classic/common.h"
#include "sinapsis/core/tensor.h"

namespace sn::classic {

// What to do when XᵀX is singular or ill-conditioned.
enum class LstsqFallback {
  None,  // throw sn::ValueError
  SVD,   // LAPACK dgelsd on X: the minimum-norm least-squares solution, any rank
  QR,    // LAPACK dgels on X: needs full column rank, but avoids squaring the condition number
};

struct NormalEquationsOptions {
  bool fit_intercept = true;  // prepend the constant column 1 (w0)
  // cond₁(XᵀX) above this counts as ill-conditioned. XᵀX squares the condition of X, so 1e12
  // leaves about 4 trustworthy digits in double precision.
  double max_condition = 1e12;
  LstsqFallback fallback = LstsqFallback::None;
};

struct NormalEquationsReport {
  std::string solver{};    // "cholesky", "svd" or "qr"
  double condition = 0.0;  // estimated cond₁(XᵀX) (inf when singular)
  int64_t rank = -1;       // effective rank of X (SVD only)
};

struct GradientDescentOptions {
  double lr = 0.01;
  int64_t epochs = 100;
  UpdateMode mode = UpdateMode::Batch;  // Online = stochastic gradient descent
  int64_t batch_size = 32;              // MiniBatch only
  bool shuffle = true;    // Online/MiniBatch: fresh random order each epoch (sn::manual_seed)
  double lr_decay = 0.0;  // η_e = lr / (1 + lr_decay·e): lets SGD settle instead of jitter
  bool fit_intercept = true;
};

struct GradientDescentReport {
  std::vector<double> loss{};  // MSE over all samples after each epoch
  int64_t epochs = 0;
  // The loss became inf/NaN or grew a million-fold over the loss at zero weights (lr too
  // large); training stopped there.
  bool diverged = false;
};

class LinearRegression {
 public:
  LinearRegression() = default;

  // x [N, d], y [N] or [N, k]. Replaces any previous fit.
  NormalEquationsReport fit_normal_equations(const Tensor& x, const Tensor& y,
                                             const NormalEquationsOptions& options = {});
  // Starts from zero weights; minimises mean((x̃·w − y)²).
  GradientDescentReport fit_gradient_descent(const Tensor& x, const Tensor& y,
                                             const GradientDescentOptions& options = {});

  Tensor predict(const Tensor& x) const;  // float64 [N] (or [N, k])
  // float64 [d + 1] (or [d + 1, k]): w0 first (0 without an intercept).
  const Tensor& weights() const { return w_; }
  Tensor coefficients() const;  // weights without w0: [d] (or [d, k])
  double intercept() const;     // w0 (single-output fits)
  bool fitted() const { return w_.defined(); }

 private:
  void check_fitted(const char* op) const;
  Tensor w_;
};

}  // namespace sn::classic
