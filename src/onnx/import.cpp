// ONNX import (sinapsis/onnx/onnx.h): a ModelProto, checked field by field as untrusted input,
// becomes a spec model — a chain of spec layers when the graph is one, else one Graph layer
// (nn::Graph) — with its weights. Two probe runs with different sizes for the dynamic dims find
// the shape subgraphs that can be folded; the same kernels run the graph later. Only compiled
// with libonnx (CMake option SN_ONNX); ONNX's own checker is not used here (import reports
// problems in the terms of this file, and must not trust the file to be checkable).
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <set>
#include <sstream>

#include "nn/graph_ops.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/core/error.h"
#include "sinapsis/nn/graph.h"
#include "sinapsis/onnx/onnx.h"
#include "sinapsis/ops/ops.h"

namespace sn::onnx {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::onnx::AttributeProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

constexpr const char* kWho = "onnx import";
// The largest ONNX file read (protobuf's own limit is 2 GiB).
constexpr int64_t kMaxFileBytes = int64_t{2} << 30;
// Tensors of at most this many elements are written inline in a Graph's description.
constexpr int64_t kInlineElements = 64;
constexpr int kMaxNodes = 100000;

// Names go into JSON and messages: printable ASCII, bounded.
void check_name(const std::string& s, const std::string& what) {
  SN_CHECK(s.size() <= 1024, ValueError, kWho, ": ", what, " has a name of ", s.size(),
           " bytes (at most 1024)");
  for (unsigned char c : s)
    SN_CHECK(c >= 0x20 && c < 0x7f, ValueError, kWho, ": ", what,
             " has a name with a byte that is not printable ASCII (", static_cast<int>(c), ")");
}

std::string shape_text(const Tensor& t) {
  if (!t.defined()) return "(not given)";
  std::ostringstream os;
  os << t.shape();
  if (t.dtype() != kFloat32) os << " " << t.dtype();
  return os.str();
}

// ---- tensors ----

size_t elem_size(int32_t type) {
  switch (type) {
    case TensorProto::FLOAT:
    case TensorProto::INT32:
      return 4;
    case TensorProto::DOUBLE:
    case TensorProto::INT64:
      return 8;
    case TensorProto::BOOL:
    case TensorProto::UINT8:
    case TensorProto::INT8:
      return 1;
    default:
      return 0;
  }
}

std::string external_bytes(const TensorProto& p, const std::string& what, size_t want,
                           const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::logic_error&) {
      SN_THROW(ValueError, kWho, ": ", what, ": external data '", kv.key(), "' is not a number (",
               kv.value().substr(0, 40), ")");
    }
  }
  check_name(location, what + "'s external data");
  SN_CHECK(!location.empty(), ValueError, kWho, ": ", what,
           " has external data without a location");
  SN_CHECK(!base_dir.empty(), IOError, kWho, ": ", what, " keeps its data in '", location,
           "', but the model was given as bytes without its folder");
  const fs::path loc(location);
  bool up = false;
  for (const auto& part : loc) up = up || part == "..";
  SN_CHECK(loc.is_relative() && !loc.has_root_name() && !up, IOError, kWho, ": ", what,
           ": external data path '", location,
           "' leaves the model's folder; only paths inside it are read");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  const fs::path full = fs::weakly_canonical(fs::path(base_dir) / loc, ec);
  const fs::path rel = full.lexically_relative(base);
  SN_CHECK(!ec && !rel.empty() && *rel.begin() != "..", IOError, kWho, ": ", what,
           ": external data path '", location,
           "' leads outside the model's folder (through a link?); only files inside it are read");
  SN_CHECK(fs::is_regular_file(full, ec), IOError, kWho, ": ", what, ": external data file '",
           full.string(), "' is not a readable file");
  const auto size = static_cast<int64_t>(fs::file_size(full, ec));
  SN_CHECK(!ec, IOError, kWho, ": ", what, ": cannot read the size of '", full.string(), "'");
  if (length < 0) length = size - offset;
  SN_CHECK(offset >= 0 && offset <= size && length >= 0 && length <= size - offset, IOError, kWho,
           ": ", what, ": external data (offset ", offset, ", length ", length,
           ") lies beyond the ", size, " bytes of '", location, "'");
  SN_CHECK(static_cast<size_t>(length) == want, ValueError, kWho, ": ", what,
           ": external data has ", length, " bytes, its dims need ", want);
  std::ifstream f(full, std::ios::binary);
  std::string bytes(want, '\0');
  f.seekg(offset);
  f.read(bytes.data(), static_cast<std::streamsize>(want));
  SN_CHECK(f.good() || want == 0, IOError, kWho, ": ", what, ": reading '", location, "' failed");
  return bytes;
}

