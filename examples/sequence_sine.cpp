// A GRU learns to continue sine waves: each training sequence is sin(ω·t + φ) with a random
// frequency and phase, and the network predicts every next value from the ones before it
// (backpropagation through time over 40 steps). Afterwards it reads the first 20 values of a new
// wave and then runs free, feeding each prediction back in one step at a time while carrying its
// state through call({x, h}) — the recurrent loop of the lecture, unrolled by hand.
// Writes sequence_sine_loss.svg (the loss curve) and sequence_sine_wave.svg (truth vs. free-run
// continuation). Exits non-zero unless its next-value predictions on fresh waves beat the naive
// "the next value equals this one" guess by 10x in mean squared error.
#include <cmath>
#include <cstdio>
#include <fstream>

#include <sinapsis/sinapsis.h>

namespace nn = sn::nn;

namespace {

constexpr int64_t kBatch = 32, kSteps = 40, kHidden = 24;
constexpr int kIters = 250;
constexpr double kDt = 0.3;

// [B, T + 1, 1] waves sin(ω·t·dt + φ), ω in [0.9, 1.1], φ in [0, 2π).
sn::Tensor waves(int64_t batch, int64_t steps) {
  const sn::Tensor w = sn::add(sn::mul(sn::rand({batch, 1, 1}), 0.2), 0.9);
  const sn::Tensor phi = sn::mul(sn::rand({batch, 1, 1}), 2 * M_PI);
  const sn::Tensor t = sn::mul(sn::arange(static_cast<double>(steps + 1)), kDt).reshape({1, -1, 1});
  return sn::sin(sn::add(sn::mul(w, t), phi));
}

void write(const std::string& path, const std::string& svg) {
  std::ofstream(path) << svg;
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace

int main() {
  sn::manual_seed(0);
  // A model this small gains nothing from a second thread, and on a busy machine every BLAS
  // call that forks a team waits for a core: one thread keeps the run to a fraction of a second.
  sn::set_num_threads(1);
  nn::GRU gru(1, kHidden, {.batch_first = true});
  nn::Linear head(kHidden, 1);
  std::vector<sn::Tensor> params = gru.parameters();
  for (const sn::Tensor& p : head.parameters()) params.push_back(p);
  sn::optim::Adam opt(params, {.lr = 1e-2});

  std::vector<double> losses;
  for (int it = 0; it < kIters; ++it) {
    const sn::Tensor seq = waves(kBatch, kSteps);
    const sn::Tensor x = seq.narrow(1, 0, kSteps), target = seq.narrow(1, 1, kSteps);
    opt.zero_grad();
    const sn::Tensor pred = head(gru(x));  // [B, T, 1]: one prediction per step
    sn::Tensor loss = sn::loss::mse(pred, target);
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
    if (it % 50 == 0 || it == kIters - 1) std::printf("iter %3d  mse %.5f\n", it, loss.item());
  }

  // Fresh waves: the GRU's next-value error against repeating the current value.
  sn::NoGradGuard no_grad;
  gru.eval();
  const sn::Tensor test = waves(256, kSteps);
  const sn::Tensor tx = test.narrow(1, 0, kSteps), ty = test.narrow(1, 1, kSteps);
  const double mse = sn::loss::mse(head(gru(tx)), ty).item();
  const double naive = sn::loss::mse(tx, ty).item();
  std::printf("fresh waves: GRU mse %.5f, repeat-the-last-value mse %.5f (%.0fx better)\n", mse,
              naive, naive / mse);

  // Free run: read 20 true values, then feed each prediction back, one step at a time.
  const sn::Tensor wave = waves(1, 60);  // [1, 61, 1]
  nn::Value out = gru.call({wave.narrow(1, 0, 20)});
  sn::Tensor h = out[1];
  sn::Tensor next = head(out[0].narrow(1, 19, 1));  // the prediction of value 20
  std::vector<double> truth, free_run, xs;
  double err = 0;
  for (int64_t t = 0; t <= 60; ++t) {
    truth.push_back(wave.at({0, t, 0}));
    xs.push_back(static_cast<double>(t));
  }
  for (int64_t t = 20; t <= 60; ++t) {
    const double v = next.item();
    free_run.push_back(v);
    if (t < 30) err += std::abs(v - truth[t]) / 10;
    out = gru.call({next, h});  // one step from the carried state
    h = out[1];
    next = head(out[0]);
  }
  std::vector<double> run_x(xs.begin() + 20, xs.end());
  std::printf("free run: mean |error| over the first 10 generated steps %.4f\n", err);

  write("sequence_sine_loss.svg",
        sn::viz::line_plot_svg({{.name = "training MSE", .y = losses}},
                               {.title = "GRU learning to continue sine waves",
                                .x_label = "iteration",
                                .y_label = "MSE",
                                .log_y = true}));
  write("sequence_sine_wave.svg",
        sn::viz::line_plot_svg(
            {{.name = "truth", .y = truth, .x = xs},
             {.name = "GRU, free run from step 20", .y = free_run, .x = run_x, .dashed = true}},
            {.title = "Reading 20 values, then continuing alone", .x_label = "step"}));
  const bool ok = mse * 10 < naive;
  std::printf("%s\n", ok ? "learned" : "did NOT learn the task");
  return ok ? 0 : 1;
}
