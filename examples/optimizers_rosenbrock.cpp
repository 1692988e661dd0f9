// The optimizers of the course on the Rosenbrock function f(x, y) = (1 − x)² + 100·(y − x²)²
// from the classic start (−1.5, 2): SGD, momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam
// and L-BFGS (strong Wolfe), each the library's own optimizer on a [2] parameter tensor.
// Draws every path on the contour plot (rosenbrock.svg, and a close-up rosenbrock_zoom.svg), the
// loss per gradient evaluation (rosenbrock_loss.svg), prints a results table, and exits 1 if a
// method that must converge did not.
#include <sinapsis/sinapsis.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace optim = sn::optim;
namespace viz = sn::viz;

namespace {

double rosenbrock(double x, double y) {
  return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}

// The same function on a tensor p = [x, y], recorded for autograd.
sn::Tensor rosenbrock(const sn::Tensor& p) {
  const sn::Tensor x = p[0], y = p[1];
  return sn::square(1.0 - x) + 100.0 * sn::square(y - sn::square(x));
}

struct Run {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<sn::Tensor>)> make;
  int64_t max_steps = 2000;    // the budget of updates (every first-order method: 2000)
  bool must_converge = false;  // checked: f < 1e-3 at the end
  // filled in by the run
  std::vector<double> xs{}, ys{}, losses{}, evals{};  // losses[k] = f at (xs[k], ys[k])
  int64_t steps = 0, closure_calls = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  const double x0 = -1.5, y0 = 2.0;

  // The Hessian at the minimum has eigenvalues ≈ 1001.6 and 0.4 (condition number ≈ 2500), so
  // plain gradient steps must stay below 2/1001.6 ≈ 2e-3; lr = 1e-3 is the safe half of that,
  // and along the flat valley floor it crawls. Momentum 0.9 keeps the same lr but multiplies
  // the effective step along the valley by 1/(1 − 0.9) = 10. The adaptive methods normalise the
  // gradient per coordinate, so their lr is a step length in (x, y) units: Adagrad's 1.0 first
  // jumps by ~1 per coordinate and then shrinks as the squared gradients pile up; Adadelta runs
  // on its defaults (lr 1, rho 0.9: it has no step size to tune, and shows why that is slow
  // here); RMSprop 3e-3 and Adam 2e-2 are steps small enough to follow the curved valley.
  // L-BFGS takes a full quasi-Newton step (lr 1) checked by the strong-Wolfe line search; one
  // step() call per iteration (max_iter 1) so every iterate lands in the trajectory.
  using Params = std::vector<sn::Tensor>;
  std::vector<Run> runs;
  auto sgd = [](optim::SGDOptions o) {
    return [o](Params p) { return std::make_unique<optim::SGD>(std::move(p), o); };
  };
  runs.push_back({.name = "SGD (lr 1e-3)", .make = sgd({.lr = 1e-3})});
  runs.push_back({.name = "momentum (lr 1e-3, 0.9)",
                  .make = sgd({.lr = 1e-3, .momentum = 0.9}),
                  .must_converge = true});
  runs.push_back({.name = "Nesterov (lr 1e-3, 0.9)",
                  .make = sgd({.lr = 1e-3, .momentum = 0.9, .nesterov = true}),
                  .must_converge = true});
  runs.push_back({.name = "Adagrad (lr 1)", .make = [](Params p) {
                    return std::make_unique<optim::Adagrad>(std::move(p),
                                                            optim::AdagradOptions{.lr = 1.0});
                  }});
  runs.push_back({.name = "Adadelta (lr 1, rho 0.9)", .make = [](Params p) {
                    return std::make_unique<optim::Adadelta>(std::move(p));
                  }});
  runs.push_back({.name = "RMSprop (lr 3e-3)", .make = [](Params p) {
                    return std::make_unique<optim::RMSprop>(std::move(p),
                                                            optim::RMSpropOptions{.lr = 3e-3});
                  }});
  runs.push_back({.name = "Adam (lr 2e-2)",
                  .make =
                      [](Params p) {
                        return std::make_unique<optim::Adam>(std::move(p),
                                                             optim::AdamOptions{.lr = 2e-2});
                      },
                  .must_converge = true});
  const optim::LBFGSOptions lbfgs{
      .lr = 1.0, .max_iter = 1, .history_size = 10, .line_search = optim::LineSearch::StrongWolfe};
  runs.push_back(
      {.name = "L-BFGS (strong Wolfe)",
       .make = [lbfgs](Params p) { return std::make_unique<optim::LBFGS>(std::move(p), lbfgs); },
       .max_steps = 100,
       .must_converge = true});

