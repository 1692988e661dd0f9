// The backward engine: iterative (an explicit heap, no recursion, so a 10,000-op chain cannot
// overflow the stack), dependency counting, gradient accumulation where a value feeds several
// ops, central shape checks, freeing saved tensors unless retain_graph.
// It does not do higher-order gradients (backward formulas run with grad mode off).
#include <algorithm>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "autograd/anomaly_internal.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/hooks.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

namespace {
// Grad-ready hooks by leaf (hooks.h). Registration is rare and locked; the engine reads the
// count first, so a backward without hooks pays one relaxed load per leaf.
struct LeafHooks {
  std::mutex mu;
  std::unordered_map<const TensorImpl*, std::vector<std::pair<int64_t, autograd::GradReadyHook>>>
      by_leaf;
  std::atomic<int64_t> count{0};
  int64_t next_id = 1;
};
LeafHooks& leaf_hooks() {
  static LeafHooks h;
  return h;
}
void run_grad_ready_hooks(const std::shared_ptr<TensorImpl>& leaf) {
  LeafHooks& h = leaf_hooks();
  if (h.count.load(std::memory_order_relaxed) == 0) return;
  std::vector<autograd::GradReadyHook> fns;
  {
    std::lock_guard<std::mutex> lk(h.mu);
    auto it = h.by_leaf.find(leaf.get());
    if (it == h.by_leaf.end()) return;
    for (auto& [id, fn] : it->second) fns.push_back(fn);
  }
  const Tensor t(leaf);
  for (auto& fn : fns) fn(t);
}
}  // namespace

static std::atomic<uint64_t> g_sequence{0};
Node::Node() : sequence_nr(g_sequence.fetch_add(1, std::memory_order_relaxed)) {}

// A node owning the last reference to its inputs' nodes would destroy them recursively (one
// stack frame set per node). Instead the children that would die with it are parked on a
// per-thread list, and the outermost destructor drains that list in a loop.
Node::~Node() {
  thread_local std::vector<std::shared_ptr<Node>>* pending = nullptr;  // outermost frame's list
  if (pending) {
    for (Edge& e : next_edges)
      if (e.fn && e.fn.use_count() == 1) pending->push_back(std::move(e.fn));
    return;
  }
  std::vector<std::shared_ptr<Node>> orphans;
  for (Edge& e : next_edges)
    if (e.fn && e.fn.use_count() == 1) orphans.push_back(std::move(e.fn));
  if (orphans.empty()) return;
  pending = &orphans;
  while (!orphans.empty()) {
    std::shared_ptr<Node> n = std::move(orphans.back());
    orphans.pop_back();
    n.reset();  // its destructor parks its own orphans on our list
  }
  pending = nullptr;
}

// Saved as a history-free alias: an op that saves its own output would otherwise form a cycle
// (output -> grad_fn -> saved output) and leak whenever backward never runs. The alias shares
// the storage, so the version counter still sees in-place writes.
SavedTensor::SavedTensor(const Tensor& t) : t_(t.defined() ? t.detach() : t) {
  if (t.defined()) version_ = t.version();
}
Tensor SavedTensor::get(const char* op) const {
  if (!t_.defined()) {
    SN_THROW(AutogradError, op,
             ": trying to backward through the graph a second time (its saved tensors were freed "
             "after the first backward); hint: pass retain_graph = true to the first backward");
  }
  SN_CHECK(t_.version() == version_, AutogradError, op, ": a tensor saved for backward (shape ",
           t_.shape(),
           ") was modified in place after it was "
           "saved (version ",
           version_, " -> ", t_.version(), "); hint: use an out-of-place op");
  return t_;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {
  outputs.push_back({leaf_->shape, leaf_->dtype});
}
std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  Tensor& g = grads[0];
  if (!g.defined()) return {};
  Tensor& slot = leaf_->autograd->grad;
  if (!slot.defined()) {
    // Take the incoming buffer when nobody else holds it; otherwise copy, so that a later
    // in-place accumulation cannot write into another tensor's memory.
    if (g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous())
      slot = g;
    else
      slot = detail::contiguous_raw(g.detach()).clone();
    if (slot.shares_storage(g) && !slot.is_same(g)) slot = slot.clone();
  } else {
    slot.add_(g);
  }
  run_grad_ready_hooks(leaf_);
  return {};
}

