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
// and the field: `model spec 'm.json': layers[2].out must be an integer (got "ten")`, with
// `source` ("'m.json'", "in 'best.safetensors'") after "model spec". The text is untrusted:
// size, nesting, unknown keys ("did you mean"), integer ranges and the memory the model would
// take (at most half the machine's) are checked before anything large is allocated.
BuiltModel build_model(const std::string& spec_json, const Shape& input_shape = Shape(),
                       const std::string& source = "");
// Reads a spec file (IOError if unreadable, not a regular file or over 16 MiB) and builds it.
BuiltModel build_model_file(const std::string& path, const Shape& input_shape = Shape());
// The JSON spec of a preset for a given per-example input shape and number of outputs.
std::string preset_spec(const std::string& name, const Shape& input_shape, int64_t num_outputs);
std::vector<std::string> preset_names();
// The layer types a spec may use.
std::vector<std::string> spec_layer_types();
// The keys a layer of this type accepts ("type", "name" and its options; docs/model-spec.md).
std::vector<std::string> spec_layer_keys(const std::string& type);

}  // namespace sn::nn
