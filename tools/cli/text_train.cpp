// Text runs of `sinapsis train`, `resume` and `eval`: a language model (preset gpt, char-lstm,
// bigram, or a spec file) trained by steps on a UTF-8 file with the recipes of
// shared/reference/char_lm.py, validated by its loss, in a run folder whose checkpoints hold
// the tokenizer (so `generate` and `eval` need nothing else).
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool is_text_data(const std::string& data) { return data.rfind("text:", 0) == 0 || data == "kjv"; }

json TextOptions::to_json() const {
  return {{"tokenizer", tokenizer}, {"steps", steps}, {"eval_every", eval_every},
          {"warmup", warmup},       {"block", block}, {"min_lr", min_lr},
          {"clip_grad", clip_grad}, {"tbptt", tbptt}};
}

TextOptions TextOptions::from_json(const json& j) {
  TextOptions t;
  t.tokenizer = j.value("tokenizer", "char");
  t.steps = j.value("steps", int64_t{0});
  t.eval_every = j.value("eval_every", int64_t{-1});
  t.warmup = j.value("warmup", int64_t{-1});
  t.block = j.value("block", int64_t{0});
  t.min_lr = j.value("min_lr", -1.0);
  t.clip_grad = j.value("clip_grad", -1.0);
  t.tbptt = j.value("tbptt", false);
  return t;
}

json TextTrainArgs::run_json() const {
  return {{"data", data.to_json()},
          {"model_file", model_file},
          {"preset", preset},
          {"text", text.to_json()},
          {"batch_size", batch_size},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"seed", seed}};
}

