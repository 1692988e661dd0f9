// The glass box, part 2: a step-by-step record of a backward pass for small graphs: which node
// ran, the gradient that arrived (and how paths were summed where they meet), each local
// derivative and each product sent on — printable as text or Markdown.
// Local derivatives are shown where the upstream gradient is a single number; larger Jacobians
// are summarised by their products.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/viz/graph.h"

namespace sn::viz {

// One path's share of a gradient: it arrived from the step that consumed the value.
struct TraceTerm {
  int from_step = 0;  // index of the sending step (0 for the seed dE/dE = 1)
  std::string via{};  // label of the sender's output (the value this one fed into)
  Tensor upstream{};  // dE/d(via)
  Tensor local{};     // ∂via/∂(this value), when known
  Tensor product{};   // what arrived along this path
};

struct TraceInput {
  std::string label{};     // the input value
  bool needs_grad = true;  // false: a constant, nothing is sent
  Tensor local{};          // ∂output/∂input, when the upstream gradient is one number
  Tensor grad{};           // dE/d(input) along this op: upstream · local
};

struct TraceStep {
  int index = 0;                       // 1-based execution order
  std::string op{};                    // Node::name()
  bool is_leaf = false;                // AccumulateGrad: the gradient is stored in a leaf's .grad
  std::vector<std::string> outputs{};  // labels of the node's outputs
  std::vector<Tensor> upstream{};      // dE/d(output k), summed over paths
  std::vector<std::vector<TraceTerm>> terms{};  // per output: the summed paths
  std::vector<TraceInput> inputs{};             // per input edge
};

struct TraceOptions {
  const GraphRecorder* recorder = nullptr;  // names of intermediate values
  std::vector<Tensor> tensors{};            // more named tensors
  std::string root_name = "E";              // label of an unnamed root (the "E" in dE/dx)
  int precision = 6;                        // significant digits
  int64_t max_elements = 8;                 // larger tensors print as their shape
  int64_t max_steps = 10000;                // stop recording after this many steps (huge graphs)
};

// Observes every backward pass (on any thread) while alive. Not for use in a training loop.
class BackpropTrace {
 public:
  explicit BackpropTrace(TraceOptions options = {});
  ~BackpropTrace();
  BackpropTrace(const BackpropTrace&) = delete;
  BackpropTrace& operator=(const BackpropTrace&) = delete;

  void stop();
  void clear();
  const std::vector<TraceStep>& steps() const;
  // The step whose (first) output has this label, or nullptr.
  const TraceStep* find(const std::string& output_label) const;
  bool truncated() const;  // more than max_steps steps happened
  std::string text() const;
  std::string markdown() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sn::viz
