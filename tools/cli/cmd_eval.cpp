// `sinapsis eval` (test-set loss, accuracy and confusion matrix of a trained model),
// `sinapsis predict` (CSV or IDX in, predictions out) and `sinapsis info` (what a safetensors
// file or checkpoint holds).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <sinapsis/io/read_file.h>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json parse_meta(const train::CheckpointInfo& info, const std::string& key,
                const std::string& file) {
  auto it = info.extra.find(key);
  SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key,
           "' entry; it was not written by `sinapsis train`");
  return detail::parse_json<IOError>(it->second, file + ": checkpoint entry '" + key + "'",
                                     {.max_depth = 8});
}

// A checkpoint entry as T; a wrong type is an error naming the file and the entry.
template <class T>
T meta_as(const json& j, const std::string& key, const std::string& file) {
  try {
    return j.get<T>();
  } catch (const json::exception&) {
    SN_THROW(IOError, file, ": checkpoint entry '", key, "' has the wrong type (", j.type_name(),
             ")");
  }
}

// Every field read from the checkpoint is checked against the model before it is used: the
// classes against its outputs, the normalisation and feature names against its inputs.
void check_against_model(TrainedData& t, const nn::BuiltModel& m, const std::string& file) {
  const int64_t outs = m.output_shape.numel(), ins = m.input_shape.numel();
  if (!t.classes.empty())
    SN_CHECK(static_cast<int64_t>(t.classes.size()) == outs, IOError, file,
             ": the checkpoint lists ", t.classes.size(), " classes but the model has ", outs,
             " outputs");
  else
    SN_CHECK(outs == 1, IOError, file,
             ": the checkpoint lists no classes (a regression model) but the model has ", outs,
             " outputs");
  const size_t nm = t.mean.size();
  SN_CHECK(nm == t.std.size() && (nm == 1 || static_cast<int64_t>(nm) == ins), IOError, file,
           ": the checkpoint's normalisation has ", nm, " means and ", t.std.size(),
           " standard deviations, but the model takes ", ins, " inputs ", m.input_shape,
           " (expected 1 or ", ins, " of each)");
  for (size_t i = 0; i < nm; ++i) {
    SN_CHECK(std::isfinite(t.mean[i]) && std::isfinite(t.std[i]) && t.std[i] >= 0, IOError, file,
             ": the checkpoint's normalisation of input ", i, " is not usable (mean ", t.mean[i],
             ", std ", t.std[i], ")");
    if (t.std[i] == 0) t.std[i] = 1;  // a constant column: centred only (as training does)
  }
  if (!t.features.empty())
    SN_CHECK(static_cast<int64_t>(t.features.size()) == ins, IOError, file,
             ": the checkpoint lists ", t.features.size(), " feature columns but the model takes ",
             ins, " inputs");
}

}  // namespace

Restored restore(const std::string& run_or_file, std::ostream& log) {
  const std::string file = resolve_checkpoint(run_or_file);
  Restored r;
  r.info = train::read_checkpoint_info(file);
  SN_CHECK(!r.info.model_spec.empty(), IOError, file,
           ": checkpoint holds no model spec, so the model cannot be rebuilt");
  r.built = nn::build_model(r.info.model_spec, Shape(), "in '" + file + "'");
  train::load_checkpoint(file, *r.built.module, {.restore_rng = false});
  const json data = parse_meta(r.info, "data", file);
  SN_CHECK(data.is_object(), IOError, file, ": checkpoint entry 'data' is not an object");
  try {
    r.data = DataSpec::from_json(data);
  } catch (const json::exception&) {
    SN_THROW(IOError, file, ": checkpoint entry 'data' has a field of the wrong type");
  }
  TrainedData& t = r.trained;
  t.classes =
      meta_as<std::vector<std::string>>(parse_meta(r.info, "classes", file), "classes", file);
  const json norm = parse_meta(r.info, "normalisation", file);
  SN_CHECK(norm.is_object() && norm.contains("mean") && norm.contains("std"), IOError, file,
           ": checkpoint entry 'normalisation' needs 'mean' and 'std'");
  t.mean = meta_as<std::vector<double>>(norm.at("mean"), "normalisation.mean", file);
  t.std = meta_as<std::vector<double>>(norm.at("std"), "normalisation.std", file);
  if (r.info.extra.count("features"))
    t.features =
        meta_as<std::vector<std::string>>(parse_meta(r.info, "features", file), "features", file);
  check_against_model(t, r.built, file);
  log << "model: " << file << " (epoch " << r.info.epoch << ", " << r.built.module->num_parameters()
      << " parameters)\n";
  return r;
}

