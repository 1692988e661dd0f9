// The glass box, part 1: the computation graph behind a tensor, drawn as Graphviz DOT with a
// node per value (name, shape, value, gradient) and per operation (Node::name()). A
// GraphRecorder scope keeps the values of intermediate tensors, which the graph alone does not
// hold. Layout is Graphviz's job: render_svg() runs `dot` when it is installed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn {
class Node;
}

namespace sn::viz {

// While alive, records on this thread every op that autograd records (its output tensors and
// its inputs that need no gradient, i.e. constants such as data) and, during backward passes,
// the gradient each node receives and sends. Holds references to all of them: use it around
// small graphs you want to look at, not around a training loop. Recorders nest.
class GraphRecorder {
 public:
  GraphRecorder();
  ~GraphRecorder();
  GraphRecorder(const GraphRecorder&) = delete;
  GraphRecorder& operator=(const GraphRecorder&) = delete;

  void stop();  // stops recording; what was recorded stays available
  bool recording() const;
  int64_t num_ops() const;

  // The tensor that is output `nr` of `node` (undefined if not recorded).
  Tensor output(const Node* node, uint32_t nr) const;
  // Input `j` of `node` when that input needs no gradient (undefined otherwise/unknown).
  Tensor constant_input(const Node* node, size_t j) const;
  // From the last backward pass seen: dE/d(output nr of node), and dE/d(input j) that the node
  // sent along its j-th edge (undefined when not seen).
  Tensor grad_output(const Node* node, uint32_t nr) const;
  Tensor grad_input(const Node* node, size_t j) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

enum class ValueKind {
  Leaf,          // a tensor created by the user that requires grad (a parameter / input)
  Intermediate,  // produced by a recorded op
  Constant,      // an input that needs no gradient
};

struct GraphValue {
  int id = 0;
  ValueKind kind = ValueKind::Intermediate;
  std::string name{};   // Tensor::name(), empty when unnamed
  std::string label{};  // name, or a generated "t<n>" / "const<n>"
  Shape shape{};
  bool shape_known = true;  // false for a constant input that was not recorded
  bool is_root = false;
  Tensor value{};  // undefined when not known (intermediate outside a recorder)
  Tensor grad{};   // dE/d(value) when known (leaf .grad, retain_grad, or a recorder's backward)
};

struct GraphOp {
  int id = 0;
  std::string name{};                 // Node::name(), e.g. "MulBackward"
  std::vector<int> inputs{};          // value ids, in argument order
  std::vector<int> outputs{};         // value ids of the outputs that are used
  std::vector<Tensor> input_grads{};  // dE/d(input j) sent along each input edge, when known
};

struct ComputationGraph {
  std::vector<GraphValue> values{};  // roots first, then in backward discovery order
  std::vector<GraphOp> ops{};
  const GraphValue* find(const std::string& label) const;  // nullptr when absent
};

struct DotOptions {
  // --- what is known about the graph ---
  const GraphRecorder* recorder = nullptr;  // values/gradients of intermediate tensors
  std::vector<Tensor> tensors{};            // more tensors to identify (their names, values, grads)
  // --- how it is drawn ---
  std::string title{};
  bool show_values = true;
  bool show_gradients = true;
  bool show_backward = false;  // dashed edges op -> input carrying dE/d(input) along that path
  int64_t max_elements = 6;    // values/gradients with more elements show only their shape
  int precision = 4;           // significant digits
  bool left_to_right = true;
};

// The graph behind `roots` (walking grad_fn and next_edges), with what options can tell about
// each value. A root that needs no gradient gives a one-value graph.
ComputationGraph capture_graph(const std::vector<Tensor>& roots, const DotOptions& options = {});
std::string to_dot(const ComputationGraph& graph, const DotOptions& options = {});
std::string to_dot(const Tensor& root, const DotOptions& options = {});

// Writes `dot` next to `svg_path` (same name, extension .dot) and, when Graphviz's `dot` is
// installed, renders it to `svg_path`. Returns true when the SVG was written.
bool render_svg(const std::string& dot, const std::string& svg_path);
// Whether Graphviz's `dot` program can be run.
bool graphviz_available();

}  // namespace sn::viz
