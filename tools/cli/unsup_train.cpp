// Autoencoder runs of `sinapsis train`, `resume` and `eval`: a model trained to reproduce its
// input (presets autoencoder, conv-autoencoder, vae, or --model FILE --reconstruct), optionally
// from a noisy copy of it (--denoise), with the recipe of shared/reference/generative.py --model
// ae (Adam 1e-3, batch 128, constant rate, all the training images). The run folder holds what
// any run's holds, the test reconstruction error in result.json and two pictures: test images
// beside their reconstructions (reconstructions.png) and the codes of test images in two
// dimensions, coloured by class (latent.svg). The work is the library's (train/autoencoder.h).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kPresets = {"autoencoder", "conv-autoencoder", "vae"};

// An autoencoder run's run.json: train's options (TrainArgs::to_json) and the "autoencoder" entry
// that marks the kind of run; read back by TrainArgs::from_json plus that entry.
json ae_run_json(const TrainArgs& a) {
  json j = a.to_json();
  j["autoencoder"] = {{"denoise", a.autoencoder.denoise}};
  return j;
}
TrainArgs ae_args_from_json(const json& j) {
  TrainArgs a = TrainArgs::from_json(j);
  if (j.contains("autoencoder")) a.autoencoder.denoise = j["autoencoder"].value("denoise", "");
  return a;
}

// --denoise KIND:AMOUNT
struct Noise {
  std::string kind;  // "" (none), "gaussian" or "mask"
  double amount = 0;
};

Noise parse_denoise(const std::string& s) {
  if (s.empty()) return {};
  const size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon);
  SN_CHECK(colon != std::string::npos && (kind == "gaussian" || kind == "mask"), ValueError,
           "--denoise: expected gaussian:STD (added noise) or mask:P (a fraction of the values "
           "set to 0), e.g. gaussian:0.3 (got '",
           detail::cut_text(s), "')");
  const std::string v = s.substr(colon + 1);
  double x = 0;
  size_t used = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SN_CHECK(used > 0 && used == v.size() && std::isfinite(x), ValueError, "--denoise ",
           detail::cut_text(s), ": '", detail::cut_text(v), "' is not a number");
  if (kind == "gaussian")
    SN_CHECK(x > 0, ValueError, "--denoise ", s,
             ": the noise's standard deviation must be > 0 (got ", v, ")");
  else
    SN_CHECK(x > 0 && x < 1, ValueError, "--denoise ", s,
             ": the masked fraction must be in (0, 1) (got ", v, ")");
  return {kind, x};
}

json noise_layer(const Noise& n) {
  if (n.kind == "gaussian") return {{"type", "GaussianNoise"}, {"std", n.amount}};
  return {{"type", "MaskNoise"}, {"p", n.amount}};
}

// The model's own noise layer, for the picture of noisy inputs (null without one).
std::shared_ptr<nn::Module> noise_module(const Noise& n) {
  if (n.kind == "gaussian") return std::make_shared<nn::GaussianNoise>(n.amount);
  if (n.kind == "mask") return std::make_shared<nn::MaskNoise>(n.amount);
  return nullptr;
}

// The spec of a new run: the preset's (or the user's file), behind the input noise.
std::string new_spec(const TrainArgs& a, const Shape& input, const Noise& noise) {
  std::string text = a.model_file.empty()
                         ? nn::preset_spec(a.preset, input, 0)
                         : detail::read_json_text(a.model_file, "--model", {.max_bytes = 16 << 20});
  if (noise.kind.empty()) return text;
  json j = detail::parse_json(text, "model spec '" + a.model_file + "'", {.max_depth = 64});
  SN_CHECK(j.is_object() && j.contains("layers") && j["layers"].is_array(), ValueError,
           "model spec '", a.model_file,
           "': needs a \"layers\" list for --denoise to put the "
           "noise in front of");
  j["layers"].insert(j["layers"].begin(), noise_layer(noise));
  return j.dump(2);
}

// A BCE needs targets in [0, 1]: a CSV is checked (image data sets are read as pixels / 255).
void check_unit_range(const LoadedData& d, const TrainArgs& a) {
  if (!is_csv_data(a.data)) return;
  NoGradGuard ng;
  data::DataLoader all(d.train, {.batch_size = 4096, .prefetch = 0});
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (auto& b : all) {
    lo = std::min(lo, sn::min(b.x).item());
    hi = std::max(hi, sn::max(b.x).item());
  }
  SN_CHECK(lo >= 0 && hi <= 1, ValueError, "train: ", a.data.data, " has values in [", lo, ", ", hi,
           "], but an autoencoder with a final Sigmoid reproduces values in [0, 1] (its loss "
           "is a binary cross-entropy); hint: scale the columns to [0, 1], or --model a spec "
           "without a final Sigmoid (trained with the mean squared error)");
}

