// `sinapsis generate`: samples text from a language model trained by a text run. The run
// folder or checkpoint holds everything: the model spec, the weights, the tokenizer and the
// longest context the model takes. With --attention, a GPT's attention weights over the final
// context are drawn as heat maps (recomputed from each block's ln_1 output and c_attn weights).
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace {

using json = nlohmann::json;

struct GenerateArgs {
  std::string run, prompt = "\n", attention;
  int64_t tokens = 500, top_k = 0;
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 1337;
  int threads = 0;
  std::string context = "slide";
  std::string device = "cpu";
};

json entry(const train::CheckpointInfo& info, const std::string& key, const std::string& file) {
  auto it = info.extra.find(key);
  SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key,
           "' entry; hint: generate samples from runs of `sinapsis train --data text:FILE`");
  return detail::parse_json<IOError>(it->second, file + ": checkpoint entry '" + key + "'",
                                     {.max_depth = 8});
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The GPT layer's number of heads; an error for other models.
int64_t gpt_heads(const std::string& spec) {
  // named: a range-for over a temporary's member dangles; the spec was built already, so its
  // fields have their types
  const json j = detail::parse_json(spec, "generate: the model spec");
  for (const auto& l : j["layers"])
    if (l.value("type", "") == "GPT") return l.value("n_head", int64_t{0});
  SN_THROW(ValueError,
           "generate: --attention draws a GPT's attention; this model has no GPT layer");
}

std::string token_label(const data::Tokenizer& tok, int64_t id) {
  std::string s = data::utf8_sanitize(tok.token_bytes(id)), out;
  for (char c : s) out += c == '\n' ? "\u23CE" : c == ' ' ? "\u2423" : std::string(1, c);
  return out;
}

// Causal softmax(q·kᵀ/√hd) of every layer and head over `ids`, from the q and k that each
// block's c_attn makes of its ln_1 output (captured by forward hooks).
viz::AttentionMaps attention_maps(nn::Module& model, int64_t n_head,
                                  const std::vector<int64_t>& ids, const data::Tokenizer& tok) {
  std::vector<Tensor> ln;
  std::vector<std::pair<nn::Module*, int>> hooks;
  for (auto& [name, m] : model.named_modules())
    if (ends_with(name, "ln_1"))
      hooks.emplace_back(m, m->add_forward_hook([&ln](nn::Module&, const Tensor&, const Tensor& y) {
        ln.push_back(y.detach());
      }));
  const auto t = static_cast<int64_t>(ids.size());
  {
    NoGradGuard ng;
    model.eval();
    model(tensor(ids, Shape{1, t}));
  }
  for (auto& [m, id] : hooks) m->remove_forward_hook(id);
  std::vector<Tensor> w, b;
  for (auto& [name, p] : model.named_parameters()) {
    if (ends_with(name, "c_attn.weight")) w.push_back(p);
    if (ends_with(name, "c_attn.bias")) b.push_back(p);
  }
  SN_CHECK(!ln.empty() && ln.size() == w.size(), ValueError, "generate: --attention found ",
           ln.size(), " ln_1 outputs and ", w.size(),
           " c_attn weights; expected one per GPT block");
  viz::AttentionMaps maps;
  for (int64_t id : ids) maps.tokens.push_back(token_label(tok, id));
  for (size_t l = 0; l < ln.size(); ++l) {
    NoGradGuard ng;
    Tensor qkv = matmul(ln[l], w[l].t());
    if (l < b.size()) qkv = add(qkv, b[l]);
    const std::vector<double> v = qkv.to_vector_as<double>();  // [T, 3C]
    const int64_t c3 = qkv.size(-1), c = c3 / 3, hd = c / n_head;
    std::vector<std::vector<double>> heads;
    for (int64_t h = 0; h < n_head; ++h) {
      std::vector<double> a(static_cast<size_t>(t * t), 0.0);
      for (int64_t i = 0; i < t; ++i) {
        double mx = -INFINITY, z = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0;
          for (int64_t d = 0; d < hd; ++d) s += v[i * c3 + h * hd + d] * v[j * c3 + c + h * hd + d];
          a[i * t + j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, a[i * t + j]);
        }
        for (int64_t j = 0; j <= i; ++j) z += (a[i * t + j] = std::exp(a[i * t + j] - mx));
        for (int64_t j = 0; j <= i; ++j) a[i * t + j] /= z;
      }
      heads.push_back(std::move(a));
    }
    maps.weights.push_back(std::move(heads));
  }
  return maps;
}

