// Structure ops: cat, stack, split/chunk, index_select, gather, scatter_add, one_hot, pad.
// Index tensors are int64 and every index is bounds-checked before any write.
#include <cstring>

#include "backend/backend.h"
#include "backend/cpu/loops.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using detail::make_tensor;

namespace {

// cat: each input's gradient is its slice of g along dim
class CatBackward : public Node {
 public:
  int dim;
  std::vector<int64_t> sizes;
  std::string name() const override { return "CatBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    std::vector<Tensor> out;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (next_edges[i].valid())
        out.push_back(grads[0].narrow(dim, start, sizes[i]));
      else
        out.emplace_back();
      start += sizes[i];
    }
    return out;
  }
};

// split: the input gradient is the outputs' gradients concatenated (zeros where undefined)
class SplitBackward : public Node {
 public:
  int dim;
  std::string name() const override { return "SplitBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    std::vector<Tensor> parts;
    Device dev = kCPU;
    for (const Tensor& g : grads)
      if (g.defined()) dev = g.device();
    for (size_t i = 0; i < grads.size(); ++i)
      parts.push_back(grads[i].defined()
                          ? grads[i]
                          : zeros(outputs[i].shape, {.dtype = outputs[i].dtype, .device = dev}));
    return {cat(parts, dim)};
  }
};

void check_index(const Tensor& index, const char* op) {
  SN_CHECK(index.defined(), ValueError, op, ": index tensor is undefined");
  SN_CHECK(index.dtype() == kInt64, DTypeError, op, ": index must be int64 (got ", index.dtype(),
           ")");
}

// Every index within [0, n) (negatives are not accepted for gather/scatter as in PyTorch).
void check_range(const Tensor& index, int64_t n, const char* op, int dim) {
  Tensor ic = detail::contiguous_raw(index);
  const int64_t* p = ic.data_ptr<int64_t>();
  for (int64_t i = 0; i < ic.numel(); ++i)
    SN_CHECK(p[i] >= 0 && p[i] < n, IndexError, op, ": index ", p[i], " is out of bounds for dim ",
             dim, " of size ", n);
}

// index_select: dx = zeros with g rows added back at the selected positions
class IndexSelectBackward : public Node {
 public:
  int dim;
  Shape in_shape;
  SavedTensor index;
  std::string name() const override { return "IndexSelectBackward"; }
  void release() override { index.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor ix = index.get("index_select");
    Shape vs;
    vs.resize(g.dim(), 1);
    vs[dim] = ix.numel();
    Tensor full_index = ix.reshape(vs).expand(g.shape()).contiguous();
    return {scatter_add(zeros(in_shape, {.dtype = g.dtype(), .device = g.device()}), dim,
                        full_index, g)};
  }
};

// gather: dx = scatter_add(zeros, dim, index, g)
class GatherBackward : public Node {
 public:
  int dim;
  Shape in_shape;
  SavedTensor index;
  std::string name() const override { return "GatherBackward"; }
  void release() override { index.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {scatter_add(zeros(in_shape, {.dtype = grads[0].dtype(), .device = grads[0].device()}),
                        dim, index.get("gather"), grads[0])};
  }
};

// scatter_add (out = a + scatter(src)): da = g, dsrc = gather(g, dim, index) where the index
// reaches, 0 in the part of src (larger than index) that was never read
class ScatterAddBackward : public Node {
 public:
  int dim;
  SavedTensor index;
  Shape src_shape;
  std::string name() const override { return "ScatterAddBackward"; }
  void release() override { index.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor ga, gs;
    if (next_edges[0].valid()) ga = grads[0];
    if (next_edges[1].valid()) {
      Tensor ix = index.get("scatter_add");
      gs = gather(grads[0], dim, ix);
      if (gs.shape() != src_shape) {
        Tensor full = zeros(src_shape, {.dtype = gs.dtype(), .device = gs.device()});
        detail::copy_raw(detail::make_view(full, gs.shape(), full.strides(), 0), gs);
        gs = full;
      }
    }
    return {ga, gs};
  }
};

