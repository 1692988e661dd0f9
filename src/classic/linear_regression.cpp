// Linear regression (see sinapsis/classic/linear_regression.h): normal equations through
// LAPACK (dpotrf + dpocon + dpotrs), least-squares fallbacks dgelsd (SVD) / dgels (QR), and
// gradient descent on the MSE. All arithmetic in float64, row-major.
#include "sinapsis/classic/linear_regression.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "classic/data.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

namespace {

// y [N] or [N, k] as contiguous float64 [N, k], remembering whether it was a vector.
Tensor response(const Tensor& y, int64_t n, const char* op, bool& vector) {
  SN_CHECK(y.defined(), ValueError, op, ": y is undefined");
  vector = y.dim() == 1;
  SN_CHECK(y.dim() == 1 || y.dim() == 2, ShapeError, op,
           ": y must be [samples] or [samples, "
           "outputs] (got ",
           y.shape(), ")");
  SN_CHECK(y.size(0) == n, ShapeError, op, ": x has ", n, " samples but y has ", y.size(0),
           " (shape ", y.shape(), ")");
  SN_CHECK(y.numel() > 0, ShapeError, op, ": y is empty (shape ", y.shape(), ")");
  Tensor c = y.detach().to(kFloat64).contiguous().reshape({n, y.dim() == 1 ? 1 : y.size(1)});
  if (c.shares_storage(y)) c = c.clone();
  detail::check_finite(c, op, "y");
  return c;
}

// The design matrix: x̃ = [1, x] with an intercept, x itself without.
Tensor design(const Tensor& x, bool intercept) { return intercept ? detail::with_bias(x) : x; }

// Parameters θ of the design matrix -> weights with w0 first (w0 = 0 without an intercept).
Tensor to_weights(const Tensor& theta, bool intercept, bool vector) {
  Tensor w = intercept ? theta : cat({zeros({1, theta.size(1)}, {.dtype = kFloat64}), theta}, 0);
  return vector ? w.reshape({w.size(0)}).contiguous() : w.contiguous();
}

double one_norm(const Tensor& a) {  // max column sum of |a_ij|, a square row-major
  const int64_t p = a.size(0);
  const double* pa = a.data_ptr<double>();
  double best = 0.0;
  for (int64_t j = 0; j < p; ++j) {
    double s = 0.0;
    for (int64_t i = 0; i < p; ++i) s += std::abs(pa[i * p + j]);
    best = std::max(best, s);
  }
  return best;
}

const char* fallback_hint() {
  return "pass .fallback = sn::classic::LstsqFallback::SVD for the minimum-norm least-squares "
         "solution";
}

// Solves min |a·θ − b| with dgelsd (SVD, any rank). a [N, p], b [N, k]; returns θ [p, k].
Tensor solve_svd(const Tensor& a_in, const Tensor& b_in, int64_t& rank) {
  const int64_t n = a_in.size(0), p = a_in.size(1), k = b_in.size(1);
  Tensor a = a_in.clone();
  Tensor b = zeros({std::max(n, p), k}, {.dtype = kFloat64});
  b.narrow(0, 0, n).copy_(b_in);
  std::vector<double> s(static_cast<size_t>(std::min(n, p)));
  // numpy's default: singular values below eps·max(N, p)·σ_max count as zero
  const double rcond = std::numeric_limits<double>::epsilon() * static_cast<double>(std::max(n, p));
  lapack_int r = 0;
  const lapack_int info =
      LAPACKE_dgelsd(LAPACK_ROW_MAJOR, static_cast<lapack_int>(n), static_cast<lapack_int>(p),
                     static_cast<lapack_int>(k), a.data_ptr<double>(), static_cast<lapack_int>(p),
                     b.data_ptr<double>(), static_cast<lapack_int>(k), s.data(), rcond, &r);
  SN_CHECK(info == 0, ValueError,
           "LinearRegression: the SVD least-squares solver (dgelsd) did "
           "not converge (info ",
           info, ")");
  rank = r;
  return b.narrow(0, 0, p).contiguous();
}

// Solves min |a·θ − b| with dgels (QR); a must have full column rank.
Tensor solve_qr(const Tensor& a_in, const Tensor& b_in) {
  const int64_t n = a_in.size(0), p = a_in.size(1), k = b_in.size(1);
  SN_CHECK(n >= p, ValueError, "LinearRegression: QR needs at least as many samples as unknowns (",
           n, " samples, ", p, " unknowns); hint: ", fallback_hint());
  Tensor a = a_in.clone(), b = b_in.clone();
  const lapack_int info =
      LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', static_cast<lapack_int>(n), static_cast<lapack_int>(p),
                    static_cast<lapack_int>(k), a.data_ptr<double>(), static_cast<lapack_int>(p),
                    b.data_ptr<double>(), static_cast<lapack_int>(k));
  // dgels only notices an exactly zero pivot; a dependent column usually leaves a rounding-size
  // one, so judge R's diagonal relative to its largest entry (as numpy's rank test does)
  const double* r = a.data_ptr<double>();
  double biggest = 0.0;
  for (int64_t i = 0; i < p; ++i) biggest = std::max(biggest, std::abs(r[i * p + i]));
  const double tol = biggest * std::numeric_limits<double>::epsilon() * static_cast<double>(n);
  int64_t bad = info > 0 ? info - 1 : -1;
  for (int64_t i = 0; i < p && bad < 0; ++i)
    if (std::abs(r[i * p + i]) <= tol) bad = i;
  SN_CHECK(bad < 0, ValueError,
           "LinearRegression: x does not have full column rank, so QR "
           "cannot solve it (|R[",
           bad, ", ", bad, "]| is at rounding level); hint: ", fallback_hint());
  SN_CHECK(info == 0, ValueError, "LinearRegression: QR (dgels) failed (info ", info, ")");
  return b.narrow(0, 0, p).contiguous();
}

}  // namespace

