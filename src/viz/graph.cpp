// Computation graph capture and DOT output (see sinapsis/viz/graph.h): the GraphRecorder scope,
// the walk over grad_fn/next_edges, and running Graphviz. Layout is left to Graphviz.
#include "sinapsis/viz/graph.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <sstream>

#include "sinapsis/autograd/node.h"
#include "sinapsis/viz/image.h"
#include "viz/internal.h"

extern char** environ;

namespace sn::viz {

// ============================================================== GraphRecorder
struct GraphRecorder::Impl {
  mutable std::mutex mu;  // backward passes may report from another thread
  bool recording = true;
  int listener = -1;
  int64_t ops = 0;
  std::vector<std::shared_ptr<Node>> nodes;  // keeps recorded nodes (and their addresses) alive
  std::unordered_map<const Node*, std::vector<Tensor>> outputs, constants, grad_out, grad_in;

  void on_record(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outs) {
    std::lock_guard<std::mutex> lock(mu);
    ++ops;
    nodes.push_back(node);
    auto& o = outputs[node.get()];
    o.resize(std::max(o.size(), outs.size()));
    for (size_t k = 0; k < outs.size(); ++k) o[k] = *outs[k];
    auto& c = constants[node.get()];
    c.resize(inputs.size());
    for (size_t j = 0; j < inputs.size(); ++j) {
      const Tensor& in = *inputs[j];
      if (!in.defined()) continue;
      if (j >= node->next_edges.size() || !node->next_edges[j].valid()) {
        c[j] = in;
      } else if (const auto& fn = in.grad_fn()) {
        // an input made before recording started: its value is known now, keep it
        auto& po = outputs[fn.get()];
        if (po.size() <= in.output_nr()) po.resize(in.output_nr() + 1);
        if (!po[in.output_nr()].defined()) po[in.output_nr()] = in;
        nodes.push_back(fn);
      }
    }
  }

  void on_backward(const autograd::BackwardStep& step) {
    std::lock_guard<std::mutex> lock(mu);
    if (!recording || !outputs.count(step.node)) return;
    auto clone_all = [](const std::vector<Tensor>* v) {
      std::vector<Tensor> out;
      if (v)
        for (const Tensor& t : *v) out.push_back(t.defined() ? t.detach().clone() : Tensor());
      return out;
    };
    grad_out[step.node] = clone_all(step.grad_outputs);
    grad_in[step.node] = clone_all(step.grad_inputs);
  }
};

namespace {
thread_local std::vector<GraphRecorder::Impl*> t_active;

void record_hook(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outputs, void*) {
  for (GraphRecorder::Impl* r : t_active) r->on_record(node, inputs, outputs);
}

Tensor pick(const std::unordered_map<const Node*, std::vector<Tensor>>& m, const Node* node,
            size_t i) {
  auto it = m.find(node);
  if (it == m.end() || i >= it->second.size()) return Tensor();
  return it->second[i];
}
}  // namespace

GraphRecorder::GraphRecorder() : impl_(std::make_unique<Impl>()) {
  t_active.push_back(impl_.get());
  if (t_active.size() == 1) autograd::set_record_observer(&record_hook, nullptr);
  Impl* impl = impl_.get();
  impl_->listener = detail::add_backward_listener(
      [impl](const autograd::BackwardStep& s) { impl->on_backward(s); });
}

GraphRecorder::~GraphRecorder() { stop(); }

void GraphRecorder::stop() {
  if (!impl_->recording) return;
  detail::remove_backward_listener(impl_->listener);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->recording = false;
  }
  std::erase(t_active, impl_.get());
  if (t_active.empty()) autograd::set_record_observer(nullptr, nullptr);
}

bool GraphRecorder::recording() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->recording;
}
int64_t GraphRecorder::num_ops() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ops;
}
Tensor GraphRecorder::output(const Node* node, uint32_t nr) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return pick(impl_->outputs, node, nr);
}
Tensor GraphRecorder::constant_input(const Node* node, size_t j) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return pick(impl_->constants, node, j);
}
Tensor GraphRecorder::grad_output(const Node* node, uint32_t nr) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return pick(impl_->grad_out, node, nr);
}
Tensor GraphRecorder::grad_input(const Node* node, size_t j) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return pick(impl_->grad_in, node, j);
}

// ============================================================== capture
const GraphValue* ComputationGraph::find(const std::string& label) const {
  for (const GraphValue& v : values)
    if (v.label == label) return &v;
  return nullptr;
}

namespace {

struct ByLatest {  // later ops first: every consumer is visited before its producers
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

class Capture {
 public:
  Capture(const DotOptions& o) : opts_(o), lookup_(o.recorder, o.tensors) {}

