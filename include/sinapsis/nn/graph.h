// nn::Graph: a general computation graph of tensor ops, run node by node in topological order.
// It is what an imported ONNX model becomes when it is not a chain of spec layers (a residual add,
// concatenated branches, attention): the nodes keep ONNX's operator semantics (opset 13-17) and
// run as sinapsis ops, so the result trains and saves like any module. It is a spec layer
// ("Graph", docs/model-spec.md): its description is JSON text, its tensors are its parameters
// (trainable weights) and buffers, so a checkpoint round-trips it. It does not parse ONNX files
// (sinapsis/onnx/onnx.h does).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/nn/module.h"

namespace sn::nn {

class Graph : public Module {
 public:
  // `description`: the JSON object of docs/model-spec.md's Graph layer (inputs, outputs, tensors,
  // constants, nodes). Checked here: every node's op is known, every input is defined before it
  // is used, names are unique. Tensors start as zeros: load a state dict for their values.
  explicit Graph(const std::string& description);
  ~Graph() override;

  // The first graph input is x; the first output is returned.
  Tensor forward(const Tensor& x) override;
  // Every graph input in order (missing ones: an error naming them), every output in order.
  Value forward_multi(const Value& in) override;

  std::string type_name() const override { return "Graph"; }
  std::string brief() const override;
  std::string extra_repr() const override;
  // The description as normalised JSON text.
  std::string description() const;
  // The op names a Graph node may use.
  static std::vector<std::string> ops();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sn::nn
