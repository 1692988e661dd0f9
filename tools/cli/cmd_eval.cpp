// `sinapsis eval` (test-set loss, accuracy and confusion matrix of a trained model),
// `sinapsis predict` (CSV or IDX in, predictions out) and `sinapsis info` (what a safetensors
// file or checkpoint holds).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json parse_meta(const train::CheckpointInfo& info, const std::string& key,
                const std::string& file) {
  auto it = info.extra.find(key);
  SN_CHECK(it != info.extra.end(), IOError, file, ": checkpoint has no '", key,
           "' entry; it was not written by `sinapsis train`");
  try {
    return json::parse(it->second);
  } catch (const json::exception& e) {
    SN_THROW(IOError, file, ": checkpoint entry '", key, "' is not valid JSON (", e.what(), ")");
  }
}

struct Restored {
  nn::BuiltModel built;
  train::CheckpointInfo info;
  DataSpec data;
  std::vector<std::string> classes;
  std::vector<double> mean, std;
};

// `log` gets the "model: ..." line: stdout for eval, stderr for predict (whose stdout holds
// only the predictions).
Restored restore(const std::string& run_or_file, std::ostream& log = std::cout) {
  const std::string file = resolve_checkpoint(run_or_file);
  Restored r;
  r.info = train::read_checkpoint_info(file);
  SN_CHECK(!r.info.model_spec.empty(), IOError, file,
           ": checkpoint holds no model spec, so the model cannot be rebuilt");
  r.built = nn::build_model(r.info.model_spec);
  train::load_checkpoint(file, *r.built.module, {.restore_rng = false});
  r.data = DataSpec::from_json(parse_meta(r.info, "data", file));
  r.classes = parse_meta(r.info, "classes", file).get<std::vector<std::string>>();
  json norm = parse_meta(r.info, "normalisation", file);
  r.mean = norm.at("mean").get<std::vector<double>>();
  r.std = norm.at("std").get<std::vector<double>>();
  log << "model: " << file << " (epoch " << r.info.epoch << ", " << r.built.module->num_parameters()
      << " parameters)\n";
  return r;
}

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on its test set");
  auto run = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto svg = std::make_shared<std::string>();
  cmd->add_option("run", *run, "run folder or checkpoint file")->required();
  cmd->add_option("--data", *data, "data set to evaluate on (default: the one it was trained on)");
  cmd->add_option("--confusion-svg", *svg,
                  "classification: write the confusion matrix as SVG here (default: "
                  "confusion.svg in the run folder when RUN is a folder; '-': none)");
  cmd->callback([run, data, svg] {
    if (const std::string file = resolve_checkpoint(*run); is_text_checkpoint(file)) {
      eval_text(file, *data);
      return;
    }
    Restored r = restore(*run);
    DataSpec ds = r.data;
    if (!data->empty()) ds.data = *data;
    LoadedData d = load_data(ds);
    SN_CHECK(d.input_shape == r.built.input_shape, ShapeError, "eval: ", ds.data,
             " has examples of shape ", d.input_shape, " but the model takes ",
             r.built.input_shape);
    SN_CHECK(d.num_outputs == r.built.output_shape.numel(), ShapeError, "eval: ", ds.data, " has ",
             d.num_outputs, d.classification ? " classes" : " targets", " but the model has ",
             r.built.output_shape.numel(), " outputs");
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
    std::cout << "data: " << d.description << "\n"
              << "test loss " << fmt(res.loss) << " over " << res.examples << " examples\n";
    for (auto& [k, v] : res.metrics) std::cout << k << " " << fmt(v) << "\n";
    if (cm) {
      std::cout << "\n" << cm->report() << "\n" << cm->to_string();
      std::string path = *svg;
      if (path.empty() && fs::is_directory(*run))
        path = (fs::path(*run) / "confusion.svg").string();
      if (!path.empty() && path != "-") {
        write_text_atomic(path, viz::confusion_matrix_svg(
                                    cm->matrix(), d.class_names,
                                    {.title = "sinapsis eval: " + ds.data + " (" +
                                              std::to_string(res.examples) + " examples)"}));
        std::cout << "confusion matrix: " << path << "\n";
      }
    }
  });
}

// A numeric CSV with a header; the column named `drop` (the training target) is skipped.
Tensor read_feature_csv(const std::string& path, const std::string& drop) {
  std::ifstream f(path);
  SN_CHECK(f.good(), IOError, "predict: cannot open '", path, "'");
  std::string line;
  SN_CHECK(static_cast<bool>(std::getline(f, line)), IOError, path,
           ": empty file (expected a header)");
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) header.push_back(c);
  }
  std::vector<double> values;
  int64_t rows = 0, cols = 0;
  for (int64_t ln = 2; std::getline(f, line); ++ln) {
    if (line.empty() || line == "\r") continue;
    std::stringstream ss(line);
    std::string c;
    size_t col = 0;
    int64_t kept = 0;
    while (std::getline(ss, c, ',')) {
      SN_CHECK(col < header.size(), IOError, path, ":", ln, ": more fields than the header's ",
               header.size());
      if (header[col] != drop) {
        char* end = nullptr;
        const double v = std::strtod(c.c_str(), &end);
        SN_CHECK(end != c.c_str() && (*end == '\0' || *end == '\r'), IOError, path, ":", ln,
                 ": column '", header[col], "' (", col + 1, "): cannot read \"", c,
                 "\" as a number");
        values.push_back(v);
        ++kept;
      }
      ++col;
    }
    SN_CHECK(col == header.size(), IOError, path, ":", ln, ": ", col, " fields, the header has ",
             header.size());
    cols = kept;
    ++rows;
  }
  SN_CHECK(rows > 0, IOError, path, ": no data rows");
  return tensor(values, Shape{rows, cols}).to(kFloat32);
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
  cmd->callback([run, input, output, proba, top_k] {
    Restored r = restore(*run, std::cerr);
    SN_CHECK(!r.classes.empty() || (!*proba && *top_k == 1), ValueError,
             *proba ? "--proba" : "--top-k", ": only for classification (", *run,
             " predicts a number)");
    SN_CHECK(*top_k <= static_cast<int64_t>(std::max<size_t>(r.classes.size(), 1)), ValueError,
             "--top-k: ", *top_k, " is more than the model's ", r.classes.size(), " classes");
    Tensor x;
    const std::string ext = fs::path(*input).extension().string();
    if (ext == ".csv") {
      x = read_feature_csv(*input, r.data.target);
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
    norm.mean = r.mean;
    norm.std = r.std;
    x = normalise_inputs(norm, x);
    Tensor out = train::predict(*r.built.module, x, 1000);
    std::ostringstream os;
    if (!r.classes.empty()) {
      write_class_predictions(os, softmax(out, 1).to(kFloat64), r.classes, *top_k, *proba);
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
