// `sinapsis export`: a trained model as an ONNX file (sinapsis/onnx/onnx.h). The graph takes what
// the run's data gives:
//   classifiers:   IDX images as their pixel values 0-255 (float32, [N, 1, 28, 28] or the data's
//                  own shape) or CSV rows as the feature columns in the stored order; the scaling
//                  and the training normalisation are nodes of the graph, so raw inputs give
//                  predict's answers. Outputs `logits` and `probabilities`; classes and features
//                  in the model's metadata_props.
//   text runs:     token ids int64 [N, T] -> `logits` [N, T, V]; a recurrent model's state as
//                  inputs h0/c0 (zeros to start) and outputs hN/cN; the tokenizer and the vocabulary
//                  in metadata_props.
//   autoencoders:  pixels 0-255 (or CSV features) -> `reconstruction`, values as the run
//                  trained on (pixels in [0, 1]); a VAE exports its deterministic path z = μ.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"
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

std::string dims_text(const Shape& s) {
  std::string t = "[N";
  for (int64_t d : s) t += ", " + std::to_string(d);
  return t + "]";
}

// The checkpoint's entry `key` (JSON text that text and autoencoder runs store).
json entry(const train::CheckpointInfo& info, const std::string& key, const std::string& file) {
  auto it = info.extra.find(key);
  SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key, "' entry");
  return detail::parse_json<IOError>(it->second, file + ": checkpoint entry '" + key + "'",
                                     {.max_depth = 8});
}

// The model of a text or autoencoder checkpoint, its weights loaded.
nn::BuiltModel load_model(const train::CheckpointInfo& info, const std::string& file) {
  SN_CHECK(!info.model_spec.empty(), IOError, file, ": checkpoint holds no model spec");
  nn::BuiltModel built = nn::build_model(info.model_spec, Shape(), "in '" + file + "'");
  train::load_checkpoint(file, *built.module, {.restore_rng = false});
  return built;
}

void export_text(const ExportArgs& a, const std::string& file, onnx::ExportOptions o) {
  const train::CheckpointInfo info = train::read_checkpoint_info(file);
  const json tok_json = entry(info, "tokenizer", file);
  const data::TokenizerPtr tok =
      data::tokenizer_from_json(tok_json.dump(), file + ": checkpoint entry 'tokenizer'");
  const json text = entry(info, "text", file);
  const std::string where = file + ": checkpoint entry 'text'";
  const int64_t block = detail::json_int<IOError>(text, "block", 0, where);
  const int64_t context = detail::json_int<IOError>(text, "context", 0, where);
  nn::BuiltModel m = load_model(info, file);
  const int64_t V = tok->vocab_size();
  json vocabulary = json::array();
  for (int64_t id = 0; id < V; ++id)
    vocabulary.push_back(data::utf8_sanitize(tok->token_bytes(id)));
  std::string state;  // the recurrent state's inputs and outputs, for the message
  std::vector<nn::RecurrentBase*> rnns;
  for (auto& [n, mod] : m.module->named_modules())
    if (auto* r = dynamic_cast<nn::RecurrentBase*>(mod)) rnns.push_back(r);
  if (rnns.size() == 1) {
    const nn::RecurrentBase& r = *rnns[0];
    const std::string dims = "[" + std::to_string(r.num_layers() * (r.bidirectional() ? 2 : 1)) +
                             ", N or 1, " + std::to_string(r.hidden_size()) + "]";
    state = r.kind() == RnnKind::LSTM ? "h0, c0 in (" + dims + "; zeros to start), hN, cN out"
                                      : "h0 in (" + dims + "; zeros to start), hN out";
  } else if (rnns.size() > 1) {
    state = "per recurrent layer, <layer>.h0 in (zeros to start) and <layer>.hN out";
  }
  o.metadata.push_back({"tokenizer", tok_json.dump()});
  o.metadata.push_back({"vocabulary", vocabulary.dump()});
  o.metadata.push_back({"context", context > 0 ? std::to_string(context) : "any"});
  o.metadata.push_back(
      {"input",
       "token ids int64 [N, T] of the tokenizer in 'tokenizer', T at most 'context'; "
       "logits [N, T, vocabulary] score the next token at each position"});
  if (!state.empty()) o.metadata.push_back({"state", state});
  const int64_t T = block > 0 ? block : (m.input_shape.empty() ? 8 : m.input_shape[0]);
  onnx::export_model(*m.module, zeros({2, T}, {.dtype = kInt64}), a.out, o);
  std::cout << "wrote " << a.out << ": opset " << a.opset << ", input tokens [N, T] int64 ("
            << tok->kind() << " tokenizer, " << V << " tokens), output logits [N, T, " << V << "]"
            << (state.empty() ? "" : "; state " + state) << "; passes ONNX's checker\n";
}

