// The backprop trace (see sinapsis/viz/trace.h): listens to the engine's backward steps, keeps
// what each node received and sent, matches every sent gradient to the node that later sums
// it, and prints the result. Local derivatives are upstream-divided products, exact whenever
// the upstream gradient is one non-zero number (the scalar graphs of the lectures).
#include "sinapsis/viz/trace.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "sinapsis/ops/ops.h"
#include "viz/internal.h"

namespace sn::viz {

struct BackpropTrace::Impl {
  TraceOptions opts;
  detail::TensorLookup lookup;
  mutable std::mutex mu;
  int listener = -1;
  bool truncated = false;
  std::vector<TraceStep> steps;
  std::string root;  // label of the current pass's root ("E")
  // nodes seen, kept alive so their addresses cannot be reused while the trace lives
  std::vector<std::shared_ptr<const Node>> keep;
  std::map<std::pair<const Node*, uint32_t>, std::string> labels;
  std::map<std::pair<const Node*, uint32_t>, std::vector<TraceTerm>> pending;  // sent, not summed
  int unnamed = 0, unnamed_leaves = 0;

  explicit Impl(TraceOptions o) : opts(std::move(o)), lookup(opts.recorder, opts.tensors) {}

  std::string label(const Node* n, uint32_t nr) {
    auto key = std::make_pair(n, nr);
    if (auto it = labels.find(key); it != labels.end()) return it->second;
    keep.push_back(n->shared_from_this());
    Tensor t = lookup.find(n, nr);
    std::string name = t.defined() ? t.name() : "";
    if (name.empty()) {
      const bool leaf = dynamic_cast<const AccumulateGrad*>(n) != nullptr;
      name = leaf ? "leaf" + std::to_string(++unnamed_leaves) : "t" + std::to_string(++unnamed);
    }
    labels[key] = name;
    return name;
  }

  // Labels every value behind a root in the order it was computed, so unnamed ones get the
  // same "t<n>" / "leaf<n>" as in viz::capture_graph's drawing.
  void label_graph(const Node* root) {
    std::vector<std::pair<const Node*, uint32_t>> values;
    std::set<const Node*> seen{root};
    std::vector<const Node*> stack{root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.valid()) continue;
        values.emplace_back(e.fn.get(), e.input_nr);
        if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
      }
    }
    std::sort(values.begin(), values.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.first->sequence_nr, a.second) <
             std::make_pair(b.first->sequence_nr, b.second);
    });
    for (const auto& [n, nr] : values) label(n, nr);
  }

  static Tensor copy(const Tensor& t) { return t.defined() ? t.detach().clone() : Tensor(); }

  void on_step(const autograd::BackwardStep& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (static_cast<int64_t>(steps.size()) >= opts.max_steps) {
      truncated = true;
      return;
    }
    const Node* n = s.node;
    TraceStep st;
    st.index = static_cast<int>(steps.size()) + 1;
    st.op = n->name();
    st.is_leaf = dynamic_cast<const AccumulateGrad*>(n) != nullptr;
    const size_t nout = n->outputs.size();
    bool seed = true;
    for (uint32_t k = 0; k < nout; ++k)
      if (pending.count({n, k})) seed = false;
    if (seed) {
      // a root of this pass: name it now so that every "dE/d..." uses its name
      Tensor t = lookup.find(n, 0);
      std::string name = t.defined() ? t.name() : "";
      if (name.empty()) name = opts.root_name;
      if (!labels.count({n, 0})) {
        keep.push_back(n->shared_from_this());
        labels[{n, 0}] = name;
      }
      root = labels[{n, 0}];
      label_graph(n);
    }
    for (uint32_t k = 0; k < nout; ++k) {
      st.outputs.push_back(label(n, k));
      std::vector<TraceTerm> terms;
      if (auto it = pending.find({n, k}); it != pending.end()) {
        terms = std::move(it->second);
        pending.erase(it);
      }
      Tensor up =
          s.grad_outputs && k < s.grad_outputs->size() ? copy((*s.grad_outputs)[k]) : Tensor();
      if (!up.defined() && !terms.empty()) {  // an op that moved its incoming gradient away
        up = terms[0].product;
        for (size_t i = 1; i < terms.size(); ++i) up = add(up, terms[i].product);
      }
      if (terms.empty() && seed && up.defined()) {
        TraceTerm seed_term;
        seed_term.via = "seed";
        seed_term.product = up;
        terms.push_back(seed_term);
      }
      st.upstream.push_back(up);
      st.terms.push_back(std::move(terms));
    }
    // the local derivative ∂out/∂in = (dE/din) / (dE/dout) when dE/dout is one non-zero number
    const Tensor& up0 = st.upstream.empty() ? Tensor() : st.upstream[0];
    const bool scalar_up = nout == 1 && up0.defined() && up0.numel() == 1 && up0.item() != 0.0;
    for (size_t j = 0; j < n->next_edges.size(); ++j) {
      const Edge& e = n->next_edges[j];
      TraceInput in;
      in.needs_grad = e.valid();
      if (e.valid()) {
        in.label = label(e.fn.get(), e.input_nr);
        if (s.grad_inputs && j < s.grad_inputs->size()) in.grad = copy((*s.grad_inputs)[j]);
        if (in.grad.defined() && scalar_up) in.local = div(in.grad, up0.item());
        if (in.grad.defined()) {
          TraceTerm term;
          term.from_step = st.index;
          term.via = st.outputs.empty() ? st.op : st.outputs[0];
          term.upstream = nout == 1 ? up0 : Tensor();
          term.local = in.local;
          term.product = in.grad;
          pending[{e.fn.get(), e.input_nr}].push_back(std::move(term));
        }
      } else {
        in.label = "(no grad)";
      }
      st.inputs.push_back(std::move(in));
    }
    steps.push_back(std::move(st));
  }

  std::string num(const Tensor& t) const {
    return detail::format_tensor(t, opts.precision, opts.max_elements);
  }
  std::string d(const std::string& x) const { return "d" + root + "/d" + x; }

  // "dE/dy1·1 + dE/dy2·1 = 1·1 + 1·1 = 2" (or the products alone when a local is unknown)
  std::string sum_text(const std::vector<TraceTerm>& terms, const Tensor& total) const {
    if (terms.size() == 1 && terms[0].from_step == 0) return num(total) + "  (seed)";
    std::string symbolic, numeric;
    bool all_local = !terms.empty();
    for (const TraceTerm& t : terms)
      all_local = all_local && t.local.defined() && t.upstream.defined();
    for (size_t i = 0; i < terms.size(); ++i) {
      const TraceTerm& t = terms[i];
      if (i) {
        symbolic += " + ";
        numeric += " + ";
      }
      if (all_local) {
        symbolic += d(t.via) + "·" + num(t.local);
        numeric += num(t.upstream) + "·" + num(t.local);
      } else {
        symbolic += "(via " + t.via + ")";
        numeric += num(t.product);
      }
    }
    std::string out = symbolic;
    if (all_local || terms.size() > 1) out += " = " + numeric;
    return out + " = " + num(total);
  }
};