NormalEquationsReport LinearRegression::fit_normal_equations(const Tensor& x, const Tensor& y,
                                                             const NormalEquationsOptions& opt) {
  const char* op = "LinearRegression::fit_normal_equations";
  SN_CHECK(opt.max_condition >= 1.0, ValueError, op, ": max_condition must be at least 1 (got ",
           opt.max_condition, ")");
  Tensor a = design(detail::features(x, op), opt.fit_intercept);
  bool vector = false;
  Tensor b = response(y, a.size(0), op, vector);
  const int64_t n = a.size(0), p = a.size(1), k = b.size(1);

  NormalEquationsReport report;
  // (XᵀX)·θ = Xᵀy: XᵀX is symmetric positive definite exactly when X has full column rank
  Tensor ata = matmul(a.t(), a).contiguous(), atb = matmul(a.t(), b).contiguous();
  const double anorm = one_norm(ata);
  const lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', static_cast<lapack_int>(p),
                                         ata.data_ptr<double>(), static_cast<lapack_int>(p));
  double rcond = 0.0;
  if (info == 0 && anorm > 0.0)
    LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', static_cast<lapack_int>(p), ata.data_ptr<double>(),
                   static_cast<lapack_int>(p), anorm, &rcond);
  report.condition = rcond > 0.0 ? 1.0 / rcond : std::numeric_limits<double>::infinity();
  const bool singular = info != 0 || rcond == 0.0;
  const bool ill = !singular && report.condition > opt.max_condition;

  Tensor theta;
  if (!singular && !ill) {
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', static_cast<lapack_int>(p), static_cast<lapack_int>(k),
                   ata.data_ptr<double>(), static_cast<lapack_int>(p), atb.data_ptr<double>(),
                   static_cast<lapack_int>(k));
    theta = atb;
    report.solver = "cholesky";
  } else if (opt.fallback == LstsqFallback::SVD) {
    theta = solve_svd(a, b, report.rank);
    report.solver = "svd";
  } else if (opt.fallback == LstsqFallback::QR) {
    theta = solve_qr(a, b);
    report.solver = "qr";
  } else if (singular) {
    SN_THROW(ValueError, op, ": XᵀX is singular ([", p, ", ", p,
             "] matrix is not positive "
             "definite",
             info > 0 ? ", leading minor " + std::to_string(info) + " fails" : "",
             "), so the normal equations have no unique solution; ",
             n < p ? "there are fewer samples (" + std::to_string(n) + ") than unknowns (" +
                         std::to_string(p) + ")"
                   : std::string("some columns of x are linearly dependent (a duplicated or "
                                 "constant column, which the intercept already covers)"),
             "; hint: drop the dependent columns, or ", fallback_hint());
  } else {
    SN_THROW(ValueError, op, ": XᵀX is ill-conditioned (estimated condition number ",
             report.condition, " > max_condition ", opt.max_condition,
             "), so the solution would be dominated by rounding error; hint: standardise the "
             "features and drop near-duplicate columns, use .fallback = "
             "sn::classic::LstsqFallback::QR (better conditioned) or SVD");
  }
  detail::check_finite(theta, op, "the solution");
  w_ = to_weights(theta, opt.fit_intercept, vector);
  return report;
}

