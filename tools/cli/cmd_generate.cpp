// `sinapsis generate`: samples text from a language model trained by a text run. The run
// folder or checkpoint holds everything: the model spec, the weights, the tokenizer and the
// longest context the model takes.
#include <iostream>

#include "cli.h"

namespace sn::cli {

namespace {

using json = nlohmann::json;

struct GenerateArgs {
  std::string run, prompt = "\n";
  int64_t tokens = 500, top_k = 0;
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 1337;
  int threads = 0;
};

json entry(const train::CheckpointInfo& info, const std::string& key, const std::string& file) {
  auto it = info.extra.find(key);
  SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key,
           "' entry; hint: generate samples from runs of `sinapsis train --data text:FILE`");
  try {
    return json::parse(it->second);
  } catch (const json::exception& e) {
    SN_THROW(IOError, file, ": checkpoint entry '", key, "' is not valid JSON (", e.what(), ")");
  }
}

void run_generate(const GenerateArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  const std::string file = resolve_checkpoint(a.run);
  train::CheckpointInfo info = train::read_checkpoint_info(file);
  SN_CHECK(!info.model_spec.empty(), IOError, file, ": checkpoint holds no model spec");
  data::TokenizerPtr tok = data::tokenizer_from_json(entry(info, "tokenizer", file).dump());
  const json text = entry(info, "text", file);
  nn::BuiltModel built = nn::build_model(info.model_spec);
  train::load_checkpoint(file, *built.module, {.restore_rng = false});
  train::GenerateOptions o{
      .tokens = a.tokens,
      .sample = {.temperature = a.temperature, .top_k = a.top_k, .top_p = a.top_p},
      .seed = a.seed,
      .block_size = text.value("context", int64_t{0})};
  std::cout << a.prompt << std::flush;
  train::generate(*built.module, *tok, a.prompt, o,
                  [](const std::string& piece) { std::cout << piece << std::flush; });
  std::cout << "\n";
}

void add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample text from a language model run");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("run", a->run, "run folder or checkpoint file of a text run")->required();
  cmd->add_option("--prompt", a->prompt, "text to start from (default: a newline)");
  cmd->add_option("--tokens", a->tokens, "new tokens to sample")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--temperature", a->temperature, "softmax temperature (0: most likely token)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--top-k", a->top_k, "sample from the k most likely tokens (0: all)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--top-p", a->top_p,
                  "sample from the fewest most likely tokens holding this probability mass")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 1.0));
  cmd->add_option("--seed", a->seed, "random seed (the same seed gives the same text)")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "threads (default: all cores)")->check(non_negative());
  cmd->callback([a] { run_generate(*a); });
}

Register reg_generate(25, add_generate);

}  // namespace
}  // namespace sn::cli