// The model takes the data's examples and gives back as many values.
void check_model(const nn::BuiltModel& m, const LoadedData& d, const std::string& who,
                 const std::string& data) {
  const int64_t n = d.input_shape.numel();
  SN_CHECK(m.input_shape.numel() == n, ShapeError, who, ": ", data, " has examples of shape ",
           d.input_shape, " but the model takes ", m.input_shape);
  SN_CHECK(m.output_shape.numel() == n, ShapeError, who,
           ": an autoencoder gives back as many values as it takes, but the model gives ",
           m.output_shape, " for inputs ", d.input_shape, "; hint: its last layer needs ", n,
           " outputs");
}

// Rows of `cols` test images, each row followed by the same images noised (denoising runs) and
// by the model's reconstructions.
void write_reconstructions(nn::Module& model, const LoadedData& d, const Noise& noise,
                           const std::string& path) {
  NoGradGuard ng;
  constexpr int64_t kCols = 16;
  const int64_t n = std::min<int64_t>(2 * kCols, d.test->size());
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  const Tensor x = d.test->get_batch(idx).x;
  Tensor in = x;
  if (auto nm = noise_module(noise)) in = (*nm)(x);  // a new module is in training mode
  const bool was = model.is_training();
  model.eval();
  Tensor rec = model(in).reshape(x.shape());
  model.train(was);
  std::vector<Tensor> sets = {x};
  if (!noise.kind.empty()) sets.push_back(in);
  sets.push_back(rec);
  std::vector<Tensor> rows;
  for (int64_t s = 0; s < n; s += kCols)
    for (const Tensor& t : sets) rows.push_back(t.narrow(0, s, std::min(kCols, n - s)));
  viz::write_png(
      viz::image_grid(cat(rows, 0),
                      {.cols = static_cast<int>(std::min(kCols, n)), .scale = 2, .padding = 2}),
      path);
}

// The codes of up to 2000 test images in two dimensions, coloured by class.
void write_latent(nn::Module& model, const LoadedData& d, const std::string& what,
                  const std::string& path) {
  NoGradGuard ng;
  const int64_t n = std::min<int64_t>(2000, d.test->size());
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  const data::Example e = d.test->get_batch(idx);
  Tensor codes = train::encode(model, e.x).reshape(Shape{n, -1});
  const int64_t width = codes.size(1);
  Tensor points;
  std::string xl, yl;
  if (width <= 2) {
    points = width == 2 ? codes : cat({codes, zeros_like(codes)}, 1);
    xl = width == 2 ? "z1" : "z";
    yl = width == 2 ? "z2" : "";
  } else {
    train::Pca p = train::principal_components(codes, 2);
    points = p.scores;
    xl = "PC1 of the " + std::to_string(width) + "-value codes (" + fmt(100 * p.explained[0], 1) +
         "% of the variance)";
    yl = "PC2 (" + fmt(100 * p.explained[1], 1) + "%)";
  }
  const Tensor labels =
      d.classification && e.y.defined() ? e.y : zeros(Shape{n}, {.dtype = kInt64});
  std::vector<std::string> names =
      d.classification ? d.class_names : std::vector<std::string>{"example"};
  write_text_atomic(path, viz::scatter_svg(points, labels,
                                           {.title = "codes of " + std::to_string(n) +
                                                     " test images (" + what + ")",
                                            .x_label = xl,
                                            .y_label = yl,
                                            .class_names = names}));
}