Tensor from_proto(const TensorProto& p, const std::string& what, const std::string& base_dir) {
  std::vector<int64_t> dims;
  int64_t n = 1;
  SN_CHECK(p.dims_size() <= kMaxDims, ValueError, kWho, ": ", what, " has ", p.dims_size(),
           " dims (at most ", kMaxDims, ")");
  for (int64_t d : p.dims()) {
    SN_CHECK(d >= 0 && (d == 0 || n <= (int64_t{1} << 40) / d), ValueError, kWho, ": ", what,
             " declares dims that do not fit in memory (", d, " in ", Shape(dims), "...)");
    dims.push_back(d);
    n *= d;
  }
  const Shape shape(dims);
  const int32_t type = p.data_type();
  const size_t es = elem_size(type);
  SN_CHECK(es != 0, ValueError, kWho, ": ", what, " has ONNX data type ", type,
           ", which import does not read (float, double, int64, int32, int8, uint8, bool)");
  const size_t want = static_cast<size_t>(n) * es;
  std::string raw;
  bool have_raw = false;
  if (p.data_location() == TensorProto::EXTERNAL) {
    raw = external_bytes(p, what, want, base_dir);
    have_raw = true;
  } else if (p.has_raw_data()) {
    SN_CHECK(p.raw_data().size() == want, ValueError, kWho, ": ", what, " has ",
             p.raw_data().size(), " bytes of data, its dims ", shape, " need ", want);
    raw = p.raw_data();
    have_raw = true;
  }
  auto typed_count = [&](int count) {
    SN_CHECK(count == n, ValueError, kWho, ": ", what, " holds ", count, " values, its dims ",
             shape, " need ", n);
  };
  switch (type) {
    case TensorProto::FLOAT:
      if (have_raw) return from_blob_copy(raw.data(), shape, kFloat32);
      typed_count(p.float_data_size());
      return from_blob_copy(p.float_data().data(), shape, kFloat32);
    case TensorProto::DOUBLE:
      if (have_raw) return from_blob_copy(raw.data(), shape, kFloat64);
      typed_count(p.double_data_size());
      return from_blob_copy(p.double_data().data(), shape, kFloat64);
    case TensorProto::INT64:
      if (have_raw) return from_blob_copy(raw.data(), shape, kInt64);
      typed_count(p.int64_data_size());
      return from_blob_copy(p.int64_data().data(), shape, kInt64);
    default: {  // int32, int8, uint8, bool: int32_data or raw bytes, held as int64 / bool
      std::vector<int64_t> v(static_cast<size_t>(n));
      if (have_raw) {
        for (int64_t i = 0; i < n; ++i) {
          const char* q = raw.data() + i * static_cast<int64_t>(es);
          if (type == TensorProto::INT32) {
            int32_t x;
            std::memcpy(&x, q, 4);
            v[i] = x;
          } else if (type == TensorProto::INT8) {
            v[i] = static_cast<int8_t>(*q);
          } else {
            v[i] = static_cast<uint8_t>(*q);
          }
        }
      } else {
        typed_count(p.int32_data_size());
        for (int64_t i = 0; i < n; ++i) v[i] = p.int32_data(static_cast<int>(i));
      }
      Tensor t = tensor(v, shape);
      return type == TensorProto::BOOL ? ne(t, 0.0) : t;
    }
  }
}

std::string value_dtype_name(DType d) {
  return d == kFloat64 ? "float64" : d == kInt64 ? "int64" : d == kBool ? "bool" : "float32";
}

// ---- nodes ----

struct INode {
  std::string op, name;  // name: the node's, or "#<index> <op>" when it has none
  std::vector<std::string> in, out;
  json attrs = json::object();
};

json attr_value(const AttributeProto& a, const std::string& what) {
  auto bounded = [&](int n) {
    SN_CHECK(n <= 4096, ValueError, kWho, ": ", what, " holds ", n, " values");
  };
  switch (a.type()) {
    case AttributeProto::FLOAT:
      return a.f();
    case AttributeProto::INT:
      return a.i();
    case AttributeProto::STRING:
      check_name(a.s(), what);
      return a.s();
    case AttributeProto::FLOATS: {
      bounded(a.floats_size());
      return json(std::vector<double>(a.floats().begin(), a.floats().end()));
    }
    case AttributeProto::INTS: {
      bounded(a.ints_size());
      return json(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    }
    case AttributeProto::STRINGS: {
      bounded(a.strings_size());
      json v = json::array();
      for (const auto& s : a.strings()) {
        check_name(s, what);
        v.push_back(s);
      }
      return v;
    }
    default:
      SN_THROW(ValueError, kWho, ": ", what, " has attribute type ", static_cast<int>(a.type()),
               ", which import does not read (subgraphs and sparse tensors are not supported)");
  }
}

Tensor constant_value(const NodeProto& n, const std::string& what, const std::string& base_dir) {
  SN_CHECK(n.attribute_size() == 1, ValueError, kWho, ": ", what, " needs one value attribute");
  const AttributeProto& a = n.attribute(0);
  if (a.name() == "value" && a.type() == AttributeProto::TENSOR)
    return from_proto(a.t(), what, base_dir);
  if (a.name() == "value_float") return full({}, a.f());
  if (a.name() == "value_int") return full({}, static_cast<double>(a.i()), {.dtype = kInt64});
  if (a.name() == "value_floats") {
    std::vector<float> v(a.floats().begin(), a.floats().end());
    return tensor(v, Shape{static_cast<int64_t>(v.size())});
  }
  if (a.name() == "value_ints") {
    std::vector<int64_t> v(a.ints().begin(), a.ints().end());
    return tensor(v, Shape{static_cast<int64_t>(v.size())});
  }
  SN_THROW(ValueError, kWho, ": ", what, ": Constant with attribute '", a.name().substr(0, 40),
           "' is not supported");
}

bool same(const Tensor& a, const Tensor& b) {
  return a.defined() && b.defined() && a.dtype() == b.dtype() && a.shape() == b.shape() &&
         equal(a, b);
}

// The probe input: deterministic values (not zeros, so a wrong weight shows), dynamic dims
// set to `dyn`.
Tensor probe_input(const Shape& shape, DType dtype) {
  if (dtype != kFloat32) return zeros(shape, {.dtype = dtype});
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 0.1));
  return tensor(v, shape);
}

class Importer {
 public:
  Importer(const ModelProto& m, const ImportOptions& o, std::string base_dir)
      : m_(m), opts_(o), base_(std::move(base_dir)) {}

  ImportedModel run() {
    try {
      return run_checked();
    } catch (const nlohmann::json::exception& e) {
      SN_THROW(ValueError, kWho, ": an attribute has an unexpected type (", e.what(), ")");
    }
  }
  ImportedModel run_checked() {
    read_header();
    read_graph();
    sort_nodes();
    probe();
    rewrite_gelu();
    drop_dead();
    ImportedModel r = out_;
    std::string why;
    if (opts_.chain && try_chain(r, why)) return r;
    if (!why.empty()) r.notes.push_back("not a chain of spec layers: " + why);
    build_graph(r);
    return r;
  }

