// The computation graph: a Node per recorded operation, Edges pointing to the nodes that
// produced its inputs (or to a leaf's AccumulateGrad). Ops define Node subclasses beside their
// forward (src/ops/*.cpp); the engine (engine.cpp) walks the graph iteratively.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn {

struct Edge {
  std::shared_ptr<Node> fn;  // null: this input needs no gradient
  uint32_t input_nr = 0;     // which output of fn this edge carries the gradient of
  bool valid() const { return fn != nullptr; }
};

// Shape and dtype of each output of a node: the engine checks every incoming gradient
// against them, so a wrong backward formula fails loudly at its source.
struct OutputMeta {
  Shape shape;
  DType dtype = kFloat32;
};

// A tensor kept for backward. Remembers the storage version at save time so a later in-place
// write to it is detected instead of silently giving a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor get(const char* op) const;
  void reset() { t_ = Tensor(); }
  bool defined() const { return t_.defined(); }

 private:
  Tensor t_;
  uint32_t version_ = 0;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  // Releases the chain of nodes behind it iteratively, so dropping a 100,000-op graph cannot
  // overflow the stack.
  virtual ~Node();
  // Name shown in errors and graph drawings, e.g. "MulBackward".
  virtual std::string name() const = 0;
  // grads[i] is dE/d(output i) (undefined means zero). Returns dE/d(input j) for each
  // next edge j (undefined for inputs that need none).
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Frees saved tensors (called after backward unless retain_graph).
  virtual void release() {}

  std::vector<Edge> next_edges;
  std::vector<OutputMeta> outputs;
  uint64_t sequence_nr;
  bool released = false;
  // Outputs whose gradient is kept in the tensor's .grad (retain_grad): weak, per output.
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained;
};

// Writes incoming gradients into a leaf tensor's .grad (accumulating with +=).
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  Tensor variable() const { return Tensor(leaf_); }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

namespace autograd {

// Grad mode: ops record nodes only when it is on (the default).
bool grad_enabled();
void set_grad_enabled(bool on);

// The edge through which a gradient for `t` flows (its grad_fn, or its leaf accumulator).
Edge gradient_edge(const Tensor& t);
// True when grad mode is on and any defined input requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);
// Links `node` to the inputs and marks `outputs` as produced by it. Call once per op.
void connect(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
             const std::vector<Tensor*>& outputs);
// The same for a fixed list (`connect(node, {&a, &b}, {&out})`): no temporary vectors, which
// keeps the per-op cost of recording low.
void connect(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
             std::initializer_list<Tensor*> outputs);

// Runs backward from `roots` with `grad_roots` (one each; undefined = ones for scalars).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots = {},
              bool retain_graph = false);

struct GradOptions {
  bool retain_graph = false;
  bool allow_unused = false;
};
// Functional gradients: dE/d(inputs) for E = sum(outputs * grad_outputs), without touching any
// tensor's .grad.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, GradOptions opts = {});

// Observes the backward pass node by node (used by the backprop trace viewer).
struct BackwardStep {
  const Node* node;
  const std::vector<Tensor>* grad_outputs;  // dE/d(outputs of node)
  const std::vector<Tensor>* grad_inputs;   // dE/d(inputs of node), one per next edge
};
using BackwardObserver = void (*)(const BackwardStep&, void* ctx);
void set_backward_observer(BackwardObserver fn, void* ctx);

// Observes op recording on the calling thread: connect() reports each recorded op once its node
// is linked (used by the graph viewer's capture scope, which keeps intermediate values that the
// graph itself does not hold). Null turns it off.
using RecordObserver = void (*)(const std::shared_ptr<Node>& node,
                                const std::vector<const Tensor*>& inputs,
                                const std::vector<Tensor*>& outputs, void* ctx);
void set_record_observer(RecordObserver fn, void* ctx);

}  // namespace autograd

// RAII: turns grad mode off for a scope.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  ~NoGradGuard() { autograd::set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(autograd::grad_enabled()) { autograd::set_grad_enabled(true); }
  ~EnableGradGuard() { autograd::set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace sn