void run_autoencoder(const TrainArgs& a, const std::string& out_dir, bool resume,
                     int64_t planned_epochs) {
  apply_threads(a.threads);
  manual_seed(a.seed);
  RunPaths run(out_dir);
  SN_CHECK(!is_text_data(a.data.data), ValueError,
           "train: an autoencoder reproduces images or CSV rows, not text (--data ", a.data.data,
           ")");
  const Noise noise = parse_denoise(a.autoencoder.denoise);
  LoadedData d = load_data(a.data, nullptr, /*normalise=*/false);
  std::cout << "data:   " << d.description << "\n";
  const std::string spec_text = resume ? read_text(run.spec) : new_spec(a, d.input_shape, noise);
  nn::BuiltModel built = nn::build_model(spec_text, d.input_shape,
                                         resume                 ? "'" + run.spec + "'"
                                         : a.model_file.empty() ? ""
                                                                : "'" + a.model_file + "'");
  check_model(built, d, "train", a.data.data);
  train::AutoencoderTraining t = train::autoencoder_training(built.module);
  if (t.logits) check_unit_range(d, a);
  nn::Module& model = *built.module;
  auto opt = make_optimizer(a, model.parameters());
  data::DatasetPtr pairs = train::reconstruction_dataset(d.train);
  if (a.val_split > 0)
    SN_CHECK(std::llround(a.val_split * static_cast<double>(pairs->size())) > 0, ValueError,
             "--val-split ", a.val_split, " of ", pairs->size(),
             " training examples leaves no validation example; hint: --val-split 0");
  const int64_t fit_examples =
      a.val_split > 0 ? data::train_validation_split(pairs, a.val_split, a.seed).train->size()
                      : pairs->size();
  const std::string monitor = a.val_split > 0 ? "val_loss" : "loss";
  const bool created =
      resume ? false
             : claim_run_dir(run.dir, a.overwrite,
                             {{"data file", a.data.data}, {"model spec", a.model_file}});
  fs::create_directories(run.dir);
  RunCleanup cleanup(run.dir, created);

  train::History previous;
  int64_t initial_epoch = 0;
  if (resume) {
    SN_CHECK(fs::exists(run.last), IOError, "resume: '", run.last, "' not found");
    train::CheckpointInfo info = train::load_checkpoint(run.last, model, *opt);
    initial_epoch = info.epoch;
    previous = fs::exists(run.dir + "/history.json")
                   ? train::History::load(run.dir + "/history.json")
                   : info.history;
    SN_CHECK(initial_epoch < a.epochs, ValueError, "resume: the run already has ", initial_epoch,
             " of ", a.epochs, " epochs; hint: pass --epochs N with N > ", initial_epoch);
    std::cout << "resume: from epoch " << initial_epoch << " of " << a.epochs << " (" << run.last
              << ")\n";
    if (a.epochs != planned_epochs) {
      json runj = detail::read_json_file<IOError>(run.run_json, "resume: '" + run.run_json + "'",
                                                  {.max_bytes = 1 << 20, .max_depth = 16});
      runj["epochs"] = a.epochs;
      write_text_atomic(run.run_json, runj.dump(2) + "\n");
    }
  } else {
    write_text_atomic(run.spec, built.spec + "\n");
    json runj = ae_run_json(a);
    runj["input_shape"] = d.input_shape.vec();
    write_text_atomic(run.run_json, runj.dump(2) + "\n");
  }
  Shape batch_in = d.input_shape;
  batch_in.insert(0, 1);
  std::cout << "model:  " << (a.model_file.empty() ? "preset " + a.preset : a.model_file)
            << (noise.kind.empty()
                    ? ""
                    : ", denoising (" + a.autoencoder.denoise + " on the input only)")
            << "\n"
            << model.summary(batch_in) << "loss: " << t.description << "\n"
            << "optimizer: " << opt->name() << " lr " << opt->lr() << " (constant), batch "
            << a.batch_size << ", epochs " << a.epochs << ", threads " << get_num_threads() << "\n";

  const bool drop_single = fit_examples > a.batch_size && fit_examples % a.batch_size == 1;
  data::DataLoader loader(
      pairs,
      {.batch_size = a.batch_size, .shuffle = true, .drop_last = drop_single, .seed = a.seed});
  const std::map<std::string, std::string> extra = {
      {"autoencoder", json{{"denoise", a.autoencoder.denoise}, {"loss", t.description}}.dump()},
      {"data", a.data.to_json().dump()},
      {"classes", json(d.class_names).dump()},
      {"features", json(d.feature_names).dump()}};
  std::vector<train::CallbackPtr> callbacks = {
      std::make_shared<train::ProgressBar>(),
      // before the checkpoints: history.json is never older than last.safetensors
      std::make_shared<train::HistoryFile>(run.dir + "/history.json"),
      std::make_shared<train::ModelCheckpoint>(
          train::ModelCheckpointOptions{.path = run.best,
                                        .monitor = monitor,
                                        .save_best_only = true,
                                        .model_spec = built.spec,
                                        .extra = extra}),
      std::make_shared<train::ModelCheckpoint>(train::ModelCheckpointOptions{
          .path = run.last, .model_spec = built.spec, .extra = extra}),
      std::make_shared<train::CsvLogger>(run.history_csv, train::LoggerOptions{.append = resume}),
      std::make_shared<train::JsonLinesLogger>(run.history_jsonl,
                                               train::LoggerOptions{.append = resume})};
  std::shared_ptr<train::EarlyStopping> early;
  if (a.patience > 0) {
    early = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{
        .monitor = monitor, .patience = a.patience, .restore_best_weights = true});
    callbacks.push_back(early);
  }
  train::CallbackPtr on_ctrl_c = interrupt_checkpoint(run, built.spec, extra);
  callbacks.push_back(on_ctrl_c);
  install_interrupt_handler();
  train::History h;
  const auto fit_start = std::chrono::steady_clock::now();
  try {
    h = train::fit(*t.trainee, t.loss, *opt, loader,
                   {.epochs = a.epochs,
                    .validation_split = a.val_split,
                    .validation_seed = a.seed,
                    .callbacks = callbacks,
                    .initial_epoch = initial_epoch,
                    .initial_history = previous,
                    .stop_on_nonfinite = true});
  } catch (const train::DivergenceError& e) {
    diverged(e, run, opt->lr());
  }
  const double fit_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();
  cleanup.dismiss();
  finish_interrupted(on_ctrl_c, run);

  // the test set, with the best weights
  if (fs::exists(run.best)) train::load_checkpoint(run.best, model, {.restore_rng = false});
  std::cout << "\n";
  if (h.best_epoch >= 0)
    std::cout << "best epoch: " << h.best_epoch + 1 << " (by " << h.monitor << ")\n";
  json summary = {{"epochs_run", h.size()}, {"best_epoch", h.best_epoch + 1}};
  summary["fit_wall_s"] = fit_s;  // this session's epochs, validation included
  std::string outputs = "curves.svg";
  if (d.test->size() > 0) {
    data::DataLoader test_loader(d.test, {.batch_size = 1000});
    const train::ReconstructionError r = train::evaluate_reconstruction(model, test_loader);
    std::cout << "test reconstruction: BCE " << fmt(r.bce) << ", MSE " << fmt(r.mse)
              << " (mean over values, " << r.examples << " examples)";
    if (t.latent) std::cout << ", KL " << fmt(r.kl) << " per example";
    std::cout << "\n";
    summary["test_bce"] = r.bce;
    summary["test_mse"] = r.mse;
    if (t.latent) summary["test_kl"] = r.kl;
    summary["test_examples"] = r.examples;
    // the pictures; data that are not images (a CSV of 10 columns) get no reconstruction grid
    try {
      write_reconstructions(model, d, noise, run.dir + "/reconstructions.png");
      outputs += ", reconstructions.png";
    } catch (const ValueError& e) {
      std::cout << "reconstructions.png: not drawn (" << e.what() << ")\n";
    }
    const std::string what = a.model_file.empty() ? a.preset : a.model_file;
    write_latent(model, d, what, run.dir + "/latent.svg");
    outputs += ", latent.svg";
  } else {
    std::cout << "test: no test examples; test reconstruction error omitted\n";
  }
  write_text_atomic(run.dir + "/result.json", summary.dump(2) + "\n");
  viz::TrainingCurves tc;
  tc.train_loss = h.series("loss");
  tc.val_loss = h.series("val_loss");
  tc.metric_name = "";
  tc.best_epoch = h.best_epoch + 1;
  tc.stopped_epoch = early && early->stopped_epoch() >= 0 ? early->stopped_epoch() + 1 : 0;
  tc.title = "sinapsis train --data " + a.data.data + " (" + t.description.substr(0, 40) + "...)";
  write_text_atomic(run.curves + ".svg", viz::training_curves_svg(tc));
  std::cout << "outputs in " << run.dir
            << "/: best.safetensors, last.safetensors, model.json, run.json, history.csv, "
            << "history.jsonl, history.json, result.json, " << outputs << "\n";
}

}  // namespace