namespace {

// --features at eval/predict: the new file's names for the model's columns, in the model's order.
void use_features(TrainedData& t, const std::vector<std::string>& given, const nn::BuiltModel& m) {
  if (given.empty()) return;
  SN_CHECK(static_cast<int64_t>(given.size()) == m.input_shape.numel(), ValueError,
           "--features: the model takes ", m.input_shape.numel(), " feature columns (got ",
           given.size(), ")");
  t.features = given;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || fs::equivalent(a, b, ec);
}

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on its test set");
  auto run = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto svg = std::make_shared<std::string>();
  auto features = std::make_shared<std::vector<std::string>>();
  auto delimiter = std::make_shared<std::string>();
  cmd->add_option("run", *run, "run folder or checkpoint file")->required();
  cmd->add_option("--data", *data,
                  "data set to evaluate on (default: the test split of the one it was trained "
                  "on; another CSV file is evaluated whole)");
  cmd->add_option("--features", *features,
                  "CSV: this file's names for the model's feature columns, in the model's order "
                  "(default: the names it was trained with)")
      ->delimiter(',');
  cmd->add_option("--delimiter", *delimiter,
                  "CSV: field separator, one character or 'tab' (default: the training one)");
  auto device = std::make_shared<std::string>("cpu");
  add_device_option(cmd, *device);
  cmd->add_option("--confusion-svg", *svg,
                  "classification: write the confusion matrix as SVG here (default: "
                  "confusion.svg in the run folder when RUN is a folder; '-': none)");
  cmd->callback([cmd, run, data, svg, features, delimiter, device] {
    const Device dev = parse_device(*device);
    if (const std::string file = resolve_checkpoint(*run); is_text_checkpoint(file)) {
      SN_CHECK(dev.is_cpu(), DeviceError, "eval: --device ", dev,
               ": text runs are evaluated on the CPU so far (docs/backends.md)");
      eval_text(file, *data);
      return;
    } else if (is_autoencoder_checkpoint(file)) {
      refuse_given(*cmd, {"--features", "--delimiter", "--confusion-svg"},
                   "by an autoencoder's eval");
      SN_CHECK(dev.is_cpu(), DeviceError, "eval: --device ", dev,
               ": autoencoders are evaluated on the CPU so far (docs/backends.md)");
      eval_autoencoder(file, *data);
      return;
    }
    Restored r = restore(*run);
    if (!dev.is_cpu()) r.built.module->to(dev);  // evaluate moves each batch there
    DataSpec ds = r.data;
    TrainedData t = r.trained;
    use_features(t, *features, r.built);
    if (!delimiter->empty()) ds.delimiter = *delimiter;
    if (!data->empty() && !same_file(*data, ds.data)) {
      ds.data = *data;
      t.whole_file = is_csv_data(ds);  // another CSV: every row is a test example
    }
    LoadedData d = load_data(ds, &t);
    check_model_fits_data(d, r.built, "eval", ds.data);
    SN_CHECK(d.test->size() > 0, ValueError, "eval: the test split of ", ds.data,
             " is empty (--test-split ", ds.test_split,
             " of a tiny data set); hint: eval --data FILE evaluates every row of a file");
    data::DataLoader loader(d.test, {.batch_size = 1000});
    train::LossFn lf;
    std::vector<train::MetricPtr> ms;
    std::shared_ptr<train::ConfusionMatrix> cm;
    if (d.classification) {
      lf = [](const Tensor& o, const Tensor& y) { return loss::cross_entropy(o, y); };
      cm = std::make_shared<train::ConfusionMatrix>(d.num_outputs, d.class_names);
      ms = {std::make_shared<train::Accuracy>(),
            std::make_shared<train::TopKAccuracy>(std::min<int64_t>(3, d.num_outputs)), cm};
    } else {
      lf = [](const Tensor& o, const Tensor& y) { return loss::mse(o, y); };
      ms = {std::make_shared<train::MeanAbsoluteError>()};
    }
    train::EvalResult res = train::evaluate(*r.built.module, lf, loader, ms);
    std::cout << "data: " << d.description << (t.whole_file ? ", every row" : ", its test split")
              << "\n"
              << "test loss " << fmt(res.loss) << " over " << res.examples << " examples\n";
    for (auto& [k, v] : res.metrics) std::cout << k << " " << fmt(v) << "\n";
    if (cm) {
      std::cout << "\n" << cm->report() << "\n" << cm->to_string();
      std::string path = *svg;
      if (path.empty() && fs::is_directory(*run))
        path = (fs::path(*run) / "confusion.svg").string();
      if (!path.empty() && path != "-") {
        // a picture of at most kDrawn classes: those with the most examples
        constexpr int64_t kDrawn = 50;
        const std::vector<int64_t> drawn = cm->top_classes(kDrawn);
        const bool all = d.num_outputs <= kDrawn;
        std::vector<int64_t> counts;
        std::vector<std::string> names;
        for (size_t i = 0; !all && i < drawn.size(); ++i) {
          names.push_back(d.class_names[static_cast<size_t>(drawn[i])]);
          for (int64_t p : drawn) counts.push_back(cm->count(drawn[i], p));
        }
        const auto k = static_cast<int64_t>(drawn.size());
        std::string title = "sinapsis eval: " + ds.data + " (" + std::to_string(res.examples) +
                            " examples" +
                            (all ? ")"
                                 : "; the " + std::to_string(k) + " classes with the most of " +
                                       std::to_string(d.num_outputs) + ")");
        write_text_atomic(
            path, viz::confusion_matrix_svg(all ? cm->matrix() : tensor(counts, Shape{k, k}),
                                            all ? d.class_names : names, {.title = title}));
        std::cout << "confusion matrix: " << path
                  << (all ? "" : " (the " + std::to_string(k) + " classes with the most examples)")
                  << "\n";
      }
    }
  });
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// index,class,label,probability: the most likely class; then label_k,probability_k for the
// next ranks up to top_k; then with `proba` one column per class, named by the class.
void write_class_predictions(std::ostream& os, const Tensor& p,
                             const std::vector<std::string>& classes, int64_t top_k, bool proba) {
  const int64_t n = p.size(0), c = p.size(1);
  SN_CHECK(c == static_cast<int64_t>(classes.size()), ShapeError, "predict: the model has ", c,
           " outputs but the checkpoint lists ", classes.size(), " classes");
  const std::vector<double> v = p.contiguous().to_vector();
  os << "index,class,label,probability";
  for (int64_t k = 2; k <= top_k; ++k) os << ",label_" << k << ",probability_" << k;
  if (proba)
    for (const auto& name : classes) os << "," << csv_field(name);
  os << "\n";
  std::vector<int64_t> order(static_cast<size_t>(c));
  for (int64_t i = 0; i < n; ++i) {
    const double* row = v.data() + i * c;
    for (int64_t j = 0; j < c; ++j) order[j] = j;
    // most likely first; ties keep the lower class index, as argmax does
    std::stable_sort(order.begin(), order.end(),
                     [row](int64_t a, int64_t b) { return row[a] > row[b]; });
    os << i << "," << order[0] << "," << csv_field(classes[order[0]]) << "," << fmt(row[order[0]]);
    for (int64_t k = 1; k < top_k; ++k)
      os << "," << csv_field(classes[order[k]]) << "," << fmt(row[order[k]]);
    if (proba)
      for (int64_t j = 0; j < c; ++j) os << "," << fmt(row[j]);
    os << "\n";
  }
}

void add_predict(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Predict with a trained model: CSV or IDX in, CSV out");
  auto run = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto proba = std::make_shared<bool>(false);
  auto top_k = std::make_shared<int64_t>(1);
  cmd->add_option("run", *run, "run folder or checkpoint file")->required();
  cmd->add_option("--input", *input, "CSV (feature columns, header) or IDX images file")
      ->required();
  cmd->add_option("--output", *output, "CSV file for the predictions (default: standard output)");
  cmd->add_flag("--proba", *proba,
                "classification: add every class's probability, one column named by each class");
  cmd->add_option("--top-k", *top_k,
                  "classification: also the 2nd..K-th most likely classes (label_2, "
                  "probability_2, ...)")
      ->check(positive());
  auto features = std::make_shared<std::vector<std::string>>();
  auto delimiter = std::make_shared<std::string>();
  cmd->add_option("--features", *features,
                  "CSV: this file's names for the model's feature columns, in the model's order "
                  "(default: the names it was trained with)")
      ->delimiter(',');
  cmd->add_option("--delimiter", *delimiter,
                  "CSV: field separator, one character or 'tab' (default: the training one)");
  auto device = std::make_shared<std::string>("cpu");
  add_device_option(cmd, *device);
  cmd->callback([run, input, output, proba, top_k, features, delimiter, device] {
    const Device dev = parse_device(*device);
    io::check_regular_file(*input, "predict --input");  // a FIFO would block the reader
    if (fs::is_directory(*run)) {
      RunPaths rp(*run);
      refuse_overwrite("predict --output", *output,
                       {{"input", *input}, {"checkpoint", rp.best}, {"checkpoint", rp.last}});
    } else {
      refuse_overwrite("predict --output", *output, {{"input", *input}, {"checkpoint", *run}});
    }
    SN_CHECK(!is_autoencoder_checkpoint(resolve_checkpoint(*run)), ValueError, "predict: '", *run,
             "' is an autoencoder, which predicts no classes or values; its test reconstructions "
             "are in the run folder's reconstructions.png and `sinapsis eval` reports their error");
    Restored r = restore(*run, std::cerr);
    if (!dev.is_cpu()) r.built.module->to(dev);  // predict moves each batch there and back
    use_features(r.trained, *features, r.built);
    const std::vector<std::string>& classes = r.trained.classes;
    SN_CHECK(!classes.empty() || (!*proba && *top_k == 1), ValueError,
             *proba ? "--proba" : "--top-k", ": only for classification (", *run,
             " predicts a number)");
    SN_CHECK(*top_k <= static_cast<int64_t>(std::max<size_t>(classes.size(), 1)), ValueError,
             "--top-k: ", *top_k, " is more than the model's ", classes.size(), " classes");
    Tensor x;
    DataSpec in = r.data;
    in.data = *input;
    if (!delimiter->empty()) in.delimiter = *delimiter;
    if (is_csv_data(in)) {
      // the same reader as train: columns by header name, the target column ignored if present
      x = data::load_csv_features(
          *input, {.target = r.data.target,
                   .features = !r.trained.features.empty() ? r.trained.features : r.data.features,
                   .delimiter = csv_delimiter(in)});
    } else {
      x = data::read_idx(*input, {.dtype = kFloat32, .scale = 1.0 / 255.0});
      if (x.dim() == 3) x = x.unsqueeze(1);  // [N, 28, 28] -> [N, 1, 28, 28]
    }
    Shape want = r.built.input_shape;
    Shape got(x.shape().begin() + 1, x.shape().end());
    SN_CHECK(got.numel() == want.numel(), ShapeError, "predict: inputs of ", *input, " have shape ",
             got, " per example but the model takes ", want);
    x = x.reshape([&] {
      Shape s = want;
      s.insert(0, x.size(0));
      return s;
    }());
    LoadedData norm;
    norm.mean = r.trained.mean;
    norm.std = r.trained.std;
    x = normalise_inputs(norm, x);
    Tensor out = train::predict(*r.built.module, x, 1000);
    std::ostringstream os;
    if (!classes.empty()) {
      write_class_predictions(os, softmax(out, 1).to(kFloat64), classes, *top_k, *proba);
    } else {
      os << "index,prediction\n";
      for (int64_t i = 0; i < out.size(0); ++i) os << i << "," << out.at({i, 0}) << "\n";
    }
    if (output->empty()) {
      std::cout << os.str();
    } else {
      write_text_atomic(*output, os.str());
      std::cout << "wrote " << out.size(0) << " predictions to " << *output << "\n";
    }
  });
}

void add_info(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("info", "Show the tensors and metadata of a safetensors file or run");
  auto path = std::make_shared<std::string>();
  cmd->add_option("file", *path, "a .safetensors file or a run folder")->required();
  cmd->callback([path] {
    const std::string file = resolve_checkpoint(*path);
    io::Checkpoint c = io::load(file);
    std::cout << file << ": " << c.tensors.size() << " tensors\n";
    int64_t total = 0;
    for (auto& [name, t] : c.tensors) {
      std::cout << "  " << name << "  " << t.dtype() << " " << t.shape() << "\n";
      total += t.numel();
    }
    std::cout << "  (" << total << " elements)\n";
    if (!c.metadata.empty()) {
      std::cout << "metadata:\n";
      for (auto& [k, v] : c.metadata) {
        std::string shown =
            v.size() > 200 ? v.substr(0, 200) + "... (" + std::to_string(v.size()) + " chars)" : v;
        for (char& ch : shown)
          if (ch == '\n') ch = ' ';
        std::cout << "  " << k << ": " << shown << "\n";
      }
    }
  });
}

Register reg_eval(30, add_eval);
Register reg_predict(40, add_predict);
Register reg_info(50, add_info);

}  // namespace
}  // namespace sn::cli