// pad: dx = the interior region of g
class PadBackward : public Node {
 public:
  std::vector<int64_t> pads;
  Shape in_shape;
  std::string name() const override { return "PadBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = grads[0];
    const int n = in_shape.size();
    for (size_t p = 0; p < pads.size() / 2; ++p) {
      const int d = n - 1 - static_cast<int>(p);
      g = g.narrow(d, pads[2 * p], in_shape[d]);
    }
    return {g.contiguous()};
  }
};

}  // namespace

Tensor cat(const std::vector<Tensor>& ts, int64_t dim) {
  SN_CHECK(!ts.empty(), ValueError, "cat: expects a non-empty list of tensors");
  const Tensor& first = ts[0];
  SN_CHECK(first.dim() > 0, ShapeError, "cat: zero-dimensional tensor cannot be concatenated");
  const int d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  DType dt = first.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    SN_CHECK(t.defined(), ValueError, "cat: tensor ", i, " is undefined");
    SN_CHECK(t.dim() == first.dim(), ShapeError, "cat: tensor ", i, " has shape ", t.shape(),
             ", expected ", first.dim(), " dims like tensor 0 ", first.shape());
    for (int k = 0; k < t.dim(); ++k)
      SN_CHECK(k == d || t.shape()[k] == first.shape()[k], ShapeError, "cat: tensor ", i,
               " has shape ", t.shape(), " but tensor 0 has shape ", first.shape(),
               " (sizes must match except in dim ", d, ")");
    dt = promote(dt, t.dtype());
    total += t.shape()[d];
  }
  out_shape[d] = total;
  Tensor out = make_tensor(out_shape, dt, backend::common_device("cat", ts));
  int64_t start = 0;
  for (const Tensor& t : ts) {
    Shape sh = out_shape;
    sh[d] = t.shape()[d];
    detail::copy_raw(detail::make_view(out, sh, out.strides(), start * out.strides()[d]), t);
    start += t.shape()[d];
  }
  if (any_requires_grad(ts)) {
    auto node = std::make_shared<CatBackward>();
    node->dim = d;
    std::vector<const Tensor*> ins;
    for (const Tensor& t : ts) {
      node->sizes.push_back(t.shape()[d]);
      ins.push_back(&t);
    }
    connect(node, ins, {&out});
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
  SN_CHECK(!ts.empty(), ValueError, "stack: expects a non-empty list of tensors");
  const int d = wrap_dim(dim, ts[0].dim() + 1, "stack");
  std::vector<Tensor> us;
  for (size_t i = 0; i < ts.size(); ++i) {
    SN_CHECK(ts[i].shape() == ts[0].shape(), ShapeError, "stack: tensor ", i, " has shape ",
             ts[i].shape(), " but tensor 0 has shape ", ts[0].shape());
    us.push_back(ts[i].unsqueeze(d));
  }
  return cat(us, d);
}

