// `sinapsis import`: models from elsewhere in. An ONNX file (model.onnx, sinapsis/onnx/onnx.h)
// becomes a run folder whose checkpoint holds the imported spec model, so `eval` and `predict`
// work on it. A safetensors file written by shared/reference/char_lm.py --save (its state_dict
// under PyTorch's names, the vocabulary and the recipe in the metadata) becomes a text run, so
// `eval`, `generate` and `info` work on a model trained by PyTorch exactly as on one trained
// here; that path does not convert other architectures: the file must name a recipe sinapsis
// has a preset for.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/json_read.h"
#include "sinapsis/onnx/onnx.h"

namespace sn::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct ImportArgs {
  std::string file, out, data, target;
  bool overwrite = false;
};

bool is_onnx_file(const std::string& f) {
  return f.size() > 5 && f.compare(f.size() - 5, 5, ".onnx") == 0;
}

std::string meta_of(const onnx::ImportedModel& m, const std::string& key) {
  for (const auto& [k, v] : m.metadata)
    if (k == key) return v;
  return "";
}

// model.onnx -> a run folder: best.safetensors (the spec model, its weights, and the classes and
// normalisation eval and predict read), model.json and run.json.
void run_onnx_import(const ImportArgs& a) {
  SN_CHECK(onnx::available(), ValueError,
           "import: this build of sinapsis has no ONNX support; hint: install libonnx-dev and "
           "libprotobuf-dev (scripts/install-deps.sh does) and rebuild");
  const onnx::ImportedModel m = onnx::import_model(a.file);
  const nn::BuiltModel& b = m.built;
  const bool created = claim_run_dir(a.out, a.overwrite, {{"ONNX model", a.file}});
  RunPaths run(a.out);
  fs::create_directories(run.dir);
  RunCleanup cleanup(run.dir, created);

  const int64_t outs = b.output_shape.numel();
  // classes: the file's (sinapsis export writes them), else indices; one output: regression
  std::vector<std::string> classes;
  if (const std::string c = meta_of(m, "classes"); !c.empty()) {
    const json j = json::parse(c, nullptr, false);
    if (j.is_array() && static_cast<int64_t>(j.size()) == outs &&
        std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); }))
      classes = j.get<std::vector<std::string>>();
  }
  const bool stored_classes = !classes.empty() || outs == 1;
  if (classes.empty() && outs > 1)
    for (int64_t k = 0; k < outs; ++k) classes.push_back(std::to_string(k));
  std::vector<std::string> features;
  if (const std::string f = meta_of(m, "features"); !f.empty()) {
    const json j = json::parse(f, nullptr, false);
    if (j.is_array() && static_cast<int64_t>(j.size()) == b.input_shape.numel() &&
        std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); }))
      features = j.get<std::vector<std::string>>();
  }
  // normalisation: a graph written by `sinapsis export` scales and normalises pixels 0-255
  // itself, and eval feeds pixels in [0, 1]: dividing by std 1/255 gives it its 0-255 back
  const std::string input = meta_of(m, "input");
  std::vector<double> mean{0.0}, stdv{1.0};
  std::string norm;
  if (input.rfind("image pixels as float32 values 0-255", 0) == 0) {
    stdv = {1.0 / 255.0};
    norm = "normalisation: inside the graph (it takes pixels 0-255; eval and predict feed them so)";
  } else if (input.rfind("CSV feature columns", 0) == 0) {
    norm = "normalisation: inside the graph (it takes the feature columns as read)";
  }
  // a model of feature vectors is normalised per column when eval reads a CSV: one (0, 1) each
  if (b.input_shape.size() == 1 && stdv.size() == 1 && stdv[0] == 1.0) {
    mean.assign(static_cast<size_t>(b.input_shape[0]), 0.0);
    stdv.assign(static_cast<size_t>(b.input_shape[0]), 1.0);
  }
  DataSpec ds;
  ds.data = a.data;
  ds.target = a.target;
  const json norm_json = {{"mean", mean}, {"std", stdv}};
  train::save_checkpoint(run.best, *b.module,
                         {.save_rng = false,
                          .model_spec = b.spec,
                          .extra = {{"normalisation", norm_json.dump()},
                                    {"data", ds.to_json().dump()},
                                    {"classes", json(classes).dump()},
                                    {"features", json(features).dump()}}});
  write_text_atomic(run.spec, b.spec + "\n");
  const json runj = {{"imported_from", fs::absolute(a.file).string()},
                     {"format", "onnx"},
                     {"producer", m.producer},
                     {"opset", m.opset},
                     {"graph", m.graph},
                     {"input_shape", b.input_shape.vec()},
                     {"notes", m.notes}};
  write_text_atomic(run.run_json, runj.dump(2) + "\n");
  cleanup.dismiss();

  std::ostringstream shape;
  shape << "[N";
  for (int64_t d : b.input_shape) shape << ", " << d;
  shape << "]";
  std::cout << "imported " << a.file << " ("
            << (m.producer.empty() ? "unknown producer" : m.producer) << ", opset " << m.opset
            << "): "
            << (m.graph ? "one Graph layer (its nodes run with ONNX's semantics)"
                        : "a chain of spec layers")
            << ", input " << shape.str() << (m.input_dtype == kInt64 ? " int64" : " float32")
            << ", " << outs << " output" << (outs == 1 ? "" : "s") << ", "
            << b.module->num_parameters() << " parameters\n";
  for (const auto& n : m.notes) std::cout << "note:   " << n << "\n";
  if (!stored_classes || norm.empty())
    std::cout << "note:   the file stores no "
              << (!stored_classes && norm.empty() ? "class names and no normalisation"
                  : !stored_classes               ? "class names"
                                                  : "normalisation")
              << ": "
              << (!stored_classes ? "classes are indices 0.." + std::to_string(outs - 1) +
                                        " (eval of a named data set shows its names)"
                                  : "")
              << (!stored_classes && norm.empty() ? "; " : "")
              << (norm.empty() ? "inputs are fed unnormalised, as eval reads them (images in "
                                 "[0, 1], CSV columns as written)"
                               : "")
              << "\n";
  if (!norm.empty()) std::cout << norm << "\n";
  std::cout << "wrote " << run.best << "\n"
            << "next:   sinapsis eval " << run.dir << (a.data.empty() ? " --data DATA" : "")
            << "\n";
}