namespace autograd {

static thread_local bool t_grad_enabled = true;
bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }

static BackwardObserver g_observer = nullptr;
static void* g_observer_ctx = nullptr;
void set_backward_observer(BackwardObserver fn, void* ctx) {
  g_observer = fn;
  g_observer_ctx = ctx;
}

static thread_local RecordObserver t_record_observer = nullptr;
static thread_local void* t_record_ctx = nullptr;
void set_record_observer(RecordObserver fn, void* ctx) {
  t_record_observer = fn;
  t_record_ctx = ctx;
}

int64_t add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook) {
  SN_CHECK(leaf.defined() && leaf.requires_grad() && leaf.is_leaf(), AutogradError,
           "add_grad_ready_hook: the tensor must be a leaf that requires grad");
  SN_CHECK(hook, ValueError, "add_grad_ready_hook: the hook is empty");
  LeafHooks& h = leaf_hooks();
  std::lock_guard<std::mutex> lk(h.mu);
  const int64_t id = h.next_id++;
  h.by_leaf[leaf.impl()].emplace_back(id, std::move(hook));
  h.count.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void remove_grad_ready_hook(int64_t id) {
  LeafHooks& h = leaf_hooks();
  std::lock_guard<std::mutex> lk(h.mu);
  for (auto it = h.by_leaf.begin(); it != h.by_leaf.end(); ++it) {
    auto& v = it->second;
    auto f = std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.first == id; });
    if (f == v.end()) continue;
    v.erase(f);
    if (v.empty()) h.by_leaf.erase(it);
    h.count.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
}

// The callbacks of the backward pass running on this thread (null outside one).
static thread_local std::vector<std::function<void()>>* t_pass_callbacks = nullptr;
void queue_callback(std::function<void()> fn) {
  SN_CHECK(t_pass_callbacks, AutogradError,
           "queue_callback: called outside a backward pass; hint: call it from a hook");
  t_pass_callbacks->push_back(std::move(fn));
}

static std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  AutogradMeta& m = *leaf.impl()->autograd;
  if (auto acc = m.grad_accumulator.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  m.grad_accumulator = acc;
  return acc;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (const auto& fn = t.grad_fn()) return {fn, t.output_nr()};
  return {grad_accumulator(t), 0};
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}
bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

namespace {
void connect_impl(const std::shared_ptr<Node>& node, const Tensor* const* ins, size_t n_in,
                  Tensor* const* outs, size_t n_out) {
  node->next_edges.reserve(n_in);
  for (size_t i = 0; i < n_in; ++i) node->next_edges.push_back(gradient_edge(*ins[i]));
  node->outputs.reserve(n_out);
  for (size_t i = 0; i < n_out; ++i) {
    Tensor* out = outs[i];
    node->outputs.push_back({out->shape(), out->dtype()});
    auto& impl = out->impl_ptr();
    if (!impl->autograd) impl->autograd = std::make_unique<AutogradMeta>();
    impl->autograd->grad_fn = node;
    impl->autograd->output_nr = static_cast<uint32_t>(i);
  }
}
}  // namespace

void connect(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
             const std::vector<Tensor*>& outs) {
  connect_impl(node, inputs.data(), inputs.size(), outs.data(), outs.size());
  if (detail::anomaly_on()) [[unlikely]]
    detail::check_anomaly_outputs(*node, outs.data(), outs.size());
  if (t_record_observer) t_record_observer(node, inputs, outs, t_record_ctx);
}
void connect(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
             std::initializer_list<Tensor*> outs) {
  connect_impl(node, inputs.begin(), inputs.size(), outs.begin(), outs.size());
  if (detail::anomaly_on()) [[unlikely]]
    detail::check_anomaly_outputs(*node, outs.begin(), outs.size());
  if (t_record_observer)
    t_record_observer(node, std::vector<const Tensor*>(inputs), std::vector<Tensor*>(outs),
                      t_record_ctx);
}

