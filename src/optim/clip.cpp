// Gradient clipping: clip_grad_norm_ (one total norm over all gradients, then a common scale)
// and clip_grad_value_ (elementwise clamp), with PyTorch 1.13 semantics. The norm is summed in
// double over fixed-size blocks, so the result does not depend on the thread count.
#include "sinapsis/optim/clip.h"

#include <cmath>

#include "backend/cpu/fused_update.h"
#include "sinapsis/autograd/node.h"

namespace sn::optim {

namespace {
constexpr int64_t kBlock = 1 << 16;

// Σ|x|ᵖ over a contiguous gradient (or max |x| when p is infinite), in double.
double norm_part(const Tensor& g, double p) {
  const Tensor c = sn::detail::contiguous_raw(g);
  const int64_t n = c.numel();
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  const bool inf = std::isinf(p);
  SN_DISPATCH_FLOAT(c.dtype(), "clip_grad_norm_", [&] {
    const scalar_t* x = cpu::ptr<scalar_t>(c);
    cpu::parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t s = b * kBlock, e = std::min(n, s + kBlock);
        double acc = 0;
        if (inf) {
          for (int64_t i = s; i < e; ++i) {
            const double v = std::fabs(static_cast<double>(x[i]));
            if (!(v <= acc)) acc = v;  // keeps a NaN
          }
        } else if (p == 2) {
          for (int64_t i = s; i < e; ++i) acc += static_cast<double>(x[i]) * x[i];
        } else if (p == 1) {
          for (int64_t i = s; i < e; ++i) acc += std::fabs(static_cast<double>(x[i]));
        } else {
          for (int64_t i = s; i < e; ++i) acc += std::pow(std::fabs(static_cast<double>(x[i])), p);
        }
        partial[static_cast<size_t>(b)] = acc;
      }
    });
  });
  double total = 0;
  for (double v : partial) {
    if (inf)
      total = !(v <= total) ? v : total;
    else
      total += v;
  }
  return total;
}
}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  SN_CHECK(max_norm >= 0, ValueError, "clip_grad_norm_: max_norm must be >= 0 (got ", max_norm,
           ")");
  SN_CHECK(norm_type > 0, ValueError, "clip_grad_norm_: norm_type must be > 0 or INFINITY (got ",
           norm_type, ")");
  std::vector<Tensor> grads;
  for (const auto& p : params) {
    SN_CHECK(p.defined(), ValueError, "clip_grad_norm_: a parameter is an undefined tensor");
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    SN_CHECK(g.is_floating_point(), DTypeError, "clip_grad_norm_: gradient has dtype ", g.dtype());
    grads.push_back(g);
  }
  if (grads.empty()) return 0.0;
  const bool inf = std::isinf(norm_type);
  double acc = 0;
  for (const auto& g : grads) {
    const double part = norm_part(g, norm_type);
    acc = inf ? (!(part <= acc) ? part : acc) : acc + part;
  }
  const double total = inf ? acc : std::pow(acc, 1.0 / norm_type);
  SN_CHECK(!error_if_nonfinite || std::isfinite(total), ValueError,
           "clip_grad_norm_: the total norm of order ", norm_type, " of the gradients is ", total,
           "; hint: a NaN or inf gradient - lower the learning rate, or pass "
           "error_if_nonfinite = false to clip anyway");
  // Like PyTorch, a non-finite total still scales (by NaN or 0), making the damage visible.
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  if (!(coef < 1.0) && !std::isnan(coef)) return total;
  NoGradGuard ng;
  for (auto& g : grads) {
    Tensor h = g;
    h.mul_(coef);
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  SN_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0 (got ",
           clip_value, ")");
  NoGradGuard ng;
  for (const auto& p : params) {
    SN_CHECK(p.defined(), ValueError, "clip_grad_value_: a parameter is an undefined tensor");
    Tensor g = p.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace sn::optim
