// gradcheck: analytic gradients (autograd::grad) against central finite differences, in f64.
// The output is projected to a scalar with fixed weights so one backward covers every element.
#include "sinapsis/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn::autograd {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions opts) {
  std::vector<Tensor> xs;
  std::vector<int> diff;  // indices of inputs that require grad
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (in.defined() && in.is_floating_point() && in.requires_grad()) {
      // a private f64 copy: the perturbations below must not reach the caller's tensor, nor an
      // input passed twice (non-contiguous cases are built inside fn from these leaves)
      Tensor c = detail::cast_raw(in.detach(), kFloat64, true);
      c.requires_grad_(true);
      xs.push_back(c);
      diff.push_back(static_cast<int>(i));
    } else {
      xs.push_back(in.defined() && in.is_floating_point() ? in.detach().to(kFloat64) : in);
    }
  }
  SN_CHECK(!diff.empty(), ValueError, "gradcheck: no input requires grad");
  auto project = [&](const Tensor& y) {
    // fixed, distinct weights: 1, 0.9, 0.8, ... cycling, so swapped gradients are caught
    Tensor w = empty(y.shape(), {.dtype = kFloat64});
    double* p = w.data_ptr<double>();
    for (int64_t i = 0; i < w.numel(); ++i)
      p[i] = 1.0 - 0.1 * static_cast<double>(i % 7) + 0.05 * (i % 3);
    return sum(mul(y.to(kFloat64), w));
  };
  Tensor y = fn(xs);
  SN_CHECK(y.defined() && y.requires_grad(), ValueError,
           "gradcheck: the function's output does not depend on any input that requires grad");
  std::vector<Tensor> dins;
  for (int i : diff) dins.push_back(xs[i]);
  std::vector<Tensor> analytic = grad({project(y)}, dins, {}, {.allow_unused = true});

  GradcheckResult res;
  double worst = -1;
  NoGradGuard ng;
  for (size_t k = 0; k < diff.size(); ++k) {
    Tensor x = xs[diff[k]];
    Tensor an =
        analytic[k].defined() ? analytic[k].contiguous() : zeros(x.shape(), {.dtype = kFloat64});
    const double* pa = an.data_ptr<double>();
    // walk elements in row-major order through the (possibly strided) storage
    const Shape cst = contiguous_strides(x.shape());
    for (int64_t e = 0; e < x.numel(); ++e) {
      int64_t off = 0, rem = e;
      for (int d = 0; d < x.dim(); ++d) {
        off += (rem / cst[d]) * x.strides()[d];
        rem %= cst[d];
      }
      double* px = static_cast<double*>(x.raw_data()) + off;
      const double orig = *px;
      *px = orig + opts.eps;
      const double fp = project(fn(xs)).item();
      *px = orig - opts.eps;
      const double fm = project(fn(xs)).item();
      *px = orig;
      const double num = (fp - fm) / (2 * opts.eps);
      const double a = pa[e];
      const double abs_err = std::abs(a - num);
      const double rel = abs_err / std::max({std::abs(a), std::abs(num), 1e-12});
      const bool ok = abs_err <= opts.atol + opts.rtol * std::abs(num);
      const double score = abs_err / (opts.atol + opts.rtol * std::abs(num));
      if (!ok) res.ok = false;
      if (score > worst) {
        worst = score;
        res.input = diff[k];
        res.element = e;
        res.analytic = a;
        res.numeric = num;
        res.abs_error = abs_err;
        res.rel_error = rel;
      }
    }
  }
  std::ostringstream os;
  os << (res.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst element " << res.element
     << " of input " << res.input << ": analytic " << res.analytic << ", numeric " << res.numeric
     << " (abs error " << res.abs_error << ", rel error " << res.rel_error << ")";
  res.message = os.str();
  return res;
}

}  // namespace sn::autograd
