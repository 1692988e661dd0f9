// ONNX export: the module tree walked layer by layer into an ONNX graph (onnx.proto's ModelProto
// from Debian's libonnx), each layer's tensors as initializers named by the module's state-dict
// names, checked by ONNX's own checker and strict shape inference before it is written.
// Sequence models keep the sequence length T dynamic (shape-computing nodes, no fixed sizes).
// Only compiled with SN_HAVE_ONNX (CMake option SN_ONNX, on when libonnx-dev is found).
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numbers>
#include <set>

#include "sinapsis/autograd/node.h"
#include "sinapsis/core/build_info.h"
#include "sinapsis/core/error.h"
#include "sinapsis/io/atomic_file.h"
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/autoencoder.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/gpt.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/rnn.h"
#include "sinapsis/nn/transformer.h"
#include "sinapsis/onnx/onnx.h"
#include "sinapsis/ops/ops.h"

namespace sn::onnx {

bool available() { return true; }

namespace {

using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

struct Attr {
  std::string name;
  enum Kind { Int, Ints, Float, String, Strings } kind;
  int64_t i = 0;
  std::vector<int64_t> ints;
  double f = 0;
  std::vector<std::string> strings;  // one for String
};
Attr ai(std::string n, int64_t v) { return {std::move(n), Attr::Int, v, {}, 0, {}}; }
Attr ais(std::string n, std::vector<int64_t> v) { return {std::move(n), Attr::Ints, 0, v, 0, {}}; }
Attr af(std::string n, double v) { return {std::move(n), Attr::Float, 0, {}, v, {}}; }
Attr astr(std::string n, std::string v) { return {std::move(n), Attr::String, 0, {}, 0, {v}}; }
Attr astrs(std::string n, std::vector<std::string> v) {
  return {std::move(n), Attr::Strings, 0, {}, 0, std::move(v)};
}

// A dimension of a graph input or output: a fixed size, or a name ("N", "T") the caller picks.
struct Dim {
  int64_t size = 0;
  std::string name;
};
using Dims = std::vector<Dim>;

// The graph being written: unique value names, initializers, nodes, inputs and outputs.
class Graph {
 public:
  Graph(GraphProto* g, int64_t opset) : g_(g), opset_(opset) {}
  int64_t opset() const { return opset_; }

  // A float32 initializer (converted from the tensor's dtype), named `name` when free.
  std::string constant(const std::string& name, const Tensor& t) {
    Tensor c = t.to(kFloat32).contiguous();
    TensorProto* p = g_->add_initializer();
    const std::string n = unique(name);
    p->set_name(n);
    p->set_data_type(TensorProto::FLOAT);
    for (int64_t d : c.shape()) p->add_dims(d);
    p->set_raw_data(std::string(static_cast<const char*>(c.raw_data()),
                                static_cast<size_t>(c.numel()) * sizeof(float)));
    return n;
  }
  // An int64 initializer: a vector [n], or a scalar [] with `scalar`.
  std::string ints(const std::string& name, const std::vector<int64_t>& v, bool scalar = false) {
    TensorProto* p = g_->add_initializer();
    const std::string n = unique(name);
    p->set_name(n);
    p->set_data_type(TensorProto::INT64);
    if (!scalar) p->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) p->add_int64_data(x);
    return n;
  }
  std::string scalar(const std::string& name, double v) { return constant(name, full({}, v)); }
  // One node with one output; returns the output's name.
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::string& name, const std::vector<Attr>& attrs = {}) {
    return nodes(op, inputs, {name}, attrs)[0];
  }
  // One node with an output per entry of `outputs` (their wanted names); returns the names.
  // An empty input name is an optional input left out.
  std::vector<std::string> nodes(const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs,
                                 const std::vector<Attr>& attrs = {}) {
    NodeProto* n = g_->add_node();
    n->set_op_type(op);
    std::vector<std::string> outs;
    for (const auto& o : outputs) outs.push_back(unique(o));
    n->set_name(outs[0]);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    for (const Attr& a : attrs) {
      AttributeProto* p = n->add_attribute();
      p->set_name(a.name);
      switch (a.kind) {
        case Attr::Int:
          p->set_type(AttributeProto::INT);
          p->set_i(a.i);
          break;
        case Attr::Ints:
          p->set_type(AttributeProto::INTS);
          for (int64_t v : a.ints) p->add_ints(v);
          break;
        case Attr::Float:
          p->set_type(AttributeProto::FLOAT);
          p->set_f(static_cast<float>(a.f));
          break;
        case Attr::String:
          p->set_type(AttributeProto::STRING);
          p->set_s(a.strings.at(0));
          break;
        case Attr::Strings:
          p->set_type(AttributeProto::STRINGS);
          for (const auto& s : a.strings) p->add_strings(s);
          break;
      }
    }
    return outs;
  }
  // A graph input named `name` when free; returns its name.
  std::string input(const std::string& name, int elem_type, const Dims& dims) {
    const std::string n = unique(name);
    declare(g_->add_input(), n, elem_type, dims);
    return n;
  }
  void output(const std::string& name, int elem_type, const Dims& dims) {
    declare(g_->add_output(), name, elem_type, dims);
  }

 private:
  static void declare(::onnx::ValueInfoProto* v, const std::string& name, int elem_type,
                      const Dims& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* s = tt->mutable_shape();
    for (const Dim& d : dims) {
      auto* p = s->add_dim();
      if (d.name.empty())
        p->set_dim_value(d.size);
      else
        p->set_dim_param(d.name);
    }
  }
  std::string unique(const std::string& base) {
    std::string n = base.empty() ? "v" : base;
    if (used_.insert(n).second) return n;
    for (int k = 1;; ++k) {
      std::string c = n + "_" + std::to_string(k);
      if (used_.insert(c).second) return c;
    }
  }
  GraphProto* g_;
  int64_t opset_;
  std::set<std::string> used_;
};

[[noreturn]] void unsupported(const std::string& path, const nn::Module& m,
                              const std::string& why) {
  SN_THROW(ValueError, "onnx export: layer '", path.empty() ? "(model)" : path, "' (",
           m.type_name(), "): ", why);
}

std::vector<int64_t> two(const IntArgs& a, const char* what, const std::string& path,
                         const nn::Module& m) {
  const auto& v = a.values();
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() == 2) return v;
  unsupported(path, m, std::string("expected 1 or 2 values for ") + what);
}

