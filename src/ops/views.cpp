// View ops (share storage, record a Backward that maps the gradient back to the input's
// geometry), plus contiguous/clone/to/detach. A view of a tensor that requires grad is
// differentiable; writing into it in place while recording is refused (see check_inplace).
#include <algorithm>
#include <numeric>

#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;

namespace {

// reshape-like views: dx = g reshaped to the input shape
class ReshapeBackward : public Node {
 public:
  Shape in_shape;
  const char* nm;
  ReshapeBackward(Shape s, const char* n) : in_shape(s), nm(n) {}
  std::string name() const override { return nm; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {grads[0].reshape(in_shape)};
  }
};

// permute: dx = g permuted by the inverse permutation
class PermuteBackward : public Node {
 public:
  std::vector<int64_t> inverse;
  const char* nm;
  PermuteBackward(std::vector<int64_t> inv, const char* n) : inverse(std::move(inv)), nm(n) {}
  std::string name() const override { return nm; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {grads[0].permute(inverse)};
  }
};

// slice/narrow/select: dx = zeros with g written into the sliced region
class SliceBackward : public Node {
 public:
  Shape in_shape;
  int dim;
  int64_t start, step, length;
  bool select;  // the view dropped `dim`
  std::string name() const override { return select ? "SelectBackward" : "SliceBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor gx = zeros(in_shape, {.dtype = grads[0].dtype(), .device = grads[0].device()});
    Tensor region = detail::make_view(gx, in_shape, gx.strides(), 0);
    Shape sh = in_shape, st = gx.strides();
    const int64_t off = start * st[dim];
    if (select) {
      sh.erase(dim);
      st.erase(dim);
    } else {
      sh[dim] = length;
      st[dim] *= step;
    }
    detail::copy_raw(detail::make_view(gx, sh, st, off), grads[0]);
    return {gx};
  }
};

// expand: dx = g summed over the broadcast dims
class ExpandBackward : public Node {
 public:
  Shape in_shape;
  explicit ExpandBackward(Shape s) : in_shape(s) {}
  std::string name() const override { return "ExpandBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {sum_to(grads[0], in_shape)};
  }
};

// contiguous/clone: dx = g;  to(dtype): dx = g converted back to the input dtype
class CopyBackward : public Node {
 public:
  DType in_dtype;
  const char* nm;
  CopyBackward(DType d, const char* n) : in_dtype(d), nm(n) {}
  std::string name() const override { return nm; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {grads[0].dtype() == in_dtype ? grads[0] : grads[0].to(in_dtype)};
  }
};

class ToDeviceBackward : public Node {
 public:
  Device in_device;
  explicit ToDeviceBackward(Device d) : in_device(d) {}
  std::string name() const override { return "ToCopyBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {grads[0].to(in_device)};
  }
};

Tensor record_view(const Tensor& self, Tensor out, std::shared_ptr<Node> node) {
  if (any_requires_grad({&self})) connect(node, {&self}, {&out});
  return out;
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op, const Shape& from) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      SN_CHECK(infer < 0, ShapeError, op, ": only one dimension can be -1 (shape ", shape, ")");
      infer = i;
    } else {
      SN_CHECK(out[i] >= 0, ShapeError, op, ": invalid size ", out[i], " in shape ", shape);
      SN_CHECK(!__builtin_mul_overflow(known, out[i], &known), ShapeError, op, ": shape ", shape,
               " has too many elements (more than 2^63)");
    }
  }
  if (infer >= 0) {
    SN_CHECK(known != 0 && numel % known == 0, ShapeError, op, ": shape ", shape,
             " is invalid for input of shape ", from, " (", numel, " elements)");
    out[infer] = numel / known;
  }
  SN_CHECK(out.numel() == numel, ShapeError, op, ": shape ", shape,
           " is invalid for input of shape ", from, " (", numel, " elements vs ", out.numel(), ")");
  return out;
}

