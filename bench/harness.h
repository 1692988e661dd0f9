// A tiny timing harness for the bench programs: command-line options, median-of-samples timing
// (the same method as ../shared/reference/matmul.py) and one-JSON-object-per-line output.
// It does not compare with PyTorch or print tables; bench/run.py does that.
#pragma once
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sinapsis/core/device.h"
#include "sinapsis/core/error.h"

namespace sn::bench {

// Which optional flags a program accepts besides the common ones.
struct Flags {
  bool data = false;      // --data DIR (Fashion-MNIST folder)
  bool epochs = false;    // --epochs N (with --data: train instead of timing steps)
  bool prefetch = false;  // --prefetch N (DataLoader batches prepared ahead)
};

struct Args {
  bool ok = true;  // false: bad command line (usage was printed); main returns 2
  int threads = 1;
  int repeats = 5;        // minimum samples per case
  double min_time = 2.0;  // minimum timed seconds per case
  std::vector<int64_t> sizes;
  std::string only;  // run only cases whose name contains this
  std::string data;  // Fashion-MNIST folder (Flags::data); empty: synthetic timing mode
  int epochs = 1;
  int prefetch = 2;            // the DataLoader default
  std::string device = "cpu";  // --device: where the training-step benches run (cpu, cuda[:N])
};

inline void print_usage(const char* prog, bool sizes, const Flags& flags) {
  std::fprintf(
      stderr,
      "usage: %s [--threads N] [--repeats N] [--min-time S]%s [--only NAME] [--device D]%s%s%s\n",
      prog, sizes ? " [--sizes N...]" : "", flags.data ? " [--data DIR]" : "",
      flags.epochs ? " [--epochs N]" : "", flags.prefetch ? " [--prefetch N]" : "");
}

// Strict numbers: the whole text must parse and lie in [lo, hi]; otherwise usage and exit 2.
inline bool parse_int(const char* s, long long lo, long long hi, long long& out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}
inline bool parse_double(const char* s, double lo, double hi, double& out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (errno != 0 || *end != '\0' || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

// --sizes is accepted by programs with default sizes (the cases they run), rejected by others.
inline Args parse_args(int argc, char** argv, std::vector<int64_t> default_sizes,
                       Flags flags = {}) {
  Args a;
  const bool takes_sizes = !default_sizes.empty();
  a.sizes = std::move(default_sizes);
  bool sizes_given = false;
  const char* prog = argc > 0 ? argv[0] : "bench";
  auto fail = [&](const std::string& why) {
    if (a.ok) {
      std::fprintf(stderr, "%s: %s\n", prog, why.c_str());
      print_usage(prog, takes_sizes, flags);
    }
    a.ok = false;
  };
  for (int i = 1; i < argc && a.ok; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        fail("missing value for " + k);
        return nullptr;
      }
      return argv[++i];
    };
    auto int_arg = [&](long long lo, long long hi) -> long long {
      const char* v = value();
      long long out = lo;
      if (v && !parse_int(v, lo, hi, out))
        fail(k + " needs a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
             "] (got '" + v + "')");
      return out;
    };
    if (k == "--threads") {
      a.threads = static_cast<int>(int_arg(1, 1024));
    } else if (k == "--repeats") {
      a.repeats = static_cast<int>(int_arg(1, 1000000));
    } else if (k == "--min-time") {
      const char* v = value();
      if (v && !parse_double(v, 0.0, 1e6, a.min_time))
        fail("--min-time needs a number of seconds >= 0 (got '" + std::string(v) + "')");
    } else if (k == "--only") {
      if (const char* v = value()) a.only = v;
    } else if (k == "--device") {
      if (const char* v = value()) a.device = v;
    } else if (takes_sizes && k == "--sizes") {
      if (!sizes_given) a.sizes.clear();
      sizes_given = true;
      while (i + 1 < argc && argv[i + 1][0] != '-') {
        long long n = 0;
        if (!parse_int(argv[++i], 1, 1ll << 30, n)) {
          fail("--sizes needs whole numbers in [1, 2^30] (got '" + std::string(argv[i]) + "')");
          break;
        }
        a.sizes.push_back(n);
      }
      if (a.ok && a.sizes.empty()) fail("--sizes needs at least one size");
    } else if (flags.data && k == "--data") {
      if (const char* v = value()) a.data = v;
      if (a.ok && a.data.empty()) fail("--data needs a folder");
    } else if (flags.epochs && k == "--epochs") {
      a.epochs = static_cast<int>(int_arg(1, 1000));
    } else if (flags.prefetch && k == "--prefetch") {
      a.prefetch = static_cast<int>(int_arg(0, 64));
    } else if (k == "--help" || k == "-h") {
      print_usage(prog, takes_sizes, flags);
      a.ok = false;
    } else {
      fail("unknown option '" + k + "'");
    }
  }
  return a;
}

// Runs a program body, turning an exception into a message and an exit status: 2 for an
// IOError (a missing or unreadable dataset: the command line pointed somewhere wrong), 1 for
// anything else.
template <typename F>
int guarded_main(const char* prog, F&& body) {
  try {
    return body();
  } catch (const sn::IOError& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog, e.what());
    return 1;
  }
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
  // a GPU runs asynchronously: each step is timed until the device has finished it
  const sn::Device dev(args.device);
  for (int i = 0; i < warmup; ++i) step();
  sn::synchronize(dev);
  std::vector<double> times;
  const double start = now_s();
  while (static_cast<int>(times.size()) < steps || now_s() - start < args.min_time) {
    const double t0 = now_s();
    step();
    sn::synchronize(dev);
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
    if (!std::isfinite(v))  // JSON has no NaN or infinity
      std::snprintf(buf, sizeof buf, "null");
    else if (v > -1e15 && v < 1e15 && v == static_cast<double>(static_cast<int64_t>(v)))
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else
      std::snprintf(buf, sizeof buf, "%.6g", v);
    body_ += buf;
    return *this;
  }
  Json& list(const char* key, const std::vector<double>& v) {
    sep(key);
    body_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      char buf[64];
      if (std::isfinite(v[i]))
        std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
      else
        std::snprintf(buf, sizeof buf, "%snull", i ? ", " : "");
      body_ += buf;
    }
    body_ += ']';
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
