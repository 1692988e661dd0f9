// LBFGS: the two-loop recursion over a short (s, y) history, a fixed step or a strong-Wolfe
// line search (bracketing with cubic interpolation, then zoom), following the algorithm and
// the stopping rules of torch.optim.LBFGS 1.13 (itself after minFunc). Works on one flat
// vector of all parameters; scalars (step lengths, curvatures) are kept in double.
#include "sinapsis/optim/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "backend/cpu/fused_update.h"
#include "sinapsis/autograd/node.h"

namespace sn::optim {

namespace {

void validate(const LBFGSOptions& o) {
  SN_CHECK(o.lr >= 0, ValueError, "LBFGS: lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.max_iter >= 1, ValueError, "LBFGS: max_iter must be >= 1 (got ", o.max_iter, ")");
  SN_CHECK(o.max_eval == -1 || o.max_eval >= 1, ValueError,
           "LBFGS: max_eval must be >= 1, or -1 for max_iter * 5 / 4 (got ", o.max_eval, ")");
  SN_CHECK(o.tolerance_grad >= 0, ValueError, "LBFGS: tolerance_grad must be >= 0 (got ",
           o.tolerance_grad, ")");
  SN_CHECK(o.tolerance_change >= 0, ValueError, "LBFGS: tolerance_change must be >= 0 (got ",
           o.tolerance_change, ")");
  SN_CHECK(o.history_size >= 1, ValueError, "LBFGS: history_size must be >= 1 (got ",
           o.history_size, ")");
  SN_CHECK(o.line_search == LineSearch::None || o.line_search == LineSearch::StrongWolfe,
           ValueError, "LBFGS: unknown line_search (", static_cast<int>(o.line_search), ")");
}

// ---- flat vector helpers (1-D contiguous tensors of the parameters' dtype) ----

Tensor new_flat(int64_t n, DType dt) { return sn::detail::make_tensor(Shape{n}, dt); }

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  SN_DISPATCH_FLOAT(a.dtype(), "LBFGS", [&] {
    const scalar_t* x = cpu::ptr<scalar_t>(a);
    const scalar_t* y = cpu::ptr<scalar_t>(b);
    for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(x[i]) * y[i];
  });
  return s;
}

double abs_max(const Tensor& a) {
  double m = 0;
  SN_DISPATCH_FLOAT(a.dtype(), "LBFGS", [&] {
    const scalar_t* x = cpu::ptr<scalar_t>(a);
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double v = std::fabs(static_cast<double>(x[i]));
      if (!(v <= m)) m = v;  // NaN wins, so a NaN gradient never looks optimal
    }
  });
  return m;
}

double abs_sum(const Tensor& a) {
  double s = 0;
  SN_DISPATCH_FLOAT(a.dtype(), "LBFGS", [&] {
    const scalar_t* x = cpu::ptr<scalar_t>(a);
    for (int64_t i = 0; i < a.numel(); ++i) s += std::fabs(static_cast<double>(x[i]));
  });
  return s;
}

// out = a·s (new tensor)
Tensor scaled(const Tensor& a, double s) {
  Tensor out = new_flat(a.numel(), a.dtype());
  SN_DISPATCH_FLOAT(a.dtype(), "LBFGS", [&] {
    using T = scalar_t;
    const T* x = cpu::ptr<T>(a);
    T* o = cpu::ptr<T>(out);
    const T c = static_cast<T>(s);
    cpu::for_each_element(a.numel(), [&](int64_t i) { o[i] = x[i] * c; });
  });
  return out;
}

// y += alpha·x
void axpy(const Tensor& y, double alpha, const Tensor& x) {
  SN_DISPATCH_FLOAT(y.dtype(), "LBFGS", [&] {
    using T = scalar_t;
    T* a = cpu::ptr<T>(y);
    const T* b = cpu::ptr<T>(x);
    const T c = static_cast<T>(alpha);
    cpu::for_each_element(y.numel(), [&](int64_t i) { a[i] = a[i] + c * b[i]; });
  });
}

// a − b (new tensor)
Tensor diff(const Tensor& a, const Tensor& b) {
  Tensor out = sn::detail::cast_raw(a, a.dtype(), /*force_copy=*/true);
  axpy(out, -1.0, b);
  return out;
}

Tensor copy_of(const Tensor& a) { return sn::detail::cast_raw(a, a.dtype(), true); }

double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         const double* bounds = nullptr) {
  double lo, hi;
  if (bounds) {
    lo = bounds[0];
    hi = bounds[1];
  } else {
    lo = x1 <= x2 ? x1 : x2;
    hi = x1 <= x2 ? x2 : x1;
  }
  // Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2):
  //   d1 = g1 + g2 − 3(f1 − f2)/(x1 − x2),  d2 = √(d1² − g1·g2),
  //   x = x2 − (x2 − x1)·(g2 + d2 − d1)/(g2 − g1 + 2·d2), clamped to the bounds;
  // no real minimiser: the middle of the bounds.
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const double d2 = std::sqrt(d2_square);
    const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return std::min(std::max(min_pos, lo), hi);
  }
  return (lo + hi) / 2.0;
}

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions options)
    : Optimizer("LBFGS", {}), options_(options) {
  validate(options_);
  for (size_t i = 1; i < params.size(); ++i)
    SN_CHECK(params[i].defined() && params[0].defined() && params[i].dtype() == params[0].dtype(),
             DTypeError, "LBFGS: all parameters must share one dtype (parameter 0 is ",
             params[0].defined() ? dtype_name(params[0].dtype()) : "undefined", ", parameter ", i,
             " is ", params[i].defined() ? dtype_name(params[i].dtype()) : "undefined", ")");
  add_group(std::move(params));
}

