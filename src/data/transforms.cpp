// Built-in transforms (normalize, one_hot, flatten, lambda), composition and TransformDataset.
// Each built-in is written twice, for one example and for a batch, because the batch form is
// what keeps a loader at one gather + one op per batch instead of B small ones.
#include "sinapsis/data/transforms.h"

#include <cmath>

#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn::data {

Transform::Transform(std::string name, Fn one, Fn batch)
    : name_(std::move(name)), one_(std::move(one)), batch_(std::move(batch)) {
  SN_CHECK(one_, ValueError, "Transform '", name_, "': no function given");
}

Example Transform::apply_batch(Example b) const {
  if (batch_) return batch_(std::move(b));
  SN_CHECK(b.x.defined() && b.x.dim() >= 1, ShapeError, "Transform '", name_,
           "': a batch needs a leading batch dim");
  std::vector<Tensor> xs, ys;
  for (int64_t k = 0; k < b.x.size(0); ++k) {
    Example e = one_({b.x.select(0, k), b.y.defined() ? b.y.select(0, k) : Tensor()});
    xs.push_back(std::move(e.x));
    if (e.y.defined()) ys.push_back(std::move(e.y));
  }
  SN_CHECK(!xs.empty(), ValueError, "Transform '", name_, "': empty batch");
  return {stack(xs), ys.empty() ? Tensor() : stack(ys)};
}

Transform operator|(const Transform& first, const Transform& then) {
  Transform::Fn one = [a = first, b = then](Example e) { return b(a(std::move(e))); };
  Transform::Fn batch;
  if (first.has_batch_form() && then.has_batch_form())
    batch = [a = first, b = then](Example e) { return b.apply_batch(a.apply_batch(std::move(e))); };
  return Transform(first.name() + " | " + then.name(), std::move(one), std::move(batch));
}

Transform compose(const std::vector<Transform>& ts) {
  SN_CHECK(!ts.empty(), ValueError, "compose: no transforms given");
  Transform t = ts[0];
  for (size_t i = 1; i < ts.size(); ++i) t = t | ts[i];
  return t;
}

namespace {

Tensor as_float(const Tensor& x) { return x.is_floating_point() ? x : x.to(kFloat32); }

void check_x(const Example& e, const char* op) {
  SN_CHECK(e.x.defined(), ValueError, op, ": the example has no x");
}

}  // namespace

Transform normalize(double mean, double std) {
  SN_CHECK(std::isfinite(mean) && std::isfinite(std) && std != 0, ValueError,
           "normalize: need a finite mean and a finite non-zero std (got mean ", mean, ", std ",
           std, ")");
  // (x - mean) / std as one multiply-add: x * (1/std) + (-mean/std).
  const double scale = 1.0 / std, shift = -mean / std;
  Transform::Fn f = [scale, shift](Example e) {
    check_x(e, "normalize");
    e.x = as_float(e.x) * scale + shift;
    return e;
  };
  return Transform(detail::concat("normalize(", mean, ", ", std, ")"), f, f);
}

Transform normalize(std::vector<double> mean, std::vector<double> std) {
  SN_CHECK(!mean.empty() && mean.size() == std.size(), ValueError,
           "normalize: need one mean and one std per channel (got ", mean.size(), " means and ",
           std.size(), " stds)");
  for (size_t c = 0; c < mean.size(); ++c)
    SN_CHECK(std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] != 0, ValueError,
             "normalize: channel ", c, " needs a finite mean and a finite non-zero std (got mean ",
             mean[c], ", std ", std[c], ")");
  const int64_t C = static_cast<int64_t>(mean.size());
  // `cdim` is the channel dim: 0 for one example [C, ...], 1 for a batch [B, C, ...].
  auto make = [mean, std, C](int cdim) {
    return [mean, std, C, cdim](Example e) {
      check_x(e, "normalize");
      Tensor x = as_float(e.x);
      SN_CHECK(x.dim() > cdim && x.size(cdim) == C, ShapeError, "normalize: expected ", C,
               " channels in dim ", cdim, " of x, got shape ", x.shape());
      Shape sh;
      sh.push_back(C);
      for (int d = cdim + 1; d < x.dim(); ++d) sh.push_back(1);
      Tensor m = tensor(mean, Shape{C}).reshape(sh).to(x.dtype());
      Tensor s = tensor(std, Shape{C}).reshape(sh).to(x.dtype());
      e.x = (x - m) / s;
      return e;
    };
  };
  return Transform("normalize(per channel)", make(0), make(1));
}

Transform one_hot(int64_t num_classes, DType dtype) {
  SN_CHECK(num_classes > 0, ValueError, "one_hot: num_classes must be positive (got ", num_classes,
           ")");
  Transform::Fn f = [num_classes, dtype](Example e) {
    SN_CHECK(e.y.defined(), ValueError, "one_hot: the example has no label y");
    e.y = sn::one_hot(e.y, num_classes).to(dtype);
    return e;
  };
  return Transform(detail::concat("one_hot(", num_classes, ")"), f, f);
}

Transform flatten() {
  Transform::Fn one = [](Example e) {
    check_x(e, "flatten");
    e.x = e.x.reshape(Shape{-1});
    return e;
  };
  Transform::Fn batch = [](Example e) {
    check_x(e, "flatten");
    SN_CHECK(e.x.dim() >= 1, ShapeError, "flatten: a batch needs a leading batch dim");
    e.x = e.x.reshape(Shape{e.x.size(0), -1});
    return e;
  };
  return Transform("flatten", one, batch);
}

Transform lambda(Transform::Fn fn, std::string name) {
  return Transform(std::move(name), std::move(fn));
}

// ---------------------------------------------------------------- TransformDataset

TransformDataset::TransformDataset(DatasetPtr base, Transform t)
    : base_(std::move(base)), t_(std::move(t)) {
  SN_CHECK(base_, ValueError, "TransformDataset: the base dataset is null");
}

Example TransformDataset::get(int64_t i) const { return t_(base_->get(i)); }

Example TransformDataset::get_batch(const std::vector<int64_t>& indices) const {
  // Without a batch form, transforming examples one by one and stacking once is cheaper than
  // gathering a batch only to split it again.
  if (t_.has_batch_form()) return t_.apply_batch(base_->get_batch(indices));
  return Dataset::get_batch(indices);
}

std::string TransformDataset::name() const { return base_->name() + " | " + t_.name(); }

std::shared_ptr<TransformDataset> transform(DatasetPtr ds, Transform t) {
  return std::make_shared<TransformDataset>(std::move(ds), std::move(t));
}

}  // namespace sn::data
