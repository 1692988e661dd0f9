// Models from a file: a JSON model specification (layers and their options, Sequential plus
// residual and parallel blocks) built into an nn::Module with every shape inferred, and named
// presets (mlp, ...). The CLI reads specs and checkpoints store them. Format: docs/model-spec.md.
// This header deliberately exposes no JSON library: specs travel as text.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/nn/module.h"

namespace sn::nn {

struct BuiltModel {
  std::shared_ptr<Module> module;
  Shape input_shape;   // per example, without the batch dim (from the spec's "input")
  Shape output_shape;  // per example
  std::string spec;    // the spec as normalised JSON text (inferred sizes filled in)
};

// Builds the model a JSON spec describes. `input_shape` (per example) overrides the spec's
// "input". Errors name the layer and both shapes:
//   layer 3 Linear(400 → 120) gets [N, 784]: expected [N, 400]; hint: did you forget Flatten?
BuiltModel build_model(const std::string& spec_json, const Shape& input_shape = Shape());
// Reads a spec file (IOError if unreadable) and builds it.
BuiltModel build_model_file(const std::string& path, const Shape& input_shape = Shape());
// The JSON spec of a preset for a given per-example input shape and number of outputs.
std::string preset_spec(const std::string& name, const Shape& input_shape, int64_t num_outputs);
std::vector<std::string> preset_names();
// The layer types a spec may use.
std::vector<std::string> spec_layer_types();

}  // namespace sn::nn