std::vector<std::pair<std::string, double>> LBFGS::group_options(size_t) const {
  const LBFGSOptions& o = options_;
  return {{"lr", o.lr},
          {"max_iter", static_cast<double>(o.max_iter)},
          {"max_eval", static_cast<double>(o.max_eval)},
          {"tolerance_grad", o.tolerance_grad},
          {"tolerance_change", o.tolerance_change},
          {"history_size", static_cast<double>(o.history_size)},
          {"line_search", static_cast<double>(static_cast<int>(o.line_search))}};
}

void LBFGS::set_group_options(size_t, const std::map<std::string, double>& values) {
  LBFGSOptions o = options_;
  take(values, "lr", o.lr);
  take(values, "max_iter", o.max_iter);
  take(values, "max_eval", o.max_eval);
  take(values, "tolerance_grad", o.tolerance_grad);
  take(values, "tolerance_change", o.tolerance_change);
  take(values, "history_size", o.history_size);
  int64_t ls = static_cast<int64_t>(o.line_search);
  take(values, "line_search", ls);
  SN_CHECK(ls == 0 || ls == 1, ValueError, "LBFGS: line_search must be 0 (none) or 1 ",
           "(strong Wolfe) (got ", ls, ")");
  o.line_search = static_cast<LineSearch>(ls);
  validate(o);
  options_ = o;  // a shorter history_size trims the history at the next step
}

void LBFGS::update() {
  SN_THROW(ValueError, "LBFGS: step() needs a closure that re-evaluates the loss; hint: ",
           "opt.step([&] { opt.zero_grad(); auto loss = f(); loss.backward(); return loss; })");
}