std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  SN_CHECK(a.dim() > 0, ShapeError, "split: cannot split a 0-d tensor");
  const int d = wrap_dim(dim, a.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    SN_CHECK(s >= 0, ValueError, "split: negative size ", s);
    total += s;
  }
  SN_CHECK(total == a.shape()[d], ShapeError, "split: sizes sum to ", total, " but dim ", d,
           " has size ", a.shape()[d], " (shape ", a.shape(), ")");
  std::vector<Tensor> outs;
  int64_t start = 0;
  for (int64_t s : sizes) {
    Shape sh = a.shape();
    sh[d] = s;
    outs.push_back(detail::make_view(a, sh, a.strides(), a.offset() + start * a.strides()[d]));
    start += s;
  }
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<SplitBackward>();
    node->dim = d;
    std::vector<Tensor*> po;
    for (Tensor& o : outs) po.push_back(&o);
    connect(node, {&a}, po);
  }
  return outs;
}
std::vector<Tensor> split(const Tensor& a, int64_t split_size, int64_t dim) {
  SN_CHECK(split_size > 0, ValueError, "split: split_size must be positive (got ", split_size, ")");
  const int d = wrap_dim(dim, a.dim(), "split");
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < a.shape()[d]; s += split_size)
    sizes.push_back(std::min(split_size, a.shape()[d] - s));
  if (sizes.empty()) sizes.push_back(0);
  return split(a, sizes, d);
}
std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  SN_CHECK(chunks > 0, ValueError, "chunk: chunks must be positive (got ", chunks, ")");
  const int d = wrap_dim(dim, a.dim(), "chunk");
  const int64_t n = a.shape()[d];
  return split(a, std::max<int64_t>((n + chunks - 1) / chunks, 1), d);
}

Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  check_index(index, "index_select");
  SN_CHECK(index.dim() <= 1, ShapeError, "index_select: index must be 0-d or 1-d (got ",
           index.shape(), ")");
  const int d = wrap_dim(dim, a.dim(), "index_select");
  const int64_t n = a.dim() == 0 ? 1 : a.shape()[d];
  check_range(index, n, "index_select", d);
  Tensor ix = detail::contiguous_raw(index);
  const int64_t* pi = ix.data_ptr<int64_t>();
  Shape out_shape = a.shape();
  if (a.dim() > 0) out_shape[d] = ix.numel();
  Tensor out = make_tensor(out_shape, a.dtype(), a.device());  // slices copied on a's device
  for (int64_t k = 0; k < ix.numel(); ++k) {
    Shape sh = a.shape();
    if (a.dim() == 0) break;
    sh[d] = 1;
    Tensor src = detail::make_view(a, sh, a.strides(), a.offset() + pi[k] * a.strides()[d]);
    Tensor dst = detail::make_view(out, sh, out.strides(), k * out.strides()[d]);
    detail::copy_raw(dst, src);
  }
  if (a.dim() == 0) detail::copy_raw(out, a);
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<IndexSelectBackward>();
    node->dim = d;
    node->in_shape = a.shape();
    node->index = SavedTensor(ix);
    connect(node, {&a}, {&out});
  }
  return out;
}

