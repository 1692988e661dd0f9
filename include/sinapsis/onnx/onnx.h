// ONNX export and import (namespace sn::onnx): a module as an ONNX model file that ONNX Runtime and
// the other consumers of the format run, and an ONNX file (PyTorch's export, ours) as a model.
// Built with Debian's libonnx (its protobuf definitions and its checker); sn::onnx::available() is
// false in a build without it, and export_model then throws.
//
// The graph is traced from the module tree, not from a run: every layer becomes ONNX nodes with
// its weights as initializers, and the example input gives the shapes. Layers ONNX cannot
// express at the chosen opset are an error naming the layer and its path in the model.
//
// Inputs and outputs: a float example gives `input` -> `logits` (and `probabilities`); an int64
// example (token ids [N, T]) gives `tokens` -> `logits` [N, T, V] with T dynamic (positions and
// the causal mask are computed from it; a GPT takes T <= block_size). A recurrent layer adds its
// initial state as inputs `h0` (and `c0`) [layers·directions, N or 1, hidden] (zeros with batch
// 1 start any batch) and its final state as outputs `hN` (and `cN`); with several recurrent
// layers the names carry the layer's path ("1.h0"). Opsets before 17 get LayerNorm as
// ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul (the same arithmetic); GroupNorm is always that
// arithmetic over groups. A VAE's GaussianLatent exports its eval path z = μ.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/nn/spec.h"

namespace sn::onnx {

struct ExportOptions {
  int64_t opset = 17;          // 13..17; LayerNorm is LayerNormalization from 17, basic ops before
  bool dynamic_batch = true;   // the first dim of input and outputs is named "N"
  std::string input_name{};    // default "input", or "tokens" for int64 token ids
  std::string output_name{};   // default "logits"
  bool probabilities = false;  // a second output: softmax of the logits over the last dim
  // Applied to the input inside the graph before the first layer: x · input_scale, then
  // (x - mean) / std when mean is defined (both broadcast against one example's shape).
  double input_scale = 1.0;
  // Every field has an initializer: designated initializers may leave any of them out.
  Tensor mean{}, std{};
  std::vector<std::pair<std::string, std::string>> metadata{};  // metadata_props
  std::string producer_version{};                               // default: the library's
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

// ---- import: an ONNX model file as a sinapsis model ----
// A graph that is a chain of spec layers (Gemm/MatMul+Add, Conv, pooling, BatchNormalization,
// LayerNormalization, the activations, Flatten, Reshape, Dropout/Identity) becomes the ordinary
// spec model of those layers; any other graph becomes one `Graph` layer (sinapsis/nn/graph.h)
// that runs the nodes with ONNX's semantics. Either way the result is a spec model with its
// weights, so it saves as a checkpoint and `eval`/`predict` work on it. Shape subgraphs
// (Shape, Gather, Slice, Concat, Unsqueeze, ...) that do not depend on a dynamic dimension are
// folded into constants, and the x·0.5·(1 + erf(x/√2)) pattern becomes one GELU.
// The file is untrusted: a truncated or corrupt protobuf, tensors whose data do not fit their
// dims, external data outside the model's folder, cycles, missing inputs and sizes beyond what
// fits in memory are ValueError/IOError naming what is wrong, never a crash. An op it does not
// know is an error naming the node, the op and its inputs' shapes.
struct ImportOptions {
  bool chain = true;  // false: always one Graph layer, even for a chain of layers
};
struct ImportedModel {
  nn::BuiltModel built;  // module (weights loaded, eval mode), spec, input and output shapes
  bool graph = false;    // true: one Graph layer; false: a chain of spec layers
  std::string input_name, output_name;
  DType input_dtype = kFloat32;
  std::vector<std::pair<std::string, std::string>> metadata;  // the file's metadata_props
  std::string producer;                                       // "pytorch 1.13.1"
  int64_t opset = 0;
  std::vector<std::string> notes;  // what import changed or dropped, one line each
};
ImportedModel import_model(const std::string& path, const ImportOptions& options = {});
// From the file's bytes; external data is read relative to `base_dir` (empty: refused).
ImportedModel import_model_bytes(const std::string& bytes, const ImportOptions& options = {},
                                 const std::string& base_dir = "");

}  // namespace sn::onnx