// The attributes MaxPool and AveragePool share: kernel_shape, strides (the kernel when not
// given), pads (the same at both ends) and ceil_mode.
template <typename PoolOptions>
std::vector<Attr> pool_attrs(const IntArgs& kernel, const PoolOptions& o, const std::string& path,
                             const nn::Module& m) {
  const auto k = two(kernel, "kernel_size", path, m);
  const auto s = o.stride.empty() ? k : two(o.stride, "stride", path, m);
  const auto pad = two(o.padding, "padding", path, m);
  return {ais("kernel_shape", k), ais("strides", s), ais("pads", {pad[0], pad[1], pad[0], pad[1]}),
          ai("ceil_mode", o.ceil_mode ? 1 : 0)};
}

// The graph's dims for a tensor of the library's `shape`: dim 0 named "N" with a dynamic batch,
// dim 1 named "T" for sequence models (token ids in), the rest fixed.
Dims dims_of(const Shape& shape, bool dynamic_batch, bool dynamic_time) {
  Dims d;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i == 0 && dynamic_batch)
      d.push_back({0, "N"});
    else if (i == 1 && dynamic_time)
      d.push_back({0, "T"});
    else
      d.push_back({shape[i], ""});
  }
  return d;
}

// Gate blocks of a recurrent weight [G·H, ...] (or bias [G·H]) in another order: PyTorch keeps
// LSTM gates as i, f, g, o and GRU gates as r, z, n; ONNX wants i, o, f, c and z, r, h.
Tensor reorder_gates(const Tensor& w, RnnKind kind) {
  if (kind != RnnKind::LSTM && kind != RnnKind::GRU) return w;
  const int64_t G = rnn_gate_count(kind);
  const auto parts = split(w, w.shape()[0] / G, 0);
  if (kind == RnnKind::LSTM) return cat({parts[0], parts[3], parts[1], parts[2]}, 0);
  return cat({parts[1], parts[0], parts[2]}, 0);
}

// Walks one module: `in` is the ONNX value holding its input, `x` the same value computed by
// the library (for shapes). Returns the output's ONNX name and sets x to the library's output.
class Exporter {
 public:
  Exporter(Graph& g, const ExportOptions& o, int recurrent_layers)
      : g_(g), o_(o), recurrent_layers_(recurrent_layers) {}