  ComputationGraph run(const std::vector<Tensor>& roots) {
    for (size_t i = 0; i < roots.size(); ++i) {
      const Tensor& r = roots[i];
      SN_CHECK(r.defined(), ValueError, "viz::capture_graph: root ", i, " is undefined");
      int id;
      if (r.grad_fn()) {
        id = op_output(r.grad_fn().get(), r.output_nr());
        GraphValue& v = g_.values[static_cast<size_t>(id)];
        if (!v.value.defined()) fill(id, r);  // the root itself is at hand
        if (!v.grad.defined() && opts_.recorder)
          v.grad = opts_.recorder->grad_output(r.grad_fn().get(), r.output_nr());
      } else if (r.requires_grad()) {
        id = leaf(r);
      } else {
        id = constant(r);
      }
      g_.values[static_cast<size_t>(id)].is_root = true;
    }
    while (!queue_.empty()) {
      const Node* n = queue_.top();
      queue_.pop();
      visit(n);
    }
    name_values();
    return std::move(g_);
  }

 private:
  int new_value(ValueKind kind, const Shape& shape) {
    GraphValue v;
    v.id = static_cast<int>(g_.values.size());
    v.kind = kind;
    v.shape = shape;
    g_.values.push_back(std::move(v));
    return g_.values.back().id;
  }

  void fill(int id, const Tensor& t) {
    if (!t.defined()) return;
    GraphValue& v = g_.values[static_cast<size_t>(id)];
    v.name = t.name();
    v.value = t.detach();
    if (Tensor gr = t.grad(); gr.defined()) v.grad = gr.detach();
  }

  int leaf(const Tensor& t) {
    auto [it, fresh] = leaves_.try_emplace(t.impl(), 0);
    if (!fresh) return it->second;
    it->second = new_value(ValueKind::Leaf, t.shape());
    fill(it->second, t);
    return it->second;
  }

  int constant(const Tensor& t) {
    if (t.defined())
      if (auto it = leaves_.find(t.impl()); it != leaves_.end()) return it->second;
    const int id = new_value(ValueKind::Constant, t.defined() ? t.shape() : Shape{});
    if (t.defined()) {
      leaves_[t.impl()] = id;
      fill(id, t);
    } else {
      g_.values[static_cast<size_t>(id)].shape_known = false;
    }
    return id;
  }

  int op_output(const Node* n, uint32_t nr) {
    if (const auto* acc = dynamic_cast<const AccumulateGrad*>(n)) {
      const int id = leaf(acc->variable());
      order_.try_emplace(id, n->sequence_nr, 0);
      return id;
    }
    auto key = std::make_pair(n, nr);
    if (auto it = outputs_.find(key); it != outputs_.end()) return it->second;
    const Shape shape = nr < n->outputs.size() ? n->outputs[nr].shape : Shape{};
    const int id = new_value(ValueKind::Intermediate, shape);
    outputs_[key] = id;
    fill(id, lookup_.find(n, nr));
    GraphValue& v = g_.values[static_cast<size_t>(id)];
    if (!v.grad.defined() && opts_.recorder) {
      Tensor gr = opts_.recorder->grad_output(n, nr);
      if (gr.defined()) v.grad = gr;
    }
    order_[id] = {n->sequence_nr, nr};
    if (queued_.insert(n).second) queue_.push(n);
    return id;
  }

  void visit(const Node* n) {
    GraphOp op;
    op.id = static_cast<int>(g_.ops.size());
    op.name = n->name();
    for (uint32_t k = 0; k < n->outputs.size(); ++k)
      if (auto it = outputs_.find({n, k}); it != outputs_.end()) op.outputs.push_back(it->second);
    for (size_t j = 0; j < n->next_edges.size(); ++j) {
      const Edge& e = n->next_edges[j];
      op.inputs.push_back(
          e.valid() ? op_output(e.fn.get(), e.input_nr)
                    : constant(opts_.recorder ? opts_.recorder->constant_input(n, j) : Tensor()));
      op.input_grads.push_back(opts_.recorder ? opts_.recorder->grad_input(n, j) : Tensor());
    }
    g_.ops.push_back(std::move(op));
  }

  // Named values keep their names; the others are numbered in the order they were computed
  // ("t1" is the first intermediate, "leaf1" the first leaf used), as BackpropTrace does.
  void name_values() {
    std::vector<int> unnamed, leaves;
    int consts = 0;
    for (GraphValue& v : g_.values) {
      if (!v.name.empty()) {
        v.label = v.name;
      } else if (v.kind == ValueKind::Constant) {
        v.label = detail::join("const", std::to_string(++consts));
      } else {
        (v.kind == ValueKind::Leaf ? leaves : unnamed).push_back(v.id);
      }
    }
    auto by_order = [&](int a, int b) { return order_[a] < order_[b]; };
    std::sort(unnamed.begin(), unnamed.end(), by_order);
    std::sort(leaves.begin(), leaves.end(), by_order);
    int k = 0;
    for (int id : unnamed)
      g_.values[static_cast<size_t>(id)].label = detail::join("t", std::to_string(++k));
    k = 0;
    for (int id : leaves)
      g_.values[static_cast<size_t>(id)].label = detail::join("leaf", std::to_string(++k));
  }