void add_autoencoder_options(CLI::App* cmd, AutoencoderOptions& o) {
  const std::string g = "Autoencoders (--preset autoencoder, conv-autoencoder, vae)";
  cmd->add_option("--denoise", o.denoise,
                  "a denoising autoencoder: gaussian:STD (noise added) or mask:P (a fraction P "
                  "of the values set to 0) on the input in training; the target stays clean")
      ->group(g);
  cmd->add_flag("--reconstruct", o.reconstruct,
                "train the --model spec to reproduce its input (an autoencoder)")
      ->group(g);
}

bool is_autoencoder_run(const std::string& preset, bool model_file_given,
                        const AutoencoderOptions& o) {
  if (o.reconstruct) return true;
  if (model_file_given) return false;
  return std::find(kPresets.begin(), kPresets.end(), preset) != kPresets.end();
}

void train_autoencoder(TrainArgs a, const CLI::App& cmd, const std::string& out) {
  refuse_given(
      cmd,
      {"--schedule", "--label-smoothing", "--step-size", "--milestones", "--gamma", "--pct-start",
       "--plateau-patience", "--warmup-epochs", "--clip-grad", "--task", "--tokenizer", "--steps",
       "--eval-every", "--warmup", "--min-lr", "--block", "--tbptt"},
      "by autoencoder runs (a constant learning rate, as generative.py)");
  SN_CHECK(!a.autoencoder.reconstruct || !a.model_file.empty(), ValueError,
           "--reconstruct: needs --model FILE (the autoencoder presets reconstruct already)");
  parse_denoise(a.autoencoder.denoise);  // a bad --denoise is refused before the data are loaded
  a.schedule = "none";
  if (a.batch_size <= 0) a.batch_size = 128;
  // generative.py trains on all the training images: validation only when asked for
  if (cmd.get_option("--val-split")->count() == 0) a.val_split = 0;
  SN_CHECK(a.optimizer != "lbfgs", ValueError,
           "--optimizer lbfgs: not for autoencoder runs (adam, adamw, sgd, rmsprop, adagrad or "
           "adadelta)");
  run_autoencoder(a, out, false, a.epochs);
}