std::string meta_at(const io::Metadata& m, const std::string& key, const std::string& file) {
  auto it = m.find(key);
  SN_CHECK(it != m.end(), IOError, file, ": no '", key,
           "' in the metadata; hint: import reads files written by char_lm.py --save");
  return it->second;
}

// char_lm.py's vocabulary: a JSON list of one-character strings, in id order.
data::TokenizerPtr vocabulary(const std::string& text, const std::string& file) {
  const json j = detail::parse_json<IOError>(text, file + ": metadata 'vocab'", {.max_depth = 2});
  SN_CHECK(j.is_array() && !j.empty(), IOError, file,
           ": metadata 'vocab' must be a non-empty list of characters");
  std::u32string chars;
  for (const auto& c : j) {
    SN_CHECK(c.is_string(), IOError, file, ": metadata 'vocab' holds ", c.dump(0).substr(0, 40),
             ", not a character");
    const std::u32string cp = data::utf8_decode(c.get<std::string>(), "import: vocab");
    SN_CHECK(cp.size() == 1, IOError, file, ": metadata 'vocab' entry ", c.dump(),
             " is not one character");
    chars += cp[0];
  }
  // CharTokenizer checks sorted and unique: ids are positions in this list
  return std::make_shared<data::CharTokenizer>(chars);
}

// PyTorch's module names -> the preset's. A spec builds a Sequential: the GPT module is its
// child "0" and uses char_lm.py's names below that (wte, h.0.c_attn, ...); the char-lstm preset
// is (Embedding, LSTM, Linear), children "0", "1", "2" for char_lm.py's emb, rnn and head.
std::string preset_name(const std::string& torch_name, const std::string& model) {
  if (model == "gpt") return "0." + torch_name;
  for (auto [from, to] : {std::pair{"emb.", "0."}, {"rnn.", "1."}, {"head.", "2."}})
    if (torch_name.rfind(from, 0) == 0) return to + torch_name.substr(std::string(from).size());
  return torch_name;  // reported as unexpected by the strict load
}