// Strides that let a tensor of (shape, strides) be seen as `to` without a copy, or false when
// no such strides exist. Each run of old dims that are contiguous with one another may be
// split or merged freely (PyTorch's rule), so narrow(...).view(...) and friends need no copy.
bool view_strides(const Shape& shape, const Shape& strides, const Shape& to, Shape* out) {
  out->resize(to.size());
  if (shape.numel() == 0 || shape.size() == 0) {
    *out = contiguous_strides(to);
    return true;
  }
  int view_d = to.size() - 1;
  int64_t base = strides[shape.size() - 1], tensor_numel = 1, view_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || to[view_d] == 1)) {
        (*out)[view_d] = view_numel * base;
        view_numel *= to[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        base = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  const Shape s = infer_shape(shape, numel(), "view", this->shape());
  Shape st;
  if (is_contiguous())
    st = contiguous_strides(s);
  else
    SN_CHECK(view_strides(this->shape(), strides(), s, &st), ShapeError, "view: tensor of shape ",
             this->shape(), " with strides ", strides(),
             " is not contiguous; hint: use reshape(), which copies when it must (no strides give "
             "shape ",
             s, " without a copy)");
  return record_view(*this, detail::make_view(*this, s, st, offset()),
                     std::make_shared<ReshapeBackward>(this->shape(), "ViewBackward"));
}
Tensor Tensor::reshape(const Shape& shape) const {
  const Shape s = infer_shape(shape, numel(), "reshape", this->shape());
  if (s == this->shape()) return *this;
  Shape st;
  if (is_contiguous() || view_strides(this->shape(), strides(), s, &st))
    return record_view(
        *this, detail::make_view(*this, s, is_contiguous() ? contiguous_strides(s) : st, offset()),
        std::make_shared<ReshapeBackward>(this->shape(), "ReshapeBackward"));
  return contiguous().view(s);
}
Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  SN_CHECK(static_cast<int>(dims.size()) == dim(), ShapeError, "permute: got ", dims.size(),
           " dims for a tensor of shape ", shape());
  Shape sh, st;
  std::vector<int64_t> inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int d = wrap_dim(dims[i], dim(), "permute");
    SN_CHECK(!seen[d], ShapeError, "permute: dim ", d, " appears twice");
    seen[d] = true;
    sh.push_back(shape()[d]);
    st.push_back(strides()[d]);
    inverse[d] = static_cast<int64_t>(i);
  }
  return record_view(*this, detail::make_view(*this, sh, st, offset()),
                     std::make_shared<PermuteBackward>(inverse, "PermuteBackward"));
}
Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  if (dim() < 2 && (d0 == 0 || d0 == -1) && (d1 == 0 || d1 == -1)) return *this;
  const int a = wrap_dim(d0, dim(), "transpose"), b = wrap_dim(d1, dim(), "transpose");
  std::vector<int64_t> p(dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[a], p[b]);
  Shape sh = shape(), st = strides();
  std::swap(sh[a], sh[b]);
  std::swap(st[a], st[b]);
  return record_view(*this, detail::make_view(*this, sh, st, offset()),
                     std::make_shared<PermuteBackward>(p, "TransposeBackward"));
}
Tensor Tensor::t() const {
  SN_CHECK(dim() <= 2, ShapeError, "t: expects a tensor with <= 2 dims (got shape ", shape(),
           "); hint: use transpose(d0, d1)");
  return dim() < 2 ? *this : transpose(0, 1);
}
Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  const int dd = wrap_dim(d, dim(), "slice");
  SN_CHECK(step > 0, ValueError, "slice: step must be positive (got ", step, ")");
  const int64_t n = shape()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  const int64_t len = (end - start + step - 1) / step;
  Shape sh = shape(), st = strides();
  sh[dd] = len;
  st[dd] *= step;
  auto node = std::make_shared<SliceBackward>();
  node->in_shape = shape();
  node->dim = dd;
  node->start = start;
  node->step = step;
  node->length = len;
  node->select = false;
  return record_view(*this, detail::make_view(*this, sh, st, offset() + start * strides()[dd]),
                     node);
}
Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  const int dd = wrap_dim(d, dim(), "narrow");
  const int64_t n = shape()[dd];
  if (start < 0) start += n;
  SN_CHECK(start >= 0 && length >= 0 && start + length <= n, IndexError, "narrow: range [", start,
           ", ", start + length, ") is out of bounds for dim ", dd, " of size ", n, " (shape ",
           shape(), ")");
  return slice(dd, start, start + length);
}
Tensor Tensor::select(int64_t d, int64_t index) const {
  SN_CHECK(dim() > 0, IndexError, "select: cannot index a 0-d tensor");
  const int dd = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[dd];
  SN_CHECK(index >= -n && index < n, IndexError, "select: index ", index,
           " is out of range for dim ", dd, " of size ", n, " (shape ", shape(), ")");
  if (index < 0) index += n;
  Shape sh = shape(), st = strides();
  sh.erase(dd);
  st.erase(dd);
  auto node = std::make_shared<SliceBackward>();
  node->in_shape = shape();
  node->dim = dd;
  node->start = index;
  node->step = 1;
  node->length = 1;
  node->select = true;
  return record_view(*this, detail::make_view(*this, sh, st, offset() + index * strides()[dd]),
                     node);
}
Tensor Tensor::expand(const Shape& shape) const {
  SN_CHECK(shape.size() >= dim(), ShapeError, "expand: cannot expand shape ", this->shape(), " to ",
           shape, " (fewer dims)");
  Shape target = shape;
  const int lead = shape.size() - dim();
  for (int i = 0; i < shape.size(); ++i) {
    if (i >= lead) {
      const int64_t d = this->shape()[i - lead];
      if (target[i] == -1) target[i] = d;
      SN_CHECK(d == target[i] || d == 1, ShapeError, "expand: cannot expand shape ", this->shape(),
               " to ", shape, " (size ", d, " vs ", target[i], " at dim ", i, ")");
    } else {
      SN_CHECK(target[i] >= 0, ShapeError, "expand: -1 is not allowed for a new leading dim (",
               shape, ")");
    }
  }
  if (target == this->shape()) return *this;
  return record_view(*this, detail::expand_raw(*this, target),
                     std::make_shared<ExpandBackward>(this->shape()));
}
Tensor Tensor::squeeze() const {
  // dropping size-1 dims never needs a copy, whatever the strides
  Shape sh, st;
  for (int i = 0; i < dim(); ++i)
    if (shape()[i] != 1) {
      sh.push_back(shape()[i]);
      st.push_back(strides()[i]);
    }
  if (sh.size() == dim()) return *this;
  return record_view(*this, detail::make_view(*this, sh, st, offset()),
                     std::make_shared<ReshapeBackward>(shape(), "SqueezeBackward"));
}
Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return *this;
  const int dd = wrap_dim(d, dim(), "squeeze");
  if (shape()[dd] != 1) return *this;
  Shape sh = shape(), st = strides();
  sh.erase(dd);
  st.erase(dd);
  return record_view(*this, detail::make_view(*this, sh, st, offset()),
                     std::make_shared<ReshapeBackward>(shape(), "SqueezeBackward"));
}
Tensor Tensor::unsqueeze(int64_t d) const {
  const int dd = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape(), st = strides();
  sh.insert(dd, 1);
  st.insert(dd, dd < dim() ? strides()[dd] * shape()[dd] : 1);
  return record_view(*this, detail::make_view(*this, sh, st, offset()),
                     std::make_shared<ReshapeBackward>(shape(), "UnsqueezeBackward"));
}
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape(Shape{1});
  const int s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
  SN_CHECK(s <= e, ShapeError, "flatten: start_dim ", s, " is after end_dim ", e);
  Shape sh;
  for (int i = 0; i < s; ++i) sh.push_back(shape()[i]);
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= shape()[i];
  sh.push_back(m);
  for (int i = e + 1; i < dim(); ++i) sh.push_back(shape()[i]);
  return reshape(sh);
}
Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return record_view(*this, detail::contiguous_raw(*this),
                     std::make_shared<CopyBackward>(dtype(), "ContiguousBackward"));
}
Tensor Tensor::clone() const {
  Tensor out = detail::make_tensor(shape(), dtype(), device());
  detail::copy_raw(out, *this);
  return record_view(*this, out, std::make_shared<CopyBackward>(dtype(), "CloneBackward"));
}
Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor out = detail::cast_raw(*this, dt, true);
  if (is_floating(dt) && is_floating(dtype()))
    return record_view(*this, out, std::make_shared<CopyBackward>(dtype(), "ToCopyBackward"));
  return out;
}
// to(device): dx = g moved back to the input's device
Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = detail::make_tensor(shape(), dtype(), d);
  detail::copy_raw(out, *this);
  return record_view(*this, out, std::make_shared<ToDeviceBackward>(device()));
}
Tensor Tensor::detach() const { return detail::make_view(*this, shape(), strides(), offset()); }