  std::string emit(nn::Module& m, const std::string& in, Tensor& x, const std::string& path) {
    const std::string name = path.empty() ? m.type_name() : path;
    if (auto* s = dynamic_cast<nn::Sequential*>(&m)) {
      std::string cur = in;
      for (auto& [n, c] : s->named_children()) cur = emit(*c, cur, x, p(path, n));
      return cur;
    }
    if (dynamic_cast<nn::Residual*>(&m) || dynamic_cast<nn::ResNetBlock*>(&m)) {
      const Tensor x_in = x;
      Tensor xb = x, xs = x;
      const std::string body = emit(*child(m, "body"), in, xb, p(path, "body"));
      nn::Module* sc = child(m, "shortcut");
      const std::string skip = sc ? emit(*sc, in, xs, p(path, "shortcut")) : in;
      x = m.forward(x_in);
      const std::string sum = g_.node("Add", {body, skip}, name + ".add");
      if (dynamic_cast<nn::Residual*>(&m)) return sum;
      return g_.node("Relu", {sum}, name + ".relu");
    }
    if (auto* par = dynamic_cast<nn::Parallel*>(&m)) {
      std::vector<std::string> outs;
      const Tensor x_in = x;
      for (auto& [n, c] : par->named_children()) {
        Tensor xc = x_in;
        outs.push_back(emit(*c, in, xc, p(path, n)));
      }
      x = m.forward(x_in);
      const int64_t axis = par->dim() < 0 ? par->dim() + x.dim() : par->dim();
      return g_.node("Concat", outs, name + ".concat", {ai("axis", axis)});
    }
    if (dynamic_cast<nn::Inception*>(&m))
      return emit(*child(m, "branches"), in, x, p(path, "branches"));
    if (dynamic_cast<nn::TransformerEncoder*>(&m)) {
      std::string cur = emit(*child(m, "layers"), in, x, p(path, "layers"));
      if (nn::Module* norm = child(m, "norm")) cur = emit(*norm, cur, x, p(path, "norm"));
      return cur;
    }
    // leaves: the library's output gives the shapes
    const Tensor x_in = x;
    x = m.forward(x);
    if (auto* l = dynamic_cast<nn::Linear*>(&m)) return linear(in, *l, x_in.dim(), path, name);
    if (auto* c = dynamic_cast<nn::ConvNd*>(&m)) {
      if (c->spatial_dims() != 2) unsupported(path, m, "only 2-D convolutions are exported");
      const auto& o = c->options();
      if (o.padding.same()) unsupported(path, m, "padding \"same\" is not exported yet");
      const auto pad = two(o.padding.values(), "padding", path, m);
      std::vector<std::string> ins{in, g_.constant(p(path, "weight"), c->weight())};
      if (c->bias().defined()) ins.push_back(g_.constant(p(path, "bias"), c->bias()));
      const auto& k = c->kernel_size();
      return g_.node(
          "Conv", ins, name,
          {ais("kernel_shape", k.size() == 1 ? std::vector<int64_t>{k[0], k[0]} : k),
           ais("strides", two(o.stride, "stride", path, m)),
           ais("pads", {pad[0], pad[1], pad[0], pad[1]}),
           ais("dilations", two(o.dilation, "dilation", path, m)), ai("group", o.groups)});
    }
    if (auto* ct = dynamic_cast<nn::ConvTranspose2d*>(&m)) {
      // the weight layout [C_in, C_out/groups, KH, KW] is ONNX's too
      const auto& o = ct->options();
      const auto pad = two(o.padding, "padding", path, m);
      std::vector<std::string> ins{in, g_.constant(p(path, "weight"), ct->weight())};
      if (ct->bias().defined()) ins.push_back(g_.constant(p(path, "bias"), ct->bias()));
      const auto& k = ct->kernel_size();
      return g_.node(
          "ConvTranspose", ins, name,
          {ais("kernel_shape", k.size() == 1 ? std::vector<int64_t>{k[0], k[0]} : k),
           ais("strides", two(o.stride, "stride", path, m)),
           ais("pads", {pad[0], pad[1], pad[0], pad[1]}),
           ais("output_padding", two(o.output_padding, "output_padding", path, m)),
           ais("dilations", two(o.dilation, "dilation", path, m)), ai("group", o.groups)});
    }
    if (auto* up = dynamic_cast<nn::Upsample*>(&m)) return upsample(in, *up, x, path, name);
    if (auto* mp = dynamic_cast<nn::MaxPool2d*>(&m)) {
      auto attrs = pool_attrs(mp->kernel_size(), mp->options(), path, m);
      attrs.push_back(ais("dilations", two(mp->options().dilation, "dilation", path, m)));
      return g_.node("MaxPool", {in}, name, attrs);
    }
    if (auto* ap = dynamic_cast<nn::AvgPool2d*>(&m)) {
      auto attrs = pool_attrs(ap->kernel_size(), ap->options(), path, m);
      attrs.push_back(ai("count_include_pad", ap->options().count_include_pad ? 1 : 0));
      return g_.node("AveragePool", {in}, name, attrs);
    }
    if (auto* aap = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) {
      const auto& v = aap->output_size().values();
      const bool global = std::all_of(v.begin(), v.end(), [](int64_t s) { return s == 1; });
      if (!global) unsupported(path, m, "only an output size of 1 (GlobalAveragePool) is exported");
      return g_.node("GlobalAveragePool", {in}, name);
    }
    if (auto* bn = dynamic_cast<nn::BatchNorm*>(&m)) {
      const int64_t C = bn->num_features();
      if (!bn->running_mean().defined())
        unsupported(path, m, "without running statistics it normalises by the batch's own");
      const Tensor w = bn->weight().defined() ? bn->weight() : ones({C});
      const Tensor b = bn->bias().defined() ? bn->bias() : zeros({C});
      return g_.node("BatchNormalization",
                     {in, g_.constant(p(path, "weight"), w), g_.constant(p(path, "bias"), b),
                      g_.constant(p(path, "running_mean"), bn->running_mean()),
                      g_.constant(p(path, "running_var"), bn->running_var())},
                     name, {af("epsilon", bn->options().eps)});
    }
    if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) return layer_norm(in, *ln, path, name);
    if (auto* gn = dynamic_cast<nn::GroupNorm*>(&m)) return group_norm(in, *gn, x_in, path, name);
    if (auto* f = dynamic_cast<nn::Flatten*>(&m)) {
      const int64_t r = x_in.dim();
      const int64_t s = f->start_dim() < 0 ? f->start_dim() + r : f->start_dim();
      const int64_t e = f->end_dim() < 0 ? f->end_dim() + r : f->end_dim();
      if (s == 1 && e == r - 1) return g_.node("Flatten", {in}, name, {ai("axis", 1)});
      if (s == 0) unsupported(path, m, "flattening the batch dimension is not exported");
      return reshape_keeping_batch(in, x, name);
    }
    if (dynamic_cast<nn::Unflatten*>(&m)) {
      if (x.shape()[0] != x_in.shape()[0])
        unsupported(path, m, "unflattening the batch dimension is not exported");
      return reshape_keeping_batch(in, x, name);
    }
    if (dynamic_cast<nn::Dropout*>(&m) || dynamic_cast<nn::Identity*>(&m) ||
        dynamic_cast<nn::GaussianNoise*>(&m) || dynamic_cast<nn::MaskNoise*>(&m))
      return g_.node("Identity", {in}, name);  // noise and dropout act in training only
    if (dynamic_cast<nn::GaussianLatent*>(&m)) {
      // eval: z = μ, the deterministic path (the sampled z = μ + σ·ε is training's)
      return linear(in, dynamic_cast<nn::Linear&>(*child(m, "mu")), x_in.dim(), p(path, "mu"),
                    name + ".mu");
    }
    if (auto* e = dynamic_cast<nn::Embedding*>(&m))
      return g_.node("Gather", {g_.constant(p(path, "weight"), e->weight()), in}, name,
                     {ai("axis", 0)});
    if (auto* r = dynamic_cast<nn::RecurrentBase*>(&m)) return recurrent(in, *r, x_in, path, name);
    if (auto* a = dynamic_cast<nn::MultiheadAttention*>(&m)) {
      if (x_in.dim() != 3) unsupported(path, m, "only batched input [N, L, E] / [L, N, E]");
      const bool bf = a->options().batch_first;
      const std::string nle = bf ? in : transpose(in, {1, 0, 2}, name + ".nle");
      const std::string y = self_attention(nle, *a, a->options().causal, path, name);
      return bf ? y : transpose(y, {1, 0, 2}, name + ".lne");
    }
    if (auto* t = dynamic_cast<nn::TransformerEncoderLayer*>(&m))
      return encoder_layer(in, *t, x_in.dim(), path, name);
    if (auto* gpt = dynamic_cast<nn::GPT*>(&m)) return gpt_graph(in, *gpt, path, name);
    if (dynamic_cast<nn::ReLU*>(&m)) return g_.node("Relu", {in}, name);
    if (dynamic_cast<nn::Sigmoid*>(&m)) return g_.node("Sigmoid", {in}, name);
    if (dynamic_cast<nn::Tanh*>(&m)) return g_.node("Tanh", {in}, name);
    if (auto* lr = dynamic_cast<nn::LeakyReLU*>(&m))
      return g_.node("LeakyRelu", {in}, name, {af("alpha", lr->negative_slope())});
    if (auto* el = dynamic_cast<nn::ELU*>(&m))
      return g_.node("Elu", {in}, name, {af("alpha", el->alpha())});
    if (dynamic_cast<nn::SiLU*>(&m)) {
      const std::string s = g_.node("Sigmoid", {in}, name + ".sigmoid");
      return g_.node("Mul", {in, s}, name);
    }
    if (auto* sp = dynamic_cast<nn::Softplus*>(&m)) {
      if (sp->beta() != 1.0) unsupported(path, m, "only beta 1 is exported (ONNX Softplus)");
      return g_.node("Softplus", {in}, name);
    }
    if (auto* ge = dynamic_cast<nn::GELU*>(&m)) return gelu(in, name, ge->tanh_approximation());
    if (auto* sm = dynamic_cast<nn::Softmax*>(&m))
      return g_.node("Softmax", {in}, name, {ai("axis", sm->dim())});
    if (auto* ls = dynamic_cast<nn::LogSoftmax*>(&m))
      return g_.node("LogSoftmax", {in}, name, {ai("axis", ls->dim())});
    unsupported(path, m, "no ONNX form for this layer yet");
  }

  // What the recurrent layers add to the graph's outputs (hN, cN), after logits.
  struct StateOutput {
    std::string name;
    Dims dims;
  };
  const std::vector<StateOutput>& state_outputs() const { return state_outputs_; }

 private:
  std::string p(const std::string& path, const std::string& leaf) const {
    return path.empty() ? leaf : path + "." + leaf;
  }
  nn::Module* child(nn::Module& m, const std::string& name) {
    for (auto& [n, c] : m.named_children())
      if (n == name) return c.get();
    return nullptr;
  }
  std::string transpose(const std::string& in, std::vector<int64_t> perm, const std::string& name) {
    return g_.node("Transpose", {in}, name, {ais("perm", std::move(perm))});
  }
  // dims [from, to) of `in`'s shape, an int64 vector
  std::string shape_part(const std::string& in, int64_t from, int64_t to, const std::string& name) {
    const std::string s = g_.node("Shape", {in}, name + ".shape");
    return g_.node("Slice", {s, g_.ints(name + ".from", {from}), g_.ints(name + ".to", {to})},
                   name);
  }
  // Reshape to the library's output shape with dim 0 copied from the input (a dynamic batch).
  std::string reshape_keeping_batch(const std::string& in, const Tensor& x,
                                    const std::string& name) {
    std::vector<int64_t> shape(x.shape().begin(), x.shape().end());
    shape[0] = 0;  // Reshape's 0: the input's size in that dim
    return g_.node("Reshape", {in, g_.ints(name + ".shape", shape)}, name);
  }

  // y = x·Wᵀ + b: Gemm for [N, in], MatMul (+ Add) for [..., in].
  std::string linear(const std::string& in, const nn::Linear& l, int64_t rank,
                     const std::string& path, const std::string& name) {
    const std::string w = g_.constant(p(path, "weight"), l.weight());
    if (rank == 2) {
      std::vector<std::string> ins{in, w};
      if (l.bias().defined()) ins.push_back(g_.constant(p(path, "bias"), l.bias()));
      return g_.node("Gemm", ins, name, {ai("transB", 1)});
    }
    std::string y = g_.node("MatMul", {in, transpose(w, {1, 0}, name + ".weight_t")},
                            l.bias().defined() ? name + ".matmul" : name);
    if (l.bias().defined()) y = g_.node("Add", {y, g_.constant(p(path, "bias"), l.bias())}, name);
    return y;
  }

  // LayerNormalization (opset 17), or before it the same arithmetic in basic ops:
  //   μ = mean(x), d = x − μ, y = d / √(mean(d²) + eps) · weight + bias
  // over the trailing normalized_shape dims (ReduceMean keeps them for the broadcasts).
  std::string layer_norm(const std::string& in, const nn::LayerNorm& ln, const std::string& path,
                         const std::string& name) {
    const Shape& ns = ln.normalized_shape();
    const int64_t k = static_cast<int64_t>(ns.size());
    const std::string w = ln.weight().defined() ? g_.constant(p(path, "weight"), ln.weight()) : "";
    const std::string b = ln.bias().defined() ? g_.constant(p(path, "bias"), ln.bias()) : "";
    const double eps = ln.options().eps;
    if (g_.opset() >= 17) {
      std::vector<std::string> ins{in, w.empty() ? g_.constant(p(path, "weight"), ones(ns)) : w};
      if (!b.empty()) ins.push_back(b);
      return g_.node("LayerNormalization", ins, name, {ai("axis", -k), af("epsilon", eps)});
    }
    std::vector<int64_t> axes;
    for (int64_t i = -k; i < 0; ++i) axes.push_back(i);
    std::string y = normalise(in, axes, eps, w.empty() && b.empty() ? name : name + ".normed");
    if (!w.empty()) y = g_.node("Mul", {y, w}, b.empty() ? name : name + ".scaled");
    if (!b.empty()) y = g_.node("Add", {y, b}, name);
    return y;
  }
  // (x − mean(x)) / √(mean((x − mean(x))²) + eps) over `axes` (ReduceMean-13's attribute).
  std::string normalise(const std::string& in, const std::vector<int64_t>& axes, double eps,
                        const std::string& name) {
    const std::string mu =
        g_.node("ReduceMean", {in}, name + ".mean", {ais("axes", axes), ai("keepdims", 1)});
    const std::string d = g_.node("Sub", {in, mu}, name + ".centred");
    const std::string d2 = g_.node("Pow", {d, g_.scalar(name + ".two", 2.0)}, name + ".sq");
    const std::string var =
        g_.node("ReduceMean", {d2}, name + ".var", {ais("axes", axes), ai("keepdims", 1)});
    const std::string sd =
        g_.node("Sqrt", {g_.node("Add", {var, g_.scalar(name + ".eps", eps)}, name + ".var_eps")},
                name + ".std");
    return g_.node("Div", {d, sd}, name);
  }
  // GroupNorm (ONNX has GroupNormalization only from opset 18): x [N, C, ...] as [N, G, rest],
  // normalised over `rest`, back to x's shape, then · weight + bias per channel.
  std::string group_norm(const std::string& in, const nn::GroupNorm& gn, const Tensor& x_in,
                         const std::string& path, const std::string& name) {
    const std::string grouped = g_.node(
        "Reshape", {in, g_.ints(name + ".grouped", {0, gn.num_groups(), -1})}, name + ".groups");
    const std::string n = normalise(grouped, {2}, gn.eps(), name + ".norm");
    const bool affine = gn.weight().defined();
    std::string y = g_.node("Reshape", {n, g_.node("Shape", {in}, name + ".shape")},
                            affine ? name + ".normed" : name);
    if (!affine) return y;
    std::vector<int64_t> pc(static_cast<size_t>(x_in.dim() - 1), 1);  // [C, 1, ...]: per channel
    pc[0] = x_in.shape()[1];
    const Shape per_channel(pc);
    y = g_.node("Mul", {y, g_.constant(p(path, "weight"), gn.weight().reshape(per_channel))},
                gn.bias().defined() ? name + ".scaled" : name);
    if (gn.bias().defined())
      y = g_.node("Add", {y, g_.constant(p(path, "bias"), gn.bias().reshape(per_channel))}, name);
    return y;
  }

  // GELU (opset 20 has it; 13..17 do not): 0.5·x·(1 + erf(x/√2)), or the tanh form
  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  std::string gelu(const std::string& in, const std::string& name, bool tanh_form) {
    std::string inner;
    if (!tanh_form) {
      const std::string d =
          g_.node("Div", {in, g_.scalar(name + ".sqrt2", std::numbers::sqrt2)}, name + ".div");
      inner = g_.node("Erf", {d}, name + ".erf");
    } else {
      const std::string x3 =
          g_.node("Mul", {in, g_.node("Mul", {in, in}, name + ".x2")}, name + ".x3");
      const std::string t = g_.node(
          "Add", {in, g_.node("Mul", {x3, g_.scalar(name + ".c", 0.044715)}, name + ".cx3")},
          name + ".poly");
      const std::string u = g_.node(
          "Mul", {t, g_.scalar(name + ".k", std::sqrt(2.0 / std::numbers::pi))}, name + ".scaled");
      inner = g_.node("Tanh", {u}, name + ".tanh");
    }
    const std::string one_plus =
        g_.node("Add", {inner, g_.scalar(name + ".one", 1.0)}, name + ".1p");
    const std::string half_x = g_.node("Mul", {in, g_.scalar(name + ".half", 0.5)}, name + ".hx");
    return g_.node("Mul", {half_x, one_plus}, name);
  }

  // Upsample as Resize: nearest is PyTorch's ⌊dst·step⌋ ("asymmetric" + "floor"), bilinear
  // (dst + ½)·step − ½ ("half_pixel"; ONNX Runtime clamps at the edge as PyTorch does) or
  // "align_corners". A scale factor becomes Resize's scales (the same step 1/scale); a size
  // becomes its sizes, with N and C taken from the input.
  std::string upsample(const std::string& in, const nn::Upsample& up, const Tensor& x,
                       const std::string& path, const std::string& name) {
    const UpsampleOptions& o = up.options();
    std::vector<Attr> attrs;
    if (o.mode == "nearest") {
      attrs = {astr("mode", "nearest"), astr("coordinate_transformation_mode", "asymmetric"),
               astr("nearest_mode", "floor")};
    } else if (o.mode == "bilinear") {
      attrs = {astr("mode", "linear"), astr("coordinate_transformation_mode",
                                            o.align_corners ? "align_corners" : "half_pixel")};
    } else {
      unsupported(path, up, "mode \"" + o.mode + "\" has no ONNX form here");
    }
    if (!o.scale_factor.empty()) {
      const double sh = o.scale_factor[0], sw = o.scale_factor.size() > 1 ? o.scale_factor[1] : sh;
      const Tensor scales = tensor(std::vector<double>{1.0, 1.0, sh, sw}, Shape{4});
      return resize(in, {"", g_.constant(name + ".scales", scales), ""}, attrs, name);
    }
    const std::string nc = shape_part(in, 0, 2, name + ".nc");
    const std::string hw = g_.ints(name + ".hw", {x.shape()[2], x.shape()[3]});
    const std::string sizes = g_.node("Concat", {nc, hw}, name + ".sizes", {ai("axis", 0)});
    return resize(in, {"", "", sizes}, attrs, name);
  }
  std::string resize(const std::string& in, const std::vector<std::string>& roi_scales_sizes,
                     const std::vector<Attr>& attrs, const std::string& name) {
    std::vector<std::string> ins{in};
    ins.insert(ins.end(), roi_scales_sizes.begin(), roi_scales_sizes.end());
    while (ins.back().empty()) ins.pop_back();
    return g_.node("Resize", ins, name, attrs);
  }

  // RNN / LSTM / GRU: one ONNX node per layer (both directions in it), PyTorch's gate blocks
  // reordered into ONNX's, bias = input bias ‖ recurrent bias. The initial state is a graph
  // input (h0, and c0 for an LSTM) [layers·directions, N or 1, hidden], broadcast to the batch
  // by Expand, so zeros [layers·directions, 1, hidden] start any batch; the final state is a
  // graph output (hN, cN). The inputs are required, not defaulted by an initializer of the same
  // name: onnxruntime-node passes only a session's required inputs (a fed initializer is
  // silently ignored) and TensorRT takes initializers for constants. GRU uses
  // linear_before_reset = 1: PyTorch's n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)).
  std::string recurrent(const std::string& in, nn::RecurrentBase& r, const Tensor& x_in,
                        const std::string& path, const std::string& name) {
    if (r.proj_size() > 0)
      unsupported(path, r,
                  "proj_size " + std::to_string(r.proj_size()) +
                      ": ONNX's LSTM has no output projection (h = (o·tanh c)·W_hrᵀ)");
    if (x_in.dim() != 3) unsupported(path, r, "only batched input is exported (got rank 2)");
    const RnnKind kind = r.kind();
    const bool lstm = kind == RnnKind::LSTM;
    const char* op = lstm ? "LSTM" : kind == RnnKind::GRU ? "GRU" : "RNN";
    const int64_t L = r.num_layers(), D = r.bidirectional() ? 2 : 1, H = r.hidden_size();
    // [T, N, I] for ONNX's default layout
    std::string cur = r.batch_first() ? transpose(in, {1, 0, 2}, name + ".tni") : in;
    const std::string batch = shape_part(cur, 1, 2, name + ".batch");
    const std::string state_shape =
        g_.node("Concat", {g_.ints(name + ".ld", {L * D}), batch, g_.ints(name + ".hidden", {H})},
                name + ".state_shape", {ai("axis", 0)});
    // The final state's batch is the graph's N when the layer is batch-first (dim 0 of the
    // tokens), else the example's; an initial state's is that or 1 (broadcast).
    const int64_t B = x_in.shape()[r.batch_first() ? 0 : 1];
    const bool named = o_.dynamic_batch && r.batch_first();
    const Dims state_dims{{L * D, ""}, named ? Dim{0, "N"} : Dim{B, ""}, {H, ""}};
    const Dims state_in_dims{{L * D, ""}, {0, "state_batch"}, {H, ""}};
    auto state_in = [&](const char* what) {
      const std::string in_name =
          g_.input(state_name(path, what), TensorProto::FLOAT, state_in_dims);
      return g_.node("Expand", {in_name, state_shape}, name + "." + what + ".expanded");
    };
    const std::string h0 = state_in("h0");
    const std::string c0 = lstm ? state_in("c0") : "";
    std::vector<std::string> hs, cs;
    for (int64_t k = 0; k < L; ++k) {
      const std::string lk = name + ".l" + std::to_string(k);
      std::vector<Tensor> ws, rs, bs;
      for (int dir = 0; dir < D; ++dir) {
        const RnnWeights& w = r.weights(k, dir);
        ws.push_back(reorder_gates(w.w_ih, kind));
        rs.push_back(reorder_gates(w.w_hh, kind));
        if (w.b_ih.defined())
          bs.push_back(cat({reorder_gates(w.b_ih, kind), reorder_gates(w.b_hh, kind)}, 0));
      }
      const std::string sfx = "_l" + std::to_string(k);
      auto slice = [&](const std::string& s, const char* what) {
        return g_.node("Slice",
                       {s, g_.ints(lk + ".from", {k * D}), g_.ints(lk + ".to", {(k + 1) * D}),
                        g_.ints(lk + ".axis", {0})},
                       lk + "." + what);
      };
      std::vector<std::string> ins{cur,
                                   g_.constant(p(path, "W" + sfx), stack(ws, 0)),
                                   g_.constant(p(path, "R" + sfx), stack(rs, 0)),
                                   bs.empty() ? "" : g_.constant(p(path, "B" + sfx), stack(bs, 0)),
                                   "",
                                   slice(h0, "h0")};
      if (lstm) ins.push_back(slice(c0, "c0"));
      std::vector<Attr> attrs{ai("hidden_size", H),
                              astr("direction", D == 2 ? "bidirectional" : "forward")};
      if (kind == RnnKind::GRU) attrs.push_back(ai("linear_before_reset", 1));
      if (kind == RnnKind::ReLU)
        attrs.push_back(astrs("activations", std::vector<std::string>(D, "Relu")));
      std::vector<std::string> outs{lk + ".Y", lk + ".Y_h"};
      if (lstm) outs.push_back(lk + ".Y_c");
      const auto y = g_.nodes(op, ins, outs, attrs);
      hs.push_back(y[1]);
      if (lstm) cs.push_back(y[2]);
      // Y [T, D, N, H] -> [T, N, D·H]: the directions side by side, as the library's
      if (D == 1) {
        cur = g_.node("Squeeze", {y[0], g_.ints(lk + ".dir_axis", {1})}, lk + ".y");
      } else {
        const std::string t = transpose(y[0], {0, 2, 1, 3}, lk + ".tndh");
        cur = g_.node("Reshape", {t, g_.ints(lk + ".tnd_shape", {0, 0, -1})}, lk + ".y");
      }
    }
    auto state_out = [&](const std::vector<std::string>& parts, const char* what) {
      const std::string o = parts.size() == 1
                                ? g_.node("Identity", parts, state_name(path, what))
                                : g_.node("Concat", parts, state_name(path, what), {ai("axis", 0)});
      state_outputs_.push_back({o, state_dims});
    };
    state_out(hs, "hN");
    if (lstm) state_out(cs, "cN");
    return r.batch_first() ? transpose(cur, {1, 0, 2}, name) : g_.node("Identity", {cur}, name);
  }
  // "h0", "hN", ... for the model's only recurrent layer; "<path>.h0" when there are several.
  std::string state_name(const std::string& path, const std::string& what) const {
    return recurrent_layers_ == 1 ? what : p(path, what);
  }

  // The bool mask [T, T] of the keys after each query (true = masked out), T from `x` [N, T, ·]
  // at run time: Range(0, T) compared with itself. Built once per graph.
  std::string causal_mask(const std::string& x, const std::string& name) {
    if (!causal_.empty()) return causal_;
    const std::string t1 = shape_part(x, 1, 2, name + ".T");
    const std::string t = g_.node("Squeeze", {t1, g_.ints(name + ".T_axis", {0})}, name + ".t");
    const std::string r = g_.node(
        "Range", {g_.ints(name + ".zero", {0}, true), t, g_.ints(name + ".step", {1}, true)},
        name + ".positions");
    const std::string rows = g_.node("Unsqueeze", {r, g_.ints(name + ".ax1", {1})}, name + ".rows");
    const std::string cols = g_.node("Unsqueeze", {r, g_.ints(name + ".ax0", {0})}, name + ".cols");
    causal_ = g_.node("Greater", {cols, rows}, "causal_mask");
    return causal_;
  }

  // Multi-head attention of q, k, v [N, T, E] (H heads of E/H dims) -> [N, T, E] before the
  // output projection: softmax(q·kᵀ/√D [+ causal mask])·v per head.
  std::string attention(const std::string& q, const std::string& k, const std::string& v, int64_t H,
                        int64_t E, bool causal, const std::string& name) {
    const int64_t D = E / H;
    auto heads = [&](const std::string& t, const char* what) {  // [N, T, E] -> [N, H, T, D]
      const std::string r = g_.node("Reshape", {t, g_.ints(name + ".heads_shape", {0, 0, H, D})},
                                    name + "." + what + "_split");
      return transpose(r, {0, 2, 1, 3}, name + "." + what + "_heads");
    };
    const std::string qh = heads(q, "q"), kh = heads(k, "k"), vh = heads(v, "v");
    const std::string qs =
        g_.node("Mul", {qh, g_.scalar(name + ".scale", 1.0 / std::sqrt(static_cast<double>(D)))},
                name + ".q_scaled");
    std::string scores =
        g_.node("MatMul", {qs, transpose(kh, {0, 1, 3, 2}, name + ".k_t")}, name + ".scores");
    if (causal)
      scores =
          g_.node("Where",
                  {causal_mask(q, name),
                   g_.scalar(name + ".neg_inf", -std::numeric_limits<double>::infinity()), scores},
                  name + ".masked");
    const std::string probs = g_.node("Softmax", {scores}, name + ".probs", {ai("axis", -1)});
    const std::string o = g_.node("MatMul", {probs, vh}, name + ".heads_out");
    return g_.node(
        "Reshape",
        {transpose(o, {0, 2, 1, 3}, name + ".nthd"), g_.ints(name + ".merge", {0, 0, E})},
        name + ".merged");
  }

  // MultiheadAttention's self-attention of x [N, L, E] -> [N, L, E] (out_proj included).
  std::string self_attention(const std::string& x, nn::MultiheadAttention& a, bool causal,
                             const std::string& path, const std::string& name) {
    const auto& o = a.options();
    if (o.add_bias_kv || o.add_zero_attn)
      unsupported(path, a, "add_bias_kv and add_zero_attn are not exported");
    const int64_t E = a.embed_dim();
    std::string q, k, v;
    const Tensor& b = a.in_proj_bias();
    const std::string bias = b.defined() ? g_.constant(p(path, "in_proj_bias"), b) : "";
    if (a.packed()) {
      const std::string w = g_.constant(p(path, "in_proj_weight"), a.in_proj_weight());
      std::string qkv =
          g_.node("MatMul", {x, transpose(w, {1, 0}, name + ".in_proj_t")}, name + ".qkv");
      if (!bias.empty()) qkv = g_.node("Add", {qkv, bias}, name + ".qkv_b");
      const auto parts =
          g_.nodes("Split", {qkv}, {name + ".q", name + ".k", name + ".v"}, {ai("axis", -1)});
      q = parts[0], k = parts[1], v = parts[2];
    } else {
      const std::vector<std::string> bs =
          bias.empty() ? std::vector<std::string>{"", "", ""}
                       : g_.nodes("Split", {bias}, {name + ".bq", name + ".bk", name + ".bv"},
                                  {ai("axis", 0)});
      auto proj = [&](const Tensor& w, const char* leaf, const std::string& b1) {
        std::string y =
            g_.node("MatMul",
                    {x, transpose(g_.constant(p(path, leaf), w), {1, 0}, name + "." + leaf + "_t")},
                    name + "." + leaf + "_x");
        return b1.empty() ? y : g_.node("Add", {y, b1}, name + "." + leaf + "_xb");
      };
      q = proj(a.q_proj_weight(), "q_proj_weight", bs[0]);
      k = proj(a.k_proj_weight(), "k_proj_weight", bs[1]);
      v = proj(a.v_proj_weight(), "v_proj_weight", bs[2]);
    }
    const std::string heads = attention(q, k, v, a.num_heads(), E, causal, name);
    return linear(heads, a.out_proj(), 3, p(path, "out_proj"), name);
  }

  // PyTorch's TransformerEncoderLayer (self-attention block, feed-forward block, post- or
  // pre-norm), on [N, S, E] inside; the layer's own layout outside.
  std::string encoder_layer(const std::string& in, nn::TransformerEncoderLayer& t, int64_t rank,
                            const std::string& path, const std::string& name) {
    if (rank != 3) unsupported(path, t, "only batched input [N, S, E] / [S, N, E]");
    const auto& o = t.options();
    const bool causal = o.causal || t.self_attn().options().causal;
    auto sa = [&](const std::string& x) {
      return self_attention(x, t.self_attn(), causal, p(path, "self_attn"), name + ".self_attn");
    };
    auto ff = [&](const std::string& x) {
      std::string h = linear(x, t.linear1(), 3, p(path, "linear1"), name + ".linear1");
      h = o.activation == nn::TransformerActivation::GELU ? gelu(h, name + ".gelu", false)
                                                          : g_.node("Relu", {h}, name + ".relu");
      return linear(h, t.linear2(), 3, p(path, "linear2"), name + ".linear2");
    };
    auto norm = [&](const std::string& x, nn::LayerNorm& ln, const char* leaf) {
      return layer_norm(x, ln, p(path, leaf), name + "." + leaf);
    };
    std::string x = o.batch_first ? in : transpose(in, {1, 0, 2}, name + ".nse");
    if (o.norm_first) {
      x = g_.node("Add", {x, sa(norm(x, t.norm1(), "norm1"))}, name + ".res1");
      x = g_.node("Add", {x, ff(norm(x, t.norm2(), "norm2"))}, name + ".res2");
    } else {
      x = norm(g_.node("Add", {x, sa(x)}, name + ".res1"), t.norm1(), "norm1");
      x = norm(g_.node("Add", {x, ff(x)}, name + ".res2"), t.norm2(), "norm2");
    }
    return o.batch_first ? x : transpose(x, {1, 0, 2}, name);
  }

  // nn::GPT: token embedding + the first T rows of the position table (a Slice by T at run
  // time, so any T <= block_size runs), pre-norm blocks with causal attention, ln_f, and the
  // head (tied: the token table's transpose).
  std::string gpt_graph(const std::string& tokens, nn::GPT& m, const std::string& path,
                        const std::string& name) {
    const auto& o = m.options();
    const std::string wte = g_.constant(p(path, "wte.weight"), m.wte().weight());
    const std::string tok = g_.node("Gather", {wte, tokens}, name + ".tok_emb", {ai("axis", 0)});
    const std::string T = shape_part(tokens, 1, 2, name + ".T");
    const std::string pos =
        g_.node("Slice",
                {g_.constant(p(path, "wpe.weight"), m.wpe().weight()),
                 g_.ints(name + ".pos_from", {0}), T, g_.ints(name + ".pos_axis", {0})},
                name + ".pos_emb");
    std::string x = g_.node("Add", {tok, pos}, name + ".emb");
    auto sub = [&](nn::Module& parent, const char* leaf) -> nn::Module& {
      nn::Module* c = child(parent, leaf);
      SN_ASSERT(c, "onnx export: GPT has no child '", leaf, "'");
      return *c;
    };
    auto lin = [&](nn::Module& c) -> const nn::Linear& { return dynamic_cast<nn::Linear&>(c); };
    auto ln = [&](nn::Module& c) -> const nn::LayerNorm& {
      return dynamic_cast<nn::LayerNorm&>(c);
    };
    for (int64_t i = 0; i < o.n_layer; ++i) {
      nn::GPTBlock& b = m.block(i);
      const std::string bp = p(path, "h." + std::to_string(i)),
                        bn = name + ".h" + std::to_string(i);
      const std::string a_in = layer_norm(x, ln(sub(b, "ln_1")), p(bp, "ln_1"), bn + ".ln_1");
      const std::string qkv =
          linear(a_in, lin(sub(b, "c_attn")), 3, p(bp, "c_attn"), bn + ".c_attn");
      const auto parts =
          g_.nodes("Split", {qkv}, {bn + ".q", bn + ".k", bn + ".v"}, {ai("axis", -1)});
      const std::string att =
          attention(parts[0], parts[1], parts[2], o.n_head, o.n_embd, true, bn + ".attn");
      const std::string proj =
          linear(att, lin(sub(b, "c_proj")), 3, p(bp, "c_proj"), bn + ".c_proj");
      x = g_.node("Add", {x, proj}, bn + ".res1");
      const std::string m_in = layer_norm(x, ln(sub(b, "ln_2")), p(bp, "ln_2"), bn + ".ln_2");
      const std::string fc = linear(m_in, lin(sub(b, "c_fc")), 3, p(bp, "c_fc"), bn + ".c_fc");
      const std::string act = gelu(fc, bn + ".gelu", o.gelu_tanh);
      const std::string mp =
          linear(act, lin(sub(b, "mlp_proj")), 3, p(bp, "mlp_proj"), bn + ".mlp_proj");
      x = g_.node("Add", {x, mp}, bn + ".res2");
    }
    x = layer_norm(x, ln(sub(m, "ln_f")), p(path, "ln_f"), name + ".ln_f");
    if (nn::Module* head = child(m, "lm_head"))
      return linear(x, lin(*head), 3, p(path, "lm_head"), name);
    return g_.node("MatMul", {x, transpose(wte, {1, 0}, name + ".wte_t")}, name);
  }

  Graph& g_;
  const ExportOptions& o_;
  int recurrent_layers_;
  std::string causal_;
  std::vector<StateOutput> state_outputs_;
};

}  // namespace

