// `sinapsis export`: a trained model as an ONNX file (sinapsis/onnx/onnx.h). The graph takes what
// `predict` reads: IDX images as their pixel values 0-255 (float32, [N, 1, 28, 28] or the data's
// own shape) and CSV rows as the feature columns in the stored order; the scaling and the
// training normalisation are nodes of the graph, so raw inputs give predict's answers. Outputs:
// `logits`, and `probabilities` for a classifier; the classes and features go into the model's
// metadata_props.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "sinapsis/onnx/onnx.h"

namespace sn::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct ExportArgs {
  std::string run, out;
  int64_t opset = 17;
  bool static_batch = false;
};

Tensor stats_tensor(const std::vector<double>& v, const Shape& input_shape) {
  Tensor t = zeros({static_cast<int64_t>(v.size())}, {.dtype = kFloat32});
  for (size_t i = 0; i < v.size(); ++i) t.set({static_cast<int64_t>(i)}, v[i]);
  return v.size() == 1 ? t.reshape({}) : t.reshape(input_shape);
}

void run_export(const ExportArgs& a) {
  SN_CHECK(onnx::available(), ValueError,
           "export: this build of sinapsis has no ONNX support; hint: install libonnx-dev and "
           "libprotobuf-dev (scripts/install-deps.sh does) and rebuild");
  if (fs::is_directory(a.run)) {
    RunPaths rp(a.run);
    refuse_overwrite("export --out", a.out, {{"checkpoint", rp.best}, {"checkpoint", rp.last}});
  } else {
    refuse_overwrite("export --out", a.out, {{"checkpoint", a.run}});
  }
  SN_CHECK(!is_text_checkpoint(resolve_checkpoint(a.run)), ValueError, "export: ", a.run,
           " is a text model (token ids in); ONNX export of text models is not built yet");
  SN_CHECK(!is_autoencoder_checkpoint(resolve_checkpoint(a.run)), ValueError, "export: ", a.run,
           " is an autoencoder; ONNX export of autoencoders is not built yet");
  Restored r = restore(a.run, std::cerr);
  const nn::BuiltModel& m = r.built;
  const bool csv = is_csv_data(r.data);
  onnx::ExportOptions o;
  o.opset = a.opset;
  o.dynamic_batch = !a.static_batch;
  o.input_scale = csv ? 1.0 : 1.0 / 255.0;
  o.mean = stats_tensor(r.trained.mean, m.input_shape);
  o.std = stats_tensor(r.trained.std, m.input_shape);
  o.probabilities = !r.trained.classes.empty();
  o.metadata.push_back({"classes", json(r.trained.classes).dump()});
  if (!r.trained.features.empty())
    o.metadata.push_back({"features", json(r.trained.features).dump()});
  o.metadata.push_back(
      {"input", csv ? "CSV feature columns in the order of 'features', as read"
                    : "image pixels as float32 values 0-255 (scaling and normalisation inside)"});
  Shape ex_shape = m.input_shape;
  ex_shape.insert(0, 2);
  Tensor example = zeros(ex_shape, {.dtype = kFloat32});
  onnx::export_model(*m.module, example, a.out, o);
  Shape in_shape = m.input_shape, out_shape = m.output_shape;
  std::cout << "wrote " << a.out << ": opset " << a.opset << ", input [N"
            << (in_shape.size() ? ", " : "");
  for (size_t i = 0; i < in_shape.size(); ++i) std::cout << (i ? ", " : "") << in_shape[i];
  std::cout << "] float32 (" << (csv ? "feature columns" : "pixels 0-255") << "), outputs logits"
            << (o.probabilities ? " and probabilities" : "") << "; passes ONNX's checker\n";
}

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write a trained model as an ONNX file");
  auto a = std::make_shared<ExportArgs>();
  cmd->add_option("run", a->run, "run folder or checkpoint file")->required();
  cmd->add_option("--out", a->out, "the .onnx file to write")->required();
  cmd->add_option("--opset", a->opset, "ONNX opset, 13..17 (default 17; LayerNorm needs 17)")
      ->check(CLI::Range(13, 17));
  cmd->add_flag("--static-batch", a->static_batch,
                "fix the batch size to the example's (default: a dynamic batch dimension N)");
  cmd->callback([a] { run_export(*a); });
}

Register reg_export(28, add_export);

}  // namespace
}  // namespace sn::cli