// free-function forms
Tensor reshape(const Tensor& a, const Shape& shape) { return a.reshape(shape); }
Tensor flatten(const Tensor& a, int64_t s, int64_t e) { return a.flatten(s, e); }
Tensor squeeze(const Tensor& a, int64_t d) { return a.squeeze(d); }
Tensor unsqueeze(const Tensor& a, int64_t d) { return a.unsqueeze(d); }
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) { return a.permute(dims); }
Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) { return a.transpose(d0, d1); }

// method forwards
Tensor Tensor::sum() const { return sn::sum(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& d, bool k) const { return sn::sum(*this, d, k); }
Tensor Tensor::mean() const { return sn::mean(*this); }
Tensor Tensor::mean(const std::vector<int64_t>& d, bool k) const { return sn::mean(*this, d, k); }
Tensor Tensor::max() const { return sn::max(*this); }
Tensor Tensor::min() const { return sn::min(*this); }
Tensor Tensor::argmax(int64_t d, bool k) const { return sn::argmax(*this, d, k); }
Tensor Tensor::matmul(const Tensor& o) const { return sn::matmul(*this, o); }
Tensor Tensor::exp() const { return sn::exp(*this); }
Tensor Tensor::log() const { return sn::log(*this); }
Tensor Tensor::sqrt() const { return sn::sqrt(*this); }
Tensor Tensor::abs() const { return sn::abs(*this); }
Tensor Tensor::neg() const { return sn::neg(*this); }
Tensor Tensor::pow(double e) const { return sn::pow(*this, e); }
Tensor Tensor::relu() const { return sn::relu(*this); }
Tensor Tensor::sigmoid() const { return sn::sigmoid(*this); }
Tensor Tensor::tanh() const { return sn::tanh(*this); }
Tensor Tensor::softmax(int64_t d) const { return sn::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return sn::log_softmax(*this, d); }

}  // namespace sn