  for (Run& run : runs) {
    sn::Tensor p = sn::tensor({x0, y0}, {.dtype = sn::kFloat64, .requires_grad = true});
    std::unique_ptr<optim::Optimizer> opt = run.make({p});
    const optim::Closure closure = [&] {
      ++run.closure_calls;
      opt->zero_grad();
      sn::Tensor loss = rosenbrock(p);
      loss.backward();
      return loss;
    };
    auto record = [&] {
      run.xs.push_back(p.at({0}));
      run.ys.push_back(p.at({1}));
      run.losses.push_back(rosenbrock(run.xs.back(), run.ys.back()));
      run.evals.push_back(static_cast<double>(run.closure_calls));
    };
    record();
    for (int64_t s = 0; s < run.max_steps; ++s) {
      opt->step(closure);
      ++run.steps;
      record();
      const size_t k = run.xs.size() - 1;
      // L-BFGS stops moving once its tolerances are met: later steps would repeat the point
      if (run.xs[k] == run.xs[k - 1] && run.ys[k] == run.ys[k - 1]) break;
    }
  }

  // ---- results ----
  std::printf("Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, start (%.1f, %.1f), f = %.2f\n",
              x0, y0, rosenbrock(x0, y0));
  std::printf("minimum f(1, 1) = 0\n\n");
  std::printf("%-26s %6s %6s %10s %10s %11s %10s\n", "optimizer", "steps", "evals", "x", "y",
              "f(x, y)", "|p - (1,1)|");
  bool ok = true;
  for (const Run& r : runs) {
    const double x = r.xs.back(), y = r.ys.back(), fx = r.losses.back();
    const double dist = std::hypot(x - 1, y - 1);
    std::printf("%-26s %6lld %6lld %10.6f %10.6f %11.3e %10.3e\n", r.name.c_str(),
                static_cast<long long>(r.steps), static_cast<long long>(r.closure_calls), x, y, fx,
                dist);
    // Every method must at least stay finite and go downhill; the convergent ones must arrive.
    if (!std::isfinite(fx) || fx >= rosenbrock(x0, y0)) {
      std::printf("  FAILED: %s did not decrease f\n", r.name.c_str());
      ok = false;
    }
    if (r.must_converge && !(fx < 1e-3)) {
      std::printf("  FAILED: %s should reach f < 1e-3\n", r.name.c_str());
      ok = false;
    }
  }

  // the loss along the way, compactly: f after k steps (the last value once a run has stopped)
  const std::vector<int64_t> marks = {0, 10, 50, 100, 500, 1000, 2000};
  std::printf("\nf after k steps\n%-26s", "optimizer");
  for (int64_t k : marks) std::printf(" %9lld", static_cast<long long>(k));
  std::printf("\n");
  for (const Run& r : runs) {
    std::printf("%-26s", r.name.c_str());
    for (int64_t k : marks)
      std::printf(" %9.2e",
                  r.losses[std::min<size_t>(static_cast<size_t>(k), r.losses.size() - 1)]);
    std::printf("\n");
  }

