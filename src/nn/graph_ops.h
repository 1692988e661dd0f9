// The ops of nn::Graph (graph.h) one at a time, for the ONNX importer's constant folding:
// the same kernels fold a shape subgraph at import time and run the graph later.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::nn::detail {

// Runs op `op` (ONNX semantics) on `inputs` (undefined: an optional input not given) with the
// attributes `attrs` (a JSON object: ints, floats, strings and lists of them). `n_outputs`: how
// many outputs the node names. Errors are ValueError/ShapeError naming the op.
std::vector<Tensor> run_graph_op(const std::string& op, const std::vector<Tensor>& inputs,
                                 const nlohmann::json& attrs, size_t n_outputs);
bool graph_op_known(const std::string& op);
// The most elements one tensor made by a node (Expand, ConstantOfShape, Range, Tile) may hold:
// a declared size beyond it (1 GiB of float32) is an error before anything is allocated.
constexpr int64_t kMaxGraphElements = int64_t{1} << 28;

}  // namespace sn::nn::detail