 private:
  const ModelProto& m_;
  ImportOptions opts_;
  std::string base_;
  ImportedModel out_;
  std::map<std::string, Tensor> consts_;  // initializers, Constant nodes, folded values
  std::set<std::string> initializers_;
  std::vector<INode> nodes_;
  std::map<std::string, Tensor> pa_, pb_;  // the two probes' values
  Shape in_shape_a_, in_shape_b_;
  std::set<std::string> buffers_;  // initializers that are statistics, not weights
  int folded_ = 0;

  // ---- reading ----
  void read_header() {
    SN_CHECK(m_.has_graph(), ValueError, kWho, ": the file holds no graph (not an ONNX model?)");
    int64_t opset = -1;
    for (const auto& op : m_.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
    SN_CHECK(opset >= 7 && opset <= 18, ValueError, kWho, ": the model imports opset ", opset,
             " of the default domain; import reads opsets 7 to 18");
    out_.opset = opset;
    check_name(m_.producer_name(), "the producer");
    check_name(m_.producer_version(), "the producer version");
    out_.producer =
        m_.producer_name() + (m_.producer_version().empty() ? "" : " " + m_.producer_version());
    SN_CHECK(m_.metadata_props_size() <= 1000, ValueError, kWho, ": ", m_.metadata_props_size(),
             " metadata entries");
    for (const auto& kv : m_.metadata_props()) {
      check_name(kv.key(), "a metadata key");
      SN_CHECK(kv.value().size() <= (size_t{16} << 20), ValueError, kWho, ": metadata '", kv.key(),
               "' is over 16 MiB");
      out_.metadata.emplace_back(kv.key(), kv.value());
    }
  }

  void read_graph() {
    const auto& g = m_.graph();
    SN_CHECK(g.node_size() <= kMaxNodes, ValueError, kWho, ": ", g.node_size(), " nodes (at most ",
             kMaxNodes, ")");
    for (const auto& t : g.initializer()) {
      check_name(t.name(), "an initializer");
      SN_CHECK(!t.name().empty(), ValueError, kWho, ": an initializer has no name");
      SN_CHECK(!consts_.count(t.name()), ValueError, kWho, ": initializer '", t.name(),
               "' is defined twice");
      consts_[t.name()] = from_proto(t, "initializer '" + t.name() + "'", base_);
      initializers_.insert(t.name());
    }
    SN_CHECK(g.sparse_initializer_size() == 0, ValueError, kWho,
             ": sparse initializers are not supported");
    std::vector<const ::onnx::ValueInfoProto*> inputs;
    for (const auto& v : g.input()) {
      check_name(v.name(), "a graph input");
      if (!consts_.count(v.name())) inputs.push_back(&v);  // old exporters list weights too
    }
    SN_CHECK(!inputs.empty(), ValueError, kWho, ": the graph has no input");
    if (inputs.size() > 1) {
      std::string names;
      for (auto* v : inputs) names += (names.empty() ? "'" : ", '") + v->name() + "'";
      SN_THROW(ValueError, kWho, ": the graph takes ", inputs.size(), " inputs (", names,
               "); sinapsis models take one");
    }
    const auto& in = *inputs[0];
    out_.input_name = in.name();
    SN_CHECK(in.type().has_tensor_type(), ValueError, kWho, ": input '", in.name(),
             "' is not a tensor");
    const auto& tt = in.type().tensor_type();
    const int32_t et = tt.elem_type();
    SN_CHECK(et == TensorProto::FLOAT || et == TensorProto::INT64, ValueError, kWho, ": input '",
             in.name(), "' has ONNX element type ", et, "; import takes float32 or int64 inputs");
    out_.input_dtype = et == TensorProto::FLOAT ? kFloat32 : kInt64;
    SN_CHECK(tt.has_shape() && tt.shape().dim_size() >= 1 && tt.shape().dim_size() <= kMaxDims,
             ValueError, kWho, ": input '", in.name(),
             "' must declare its shape (a batch dim first); hint: export with an example input");
    int64_t n = 1;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      const bool fixed = d.has_dim_value() && d.dim_value() > 0;
      SN_CHECK(!d.has_dim_value() || d.dim_value() >= 0, ValueError, kWho, ": input '", in.name(),
               "' has dim ", i, " = ", d.dim_value());
      const int64_t a = fixed ? d.dim_value() : 2, b = fixed ? d.dim_value() : 3;
      SN_CHECK(a <= (int64_t{1} << 24) / n, ValueError, kWho, ": input '", in.name(),
               "' declares a shape too large for one example batch (dim ", i, " = ", a, ")");
      n *= a;
      in_shape_a_.push_back(a);
      in_shape_b_.push_back(b);
      if (!fixed && i > 0)
        out_.notes.push_back("input dim " + std::to_string(i) +
                             " is dynamic; the model's spec takes it as 2");
    }
    if (tt.shape().dim(0).has_dim_value() && tt.shape().dim(0).dim_value() > 0)
      out_.notes.push_back("the batch dim is fixed (" +
                           std::to_string(tt.shape().dim(0).dim_value()) +
                           "); shapes computed from it are folded with it; hint: export with a "
                           "dynamic batch (dynamic_axes) for other batch sizes");
    SN_CHECK(g.output_size() >= 1, ValueError, kWho, ": the graph has no output");
    out_.output_name = g.output(0).name();
    check_name(out_.output_name, "the graph output");
    for (int i = 1; i < g.output_size(); ++i)
      out_.notes.push_back("output '" + g.output(i).name() + "' is dropped (the model gives '" +
                           out_.output_name + "')");

    for (int i = 0; i < g.node_size(); ++i) {
      const NodeProto& np = g.node(i);
      INode n;
      n.op = np.op_type();
      check_name(n.op, "node " + std::to_string(i) + "'s op");
      check_name(np.name(), "node " + std::to_string(i));
      n.name = np.name().empty() ? "#" + std::to_string(i) + " " + n.op : np.name();
      const std::string what = "node '" + n.name + "' (" + n.op + ")";
      SN_CHECK(np.domain().empty() || np.domain() == "ai.onnx", ValueError, kWho, ": ", what,
               " is in domain '", np.domain().substr(0, 60),
               "'; import knows the default ONNX domain only");
      SN_CHECK(np.input_size() <= 4096 && np.output_size() <= 64 && np.attribute_size() <= 64,
               ValueError, kWho, ": ", what, " has too many inputs, outputs or attributes");
      for (const auto& s : np.input()) {
        check_name(s, what + "'s input");
        n.in.push_back(s);
      }
      for (const auto& s : np.output()) {
        check_name(s, what + "'s output");
        n.out.push_back(s);
      }
      while (!n.out.empty() && n.out.back().empty()) n.out.pop_back();
      SN_CHECK(!n.out.empty(), ValueError, kWho, ": ", what, " has no output");
      if (n.op == "Constant") {
        SN_CHECK(n.out.size() == 1, ValueError, kWho, ": ", what, " must have one output");
        consts_pending_.emplace_back(i, constant_value(np, what, base_));
      } else {
        for (const auto& a : np.attribute()) {
          check_name(a.name(), what + "'s attribute");
          if (a.type() == AttributeProto::TENSOR && n.op == "ConstantOfShape" &&
              a.name() == "value") {
            Tensor v = from_proto(a.t(), what + " value", base_);
            SN_CHECK(v.numel() == 1, ValueError, kWho, ": ", what, ": value must be one element");
            n.attrs["value"] = v.to(kFloat64).item();
            n.attrs["dtype"] = value_dtype_name(v.dtype());
            continue;
          }
          n.attrs[a.name()] = attr_value(a, what + " attribute '" + a.name() + "'");
        }
      }
      nodes_.push_back(std::move(n));
    }
  }
  std::vector<std::pair<int, Tensor>> consts_pending_;  // Constant nodes by index