void export_autoencoder(const ExportArgs& a, const std::string& file, onnx::ExportOptions o) {
  const train::CheckpointInfo info = train::read_checkpoint_info(file);
  const DataSpec ds = DataSpec::from_json(entry(info, "data", file));
  std::vector<std::string> features;
  try {
    features = entry(info, "features", file).get<std::vector<std::string>>();
  } catch (const json::exception&) {
    SN_THROW(IOError, file, ": checkpoint entry 'features' is not a list of names");
  }
  nn::BuiltModel m = load_model(info, file);
  const bool csv = is_csv_data(ds);
  bool vae = false;
  for (auto& [n, mod] : m.module->named_modules())
    vae = vae || dynamic_cast<nn::GaussianLatent*>(mod) != nullptr;
  o.input_scale = csv ? 1.0 : 1.0 / 255.0;  // the run trained on pixels in [0, 1]
  o.output_name = "reconstruction";
  if (!features.empty()) o.metadata.push_back({"features", json(features).dump()});
  o.metadata.push_back(
      {"input", csv ? "CSV feature columns in the order of 'features', as read"
                    : "image pixels as float32 values 0-255 (the scaling to [0, 1] inside)"});
  o.metadata.push_back(
      {"output", csv ? "the reconstructed features" : "the reconstructed pixels in [0, 1]"});
  if (vae)
    o.metadata.push_back({"latent",
                          "the deterministic path: the decoder gets the mean z = mu "
                          "(no sampling)"});
  Shape ex_shape = m.input_shape;
  ex_shape.insert(0, 2);
  onnx::export_model(*m.module, zeros(ex_shape, {.dtype = kFloat32}), a.out, o);
  std::cout << "wrote " << a.out << ": opset " << a.opset << ", input " << dims_text(m.input_shape)
            << " float32 (" << (csv ? "feature columns" : "pixels 0-255")
            << "), output reconstruction " << dims_text(m.output_shape)
            << (vae ? " (a VAE: its deterministic path, z = mu)" : "")
            << "; passes ONNX's checker\n";
}

void export_classifier(const ExportArgs& a, onnx::ExportOptions o) {
  Restored r = restore(a.run, std::cerr);
  const nn::BuiltModel& m = r.built;
  const bool csv = is_csv_data(r.data);
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
  onnx::export_model(*m.module, zeros(ex_shape, {.dtype = kFloat32}), a.out, o);
  std::cout << "wrote " << a.out << ": opset " << a.opset << ", input " << dims_text(m.input_shape)
            << " float32 (" << (csv ? "feature columns" : "pixels 0-255") << "), outputs logits"
            << (o.probabilities ? " and probabilities" : "") << "; passes ONNX's checker\n";
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
  const std::string file = resolve_checkpoint(a.run);
  onnx::ExportOptions o;
  o.opset = a.opset;
  o.dynamic_batch = !a.static_batch;
  if (is_text_checkpoint(file)) return export_text(a, file, o);
  if (is_autoencoder_checkpoint(file)) return export_autoencoder(a, file, o);
  export_classifier(a, o);
}

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write a trained model (classifier, text model, autoencoder) as an ONNX file");
  auto a = std::make_shared<ExportArgs>();
  cmd->add_option("run", a->run, "run folder or checkpoint file")->required();
  cmd->add_option("--out", a->out, "the .onnx file to write")->required();
  cmd->add_option("--opset", a->opset,
                  "ONNX opset, 13..17 (default 17; before 17 LayerNorm is written in basic ops)")
      ->check(CLI::Range(13, 17));
  cmd->add_flag("--static-batch", a->static_batch,
                "fix the batch size to the example's (default: a dynamic batch dimension N)");
  cmd->callback([a] { run_export(*a); });
}

Register reg_export(28, add_export);

}  // namespace
}  // namespace sn::cli
