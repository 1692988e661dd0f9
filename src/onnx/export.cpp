// ONNX export: the module tree walked layer by layer into an ONNX graph (onnx.proto's ModelProto
// from Debian's libonnx), each layer's tensors as initializers named by the module's state-dict
// names, checked by ONNX's own checker and strict shape inference before it is written.
// Only compiled with SN_HAVE_ONNX (CMake option SN_ONNX, on when libonnx-dev is found).
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numbers>
#include <set>

#include "sinapsis/autograd/node.h"
#include "sinapsis/core/build_info.h"
#include "sinapsis/core/error.h"
#include "sinapsis/io/atomic_file.h"
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/layers.h"
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
  enum Kind { Int, Ints, Float } kind;
  int64_t i = 0;
  std::vector<int64_t> ints;
  double f = 0;
};
Attr ai(std::string n, int64_t v) { return {std::move(n), Attr::Int, v, {}, 0}; }
Attr ais(std::string n, std::vector<int64_t> v) { return {std::move(n), Attr::Ints, 0, v, 0}; }
Attr af(std::string n, double v) { return {std::move(n), Attr::Float, 0, {}, v}; }

// The graph being written: unique value names, initializers, nodes.
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
  std::string ints(const std::string& name, const std::vector<int64_t>& v) {
    TensorProto* p = g_->add_initializer();
    const std::string n = unique(name);
    p->set_name(n);
    p->set_data_type(TensorProto::INT64);
    p->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) p->add_int64_data(x);
    return n;
  }
  std::string scalar(const std::string& name, double v) { return constant(name, full({}, v)); }
  // One node; returns its (single) output's name.
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::string& name, const std::vector<Attr>& attrs = {}) {
    NodeProto* n = g_->add_node();
    n->set_op_type(op);
    const std::string out = unique(name);
    n->set_name(out);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(out);
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
      }
    }
    return out;
  }

 private:
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

// Walks one module: `in` is the ONNX value holding its input, `x` the same value computed by
// the library (for shapes). Returns the output's ONNX name and sets x to the library's output.
class Exporter {
 public:
  explicit Exporter(Graph& g) : g_(g) {}

  std::string emit(nn::Module& m, const std::string& in, Tensor& x) {
    return emit_layer(m, in, x, "");
  }

 private:
  std::string p(const std::string& path, const std::string& leaf) const {
    return path.empty() ? leaf : path + "." + leaf;
  }
  nn::Module* child(nn::Module& m, const std::string& name) {
    for (auto& [n, c] : m.named_children())
      if (n == name) return c.get();
    return nullptr;
  }