  std::string what(const INode& n) const { return "node '" + n.name + "' (" + n.op + ")"; }

  // Kahn's order; missing inputs, values defined twice and cycles are errors.
  void sort_nodes() {
    std::map<std::string, size_t> producer;
    std::set<std::string> outer(initializers_.begin(), initializers_.end());
    outer.insert(out_.input_name);
    for (size_t i = 0; i < nodes_.size(); ++i)
      for (const auto& o : nodes_[i].out) {
        if (o.empty()) continue;
        SN_CHECK(!outer.count(o) && !producer.count(o), ValueError, kWho, ": ", what(nodes_[i]),
                 " defines '", o, "', which ",
                 outer.count(o) ? "is an input or initializer" : "another node defines too");
        producer[o] = i;
      }
    std::vector<size_t> waiting(nodes_.size(), 0);
    std::vector<std::vector<size_t>> readers(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i)
      for (const auto& s : nodes_[i].in) {
        if (s.empty() || outer.count(s)) continue;
        auto it = producer.find(s);
        SN_CHECK(it != producer.end(), ValueError, kWho, ": ", what(nodes_[i]), " reads '", s,
                 "', which no node, initializer or graph input defines");
        ++waiting[i];
        readers[it->second].push_back(i);
      }
    // the file's order wherever it is a valid one: the ready node listed first goes first
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    std::vector<size_t> order;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!waiting[i]) ready.push(i);
    while (!ready.empty()) {
      const size_t i = ready.top();
      ready.pop();
      order.push_back(i);
      for (size_t r : readers[i])
        if (--waiting[r] == 0) ready.push(r);
    }
    if (order.size() != nodes_.size()) {
      for (size_t i = 0; i < nodes_.size(); ++i)
        if (waiting[i])
          SN_THROW(ValueError, kWho, ": the graph has a cycle: ", what(nodes_[i]),
                   " waits on its own output (through ", waiting[i], " input(s))");
    }
    std::map<size_t, Tensor> pending(consts_pending_.begin(), consts_pending_.end());
    std::vector<INode> sorted;
    for (size_t k : order) {
      if (pending.count(k)) {
        consts_[nodes_[k].out[0]] = pending[k];
        continue;
      }
      sorted.push_back(nodes_[k]);
    }
    nodes_ = std::move(sorted);
    SN_CHECK(producer.count(out_.output_name) || out_.output_name == out_.input_name ||
                 consts_.count(out_.output_name),
             ValueError, kWho, ": the graph output '", out_.output_name, "' is not defined");
  }

  std::vector<Tensor> args(const INode& n, const std::map<std::string, Tensor>& probe) const {
    std::vector<Tensor> a;
    for (const auto& s : n.in) {
      if (s.empty()) {
        a.emplace_back();
        continue;
      }
      auto c = consts_.find(s);
      a.push_back(c != consts_.end() ? c->second : probe.at(s));
    }
    return a;
  }
  std::string inputs_text(const INode& n, const std::vector<Tensor>& a) const {
    std::string s;
    for (size_t i = 0; i < n.in.size(); ++i)
      s += (i ? ", '" : "'") + n.in[i] + "' " + shape_text(i < a.size() ? a[i] : Tensor());
    return s.empty() ? "none" : s;
  }
  std::vector<Tensor> run_node(const INode& n, const std::vector<Tensor>& a) const {
    try {
      return nn::detail::run_graph_op(n.op, a, n.attrs, n.out.size());
    } catch (const Error& e) {
      SN_THROW(ValueError, kWho, ": ", what(n), " on inputs ", inputs_text(n, a), ": ", e.what());
    }
  }

  // Runs the graph on two inputs whose dynamic dims differ: nodes of constants are folded, and
  // so are Shape nodes whose result is the same in both (a shape that no dynamic dim reaches).
  void probe() {
    NoGradGuard no_grad;
    pa_[out_.input_name] = probe_input(in_shape_a_, out_.input_dtype);
    pb_[out_.input_name] = probe_input(in_shape_b_, out_.input_dtype);
    std::vector<INode> kept;
    for (INode& n : nodes_) {
      if (!nn::detail::graph_op_known(n.op)) {
        std::string known;
        for (const auto& k : nn::Graph::ops()) known += (known.empty() ? "" : ", ") + k;
        SN_THROW(ValueError, kWho, ": ", what(n),
                 " is an op import does not know; its inputs: ", inputs_text(n, args(n, pa_)),
                 " (known ops: ", known, ")");
      }
      if ((n.op == "Softmax" || n.op == "LogSoftmax") && out_.opset < 13)
        legacy_softmax(n, args(n, pa_));
      bool all_const = true;
      for (const auto& s : n.in) all_const = all_const && (s.empty() || consts_.count(s));
      if (all_const && !n.in.empty()) {
        const auto outs = run_node(n, args(n, pa_));
        for (size_t k = 0; k < n.out.size() && k < outs.size(); ++k)
          if (!n.out[k].empty()) consts_[n.out[k]] = outs[k].contiguous();
        // a weight passed through Identity (PyTorch writes these for shared ones) stays a weight
        if (n.op == "Identity" && initializers_.count(n.in[0])) initializers_.insert(n.out[0]);
        ++folded_;
        continue;
      }
      const auto aa = args(n, pa_), ab = args(n, pb_);
      const auto oa = run_node(n, aa), ob = run_node(n, ab);
      SN_CHECK(oa.size() >= n.out.size(), ValueError, kWho, ": ", what(n), " gives ", oa.size(),
               " outputs, ", n.out.size(), " are named");
      if ((n.op == "Shape" || n.op == "Size") && same(oa[0], ob[0])) {
        consts_[n.out[0]] = oa[0];
        ++folded_;
        continue;
      }
      if (n.op == "Reshape" && n.in.size() > 1 && !consts_.count(n.in[1]))
        fold_reshape(n, aa[0], oa[0], ab[0], ob[0]);
      for (size_t k = 0; k < n.out.size(); ++k) {
        if (n.out[k].empty()) n.out[k] = n.name + ":unused" + std::to_string(k);
        pa_[n.out[k]] = oa[k];
        pb_[n.out[k]] = ob[k];
      }
      kept.push_back(n);
    }
    nodes_ = std::move(kept);
    if (folded_)
      out_.notes.push_back(std::to_string(folded_) + " constant or shape node(s) folded");
  }

  // Opsets before 13 flatten to 2-D around the axis (default 1): the same as opset 13's softmax
  // over the last axis only when the axis is the last.
  void legacy_softmax(INode& n, const std::vector<Tensor>& a) {
    const int64_t axis = n.attrs.value("axis", int64_t{1});
    const int64_t r = a.empty() || !a[0].defined() ? 0 : a[0].dim();
    SN_CHECK(axis == -1 || axis == r - 1, ValueError, kWho, ": ", what(n), " (opset ", out_.opset,
             ") flattens its input ", shape_text(a.empty() ? Tensor() : a[0]), " from axis ", axis,
             " on; import reads that over the last axis only");
    n.attrs["axis"] = -1;
  }

  // A Reshape whose target keeps the batch and is otherwise the same in both probes: its shape
  // becomes the constant [0, d1, d2, ...] (0 copies the batch), so the subgraph computing it
  // is dead.
  void fold_reshape(INode& n, const Tensor& ia, const Tensor& oa, const Tensor& ib,
                    const Tensor& ob) {
    if (n.attrs.value("allowzero", int64_t{0}) != 0 || oa.dim() < 1 || ia.dim() < 1) return;
    if (oa.dim() != ob.dim() || oa.size(0) != ia.size(0) || ob.size(0) != ib.size(0)) return;
    std::vector<int64_t> s{0};
    for (int64_t d = 1; d < oa.dim(); ++d) {
      if (oa.size(d) != ob.size(d) || oa.size(d) == 0) return;
      s.push_back(oa.size(d));
    }
    const std::string name = n.name + ":shape";
    consts_[name] = tensor(s, Shape{static_cast<int64_t>(s.size())});
    n.in[1] = name;
  }

  // ---- rewrites ----
  std::map<std::string, std::vector<size_t>> readers() const {
    std::map<std::string, std::vector<size_t>> r;
    for (size_t i = 0; i < nodes_.size(); ++i)
      for (const auto& s : nodes_[i].in) r[s].push_back(i);
    return r;
  }
  bool scalar_const(const std::string& s, double v, double tol) const {
    auto it = consts_.find(s);
    return it != consts_.end() && it->second.numel() == 1 &&
           std::abs(it->second.to(kFloat64).item() - v) <= tol;
  }
  // x·0.5·(1 + erf(x/√2)) in the orders exporters write it -> one Gelu node.
  void rewrite_gelu() {
    int count = 0;
    for (size_t e = 0; e < nodes_.size(); ++e) {
      if (nodes_[e].op != "Erf") continue;
      auto rd = readers();
      auto producer = [&](const std::string& s) -> INode* {
        for (auto& n : nodes_)
          for (const auto& o : n.out)
            if (o == s) return &n;
        return nullptr;
      };
      auto sole = [&](const std::string& s) -> INode* {
        auto it = rd.find(s);
        if (it == rd.end() || it->second.size() != 1 || s == out_.output_name) return nullptr;
        return &nodes_[it->second[0]];
      };
      auto other = [](const INode& n, const std::string& s) {
        return n.in.size() == 2 ? (n.in[0] == s ? n.in[1] : n.in[0]) : std::string();
      };
      INode& erf = nodes_[e];
      if (erf.op != "Erf") continue;
      INode* d = producer(erf.in[0]);
      if (!d || d->in.size() != 2) continue;
      std::string x;
      if (d->op == "Div" && scalar_const(d->in[1], std::sqrt(2.0), 1e-4)) x = d->in[0];
      if (d->op == "Mul" && scalar_const(d->in[1], 1 / std::sqrt(2.0), 1e-4)) x = d->in[0];
      if (d->op == "Mul" && scalar_const(d->in[0], 1 / std::sqrt(2.0), 1e-4)) x = d->in[1];
      if (x.empty()) continue;
      INode* add = sole(erf.out[0]);
      if (!add || add->op != "Add" || !scalar_const(other(*add, erf.out[0]), 1.0, 1e-6)) continue;
      INode* m1 = sole(add->out[0]);
      if (!m1 || m1->op != "Mul") continue;
      const std::string o1 = other(*m1, add->out[0]);
      INode* fin = nullptr;
      if (o1 == x || scalar_const(o1, 0.5, 1e-6)) {
        INode* m2 = sole(m1->out[0]);
        if (m2 && m2->op == "Mul") {
          const std::string o2 = other(*m2, m1->out[0]);
          if ((o1 == x && scalar_const(o2, 0.5, 1e-6)) || (o1 != x && o2 == x)) fin = m2;
        }
      } else if (INode* h = producer(o1); h && h->op == "Mul" && h->in.size() == 2 &&
                                          ((h->in[0] == x && scalar_const(h->in[1], 0.5, 1e-6)) ||
                                           (h->in[1] == x && scalar_const(h->in[0], 0.5, 1e-6)))) {
        fin = m1;
      }
      if (!fin) continue;
      fin->op = "Gelu";
      fin->in = {x};
      fin->attrs = json::object();
      ++count;
    }
    if (count) out_.notes.push_back(std::to_string(count) + " erf GELU pattern(s) made GELU");
  }

  void drop_dead() {
    std::set<std::string> need{out_.output_name};
    std::vector<INode> kept;
    for (size_t i = nodes_.size(); i-- > 0;) {
      bool used = false;
      for (const auto& o : nodes_[i].out) used = used || need.count(o);
      if (!used) continue;
      for (const auto& s : nodes_[i].in) need.insert(s);
      kept.push_back(nodes_[i]);
    }
    std::reverse(kept.begin(), kept.end());
    nodes_ = std::move(kept);
    for (const auto& n : nodes_)
      if (n.op == "BatchNormalization" && n.in.size() >= 5) {
        buffers_.insert(n.in[3]);
        buffers_.insert(n.in[4]);
      }
  }

  // ---- a chain of spec layers ----
  const Tensor* cval(const std::string& s) const {
    auto it = consts_.find(s);
    return it == consts_.end() ? nullptr : &it->second;
  }

  bool try_chain(ImportedModel& r, std::string& why) {
    std::map<std::string, std::vector<size_t>> rd = readers();
    json layers = json::array();
    std::vector<std::pair<std::string, Tensor>> weights;
    std::string cur = out_.input_name;
    auto fail = [&](const INode& n, const std::string& reason) {
      why = what(n) + " " + reason;
      return false;
    };
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const INode& n = nodes_[i];
      // the one non-constant input must be the chain's current value, read by this node only
      int dynamic = 0;
      for (const auto& s : n.in)
        if (!s.empty() && !consts_.count(s)) ++dynamic;
      if (dynamic != 1 || n.in.empty() || n.in[0] != cur || rd[cur].size() != 1 ||
          n.out.size() != 1)
        return fail(n, "does not continue a chain (branches, or several inputs)");
      const Tensor& x = pa_.count(cur) ? pa_.at(cur) : pa_.at(out_.input_name);
      const std::string idx = std::to_string(layers.size());
      auto cin = [&](size_t k) -> const Tensor* {
        return k < n.in.size() && !n.in[k].empty() ? cval(n.in[k]) : nullptr;
      };
      const json& a = n.attrs;
      auto ints = [&](const char* k, std::vector<int64_t> d) {
        return a.contains(k) ? a[k].get<std::vector<int64_t>>() : d;
      };
      json l;
      if (n.op == "Identity" || n.op == "Dropout") {
        cur = n.out[0];
        continue;
      } else if (n.op == "Gemm") {
        const Tensor* B = cin(1);
        const Tensor* C = cin(2);
        if (!B || B->dim() != 2 || a.value("transA", 0) || a.value("alpha", 1.0) != 1.0 ||
            a.value("beta", 1.0) != 1.0 || x.dim() != 2)
          return fail(n, "is not a plain linear layer");
        const Tensor w = a.value("transB", 0) ? *B : B->t().contiguous();
        if (C && C->numel() != w.size(0)) return fail(n, "has a bias that is not per output");
        l = {{"type", "Linear"}, {"out", w.size(0)}, {"bias", C != nullptr}};
        weights.emplace_back(idx + ".weight", w);
        if (C) weights.emplace_back(idx + ".bias", C->reshape({w.size(0)}));
      } else if (n.op == "MatMul") {
        const Tensor* B = cin(1);
        if (!B || B->dim() != 2 || x.dim() < 2) return fail(n, "is not a linear layer");
        const Tensor w = B->t().contiguous();
        l = {{"type", "Linear"}, {"out", w.size(0)}, {"bias", false}};
        weights.emplace_back(idx + ".weight", w);
        // a following Add of a per-output constant is the bias
        if (i + 1 < nodes_.size() && rd[n.out[0]].size() == 1 && nodes_[i + 1].op == "Add" &&
            nodes_[i + 1].in.size() == 2 && nodes_[i + 1].in[0] == n.out[0]) {
          const Tensor* b = cval(nodes_[i + 1].in[1]);
          if (b && b->numel() == w.size(0) && b->size(-1) == w.size(0)) {
            l["bias"] = true;
            weights.emplace_back(idx + ".bias", b->reshape({w.size(0)}));
            ++i;
          }
        }
        cur = nodes_[i].out[0];
        layers.push_back(l);
        continue;
      } else if (n.op == "Conv") {
        const Tensor* W = cin(1);
        const Tensor* B = cin(2);
        if (!W || (W->dim() != 4 && W->dim() != 3) || a.value("auto_pad", "NOTSET") != "NOTSET")
          return fail(n, "is not a 1-D or 2-D convolution with explicit pads");
        const size_t k = static_cast<size_t>(W->dim() - 2);
        const auto pads = ints("pads", std::vector<int64_t>(2 * k, 0));
        for (size_t d = 0; d < k; ++d)
          if (pads[d] != pads[d + k]) return fail(n, "has asymmetric pads");
        std::vector<int64_t> kernel(W->shape().begin() + 2, W->shape().end());
        l = {{"type", k == 2 ? "Conv2d" : "Conv1d"},
             {"out", W->size(0)},
             {"kernel", kernel},
             {"stride", ints("strides", std::vector<int64_t>(k, 1))},
             {"padding", std::vector<int64_t>(pads.begin(), pads.begin() + k)},
             {"dilation", ints("dilations", std::vector<int64_t>(k, 1))},
             {"groups", a.value("group", int64_t{1})},
             {"bias", B != nullptr}};
        weights.emplace_back(idx + ".weight", *W);
        if (B) weights.emplace_back(idx + ".bias", *B);
      } else if (n.op == "MaxPool" || n.op == "AveragePool") {
        if (x.dim() != 4 && !(x.dim() == 3 && n.op == "MaxPool"))
          return fail(n, "is not a 2-D pooling");
        const size_t k = static_cast<size_t>(x.dim() - 2);
        const auto pads = ints("pads", std::vector<int64_t>(2 * k, 0));
        const auto dil = ints("dilations", std::vector<int64_t>(k, 1));
        bool ok = a.value("auto_pad", "NOTSET") == "NOTSET" && a.value("ceil_mode", 0) == 0 &&
                  a.value("storage_order", 0) == 0;
        for (size_t d = 0; d < k; ++d) ok = ok && pads[d] == pads[d + k] && dil[d] == 1;
        bool any_pad = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; });
        if (n.op == "AveragePool" && any_pad && a.value("count_include_pad", 0) == 0) ok = false;
        if (!ok) return fail(n, "uses options the spec's pooling layers do not have");
        l = {{"type", n.op == "MaxPool" ? (k == 2 ? "MaxPool2d" : "MaxPool1d") : "AvgPool2d"},
             {"kernel", ints("kernel_shape", {})},
             {"stride", ints("strides", std::vector<int64_t>(k, 1))},
             {"padding", std::vector<int64_t>(pads.begin(), pads.begin() + k)}};
      } else if (n.op == "GlobalAveragePool") {
        if (x.dim() != 4) return fail(n, "is not on [N, C, H, W]");
        l = {{"type", "AdaptiveAvgPool2d"}, {"output", 1}};
      } else if (n.op == "BatchNormalization") {
        const Tensor *s = cin(1), *b = cin(2), *mu = cin(3), *var = cin(4);
        if (!s || !b || !mu || !var || (x.dim() != 4 && x.dim() != 2 && x.dim() != 3))
          return fail(n, "is not an eval-mode batch norm on [N, C, ...]");
        l = {{"type", x.dim() == 4 ? "BatchNorm2d" : "BatchNorm1d"},
             {"eps", a.value("epsilon", 1e-5)}};
        weights.emplace_back(idx + ".weight", *s);
        weights.emplace_back(idx + ".bias", *b);
        weights.emplace_back(idx + ".running_mean", *mu);
        weights.emplace_back(idx + ".running_var", *var);
      } else if (n.op == "LayerNormalization") {
        const Tensor *s = cin(1), *b = cin(2);
        const int64_t axis = a.value("axis", int64_t{-1});
        if (!s || (axis != -1 && axis != x.dim() - 1) || s->numel() != x.size(-1))
          return fail(n, "does not normalise over the last dim alone");
        l = {{"type", "LayerNorm"},
             {"features", x.size(-1)},
             {"eps", a.value("epsilon", 1e-5)},
             {"bias", b != nullptr}};
        weights.emplace_back(idx + ".weight", s->reshape({x.size(-1)}));
        if (b) weights.emplace_back(idx + ".bias", b->reshape({x.size(-1)}));
      } else if (n.op == "Relu") {
        l = {{"type", "ReLU"}};
      } else if (n.op == "Sigmoid" || n.op == "Tanh") {
        l = {{"type", n.op}};
      } else if (n.op == "Gelu") {
        l = {{"type", "GELU"}, {"approximate", a.value("approximate", "none")}};
      } else if (n.op == "LeakyRelu") {
        l = {{"type", "LeakyReLU"}, {"negative_slope", a.value("alpha", 0.01)}};
      } else if (n.op == "Elu") {
        l = {{"type", "ELU"}, {"alpha", a.value("alpha", 1.0)}};
      } else if (n.op == "Softplus") {
        l = {{"type", "Softplus"}};
      } else if (n.op == "Softmax" || n.op == "LogSoftmax") {
        const int64_t axis = a.value("axis", int64_t{-1});
        l = {{"type", n.op}, {"dim", axis}};
      } else if (n.op == "Flatten") {
        const int64_t axis = a.value("axis", int64_t{1});
        if (axis != 1 && axis != 1 - x.dim()) return fail(n, "does not keep the batch dim alone");
        l = {{"type", "Flatten"}};
      } else if (n.op == "Reshape") {
        const Tensor* s = cin(1);
        const Tensor& y = pa_.at(n.out[0]);
        if (!s || y.dim() != 2 || x.dim() < 2 || y.size(0) != x.size(0))
          return fail(n, "is not a flatten of everything but the batch");
        const auto sv = s->to_vector_as<int64_t>();
        const int64_t rest = x.numel() / std::max<int64_t>(x.size(0), 1);
        if (!((sv[0] == 0 || sv[0] == x.size(0)) && (sv[1] == -1 || sv[1] == rest)))
          return fail(n, "is not a flatten of everything but the batch");
        l = {{"type", "Flatten"}};
      } else {
        return fail(n, "has no spec layer");
      }
      layers.push_back(l);
      cur = n.out[0];
    }
    if (cur != out_.output_name) {
      why = "the output is not the end of the chain";
      return false;
    }
    if (layers.empty()) {
      why = "the graph has no layers";
      return false;
    }
    try {
      const json spec = spec_head(layers);
      finish(r, spec.dump(2), weights);
      if (!matches_probe(r)) {
        why = "the chain of spec layers does not reproduce the graph's output";
        return false;
      }
    } catch (const Error& e) {
      why = std::string("the chain of spec layers does not build: ") + e.what();
      return false;
    }
    r.graph = false;
    return true;
  }

  json spec_head(const json& layers) const {
    json spec;
    spec["name"] = "onnx:" + (m_.graph().name().empty() ? std::string("model") : m_.graph().name());
    check_name(m_.graph().name(), "the graph");
    spec["input"] = std::vector<int64_t>(in_shape_a_.begin() + 1, in_shape_a_.end());
    if (out_.input_dtype == kInt64) spec["input_dtype"] = "int64";
    spec["layers"] = layers;
    return spec;
  }

  void finish(ImportedModel& r, const std::string& spec,
              const std::vector<std::pair<std::string, Tensor>>& weights) const {
    r.built = nn::build_model(spec, Shape(), "(imported)");
    nn::StateDict sd = r.built.module->state_dict();
    for (const auto& [k, t] : weights) {
      SN_CHECK(sd.contains(k), ValueError, kWho, ": the model has no tensor '", k, "'");
      const Tensor& have = sd.at(k);
      SN_CHECK(have.numel() == t.numel(), ShapeError, kWho, ": '", k, "' is ", have.shape(),
               " in the model but ", t.shape(), " in the file");
      sd.insert(k, t.to(have.dtype()).reshape(have.shape()).contiguous());
    }
    r.built.module->load_state_dict(sd);
    r.built.module->eval();
  }

  // The built model's output on the first probe equals the graph's (within float error).
  bool matches_probe(ImportedModel& r) const {
    NoGradGuard ng;
    const Tensor want = pa_.count(out_.output_name) ? pa_.at(out_.output_name) : Tensor();
    if (!want.defined()) return true;
    const Tensor got = (*r.built.module)(pa_.at(out_.input_name));
    return got.shape() == want.shape() && allclose(got.to(kFloat64), want.to(kFloat64), 1e-4, 1e-5);
  }

  // ---- a general graph ----
  void build_graph(ImportedModel& r) {
    json g;
    g["type"] = "Graph";
    g["inputs"] = {out_.input_name};
    g["outputs"] = {out_.output_name};
    json tensors = json::array(), constants = json::array(), nodes = json::array();
    std::vector<std::pair<std::string, Tensor>> weights;
    std::set<std::string> used;
    for (const auto& n : nodes_)
      for (const auto& s : n.in)
        if (!s.empty() && consts_.count(s)) used.insert(s);
    if (consts_.count(out_.output_name)) used.insert(out_.output_name);
    std::set<std::string> keys;
    for (const auto& name : used) {
      const Tensor& t = consts_.at(name);
      const bool init = initializers_.count(name) != 0;
      const bool big = t.numel() > kInlineElements;
      if (init || big) {
        std::string key = name;
        for (char& c : key)
          if (c == '.') c = '_';
        SN_CHECK(keys.insert(key).second, ValueError, kWho, ": two tensors map to the key '", key,
                 "'");
        const bool trainable = init && t.dtype() == kFloat32 && !buffers_.count(name);
        tensors.push_back({{"name", name},
                           {"shape", t.shape().vec()},
                           {"dtype", value_dtype_name(t.dtype())},
                           {"trainable", trainable}});
        weights.emplace_back("0." + key, t);
      } else {
        json values = json::array();
        for (double v : t.to(kFloat64).to_vector()) values.push_back(v);
        if (t.dtype() == kInt64) values = t.to_vector_as<int64_t>();
        constants.push_back({{"name", name},
                             {"shape", t.shape().vec()},
                             {"dtype", value_dtype_name(t.dtype())},
                             {"values", values}});
      }
    }
    for (const auto& n : nodes_)
      nodes.push_back({{"op", n.op},
                       {"name", n.name},
                       {"inputs", n.in},
                       {"outputs", n.out},
                       {"attrs", n.attrs}});
    g["tensors"] = tensors;
    g["constants"] = constants;
    g["nodes"] = nodes;
    finish(r, spec_head(json::array({g})).dump(1), weights);
    r.graph = true;
    SN_CHECK(matches_probe(r), ValueError, kWho,
             ": the imported graph does not reproduce its own probe run (a bug; please report)");
  }
};

}  // namespace

