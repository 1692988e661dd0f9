// A tiny timing harness for the bench programs: command-line options, median-of-samples timing
// (the same method as ../shared/reference/matmul.py) and one-JSON-object-per-line output.
// It does not compare with PyTorch or print tables; bench/run.py does that.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sn::bench {

struct Args {
  bool ok = true;  // false: bad command line (usage was printed); main returns 2
  int threads = 1;
  int repeats = 5;        // minimum samples per case
  double min_time = 2.0;  // minimum timed seconds per case
  std::vector<int64_t> sizes;
  std::string only;  // run only cases whose name contains this
};

inline Args parse_args(int argc, char** argv, std::vector<int64_t> default_sizes) {
  Args a;
  a.sizes = std::move(default_sizes);
  bool sizes_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: missing value for %s\n", argv[0], k.c_str());
        a.ok = false;
        return "0";
      }
      return argv[++i];
    };
    if (k == "--threads") {
      a.threads = std::max(1, std::atoi(value()));
    } else if (k == "--repeats") {
      a.repeats = std::max(1, std::atoi(value()));
    } else if (k == "--min-time") {
      a.min_time = std::atof(value());
    } else if (k == "--only") {
      a.only = value();
    } else if (k == "--sizes") {
      if (!sizes_given) a.sizes.clear();
      sizes_given = true;
      while (i + 1 < argc && argv[i + 1][0] != '-') a.sizes.push_back(std::atoll(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--repeats N] [--min-time S] [--sizes N...] "
                   "[--only NAME]\n",
                   argv[0]);
      a.ok = false;
    }
  }
  return a;
}

inline bool selected(const Args& a, const std::string& name) {
  return a.only.empty() || name.find(a.only) != std::string::npos;
}

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double median_s = 0, min_s = 0;
  int samples = 0, calls_per_sample = 0;
};

// Median seconds per call of fn(): a short warm-up, then samples of k back-to-back calls (k
// chosen so a sample lasts about 20 ms) until at least `repeats` samples and `min_time` seconds.
template <typename F>
Timing measure(const Args& args, F&& fn) {
  constexpr double kSampleS = 0.02;
  for (int i = 0; i < 3; ++i) fn();
  double t0 = now_s();
  fn();
  const double one = std::max(now_s() - t0, 1e-8);
  const int inner = std::max(1, static_cast<int>(kSampleS / one));
  for (int i = 0; i < inner; ++i) fn();
  std::vector<double> samples;
  const double start = now_s();
  while (static_cast<int>(samples.size()) < args.repeats || now_s() - start < args.min_time) {
    t0 = now_s();
    for (int i = 0; i < inner; ++i) fn();
    samples.push_back((now_s() - t0) / inner);
  }
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  const double med = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return {med, samples.front(), static_cast<int>(n), inner};
}

// Per-step timing for training loops (the method of ../shared/reference/mlp_train.py):
// `warmup` untimed steps, then steps timed one by one until at least `steps` steps and
// `min_time` seconds. Reports the median, mean and minimum step time.
struct StepTiming {
  double median_s = 0, mean_s = 0, min_s = 0, timed_s = 0;
  int steps = 0;
};
template <typename F>
StepTiming time_steps(const Args& args, int warmup, int steps, F&& step) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> times;
  const double start = now_s();
  while (static_cast<int>(times.size()) < steps || now_s() - start < args.min_time) {
    const double t0 = now_s();
    step();
    times.push_back(now_s() - t0);
  }
  StepTiming r;
  r.timed_s = now_s() - start;
  r.steps = static_cast<int>(times.size());
  double sum = 0;
  for (double t : times) sum += t;
  r.mean_s = sum / times.size();
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  r.median_s = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  r.min_s = times.front();
  return r;
}

// Builds one JSON object and prints it as a single line: Json().s("bench", "gemm").n("n",
// 64).print().
class Json {
 public:
  Json& s(const char* key, const std::string& v) {
    sep(key);
    body_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') body_ += '\\';
      body_ += c;
    }
    body_ += '"';
    return *this;
  }
  Json& n(const char* key, double v) {
    sep(key);
    char buf[64];
    if (v == static_cast<double>(static_cast<int64_t>(v)) && v > -1e15 && v < 1e15)
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else
      std::snprintf(buf, sizeof buf, "%.6g", v);
    body_ += buf;
    return *this;
  }
  Json& timing(const Timing& t) {
    return n("median_ms", t.median_s * 1e3)
        .n("min_ms", t.min_s * 1e3)
        .n("samples", t.samples)
        .n("calls_per_sample", t.calls_per_sample);
  }
  Json& steps(const StepTiming& t) {
    return n("median_ms", t.median_s * 1e3)
        .n("ms_per_step_median", t.median_s * 1e3)
        .n("ms_per_step_mean", t.mean_s * 1e3)
        .n("ms_per_step_min", t.min_s * 1e3)
        .n("steps", t.steps)
        .n("timed_s", t.timed_s);
  }
  void print() const {
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

 private:
  void sep(const char* key) {
    if (!body_.empty()) body_ += ", ";
    body_ += '"';
    body_ += key;
    body_ += "\": ";
  }
  std::string body_;
};

// Keeps the optimiser from deleting a computation whose result is otherwise unused.
template <typename T>
inline void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

}  // namespace sn::bench