  std::string emit_layer(nn::Module& m, const std::string& in, Tensor& x, const std::string& path) {
    const std::string name = path.empty() ? m.type_name() : path;
    if (auto* s = dynamic_cast<nn::Sequential*>(&m)) {
      std::string cur = in;
      for (auto& [n, c] : s->named_children()) cur = emit_layer(*c, cur, x, p(path, n));
      return cur;
    }
    if (dynamic_cast<nn::Residual*>(&m)) {
      const Tensor x_in = x;
      Tensor xb = x, xs = x;
      const std::string body = emit_layer(*child(m, "body"), in, xb, p(path, "body"));
      nn::Module* sc = child(m, "shortcut");
      const std::string skip = sc ? emit_layer(*sc, in, xs, p(path, "shortcut")) : in;
      x = m.forward(x_in);
      return g_.node("Add", {body, skip}, name + ".add");
    }
    if (dynamic_cast<nn::ResNetBlock*>(&m)) {
      const Tensor x_in = x;
      Tensor xb = x, xs = x;
      const std::string body = emit_layer(*child(m, "body"), in, xb, p(path, "body"));
      nn::Module* sc = child(m, "shortcut");
      const std::string skip = sc ? emit_layer(*sc, in, xs, p(path, "shortcut")) : in;
      const std::string sum = g_.node("Add", {body, skip}, name + ".add");
      x = m.forward(x_in);
      return g_.node("Relu", {sum}, name + ".relu");
    }
    if (auto* par = dynamic_cast<nn::Parallel*>(&m)) {
      std::vector<std::string> outs;
      const Tensor x_in = x;
      for (auto& [n, c] : par->named_children()) {
        Tensor xc = x_in;
        outs.push_back(emit_layer(*c, in, xc, p(path, n)));
      }
      x = m.forward(x_in);
      const int64_t axis = par->dim() < 0 ? par->dim() + x.dim() : par->dim();
      return g_.node("Concat", outs, name + ".concat", {ai("axis", axis)});
    }
    if (dynamic_cast<nn::Inception*>(&m))
      return emit_layer(*child(m, "branches"), in, x, p(path, "branches"));
    // leaves: the library's output gives the shapes
    const Tensor x_in = x;
    x = m.forward(x);
    if (auto* l = dynamic_cast<nn::Linear*>(&m)) {
      const std::string w = g_.constant(p(path, "weight"), l->weight());
      if (x_in.dim() == 2) {
        std::vector<std::string> ins{in, w};
        if (l->bias().defined()) ins.push_back(g_.constant(p(path, "bias"), l->bias()));
        return g_.node("Gemm", ins, name, {ai("transB", 1)});
      }
      const std::string wt = g_.node("Transpose", {w}, name + ".weight_t", {ais("perm", {1, 0})});
      std::string y = g_.node("MatMul", {in, wt}, name + ".matmul");
      if (l->bias().defined())
        y = g_.node("Add", {y, g_.constant(p(path, "bias"), l->bias())}, name);
      return y;
    }
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
    if (auto* mp = dynamic_cast<nn::MaxPool2d*>(&m)) {
      const auto& o = mp->options();
      const auto k = two(mp->kernel_size(), "kernel_size", path, m);
      const auto s = o.stride.empty() ? k : two(o.stride, "stride", path, m);
      const auto pad = two(o.padding, "padding", path, m);
      return g_.node(
          "MaxPool", {in}, name,
          {ais("kernel_shape", k), ais("strides", s), ais("pads", {pad[0], pad[1], pad[0], pad[1]}),
           ais("dilations", two(o.dilation, "dilation", path, m)),
           ai("ceil_mode", o.ceil_mode ? 1 : 0)});
    }
    if (auto* ap = dynamic_cast<nn::AvgPool2d*>(&m)) {
      const auto& o = ap->options();
      const auto k = two(ap->kernel_size(), "kernel_size", path, m);
      const auto s = o.stride.empty() ? k : two(o.stride, "stride", path, m);
      const auto pad = two(o.padding, "padding", path, m);
      return g_.node(
          "AveragePool", {in}, name,
          {ais("kernel_shape", k), ais("strides", s), ais("pads", {pad[0], pad[1], pad[0], pad[1]}),
           ai("ceil_mode", o.ceil_mode ? 1 : 0),
           ai("count_include_pad", o.count_include_pad ? 1 : 0)});
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
    if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) {
      if (g_.opset() < 17) unsupported(path, m, "LayerNormalization needs opset 17 or later");
      const Shape& ns = ln->normalized_shape();
      const Tensor w = ln->weight().defined() ? ln->weight() : ones(ns);
      std::vector<std::string> ins{in, g_.constant(p(path, "weight"), w)};
      if (ln->bias().defined()) ins.push_back(g_.constant(p(path, "bias"), ln->bias()));
      return g_.node(
          "LayerNormalization", ins, name,
          {ai("axis", -static_cast<int64_t>(ns.size())), af("epsilon", ln->options().eps)});
    }
    if (auto* f = dynamic_cast<nn::Flatten*>(&m)) {
      const int64_t r = x_in.dim();
      const int64_t s = f->start_dim() < 0 ? f->start_dim() + r : f->start_dim();
      const int64_t e = f->end_dim() < 0 ? f->end_dim() + r : f->end_dim();
      if (s == 1 && e == r - 1) return g_.node("Flatten", {in}, name, {ai("axis", 1)});
      if (s == 0) unsupported(path, m, "flattening the batch dimension is not exported");
      std::vector<int64_t> shape(x.shape().begin(), x.shape().end());
      shape[0] = 0;  // the batch size, copied from the input
      return g_.node("Reshape", {in, g_.ints(name + ".shape", shape)}, name);
    }
    if (dynamic_cast<nn::Dropout*>(&m) || dynamic_cast<nn::Identity*>(&m))
      return g_.node("Identity", {in}, name);
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

  Graph& g_;
};

void value_info(::onnx::ValueInfoProto* v, const std::string& name, const Shape& shape,
                bool dynamic_batch) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  auto* s = tt->mutable_shape();
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    auto* d = s->add_dim();
    if (i == 0 && dynamic_batch)
      d->set_dim_param("N");
    else
      d->set_dim_value(shape[i]);
  }
}

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
  SN_CHECK(example.dtype() == kFloat32 || example.dtype() == kFloat64, ValueError,
           "onnx export: only float inputs are exported so far (got ", example.dtype(), ")");
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

  value_info(gp->add_input(), options.input_name, example.shape(), options.dynamic_batch);
  std::string cur = options.input_name;
  Tensor x = example.to(kFloat32);
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
  Exporter ex(g);
  std::string out = ex.emit(model, cur, x);
  // the graph's output gets a stable name
  out = g.node("Identity", {out}, "logits");
  value_info(gp->add_output(), out, x.shape(), options.dynamic_batch);
  if (options.probabilities) {
    const std::string pr = g.node("Softmax", {out}, "probabilities", {ai("axis", -1)});
    value_info(gp->add_output(), pr, x.shape(), options.dynamic_batch);
  }
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