void resume_autoencoder(const std::string& dir, const json& j, int64_t epochs, int threads) {
  detail::check_like(j, ae_run_json(TrainArgs{}), "resume: '" + RunPaths(dir).run_json + "'",
                     {"input_shape"});
  TrainArgs a = ae_args_from_json(j);
  const int64_t planned = a.epochs;
  if (epochs > 0) a.epochs = epochs;
  a.threads = threads;
  run_autoencoder(a, dir, true, planned);
}

bool is_autoencoder_checkpoint(const std::string& checkpoint) {
  return train::read_checkpoint_info(checkpoint).extra.count("autoencoder") > 0;
}

void eval_autoencoder(const std::string& file, const std::string& data_override) {
  train::CheckpointInfo info = train::read_checkpoint_info(file);
  SN_CHECK(!info.model_spec.empty(), IOError, file, ": checkpoint holds no model spec");
  auto entry = [&](const std::string& key) {
    auto it = info.extra.find(key);
    SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key,
             "' entry; it was not written by an autoencoder run of `sinapsis train`");
    return detail::parse_json<IOError>(it->second, file + ": checkpoint entry '" + key + "'",
                                       {.max_depth = 8});
  };
  nn::BuiltModel built = nn::build_model(info.model_spec, Shape(), "in '" + file + "'");
  train::load_checkpoint(file, *built.module, {.restore_rng = false});
  DataSpec ds;
  TrainedData t;
  try {
    ds = DataSpec::from_json(entry("data"));
    t.classes = entry("classes").get<std::vector<std::string>>();
    t.features = entry("features").get<std::vector<std::string>>();
  } catch (const json::exception&) {
    SN_THROW(IOError, file, ": a checkpoint entry (data, classes, features) has the wrong type");
  }
  if (!data_override.empty() && data_override != ds.data) {
    ds.data = data_override;
    t.whole_file = is_csv_data(ds);  // another CSV: every row is a test example
  }
  LoadedData d = load_data(ds, &t, /*normalise=*/false);
  check_model(built, d, "eval", ds.data);
  SN_CHECK(d.test->size() > 0, ValueError, "eval: the test split of ", ds.data, " is empty");
  data::DataLoader loader(d.test, {.batch_size = 1000});
  const train::ReconstructionError r = train::evaluate_reconstruction(*built.module, loader);
  std::cout << "model: " << file << " (epoch " << info.epoch << ", "
            << built.module->num_parameters() << " parameters, an autoencoder)\n"
            << "data: " << d.description << (t.whole_file ? ", every row" : ", its test split")
            << "\n"
            << "test reconstruction: BCE " << fmt(r.bce) << ", MSE " << fmt(r.mse)
            << " (mean over values, " << r.examples << " examples)";
  if (std::isfinite(r.kl)) std::cout << ", KL " << fmt(r.kl) << " per example";
  std::cout << "\n";
}

}  // namespace sn::cli