namespace {

// Everything a text run needs, the recipe's defaults filled in.
struct Plan {
  int64_t steps, batch, block, warmup, eval_every;
  double lr, min_lr, beta2, weight_decay, clip;
};

// char_lm.py's recipes; other models get the char-lstm numbers without weight decay.
Plan recipe(const std::string& preset) {
  if (preset == "gpt") return {2000, 12, 64, 100, 500, 1e-3, 1e-4, 0.99, 0.1, 1.0};
  return {1000, 32, 64, 100, 500, 2e-3, 2e-4, 0.999, 0.0, 1.0};
}

Plan plan_for(const TextTrainArgs& a) {
  Plan p = recipe(a.model_file.empty() ? a.preset : "");
  const TextOptions& t = a.text;
  if (t.steps > 0) p.steps = t.steps;
  if (a.batch_size > 0) p.batch = a.batch_size;
  if (t.block > 0) p.block = t.block;
  if (t.warmup >= 0) p.warmup = t.warmup;
  if (t.eval_every >= 0) p.eval_every = t.eval_every;
  if (a.lr > 0) p.lr = a.lr;
  if (t.min_lr >= 0) p.min_lr = t.min_lr;
  if (a.weight_decay >= 0) p.weight_decay = a.weight_decay;
  if (t.clip_grad >= 0) p.clip = t.clip_grad;
  SN_CHECK(p.min_lr <= p.lr, ValueError, "--min-lr ", p.min_lr, " is above --lr ", p.lr);
  return p;
}

std::string text_path(const DataSpec& d) { return d.data == "kjv" ? kjv_file() : d.data.substr(5); }

// The spec of a new run: the preset's, or the user's file made to take [block] token ids.
std::string new_spec(const TextTrainArgs& a, const Plan& p, int64_t vocab) {
  if (a.model_file.empty()) return nn::preset_spec(a.preset, Shape{p.block}, vocab);
  json j = detail::read_json_file(a.model_file, "model spec '" + a.model_file + "'",
                                  {.max_bytes = 16 << 20});
  SN_CHECK(j.is_object(), ValueError, "model spec '", a.model_file,
           "': the top level must be an object with \"layers\"");
  j["input"] = {p.block};
  j["input_dtype"] = "int64";
  return j.dump(2);
}

// The model takes windows of `block` ids below `vocab` and gives `vocab` logits per position.
void check_model_fits(nn::Module& m, int64_t vocab, int64_t block) {
  NoGradGuard ng;
  const bool was = m.is_training();
  m.eval();
  Tensor y;
  try {
    y = m(full(Shape{1, 1}, static_cast<double>(vocab - 1), {.dtype = kInt64}));
    m(zeros(Shape{1, block}, {.dtype = kInt64}));
  } catch (const IndexError& e) {
    m.train(was);
    SN_THROW(ValueError, "train: the vocabulary has ", vocab, " tokens, too many for the model (",
             e.what(), "); hint: a model spec's Embedding needs num_embeddings >= the vocabulary");
  } catch (const Error& e) {
    m.train(was);
    SN_THROW(ValueError, "train: the model does not take windows of ", block, " tokens (", e.what(),
             "); hint: --block at most the model's block size");
  }
  m.train(was);
  SN_CHECK(y.dim() == 3 && y.size(2) == vocab, ValueError, "train: the model gives outputs of ",
           "shape ", y.shape(), " for [1, 1] tokens, expected logits [1, 1, ", vocab,
           "] (one per vocabulary token)");
}

// The longest context generation may use: a GPT's block; none for a model that carries a
// state (an LSTM); the training block for a model that re-reads its whole context.
int64_t generation_context(nn::Module& m, const std::string& spec, int64_t block) {
  const json j = detail::parse_json(spec, "the model spec");  // built already: types hold
  for (const auto& l : j["layers"])
    if (l.value("type", "") == "GPT") return l.value("block_size", block);
  NoGradGuard ng;
  const bool was = m.is_training();
  m.eval();
  const size_t outputs = m.call(nn::Value(zeros(Shape{1, 1}, {.dtype = kInt64}))).size();
  m.train(was);
  return outputs > 1 ? 0 : block;
}

// AdamW, weight decay on the 2-D parameters only (embeddings, Linear weights), as char_lm.py.
std::unique_ptr<optim::AdamW> make_optimizer(nn::Module& m, const Plan& p) {
  std::vector<Tensor> decay, rest;
  for (auto& [name, t] : m.named_parameters()) (t.dim() >= 2 ? decay : rest).push_back(t);
  const optim::AdamWOptions o{.lr = p.lr, .betas = {0.9, p.beta2}, .eps = 1e-8};
  std::vector<optim::AdamW::Group> groups;
  if (!decay.empty())
    groups.push_back({decay, [&] {
                        auto d = o;
                        d.weight_decay = p.weight_decay;
                        return d;
                      }()});
  if (!rest.empty())
    groups.push_back({rest, [&] {
                        auto d = o;
                        d.weight_decay = 0;
                        return d;
                      }()});
  return std::make_unique<optim::AdamW>(groups);
}

std::vector<train::CallbackPtr> run_callbacks(const RunPaths& run, const std::string& spec,
                                              const std::map<std::string, std::string>& extra,
                                              bool resume) {
  return {
      std::make_shared<train::ProgressBar>(),
      // before the checkpoints: history.json is never older than last.safetensors
      std::make_shared<train::HistoryFile>(run.dir + "/history.json"),
      std::make_shared<train::ModelCheckpoint>(train::ModelCheckpointOptions{.path = run.best,
                                                                             .monitor = "val_loss",
                                                                             .save_best_only = true,
                                                                             .model_spec = spec,
                                                                             .extra = extra}),
      std::make_shared<train::ModelCheckpoint>(
          train::ModelCheckpointOptions{.path = run.last, .model_spec = spec, .extra = extra}),
      std::make_shared<train::CsvLogger>(run.history_csv, train::LoggerOptions{.append = resume}),
      std::make_shared<train::JsonLinesLogger>(run.history_jsonl,
                                               train::LoggerOptions{.append = resume})};
}

json parse_entry(const std::map<std::string, std::string>& extra, const std::string& key,
                 const std::string& file) {
  auto it = extra.find(key);
  SN_CHECK(it != extra.end(), IOError, file, ": checkpoint has no '", key,
           "' entry; it was not written by a text run of `sinapsis train`");
  return detail::parse_json<IOError>(it->second, file + ": checkpoint entry '" + key + "'",
                                     {.max_depth = 8});
}

void write_results(const RunPaths& run, const train::History& h, const data::TextCorpus& c,
                   const TextTrainArgs& a, const Plan& p, int64_t params) {
  const double val = h.empty() ? std::nan("") : h.back().val_loss;
  double train_s = 0;
  for (double t : h.series("train_time"))
    if (std::isfinite(t)) train_s += t;
  json r = {{"val_loss", val},
            {"train_s", train_s},
            {"steps", p.steps},
            {"vocab", c.tokenizer->vocab_size()},
            {"tokenizer", c.tokenizer->kind()},
            {"params", params},
            {"threads", get_num_threads()}};
  if (c.tokenizer->kind() == "char") r["val_bpc"] = val / std::log(2.0);
  write_text_atomic(run.dir + "/result.json", r.dump(2) + "\n");
  std::cout << "\nval_loss " << fmt(val) << " nats/token";
  if (c.tokenizer->kind() == "char") std::cout << " (" << fmt(val / std::log(2.0)) << " bits/char)";
  std::cout << ", training " << fmt(train_s, 1) << " s without evaluations\n";
  viz::TrainingCurves tc;
  tc.train_loss = h.series("loss");
  tc.val_loss = h.series("val_loss");
  tc.metric_name = "";
  tc.title = "sinapsis train --data " + a.data.data + " (one point per " +
             std::to_string(p.eval_every > 0 ? p.eval_every : p.steps) + " steps)";
  write_text_atomic(run.curves + ".svg", viz::training_curves_svg(tc));
  std::cout << "outputs in " << run.dir << "/: best.safetensors, last.safetensors, model.json, "
            << "run.json, history.csv, history.jsonl, history.json, result.json, curves.svg\n"
            << "sample:  sinapsis generate " << run.dir << " --tokens 500\n";
}

}  // namespace