  // ---- figures ----
  std::vector<viz::Trajectory> paths;
  std::vector<viz::Series> curves;
  // palette colours in run order, red kept for L-BFGS (drawn last, on top: its few long
  // steps are the path to see) and grey left out (it disappears among the contour lines)
  const int64_t colors[] = {0, 1, 2, 9, 4, 5, 6, 3};
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string color = viz::to_hex(viz::palette(colors[i % std::size(colors)]));
    paths.push_back({.name = runs[i].name, .x = runs[i].xs, .y = runs[i].ys, .color = color});
    curves.push_back(
        {.name = runs[i].name, .y = runs[i].losses, .x = runs[i].evals, .color = color});
  }
  // the minimum as a one-point path: drawn as a dot, and named in the legend
  paths.push_back({.name = "minimum (1, 1)", .x = {1.0}, .y = {1.0}, .color = "#000000"});
  const std::string contour = viz::contour_plot_svg(
      [](double x, double y) { return rosenbrock(x, y); }, paths,
      {.x_min = -2,
       .x_max = 2,
       .y_min = -1,
       .y_max = 3.5,
       .grid = 200,
       .levels = 18,
       .title = "Rosenbrock: optimizer paths from (-1.5, 2) (open circle: start, dot: end)",
       .width = 760,
       .height = 680});
  // The slow methods stop on the valley floor, under the other paths: a close-up shows where.
  // contour_plot_svg does not clip paths to the frame (points outside are pinned to its edge),
  // so each path is cut to its last stretch inside the window. (1, 1) sits left of the legend.
  // Drawn in reverse order (the minimum still last) so the slow methods' end dots lie on top.
  const viz::ContourOptions near{.x_min = 0.4,
                                 .x_max = 1.4,
                                 .y_min = 0.1,
                                 .y_max = 1.3,
                                 .grid = 160,
                                 .levels = 16,
                                 .title =
                                     "Rosenbrock near the minimum: where each optimizer "
                                     "stopped (dots)",
                                 .width = 760,
                                 .height = 680};
  std::vector<viz::Trajectory> tails;
  for (const viz::Trajectory& t : paths) {
    size_t k = t.x.size();
    while (k > 0 && t.x[k - 1] >= near.x_min && t.x[k - 1] <= near.x_max &&
           t.y[k - 1] >= near.y_min && t.y[k - 1] <= near.y_max)
      --k;
    viz::Trajectory tail = t;
    tail.x.erase(tail.x.begin(), tail.x.begin() + static_cast<std::ptrdiff_t>(k));
    tail.y.erase(tail.y.begin(), tail.y.begin() + static_cast<std::ptrdiff_t>(k));
    tails.push_back(std::move(tail));
  }
  std::reverse(tails.begin(), tails.end() - 1);
  const std::string zoom =
      viz::contour_plot_svg([](double x, double y) { return rosenbrock(x, y); }, tails, near);
  // The legend sits in the top-right corner, where the slow methods end (f ~ 0.1..1). An
  // unnamed one-point series (a single point draws no line) stretches the log axis up to 1e5,
  // which gives the legend empty room above the curves.
  curves.push_back({.y = {1e5}, .x = {0.0}, .color = "#ffffff"});
  const std::string loss_plot =
      viz::line_plot_svg(curves, {.title = "Rosenbrock: f against gradient evaluations",
                                  .x_label = "gradient evaluations (closure calls)",
                                  .y_label = "f(x, y)",
                                  .width = 860,
                                  .height = 520,
                                  .log_y = true});
  viz::write_file((out_dir / "rosenbrock.svg").string(), contour);
  viz::write_file((out_dir / "rosenbrock_zoom.svg").string(), zoom);
  viz::write_file((out_dir / "rosenbrock_loss.svg").string(), loss_plot);
  std::printf("\nwrote rosenbrock.svg, rosenbrock_zoom.svg and rosenbrock_loss.svg in %s\n",
              out_dir.string().c_str());
  return ok ? 0 : 1;
}
