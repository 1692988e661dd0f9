// `sinapsis import`: PyTorch weights in. Reads the safetensors file that
// shared/reference/char_lm.py --save writes (its state_dict under PyTorch's names, the vocabulary
// and the recipe in the metadata) and makes a run folder from it, so that `eval`, `generate` and
// `info` work on a model trained by PyTorch exactly as on one trained here. It does not train
// and does not convert other architectures: the file must name a recipe sinapsis has a preset for.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct ImportArgs {
  std::string file, out, data;
};

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
      "import", "Make a run folder from a PyTorch language model (char_lm.py --save)");
  auto a = std::make_shared<ImportArgs>();
  cmd->add_option("file", a->file, "safetensors file written by char_lm.py --save")->required();
  cmd->add_option("--out", a->out, "run folder to create")->required();
  cmd->add_option("--data", a->data, "the text it was trained on, text:PATH (for eval)");
  cmd->callback([a] {
    SN_CHECK(a->data.empty() || a->data.rfind("text:", 0) == 0, ValueError,
             "--data: import takes text:PATH (got '", a->data.substr(0, 60), "')");
    run_import(*a);
  });
}

Register reg_import(27, add_import);

}  // namespace
}  // namespace sn::cli