void run_text_training(const TextTrainArgs& a, const std::string& out_dir, bool resume) {
  apply_threads(a.threads);
  manual_seed(a.seed);
  RunPaths run(out_dir);
  const Plan p = plan_for(a);

  const std::string text = data::read_text_file(text_path(a.data));
  train::CheckpointInfo info;
  if (resume) {
    SN_CHECK(fs::exists(run.last), IOError, "resume: '", run.last, "' not found");
    info = train::read_checkpoint_info(run.last);
  }
  data::TextCorpus c = resume ? data::make_text_corpus(
                                    text, data::tokenizer_from_json(
                                              parse_entry(info.extra, "tokenizer", run.last).dump(),
                                              run.last + ": checkpoint entry 'tokenizer'"))
                              : data::make_text_corpus(text, a.text.tokenizer);
  std::cout << "data:   "
            << (a.data.data == "kjv" ? "kjv (" + text_path(a.data) + ")" : a.data.data) << ": "
            << c.description << "\n";
  const int64_t vocab = c.tokenizer->vocab_size();
  // before the model is built for windows of that size
  SN_CHECK(static_cast<int64_t>(c.train.size()) - 2 >= p.block, ValueError, "--block ", p.block,
           ": the training part has ", c.train.size(), " tokens, too few for windows of ", p.block,
           " + 1 tokens; hint: a smaller --block or a longer text");
  const std::string spec_text = resume ? read_text(run.spec) : new_spec(a, p, vocab);
  nn::BuiltModel built = nn::build_model(spec_text, Shape{p.block},
                                         resume                 ? "'" + run.spec + "'"
                                         : a.model_file.empty() ? ""
                                                                : "'" + a.model_file + "'");
  nn::Module& model = *built.module;
  check_model_fits(model, vocab, p.block);
  check_batch_memory("--batch-size", p.batch, model, Shape{p.block}, kInt64);
  data::TokenWindows train_w(c.train, p.block), val_w(c.val, p.block);
  val_w.eval_batches(1);
  const int64_t period = a.text.tbptt ? train_w.stream_period(p.batch) : 0;
  auto opt = make_optimizer(model, p);
  optim::WarmupCosineLR sched(*opt,
                              {.warmup = p.warmup, .total_steps = p.steps, .min_lr = p.min_lr});
  const bool created =
      resume ? false
             : claim_run_dir(run.dir, a.overwrite,
                             {{"text", text_path(a.data)}, {"model spec", a.model_file}});
  fs::create_directories(run.dir);
  RunCleanup cleanup(run.dir, created);

  const int64_t every = p.eval_every > 0 ? p.eval_every : p.steps;
  int64_t initial_step = 0;
  train::History previous;
  if (resume) {
    info = train::load_checkpoint(run.last, model, *opt, {.scheduler = &sched});
    initial_step = std::min(info.epoch * every, p.steps);
    // history.json, or the copy older checkpoints embedded
    previous = fs::exists(run.dir + "/history.json")
                   ? train::History::load(run.dir + "/history.json")
                   : info.history;
    SN_CHECK(initial_step < p.steps, ValueError, "resume: the run already has ", initial_step,
             " of ", p.steps, " steps; hint: pass --steps N with N > ", initial_step);
    std::cout << "resume: from step " << initial_step << " of " << p.steps << "\n";
    json runj = detail::read_json_file<IOError>(run.run_json, "resume: '" + run.run_json + "'",
                                                {.max_bytes = 1 << 20, .max_depth = 16});
    runj["text"]["steps"] = p.steps;
    write_text_atomic(run.run_json, runj.dump(2) + "\n");
  } else {
    write_text_atomic(run.spec, built.spec + "\n");
    write_text_atomic(run.run_json, a.run_json().dump(2) + "\n");
  }
  std::cout << "model:  " << (a.model_file.empty() ? "preset " + a.preset : a.model_file) << ", "
            << model.num_parameters() << " parameters\n"
            << "optimizer: AdamW lr " << p.lr << " -> " << p.min_lr << " (warm-up " << p.warmup
            << "), betas 0.9/" << p.beta2 << ", weight decay " << p.weight_decay << ", clip "
            << p.clip << "; batch " << p.batch << ", block " << p.block << ", steps " << p.steps
            << (a.text.tbptt ? ", truncated BPTT" : "") << ", threads " << get_num_threads()
            << "\n";

  json meta = {{"block", p.block},
               {"context", generation_context(model, built.spec, p.block)},
               {"eval_every", every}};
  const std::map<std::string, std::string> extra = {{"tokenizer", c.tokenizer->to_json()},
                                                    {"data", a.data.to_json().dump()},
                                                    {"text", meta.dump()}};
  auto batches = [&](int64_t i) {
    return a.text.tbptt ? train_w.stream_batch(p.batch, i) : train_w.random_batch(p.batch);
  };
  std::vector<train::CallbackPtr> callbacks = run_callbacks(run, built.spec, extra, resume);
  train::CallbackPtr on_ctrl_c = interrupt_checkpoint(run, built.spec, extra);
  callbacks.push_back(on_ctrl_c);
  install_interrupt_handler();
  train::History h;
  try {
    h = train::fit_steps(model, train::token_cross_entropy, *opt, batches,
                         {.steps = p.steps,
                          .eval_every = every,
                          .validate = [&](nn::Module& m) { return train::window_loss(m, val_w); },
                          .callbacks = callbacks,
                          .scheduler = &sched,
                          .clip_grad_norm = p.clip,
                          .state_period = period,
                          .initial_step = initial_step,
                          .initial_history = previous,
                          .stop_on_nonfinite = true});
  } catch (const train::DivergenceError& e) {
    diverged(e, run, p.lr, every);
  }
  cleanup.dismiss();
  finish_interrupted(on_ctrl_c, run);
  write_results(run, h, c, a, p, model.num_parameters());
}