GradientDescentReport LinearRegression::fit_gradient_descent(const Tensor& x, const Tensor& y,
                                                             const GradientDescentOptions& opt) {
  const char* op = "LinearRegression::fit_gradient_descent";
  detail::check_options(op, opt.lr, opt.epochs);
  SN_CHECK(opt.lr_decay >= 0.0 && std::isfinite(opt.lr_decay), ValueError, op,
           ": lr_decay must be ≥ 0 (got ", opt.lr_decay, ")");
  SN_CHECK(opt.mode != UpdateMode::MiniBatch || opt.batch_size >= 1, ValueError, op,
           ": batch_size must be at least 1 (got ", opt.batch_size, ")");
  Tensor a = design(detail::features(x, op), opt.fit_intercept);
  bool vector = false;
  Tensor b = response(y, a.size(0), op, vector);
  const int64_t n = a.size(0), p = a.size(1), k = b.size(1);
  const int64_t bs = opt.mode == UpdateMode::Batch    ? n
                     : opt.mode == UpdateMode::Online ? 1
                                                      : std::min(opt.batch_size, n);
  Tensor theta = zeros({p, k}, {.dtype = kFloat64});

  GradientDescentReport report;
  const double start_mse = mean_squared_error(matmul(a, theta), b);
  for (int64_t epoch = 1; epoch <= opt.epochs; ++epoch) {
    const double lr = opt.lr / (1.0 + opt.lr_decay * static_cast<double>(epoch - 1));
    std::vector<int64_t> order = detail::sample_order(n, opt.shuffle && bs < n);
    for (int64_t s = 0; s < n; s += bs) {
      const int64_t e = std::min(n, s + bs);
      Tensor as = detail::gather_rows(a, order, s, e), bsub = detail::gather_rows(b, order, s, e);
      // L = 1/|B|·Σ(x̃θ − y)²  =>  ∂L/∂θ = 2/|B|·x̃ᵀ(x̃θ − y)
      Tensor grad = matmul(as.t(), matmul(as, theta) - bsub);
      theta.add_(grad, -2.0 * lr / static_cast<double>(e - s));
    }
    const double loss = mean_squared_error(matmul(a, theta), b);
    report.loss.push_back(loss);
    report.epochs = epoch;
    if (detail::diverging(loss, start_mse)) {
      report.diverged = true;
      break;
    }
  }
  w_ = to_weights(theta, opt.fit_intercept, vector);
  return report;
}

void LinearRegression::check_fitted(const char* op) const {
  SN_CHECK(w_.defined(), ValueError, op,
           ": the model is not fitted yet; hint: call "
           "fit_normal_equations or fit_gradient_descent first");
}

Tensor LinearRegression::predict(const Tensor& x) const {
  check_fitted("LinearRegression::predict");
  Tensor xb = detail::with_bias(detail::features(x, "LinearRegression::predict", w_.size(0) - 1));
  return matmul(xb, w_);
}

Tensor LinearRegression::coefficients() const {
  check_fitted("LinearRegression::coefficients");
  return w_.narrow(0, 1, w_.size(0) - 1).contiguous();
}

double LinearRegression::intercept() const {
  check_fitted("LinearRegression::intercept");
  SN_CHECK(w_.dim() == 1, ValueError, "LinearRegression::intercept: the model has ", w_.size(1),
           " outputs; hint: read weights()[0] for the intercepts");
  return w_.at({0});
}

}  // namespace sn::classic