BackpropTrace::BackpropTrace(TraceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  SN_CHECK(impl_->opts.precision >= 1 && impl_->opts.max_elements >= 1, ValueError,
           "viz::BackpropTrace: precision and max_elements must be at least 1");
  Impl* impl = impl_.get();
  impl_->listener =
      detail::add_backward_listener([impl](const autograd::BackwardStep& s) { impl->on_step(s); });
}

BackpropTrace::~BackpropTrace() { stop(); }

void BackpropTrace::stop() {
  if (impl_->listener < 0) return;
  detail::remove_backward_listener(impl_->listener);
  impl_->listener = -1;
}

void BackpropTrace::clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->steps.clear();
  impl_->pending.clear();
  impl_->labels.clear();
  impl_->keep.clear();
  impl_->unnamed = 0;
  impl_->unnamed_leaves = 0;
  impl_->truncated = false;
}

const std::vector<TraceStep>& BackpropTrace::steps() const { return impl_->steps; }
bool BackpropTrace::truncated() const { return impl_->truncated; }

const TraceStep* BackpropTrace::find(const std::string& output_label) const {
  for (const TraceStep& s : impl_->steps)
    if (!s.outputs.empty() && s.outputs[0] == output_label) return &s;
  return nullptr;
}

std::string BackpropTrace::text() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  std::ostringstream os;
  os << "Backward pass: " << m.steps.size() << " steps" << (m.truncated ? " (truncated)" : "")
     << ", each node runs after every node that uses its output.\n";
  for (const TraceStep& s : m.steps) {
    os << "\n[" << s.index << "] " << s.op;
    if (s.is_leaf) os << "  (stores the gradient in " << s.outputs[0] << ".grad)";
    os << "\n";
    for (size_t k = 0; k < s.outputs.size(); ++k)
      os << "    " << m.d(s.outputs[k]) << " = " << m.sum_text(s.terms[k], s.upstream[k]) << "\n";
    for (const TraceInput& in : s.inputs) {
      if (!in.needs_grad) {
        os << "    -> an input that needs no gradient\n";
        continue;
      }
      os << "    -> " << m.d(in.label) << " += ";
      if (in.local.defined())
        os << m.d(s.outputs[0]) << "·∂" << s.outputs[0] << "/∂" << in.label << " = "
           << m.num(s.upstream[0]) << "·" << m.num(in.local) << " = ";
      os << m.num(in.grad) << "\n";
    }
  }
  return os.str();
}

std::string BackpropTrace::markdown() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  auto cell = [](std::string s) {  // a '|' would end the cell
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::ostringstream os;
  os << "| step | node | gradient arriving (paths summed) | input | local ∂ | sent on |\n";
  os << "|---:|---|---|---|---:|---:|\n";
  for (const TraceStep& s : m.steps) {
    std::string arriving;
    for (size_t k = 0; k < s.outputs.size(); ++k) {
      if (k) arriving += "; ";
      arriving += m.d(s.outputs[k]) + " = " + m.sum_text(s.terms[k], s.upstream[k]);
    }
    if (s.inputs.empty()) {
      os << "| " << s.index << " | " << cell(s.op) << " | " << cell(arriving) << " | "
         << cell(s.is_leaf ? s.outputs[0] + ".grad" : "") << " | | |\n";
      continue;
    }
    for (size_t j = 0; j < s.inputs.size(); ++j) {
      const TraceInput& in = s.inputs[j];
      os << "| " << (j ? "" : std::to_string(s.index)) << " | " << (j ? "" : cell(s.op)) << " | "
         << (j ? "" : cell(arriving)) << " | " << cell(in.needs_grad ? in.label : "(no grad)")
         << " | " << (in.local.defined() ? cell(m.num(in.local)) : "") << " | "
         << (in.grad.defined() ? cell(m.num(in.grad)) : "") << " |\n";
    }
  }
  return os.str();
}

}  // namespace sn::viz