void check_model_bytes(const std::string& bytes) {
  ModelProto m;
  SN_CHECK(m.ParseFromString(bytes), ValueError,
           "onnx: the bytes are not an ONNX model (protobuf parse failed, ", bytes.size(),
           " bytes)");
  try {
    ::onnx::checker::check_model(m);
    ::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    SN_THROW(ValueError, "onnx: the model fails ONNX's checker: ", e.what());
  }
}

std::string export_model_bytes(nn::Module& model, const Tensor& example,
                               const ExportOptions& options) {
  SN_CHECK(options.opset >= 13 && options.opset <= 17, ValueError,
           "onnx export: opset must be 13..17 (got ", options.opset, ")");
  SN_CHECK(example.defined() && example.dim() >= 1, ValueError,
           "onnx export: the example input must have a batch dimension (got ",
           example.defined() ? example.shape() : Shape{}, ")");
  const bool tokens = example.dtype() == kInt64;
  SN_CHECK(tokens || example.dtype() == kFloat32 || example.dtype() == kFloat64, ValueError,
           "onnx export: the input must be float (features, pixels) or int64 (token ids) (got ",
           example.dtype(), ")");
  SN_CHECK(!tokens || (options.input_scale == 1.0 && !options.mean.defined()), ValueError,
           "onnx export: token ids take no input scaling or normalisation");
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  struct Restore {
    nn::Module& m;
    bool t;
    ~Restore() { m.train(t); }
  } restore{model, was_training};

  ModelProto mp;
  mp.set_ir_version(::onnx::IR_VERSION);
  mp.set_producer_name("sinapsis");
  mp.set_producer_version(options.producer_version.empty() ? build_info().version
                                                           : options.producer_version);
  auto* op = mp.add_opset_import();
  op->set_domain("");
  op->set_version(options.opset);
  for (const auto& [k, v] : options.metadata) {
    auto* m = mp.add_metadata_props();
    m->set_key(k);
    m->set_value(v);
  }
  GraphProto* gp = mp.mutable_graph();
  gp->set_name("sinapsis");
  Graph g(gp, options.opset);

  // token ids [N, T]: T stays dynamic (the graph computes positions and masks from it)
  const std::string in_name =
      g.input(options.input_name.empty() ? (tokens ? "tokens" : "input") : options.input_name,
              tokens ? TensorProto::INT64 : TensorProto::FLOAT,
              dims_of(example.shape(), options.dynamic_batch, tokens && example.dim() >= 2));
  std::string cur = in_name;
  Tensor x = tokens ? example : example.to(kFloat32);
  if (options.input_scale != 1.0)
    cur = g.node("Mul", {cur, g.scalar("input_scale", options.input_scale)}, "scaled");
  if (options.mean.defined()) {
    cur = g.node("Sub", {cur, g.constant("input_mean", options.mean)}, "centred");
    if (options.std.defined())
      cur = g.node("Div", {cur, g.constant("input_std", options.std)}, "normalised");
  }
  // the library's view of the same preprocessing, for the shapes and the check below
  if (options.input_scale != 1.0) x = x * options.input_scale;
  if (options.mean.defined()) {
    x = x - options.mean.to(kFloat32);
    if (options.std.defined()) x = x / options.std.to(kFloat32);
  }
  int recurrent = 0;
  for (auto& [n, m] : model.named_modules())
    if (dynamic_cast<nn::RecurrentBase*>(m)) ++recurrent;
  Exporter ex(g, options, recurrent);
  std::string out = ex.emit(model, cur, x, "");
  // the graph's output gets a stable name
  const std::string out_name = options.output_name.empty() ? "logits" : options.output_name;
  out = g.node("Identity", {out}, out_name);
  const Dims out_dims = dims_of(x.shape(), options.dynamic_batch, tokens && x.dim() >= 3);
  g.output(out, TensorProto::FLOAT, out_dims);
  if (options.probabilities) {
    const std::string pr = g.node("Softmax", {out}, "probabilities", {ai("axis", -1)});
    g.output(pr, TensorProto::FLOAT, out_dims);
  }
  for (const auto& s : ex.state_outputs()) g.output(s.name, TensorProto::FLOAT, s.dims);
  std::string bytes;
  SN_CHECK(mp.SerializeToString(&bytes), Error, "onnx export: protobuf serialisation failed");
  check_model_bytes(bytes);
  return bytes;
}

void export_model(nn::Module& model, const Tensor& example, const std::string& path,
                  const ExportOptions& options) {
  io::write_file_atomic(path, export_model_bytes(model, example, options));
}

}  // namespace sn::onnx