namespace {
// Shared by gather and scatter_add: loops over every position of `index`.
void check_gather_shapes(const Tensor& a, int d, const Tensor& index, const char* op) {
  SN_CHECK(index.dim() == a.dim(), ShapeError, op, ": index ", index.shape(),
           " must have as many dims as the input ", a.shape());
  for (int k = 0; k < a.dim(); ++k)
    SN_CHECK(k == d || index.shape()[k] <= a.shape()[k], ShapeError, op, ": index ", index.shape(),
             " is larger than the input ", a.shape(), " in dim ", k);
}
}  // namespace

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  check_index(index, "gather");
  const int d = wrap_dim(dim, a.dim(), "gather");
  check_gather_shapes(a, d, index, "gather");
  check_range(index, a.dim() == 0 ? 1 : a.shape()[d], "gather", d);
  Tensor out = make_tensor(index.shape(), a.dtype());
  if (a.dim() == 0) {
    detail::copy_raw(out, a);
  } else {
    Shape ast = a.strides();
    ast[d] = 0;  // the index supplies the position along d
    Tensor av = detail::make_view(a, index.shape(), ast, a.offset());
    const int64_t sd = a.strides()[d];
    SN_DISPATCH_ALL(a.dtype(), "gather", [&] {
      using T = scalar_t;
      const T* pa = static_cast<const T*>(av.raw_data());
      const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
      T* po = static_cast<T*>(out.raw_data());
      const Shape os = out.strides();
      cpu::strided_loop<3>(index.shape(), {&os, &av.strides(), &index.strides()},
                           [&](const int64_t* off, const int64_t* st, int64_t n) {
                             for (int64_t i = 0; i < n; ++i)
                               po[off[0] + i * st[0]] =
                                   pa[off[1] + i * st[1] + pi[off[2] + i * st[2]] * sd];
                           });
    });
  }
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<GatherBackward>();
    node->dim = d;
    node->in_shape = a.shape();
    node->index = SavedTensor(index);
    connect(node, {&a}, {&out});
  }
  return out;
}

Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(index, "scatter_add");
  const int d = wrap_dim(dim, a.dim(), "scatter_add");
  check_gather_shapes(a, d, index, "scatter_add");
  SN_CHECK(src.dim() == index.dim(), ShapeError, "scatter_add: src ", src.shape(),
           " must have as many dims as index ", index.shape());
  for (int k = 0; k < index.dim(); ++k)
    SN_CHECK(index.shape()[k] <= src.shape()[k], ShapeError, "scatter_add: index ", index.shape(),
             " is larger than src ", src.shape(), " in dim ", k);
  check_range(index, a.dim() == 0 ? 1 : a.shape()[d], "scatter_add", d);
  Tensor out = detail::cast_raw(a, promote(a.dtype(), src.dtype()), true);
  Tensor s = detail::cast_raw(src, out.dtype());
  if (a.dim() == 0) {
    detail::copy_raw(out, add(out, s));
  } else {
    Shape ost = out.strides();
    ost[d] = 0;
    const int64_t sd = out.strides()[d];
    SN_DISPATCH_NUMERIC(out.dtype(), "scatter_add", [&] {
      using T = scalar_t;
      T* po = static_cast<T*>(out.raw_data());
      const T* ps = static_cast<const T*>(s.raw_data());
      const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
      // serial: different positions may hit the same output element
      cpu::strided_loop<3>(
          index.shape(), {&ost, &s.strides(), &index.strides()},
          [&](const int64_t* off, const int64_t* st, int64_t n) {
            for (int64_t i = 0; i < n; ++i)
              po[off[0] + i * st[0] + pi[off[2] + i * st[2]] * sd] += ps[off[1] + i * st[1]];
          },
          INT64_MAX);
    });
  }
  if (any_requires_grad({&a, &src})) {
    auto node = std::make_shared<ScatterAddBackward>();
    node->dim = d;
    node->src_shape = src.shape();
    node->index = SavedTensor(index);
    connect(node, {&a, &src}, {&out});
  }
  return out;
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  check_index(labels, "one_hot");
  Tensor l = detail::contiguous_raw(labels);
  const int64_t* p = l.data_ptr<int64_t>();
  if (num_classes < 0) {
    num_classes = 0;
    for (int64_t i = 0; i < l.numel(); ++i) num_classes = std::max(num_classes, p[i] + 1);
  }
  check_range(l, num_classes, "one_hot", 0);
  Shape sh = labels.shape();
  sh.push_back(num_classes);
  Tensor out = zeros(sh, {.dtype = kInt64});
  int64_t* po = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i) po[i * num_classes + p[i]] = 1;
  return out;
}

Tensor pad(const Tensor& a, const std::vector<int64_t>& pads, double value) {
  SN_CHECK(pads.size() % 2 == 0, ValueError, "pad: pads must come in (left, right) pairs (got ",
           pads.size(), " numbers)");
  SN_CHECK(static_cast<int>(pads.size() / 2) <= a.dim(), ShapeError, "pad: ", pads.size() / 2,
           " padded dims for a tensor of shape ", a.shape());
  Shape out_shape = a.shape();
  int64_t off = 0;
  Shape base_st = contiguous_strides(a.shape());
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    const int d = a.dim() - 1 - static_cast<int>(p);
    SN_CHECK(pads[2 * p] >= 0 && pads[2 * p + 1] >= 0, ValueError,
             "pad: negative padding is not supported (got ", pads[2 * p], ", ", pads[2 * p + 1],
             ")");
    out_shape[d] += pads[2 * p] + pads[2 * p + 1];
  }
  Tensor out = full(out_shape, value, {.dtype = a.dtype(), .device = a.device()});
  const Shape ost = out.strides();
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    const int d = a.dim() - 1 - static_cast<int>(p);
    off += pads[2 * p] * ost[d];
  }
  (void)base_st;
  detail::copy_raw(detail::make_view(out, a.shape(), ost, off), a);
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<PadBackward>();
    node->pads = pads;
    node->in_shape = a.shape();
    connect(node, {&a}, {&out});
  }
  return out;
}

}  // namespace sn
