// ONNX export (namespace sn::onnx): a module as an ONNX model file that ONNX Runtime and the other
// consumers of the format run. Built with Debian's libonnx (its protobuf definitions and its
// checker); sn::onnx::available() is false in a build without it, and export_model then throws.
//
// The graph is traced from the module tree, not from a run: every layer becomes ONNX nodes with
// its weights as initializers, and the example input gives the shapes. Layers ONNX cannot
// express at the chosen opset are an error naming the layer and its path in the model.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/nn/module.h"

namespace sn::onnx {

struct ExportOptions {
  int64_t opset = 17;         // 13..17; LayerNorm needs 17 (LayerNormalization)
  bool dynamic_batch = true;  // the first dim of input and outputs is named "N"
  std::string input_name = "input";
  bool probabilities = false;  // a second output: softmax of the logits over the last dim
  // Applied to the input inside the graph before the first layer: x · input_scale, then
  // (x - mean) / std when mean is defined (both broadcast against one example's shape).
  double input_scale = 1.0;
  Tensor mean, std;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props
  std::string producer_version;                               // default: the library's
};

// True when this build has ONNX support.
bool available();

// The model file's bytes. `example` is one batch of inputs (any batch size); the model is run
// on it once in eval mode to check the shapes. The result passes ONNX's checker with shape
// inference (strict), or export throws naming what failed.
std::string export_model_bytes(nn::Module& model, const Tensor& example,
                               const ExportOptions& options = {});
// The same, written atomically to `path`.
void export_model(nn::Module& model, const Tensor& example, const std::string& path,
                  const ExportOptions& options = {});

// Runs ONNX's checker (full, with strict shape inference) on a model file's bytes; throws
// ValueError with the checker's message. For tests and for `sinapsis export --check`.
void check_model_bytes(const std::string& bytes);

}  // namespace sn::onnx