Tensor LBFGS::step(const Closure& closure) {
  if (!closure) update();  // throws the explanation
  NoGradGuard no_grad;
  const std::vector<Tensor>& params = groups_[0];
  const DType dt = params[0].dtype();
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();

  auto evaluate = [&]() -> Tensor {
    EnableGradGuard eg;
    Tensor l = closure();
    SN_CHECK(l.defined() && l.numel() == 1, ValueError,
             "LBFGS: the closure must return the loss as a one-element tensor (got ",
             l.defined() ? sn::detail::concat("shape ", l.shape()) : std::string("undefined"), ")");
    return l;
  };
  auto flat_grad = [&]() {
    Tensor flat = new_flat(numel, dt);
    int64_t off = 0;
    for (const auto& p : params) {
      Tensor view = sn::detail::make_view(flat, p.shape(), contiguous_strides(p.shape()), off);
      const Tensor g = p.grad();
      if (g.defined())
        sn::detail::copy_raw(view, g);
      else
        sn::detail::fill_raw(view, 0.0);
      off += p.numel();
    }
    return flat;
  };
  // params += t·d
  auto add_grad = [&](double t, const Tensor& d) {
    int64_t off = 0;
    for (const auto& p : params) {
      Tensor part = sn::detail::make_view(d, p.shape(), contiguous_strides(p.shape()), off);
      cpu::FusedParam fp(p, part);
      SN_DISPATCH_FLOAT(dt, "LBFGS", [&] {
        using T = scalar_t;
        T* x = cpu::ptr<T>(fp.param());
        const T* u = cpu::ptr<T>(fp.grad());
        const T c = static_cast<T>(t);
        cpu::for_each_element(fp.numel(), [&](int64_t i) { x[i] = x[i] + c * u[i]; });
      });
      fp.finish();
      off += p.numel();
    }
  };
  auto clone_params = [&]() {
    std::vector<Tensor> xs;
    for (const auto& p : params) xs.push_back(copy_of(p));
    return xs;
  };
  auto set_params = [&](const std::vector<Tensor>& xs) {
    for (size_t i = 0; i < params.size(); ++i) {
      sn::detail::copy_raw(params[i], xs[i]);
      params[i].bump_version();
    }
  };
  // f and ∇f at x + t·d; the parameters are put back to x afterwards.
  auto directional = [&](const std::vector<Tensor>& x, double t, const Tensor& d) {
    add_grad(t, d);
    const double f = evaluate().item();
    Tensor g = flat_grad();
    set_params(x);
    return std::pair<double, Tensor>(f, g);
  };

  // Strong-Wolfe line search along d from t: returns (f, g, t, evaluations).
  auto strong_wolfe = [&](const std::vector<Tensor>& x, double t, const Tensor& d, double f,
                          const Tensor& g, double gtd) {
    const double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
    const int max_ls = 25;
    const double d_norm = abs_max(d);
    auto [f_new, g_new] = directional(x, t, d);
    int ls_func_evals = 1;
    double gtd_new = dot(g_new, d);

    // Bracket an interval containing a point that satisfies the Wolfe conditions.
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    Tensor g_prev = g;
    bool done = false;
    int ls_iter = 0;
    std::vector<double> bracket, bracket_f, bracket_gtd;
    std::vector<Tensor> bracket_g;
    while (ls_iter < max_ls) {
      if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
        bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_gtd = {gtd_prev, gtd_new};
        bracket_g = {g_prev, g_new};
        break;
      }
      if (std::fabs(gtd_new) <= -c2 * gtd) {
        bracket = {t}, bracket_f = {f_new}, bracket_gtd = {gtd_new}, bracket_g = {g_new};
        done = true;
        break;
      }
      if (gtd_new >= 0) {
        bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_gtd = {gtd_prev, gtd_new};
        bracket_g = {g_prev, g_new};
        break;
      }
      // extrapolate: cubic minimiser between 1.01·t and 10·t
      const double bounds[2] = {t + 0.01 * (t - t_prev), t * 10};
      const double tmp = t;
      t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds);
      t_prev = tmp, f_prev = f_new, g_prev = g_new, gtd_prev = gtd_new;
      std::tie(f_new, g_new) = directional(x, t, d);
      ++ls_func_evals;
      gtd_new = dot(g_new, d);
      ++ls_iter;
    }
    if (ls_iter == max_ls) {
      bracket = {0, t}, bracket_f = {f, f_new}, bracket_gtd = {gtd, gtd_new};
      bracket_g = {g, g_new};
    }

    // Zoom: shrink the bracket until a point satisfies the conditions.
    bool insuf_progress = false;
    size_t low = bracket_f[0] <= bracket_f.back() ? 0 : 1, high = 1 - low;
    while (!done && ls_iter < max_ls) {
      if (std::fabs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
      t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                            bracket_gtd[1]);
      // A trial point too close to an end of the bracket makes little progress: after two
      // such in a row (or one outside), move it 10% of the bracket inside.
      const double bmax = std::max(bracket[0], bracket[1]), bmin = std::min(bracket[0], bracket[1]);
      const double eps = 0.1 * (bmax - bmin);
      if (std::min(bmax - t, t - bmin) < eps) {
        if (insuf_progress || t >= bmax || t <= bmin) {
          t = std::fabs(t - bmax) < std::fabs(t - bmin) ? bmax - eps : bmin + eps;
          insuf_progress = false;
        } else {
          insuf_progress = true;
        }
      } else {
        insuf_progress = false;
      }
      std::tie(f_new, g_new) = directional(x, t, d);
      ++ls_func_evals;
      gtd_new = dot(g_new, d);
      ++ls_iter;
      if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low]) {
        // Armijo fails or no lower than the low end: t becomes the high end
        bracket[high] = t, bracket_f[high] = f_new, bracket_gtd[high] = gtd_new;
        bracket_g[high] = g_new;
        low = bracket_f[0] <= bracket_f[1] ? 0 : 1;
        high = 1 - low;
      } else {
        if (std::fabs(gtd_new) <= -c2 * gtd) {
          done = true;
        } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
          bracket[high] = bracket[low], bracket_f[high] = bracket_f[low];
          bracket_gtd[high] = bracket_gtd[low], bracket_g[high] = bracket_g[low];
        }
        bracket[low] = t, bracket_f[low] = f_new, bracket_gtd[low] = gtd_new;
        bracket_g[low] = g_new;
      }
    }
    return std::tuple<double, Tensor, double, int>(bracket_f[low], bracket_g[low], bracket[low],
                                                   ls_func_evals);
  };

  const LBFGSOptions& o = options_;
  const int64_t max_eval = o.max_eval < 0 ? o.max_iter * 5 / 4 : o.max_eval;

  const Tensor orig_loss = evaluate();
  double loss = orig_loss.item();
  int64_t current_evals = 1;
  ++func_evals_;
  Tensor grad = flat_grad();
  bool opt_cond = abs_max(grad) <= o.tolerance_grad;
  if (opt_cond) return orig_loss;

  while (static_cast<int64_t>(old_dirs_.size()) > o.history_size) {  // history_size shrank
    old_dirs_.erase(old_dirs_.begin());
    old_stps_.erase(old_stps_.begin());
    ro_.erase(ro_.begin());
  }
  int64_t n_iter = 0;
  std::vector<double> al(static_cast<size_t>(o.history_size));
  while (n_iter < o.max_iter) {
    ++n_iter;
    ++n_iter_;

    // ---- descent direction
    if (n_iter_ == 1) {
      d_ = scaled(grad, -1.0);
      old_dirs_.clear(), old_stps_.clear(), ro_.clear();
      h_diag_ = 1;
    } else {
      const Tensor y = diff(grad, prev_flat_grad_);
      const Tensor s = scaled(d_, t_);
      const double ys = dot(y, s);
      if (ys > 1e-10) {  // keep only pairs with positive curvature
        if (static_cast<int64_t>(old_dirs_.size()) == o.history_size) {
          old_dirs_.erase(old_dirs_.begin());
          old_stps_.erase(old_stps_.begin());
          ro_.erase(ro_.begin());
        }
        old_dirs_.push_back(y);
        old_stps_.push_back(s);
        ro_.push_back(1.0 / ys);
        h_diag_ = ys / dot(y, y);  // scale of the initial inverse Hessian
      }
      // Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian approximation.
      const size_t num_old = old_dirs_.size();
      Tensor q = scaled(grad, -1.0);
      for (size_t k = num_old; k-- > 0;) {
        al[k] = dot(old_stps_[k], q) * ro_[k];
        axpy(q, -al[k], old_dirs_[k]);
      }
      d_ = scaled(q, h_diag_);
      for (size_t k = 0; k < num_old; ++k) {
        const double be = dot(old_dirs_[k], d_) * ro_[k];
        axpy(d_, al[k] - be, old_stps_[k]);
      }
    }
    prev_flat_grad_ = copy_of(grad);
    prev_loss_ = loss;

    // ---- step length
    t_ = n_iter_ == 1 ? std::min(1.0, 1.0 / abs_sum(grad)) * o.lr : o.lr;
    const double gtd = dot(grad, d_);
    if (gtd > -o.tolerance_change) break;  // not a descent direction any more

    int64_t ls_func_evals = 0;
    if (o.line_search == LineSearch::StrongWolfe) {
      const std::vector<Tensor> x_init = clone_params();
      int evals = 0;
      std::tie(loss, grad, t_, evals) = strong_wolfe(x_init, t_, d_, loss, grad, gtd);
      ls_func_evals = evals;
      add_grad(t_, d_);
      opt_cond = abs_max(grad) <= o.tolerance_grad;
    } else {
      add_grad(t_, d_);
      if (n_iter != o.max_iter) {
        // the last iteration skips this evaluation: step() re-evaluates on entry anyway
        loss = evaluate().item();
        grad = flat_grad();
        opt_cond = abs_max(grad) <= o.tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals_ += ls_func_evals;

    // ---- stopping rules
    if (n_iter == o.max_iter) break;
    if (current_evals >= max_eval) break;
    if (opt_cond) break;
    if (abs_max(d_) * std::fabs(t_) <= o.tolerance_change) break;
    if (std::fabs(loss - prev_loss_) < o.tolerance_change) break;
  }
  return orig_loss;
}

// ---------------------------------------------------------------- state

void LBFGS::save_extra(OptimizerState& s) const {
  s.scalars["lbfgs.n_iter"] = static_cast<double>(n_iter_);
  s.scalars["lbfgs.func_evals"] = static_cast<double>(func_evals_);
  if (n_iter_ == 0) return;
  s.scalars["lbfgs.t"] = t_;
  s.scalars["lbfgs.h_diag"] = h_diag_;
  s.scalars["lbfgs.prev_loss"] = prev_loss_;
  s.scalars["lbfgs.history"] = static_cast<double>(old_dirs_.size());
  s.tensors["lbfgs.d"] = copy_of(d_);
  s.tensors["lbfgs.prev_flat_grad"] = copy_of(prev_flat_grad_);
  for (size_t k = 0; k < old_dirs_.size(); ++k) {
    const std::string n = std::to_string(k);
    s.tensors["lbfgs.old_dirs." + n] = copy_of(old_dirs_[k]);
    s.tensors["lbfgs.old_stps." + n] = copy_of(old_stps_[k]);
    s.scalars["lbfgs.ro." + n] = ro_[k];
  }
}

void LBFGS::load_extra(const OptimizerState& s, const std::vector<std::string>& keys) {
  const char* op = "LBFGS: load_state_dict";
  int64_t numel = 0;
  for (const auto& p : groups_[0]) numel += p.numel();
  const DType dt = groups_[0][0].dtype();
  auto scalar = [&](const std::string& key) {
    auto it = s.scalars.find(key);
    SN_CHECK(it != s.scalars.end(), ValueError, op, ": missing entry '", key, "'");
    SN_CHECK(std::isfinite(it->second), ValueError, op, ": '", key, "' is not finite (", it->second,
             ")");
    return it->second;
  };
  auto count = [&](const std::string& key, double limit) {
    const double v = scalar(key);
    SN_CHECK(v >= 0 && v <= limit && v == std::floor(v), ValueError, op, ": '", key,
             "' must be a whole number in [0, ", limit, "] (got ", v, ")");
    return static_cast<int64_t>(v);
  };
  auto flat = [&](const std::string& key) {
    auto it = s.tensors.find(key);
    SN_CHECK(it != s.tensors.end() && it->second.defined(), ValueError, op, ": missing tensor '",
             key, "'");
    SN_CHECK(it->second.shape() == Shape{numel}, ShapeError, op, ": '", key, "' has shape ",
             it->second.shape(), ", expected ", Shape{numel});
    return sn::detail::cast_raw(it->second, dt, /*force_copy=*/true);
  };

  const int64_t n_iter = count("lbfgs.n_iter", 9e15);
  const int64_t func_evals = count("lbfgs.func_evals", 9e15);
  size_t expected = 2;
  Tensor d, prev;
  std::vector<Tensor> dirs, stps;
  std::vector<double> ro;
  double t = 0, h_diag = 1, prev_loss = 0;
  if (n_iter > 0) {
    t = scalar("lbfgs.t");
    h_diag = scalar("lbfgs.h_diag");
    prev_loss = scalar("lbfgs.prev_loss");
    const int64_t history = count("lbfgs.history", static_cast<double>(options_.history_size));
    d = flat("lbfgs.d");
    prev = flat("lbfgs.prev_flat_grad");
    for (int64_t k = 0; k < history; ++k) {
      const std::string n = std::to_string(k);
      dirs.push_back(flat("lbfgs.old_dirs." + n));
      stps.push_back(flat("lbfgs.old_stps." + n));
      ro.push_back(scalar("lbfgs.ro." + n));
    }
    expected += 6 + 3 * static_cast<size_t>(history);
  }
  for (const auto& k : keys)
    SN_CHECK(k.rfind("lbfgs.", 0) == 0, ValueError, op, ": unknown key '", k, "'");
  SN_CHECK(keys.size() == expected, ValueError, op, ": ", keys.size(), " lbfgs entries, expected ",
           expected, " (stray history entries?)");

  n_iter_ = n_iter, func_evals_ = func_evals;
  d_ = d, prev_flat_grad_ = prev, t_ = t, h_diag_ = h_diag, prev_loss_ = prev_loss;
  old_dirs_ = std::move(dirs), old_stps_ = std::move(stps), ro_ = std::move(ro);
}

}  // namespace sn::optim