ImportedModel import_model_bytes(const std::string& bytes, const ImportOptions& options,
                                 const std::string& base_dir) {
  SN_CHECK(static_cast<int64_t>(bytes.size()) < kMaxFileBytes, ValueError, kWho, ": ", bytes.size(),
           " bytes; an ONNX file is at most 2 GiB");
  ModelProto m;
  SN_CHECK(!bytes.empty() && m.ParseFromString(bytes), ValueError, kWho,
           ": the bytes are not an ONNX model (protobuf parse failed after reading ", bytes.size(),
           " bytes: truncated or corrupt?)");
  Importer im(m, options, base_dir);
  return im.run();
}

ImportedModel import_model(const std::string& path, const ImportOptions& options) {
  std::error_code ec;
  SN_CHECK(fs::is_regular_file(path, ec), IOError, kWho, ": '", path, "' is not a readable file");
  const auto size = fs::file_size(path, ec);
  SN_CHECK(!ec && static_cast<int64_t>(size) < kMaxFileBytes, IOError, kWho, ": '", path,
           "' is over 2 GiB (ONNX keeps larger weights as external data)");
  std::ifstream f(path, std::ios::binary);
  std::string bytes(size, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  SN_CHECK(f.good() || size == 0, IOError, kWho, ": reading '", path, "' failed");
  try {
    return import_model_bytes(bytes, options,
                              fs::path(path).parent_path().string().empty()
                                  ? "."
                                  : fs::path(path).parent_path().string());
  } catch (const IOError& e) {
    throw IOError(std::string(e.what()) + " (in '" + path + "')");
  } catch (const ShapeError& e) {
    throw ShapeError(std::string(e.what()) + " (in '" + path + "')");
  } catch (const ValueError& e) {
    throw ValueError(std::string(e.what()) + " (in '" + path + "')");
  }
}

}  // namespace sn::onnx