  const DotOptions& opts_;
  detail::TensorLookup lookup_;
  ComputationGraph g_;
  std::map<std::pair<const Node*, uint32_t>, int> outputs_;
  std::unordered_map<const TensorImpl*, int> leaves_;
  std::map<int, std::pair<uint64_t, uint32_t>> order_;
  std::set<const Node*> queued_;
  std::priority_queue<const Node*, std::vector<const Node*>, ByLatest> queue_;
};

std::string value_label(const GraphValue& v, const DotOptions& o) {
  std::string s = v.label;  // generated labels ("t3") tie the drawing to BackpropTrace's text
  s += '\n';
  s += v.shape_known ? detail::shape_text(v.shape) : "no grad";
  if (o.show_values && v.value.defined())
    s += "\nvalue " + detail::format_tensor(v.value, o.precision, o.max_elements);
  if (o.show_gradients && v.grad.defined())
    s += "\ngrad " + detail::format_tensor(v.grad, o.precision, o.max_elements);
  return s;
}

const char* value_fill(const GraphValue& v) {
  if (v.is_root) return "#ffe0b2";
  switch (v.kind) {
    case ValueKind::Leaf:
      return "#cfe8ff";
    case ValueKind::Constant:
      return "#eeeeee";
    case ValueKind::Intermediate:
      return "#ffffff";
  }
  return "#ffffff";
}

}  // namespace

ComputationGraph capture_graph(const std::vector<Tensor>& roots, const DotOptions& options) {
  return Capture(options).run(roots);
}

std::string to_dot(const ComputationGraph& g, const DotOptions& o) {
  using detail::dot_escape;
  std::ostringstream os;
  os << "digraph computation_graph {\n";
  os << "  graph [rankdir=" << (o.left_to_right ? "LR" : "TB")
     << ", fontname=\"Helvetica\", nodesep=0.3, ranksep=0.4";
  if (!o.title.empty()) os << ", label=\"" << dot_escape(o.title) << "\", labelloc=t";
  os << "];\n";
  os << "  node [fontname=\"Helvetica\", fontsize=10];\n";
  os << "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n";
  for (const GraphValue& v : g.values)
    os << "  v" << v.id << " [shape=box, style=\"rounded,filled\", fillcolor=\"" << value_fill(v)
       << "\", label=\"" << dot_escape(value_label(v, o)) << "\"];\n";
  for (const GraphOp& op : g.ops)
    os << "  op" << op.id << " [shape=ellipse, style=filled, fillcolor=\"#f2f2f2\", label=\""
       << dot_escape(op.name) << "\"];\n";
  for (const GraphOp& op : g.ops) {
    for (size_t j = 0; j < op.inputs.size(); ++j) {
      os << "  v" << op.inputs[j] << " -> op" << op.id;
      if (op.inputs.size() > 1) os << " [taillabel=\"" << j << "\", labelfontcolor=\"#999999\"]";
      os << ";\n";
    }
    for (int out : op.outputs) os << "  op" << op.id << " -> v" << out << ";\n";
  }
  if (o.show_backward) {
    for (const GraphOp& op : g.ops)
      for (size_t j = 0; j < op.inputs.size(); ++j) {
        const GraphValue& in = g.values[static_cast<size_t>(op.inputs[j])];
        if (in.kind == ValueKind::Constant) continue;  // no gradient flows there
        os << "  op" << op.id << " -> v" << op.inputs[j]
           << " [style=dashed, color=\"#c0392b\", fontcolor=\"#c0392b\", constraint=false";
        if (j < op.input_grads.size() && op.input_grads[j].defined())
          os << ", label=\""
             << dot_escape(detail::format_tensor(op.input_grads[j], o.precision, o.max_elements))
             << "\"";
        os << "];\n";
      }
  }
  os << "}\n";
  return os.str();
}

std::string to_dot(const Tensor& root, const DotOptions& options) {
  return to_dot(capture_graph({root}, options), options);
}

namespace {
// Runs argv without a shell (no quoting problems with paths); returns the exit status or -1.
int run_program(std::vector<std::string> args, bool quiet) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

bool graphviz_available() {
  static const bool ok = run_program({"dot", "-V"}, true) == 0;
  return ok;
}

bool render_svg(const std::string& dot, const std::string& svg_path) {
  SN_CHECK(!svg_path.empty(), IOError, "viz::render_svg: empty output path");
  std::string dot_path = svg_path;
  const size_t slash = dot_path.find_last_of('/');
  const size_t dotpos = dot_path.find_last_of('.');
  if (dotpos != std::string::npos && (slash == std::string::npos || dotpos > slash))
    dot_path.erase(dotpos);
  dot_path += ".dot";
  SN_CHECK(dot_path != svg_path, IOError, "viz::render_svg: the SVG path '", svg_path,
           "' would overwrite the DOT file; hint: name it *.svg");
  write_file(dot_path, dot);
  if (!graphviz_available()) return false;
  return run_program({"dot", "-Tsvg", dot_path, "-o", svg_path}, false) == 0;
}

}  // namespace sn::viz