namespace {
struct HeapOrder {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

struct GraphTask {
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  // functional grad(): gradients captured at (node, output) instead of accumulated
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures;
  std::vector<Tensor> captured;
  bool functional = false;
};

void accumulate(std::vector<Tensor>& buf, uint32_t nr, Tensor g) {
  if (!buf[nr].defined())
    buf[nr] = std::move(g);
  else
    buf[nr] = add(buf[nr], g);
}

void execute_nodes(GraphTask& task, const std::vector<Edge>& roots, std::vector<Tensor> root_grads,
                   bool retain_graph);

// Runs the graph, then the callbacks queued during the pass (hooks.h). A backward started by
// a callback or hook is a pass of its own.
void execute(GraphTask& task, const std::vector<Edge>& roots, std::vector<Tensor> root_grads,
             bool retain_graph) {
  std::vector<std::function<void()>> callbacks;
  auto* outer = t_pass_callbacks;
  t_pass_callbacks = &callbacks;
  struct Restore {
    std::vector<std::function<void()>>* prev;
    ~Restore() { t_pass_callbacks = prev; }
  } restore{outer};
  execute_nodes(task, roots, std::move(root_grads), retain_graph);
  t_pass_callbacks = outer;
  for (size_t i = 0; i < callbacks.size(); ++i) callbacks[i]();
}

void execute_nodes(GraphTask& task, const std::vector<Edge>& roots, std::vector<Tensor> root_grads,
                   bool retain_graph) {
  // 1. dependency counts by an explicit-stack walk
  std::vector<Node*> stack;
  for (const Edge& e : roots)
    if (e.fn && !task.deps.count(e.fn.get())) {
      task.deps[e.fn.get()] = 0;
      stack.push_back(e.fn.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.fn) continue;
      auto [it, fresh] = task.deps.try_emplace(e.fn.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(e.fn.get());
    }
  }
  // 2. seed the root buffers
  for (size_t i = 0; i < roots.size(); ++i) {
    if (!roots[i].fn) continue;
    auto& buf = task.buffers[roots[i].fn.get()];
    buf.resize(roots[i].fn->outputs.size());
    accumulate(buf, roots[i].input_nr, root_grads[i]);
  }
  std::priority_queue<Node*, std::vector<Node*>, HeapOrder> ready;
  for (const Edge& e : roots)
    if (e.fn && task.deps[e.fn.get()] == 0) {
      task.deps[e.fn.get()] = -1;  // queued
      ready.push(e.fn.get());
    }
  NoGradGuard no_grad;
  // 3. run nodes whose every consumer has delivered its gradient
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    std::vector<Tensor> grads = std::move(task.buffers[n]);
    task.buffers.erase(n);
    grads.resize(n->outputs.size());
    if (auto it = task.captures.find(n); it != task.captures.end())
      for (auto [nr, slot] : it->second) task.captured[slot] = grads[nr];
    for (auto& [nr, weak] : n->retained)
      if (auto impl = weak.lock(); impl && !task.functional && grads[nr].defined()) {
        Tensor& slot = impl->autograd->grad;
        slot = slot.defined() ? add(slot, grads[nr]) : grads[nr].clone();
      }
    const bool is_acc = dynamic_cast<AccumulateGrad*>(n) != nullptr;
    bool any_grad = false;
    for (const Tensor& g : grads) any_grad |= g.defined();
    std::vector<Tensor> out;
    // a node reached only through inputs that got no gradient has nothing to propagate (and its
    // backward may assume a defined gradient)
    if (any_grad && !(task.functional && is_acc)) {
      if (n->released)
        SN_THROW(AutogradError, n->name(),
                 ": trying to backward through the graph a second time (its saved tensors were "
                 "freed after the first backward); hint: pass retain_graph = true to the first "
                 "backward");
      out = n->apply(grads);
      if (detail::anomaly_on()) [[unlikely]]
        detail::check_anomaly_grads(*n, out);
      if (g_observer) g_observer({n, &grads, &out}, g_observer_ctx);
      if (!retain_graph) {
        n->release();
        n->released = !is_acc;
      }
    }
    for (size_t j = 0; j < n->next_edges.size(); ++j) {
      const Edge& e = n->next_edges[j];
      if (!e.fn) continue;
      Node* next = e.fn.get();
      if (j < out.size() && out[j].defined()) {
        const OutputMeta& m = next->outputs[e.input_nr];
        SN_CHECK(out[j].shape() == m.shape, AutogradError, n->name(), ": gradient for input ", j,
                 " has shape ", out[j].shape(), " but the input has shape ", m.shape,
                 "; this is a bug in that op's backward");
        // an op that promoted its inputs (f32 + f64) hands back the promoted dtype
        if (out[j].dtype() != m.dtype) out[j] = detail::cast_raw(out[j], m.dtype);
        auto& buf = task.buffers[next];
        buf.resize(next->outputs.size());
        accumulate(buf, e.input_nr, std::move(out[j]));
      }
      if (--task.deps[next] == 0) {
        task.deps[next] = -1;
        ready.push(next);
      }
    }
  }
}

std::vector<Tensor> make_root_grads(const std::vector<Tensor>& roots,
                                    const std::vector<Tensor>& grads, const char* op) {
  SN_CHECK(grads.empty() || grads.size() == roots.size(), ValueError, op, ": got ", grads.size(),
           " gradients for ", roots.size(), " outputs");
  std::vector<Tensor> out;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    SN_CHECK(r.defined(), ValueError, op, ": output ", i, " is undefined");
    SN_CHECK(r.requires_grad(), AutogradError, op,
             ": tensor does not require grad and has no grad_fn (shape ", r.shape(),
             "); hint: create the inputs with requires_grad = true");
    Tensor g = grads.empty() ? Tensor() : grads[i];
    if (!g.defined()) {
      SN_CHECK(r.numel() == 1, AutogradError, op,
               ": grad can be implicitly created only for scalar outputs (got shape ", r.shape(),
               "); hint: pass a gradient of the same shape, or reduce with sum() first");
      g = ones_like(r);
    } else {
      SN_CHECK(g.shape() == r.shape(), ShapeError, op, ": gradient shape ", g.shape(),
               " does not match output shape ", r.shape());
      if (g.dtype() != r.dtype()) g = g.to(r.dtype());
    }
    out.push_back(g.detach());
  }
  return out;
}
}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
              bool retain_graph) {
  std::vector<Tensor> g = make_root_grads(roots, grad_roots, "backward");
  std::vector<Edge> edges;
  for (const Tensor& r : roots) edges.push_back(gradient_edge(r));
  GraphTask task;
  execute(task, edges, std::move(g), retain_graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions opts) {
  std::vector<Tensor> g = make_root_grads(outputs, grad_outputs, "grad");
  std::vector<Edge> edges;
  for (const Tensor& r : outputs) edges.push_back(gradient_edge(r));
  GraphTask task;
  task.functional = true;
  task.captured.resize(inputs.size());
  std::vector<std::shared_ptr<Node>> hold;  // accumulators must outlive execute()
  for (size_t i = 0; i < inputs.size(); ++i) {
    SN_CHECK(inputs[i].requires_grad(), AutogradError, "grad: input ", i,
             " does not require grad (shape ", inputs[i].shape(), ")");
    Edge e = gradient_edge(inputs[i]);
    task.captures[e.fn.get()].emplace_back(e.input_nr, i);
    hold.push_back(e.fn);
  }
  execute(task, edges, std::move(g), opts.retain_graph);
  for (size_t i = 0; i < inputs.size(); ++i)
    SN_CHECK(task.captured[i].defined() || opts.allow_unused, AutogradError, "grad: input ", i,
             " (shape ", inputs[i].shape(),
             ") was not used to compute the outputs; hint: pass allow_unused = true");
  return task.captured;
}

}  // namespace autograd
}  // namespace sn