void run_generate(const GenerateArgs& a) {
  apply_threads(a.threads);
  const Device dev = parse_device(a.device);
  // every new token id is kept (the context and the ids returned): 16 bytes a token
  check_option_memory("--tokens", static_cast<double>(a.tokens),
                      16.0 * static_cast<double>(a.tokens), "keeping the generated token ids",
                      "fewer --tokens");
  const std::string file = resolve_checkpoint(a.run);
  refuse_overwrite("generate --attention", a.attention, {{"checkpoint", file}});
  train::CheckpointInfo info = train::read_checkpoint_info(file);
  SN_CHECK(!info.model_spec.empty(), IOError, file, ": checkpoint holds no model spec");
  data::TokenizerPtr tok = data::tokenizer_from_json(entry(info, "tokenizer", file).dump(),
                                                     file + ": checkpoint entry 'tokenizer'");
  const json text = entry(info, "text", file);
  nn::BuiltModel built = nn::build_model(info.model_spec, Shape(), "in '" + file + "'");
  train::load_checkpoint(file, *built.module, {.restore_rng = false});
  if (!dev.is_cpu()) built.module->to(dev);  // an op without a kernel there is an error
  train::GenerateOptions o{
      .tokens = a.tokens,
      .sample = {.temperature = a.temperature, .top_k = a.top_k, .top_p = a.top_p},
      .seed = a.seed,
      .block_size =
          detail::json_int<IOError>(text, "context", 0, file + ": checkpoint entry 'text'"),
      .restart = a.context == "restart"};
  const int64_t heads = a.attention.empty() ? 0 : gpt_heads(info.model_spec);
  std::cout << a.prompt << std::flush;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> ids =
      train::generate(*built.module, *tok, a.prompt, o,
                      [](const std::string& piece) { std::cout << piece << std::flush; });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "\n" << std::flush;
  std::cerr << ids.size() << " tokens in " << std::fixed << std::setprecision(2) << seconds
            << " s (" << std::setprecision(0) << static_cast<double>(ids.size()) / seconds
            << " tokens/s)\n"
            << std::defaultfloat;
  if (heads == 0) return;
  // the last context the model saw: prompt and new tokens, at most its block
  std::vector<int64_t> all = tok->encode(a.prompt);
  all.insert(all.end(), ids.begin(), ids.end());
  const auto keep =
      std::min<int64_t>(static_cast<int64_t>(all.size()), o.block_size > 0 ? o.block_size : 64);
  std::vector<int64_t> ctx(all.end() - keep, all.end());
  viz::AttentionMaps maps = attention_maps(*built.module, heads, ctx, *tok);
  maps.title = "attention of " + file + " over the last " + std::to_string(keep) + " tokens";
  write_text_atomic(a.attention, viz::attention_svg(maps));
  std::cerr << "attention maps: " << a.attention << "\n";
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
      ->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("--threads", a->threads, "threads (default: all cores)")->check(non_negative());
  cmd->add_option("--context", a->context,
                  "past the block size: slide (re-run the last block tokens, nanoGPT) or "
                  "restart (start again from the last token with an empty cache, char_lm.py)")
      ->check(CLI::IsMember({"slide", "restart"}));
  cmd->add_option("--attention", a->attention,
                  "GPT: draw each layer's and head's attention over the final context to this SVG");
  add_device_option(cmd, a->device);
  cmd->callback([a, cmd] {
    if (a->temperature == 0)  // greedy: nothing is drawn
      refuse_given(*cmd, {"--top-k", "--top-p", "--seed"},
                   "with --temperature 0 (the most likely token, no sampling)");
    run_generate(*a);
  });
}

Register reg_generate(25, add_generate);

}  // namespace
}  // namespace sn::cli