// ---------------------------------------------------------------- eval

bool is_text_checkpoint(const std::string& checkpoint) {
  return train::read_checkpoint_info(checkpoint).extra.count("tokenizer") > 0;
}

void eval_text(const std::string& file, const std::string& data_override) {
  train::CheckpointInfo info = train::read_checkpoint_info(file);
  SN_CHECK(!info.model_spec.empty(), IOError, file, ": checkpoint holds no model spec");
  auto tok = data::tokenizer_from_json(parse_entry(info.extra, "tokenizer", file).dump(),
                                       file + ": checkpoint entry 'tokenizer'");
  DataSpec ds = DataSpec::from_json(parse_entry(info.extra, "data", file));
  if (!data_override.empty()) ds.data = data_override;
  SN_CHECK(is_text_data(ds.data), ValueError, "eval: '", ds.data,
           "' is not text data; hint: --data text:PATH");
  const json text = parse_entry(info.extra, "text", file);
  const std::string where = file + ": checkpoint entry 'text'";
  detail::json_field<IOError>(text, "block", where);
  const int64_t block = detail::json_int<IOError>(text, "block", 0, where);
  nn::BuiltModel built = nn::build_model(info.model_spec, Shape(), "in '" + file + "'");
  train::load_checkpoint(file, *built.module, {.restore_rng = false});
  data::TextCorpus c = data::make_text_corpus(data::read_text_file(text_path(ds)), tok);
  data::TokenWindows val(c.val, block);
  const double loss = train::window_loss(*built.module, val);
  std::cout << "model: " << file << " (" << built.module->num_parameters() << " parameters)\n"
            << "data: " << ds.data << ": " << c.description << "\n"
            << "val_loss " << fmt(loss) << " nats/token over " << val.num_eval_windows() * block
            << " tokens";
  if (tok->kind() == "char") std::cout << " (" << fmt(loss / std::log(2.0)) << " bits/char)";
  std::cout << "\n";
}

}  // namespace sn::cli