void run_import(const ImportArgs& a) {
  const io::Checkpoint ck = io::load(a.file);
  const std::string model = meta_at(ck.metadata, "model", a.file);
  SN_CHECK(model == "gpt" || model == "lstm", IOError, a.file, ": metadata 'model' is '",
           model.substr(0, 40), "'; import knows char_lm.py's gpt and lstm");
  const std::string preset = model == "gpt" ? "gpt" : "char-lstm";
  int64_t block = 0;
  try {
    block = std::stoll(meta_at(ck.metadata, "block", a.file));
  } catch (const std::logic_error&) {
    block = 0;
  }
  SN_CHECK(block > 0 && block <= (int64_t{1} << 20), IOError, a.file,
           ": metadata 'block' must be a window length in [1, 1048576] (got '",
           meta_at(ck.metadata, "block", a.file).substr(0, 40), "')");
  data::TokenizerPtr tok = vocabulary(meta_at(ck.metadata, "vocab", a.file), a.file);

  nn::BuiltModel built =
      nn::build_model(nn::preset_spec(preset, Shape{block}, tok->vocab_size()), Shape{block});
  nn::StateDict sd;
  for (const auto& [name, t] : ck.tensors) sd.insert(preset_name(name, model), t);
  try {
    built.module->load_state_dict(sd);
  } catch (const Error& e) {
    SN_THROW(ValueError, "import: ", a.file, " does not fit the ", preset, " preset for ",
             tok->vocab_size(), " characters and block ", block, ": ", e.what());
  }

  RunPaths run(a.out);
  SN_CHECK(!fs::exists(run.best), IOError, "import: '", run.best,
           "' exists; hint: choose another --out");
  fs::create_directories(run.dir);
  DataSpec ds;
  ds.data = a.data;
  const json text = {{"block", block}, {"context", model == "gpt" ? block : 0}, {"eval_every", 0}};
  train::save_checkpoint(
      run.best, *built.module,
      {.save_rng = false,
       .model_spec = built.spec,
       .extra = {
           {"tokenizer", tok->to_json()}, {"data", ds.to_json().dump()}, {"text", text.dump()}}});
  write_text_atomic(run.spec, built.spec + "\n");
  json origin = {{"imported_from", fs::absolute(a.file).string()}, {"preset", preset}};
  for (const char* key : {"val_loss", "iters"})
    if (ck.metadata.count(key)) origin[key] = ck.metadata.at(key);
  write_text_atomic(run.dir + "/imported.json", origin.dump(2) + "\n");

  std::cout << "imported " << a.file << ": preset " << preset << ", " << tok->vocab_size()
            << " characters, block " << block << ", " << built.module->num_parameters()
            << " parameters";
  if (ck.metadata.count("val_loss"))
    std::cout << " (val_loss " << ck.metadata.at("val_loss") << " in PyTorch)";
  std::cout << "\nwrote " << run.best << "\n"
            << "next:   sinapsis eval " << run.dir << (a.data.empty() ? " --data text:FILE" : "")
            << "\n"
            << "        sinapsis generate " << run.dir << " --tokens 500\n";
}

void add_import(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import",
      "Make a run folder from an ONNX model or a PyTorch language model (char_lm.py --save)");
  auto a = std::make_shared<ImportArgs>();
  cmd->add_option("file", a->file, "model.onnx, or a safetensors file written by char_lm.py --save")
      ->required();
  cmd->add_option("--out", a->out, "run folder to create")->required();
  cmd->add_option("--data", a->data,
                  "the data eval reads by default: fashion-mnist|mnist|file.csv for an ONNX "
                  "model, text:PATH for a language model");
  cmd->add_option("--target", a->target, "ONNX with a CSV --data: the label column");
  cmd->add_flag("--overwrite", a->overwrite,
                "ONNX: replace the files of an earlier run in --out (default: refuse)");
  cmd->callback([a] {
    if (is_onnx_file(a->file)) {
      run_onnx_import(*a);
      return;
    }
    SN_CHECK(!a->overwrite && a->target.empty(), ValueError,
             a->overwrite ? "--overwrite" : "--target", ": only for an ONNX model (", a->file,
             " is a char_lm.py checkpoint)");
    SN_CHECK(a->data.empty() || a->data.rfind("text:", 0) == 0, ValueError,
             "--data: import takes text:PATH (got '", a->data.substr(0, 60), "')");
    run_import(*a);
  });
}

Register reg_import(27, add_import);

}  // namespace
}  // namespace sn::cli
