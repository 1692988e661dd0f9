// Linear regression on a real data set: miles per gallon of 392 cars from weight, horsepower,
// displacement and acceleration (the classic auto-mpg data, shipped as cars.json by Debian's
// python3-vega-datasets). Normal equations (LAPACK Cholesky) vs batch gradient descent vs SGD
// vs mini-batch, with their loss curves in linreg_loss.svg; then what a duplicated column does
// to XᵀX, and the SVD fallback. Pass another cars.json path as the first argument.
#include <sinapsis/sinapsis.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace classic = sn::classic;
namespace viz = sn::viz;

namespace {
const char* kFeatures[] = {"Weight_in_lbs", "Horsepower", "Displacement", "Acceleration"};

// Rows with every field present; the file is parsed defensively (it is input, not code).
bool load_cars(const std::string& path, sn::Tensor& x, sn::Tensor& y) {
  std::ifstream f(path);
  if (!f) return false;
  nlohmann::json doc = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) {
    std::cerr << path << ": not a JSON array of cars\n";
    return false;
  }
  std::vector<double> xs, ys;
  for (const auto& car : doc) {
    if (!car.is_object() || !car.contains("Miles_per_Gallon") ||
        !car["Miles_per_Gallon"].is_number())
      continue;
    std::vector<double> row;
    for (const char* k : kFeatures)
      if (car.contains(k) && car[k].is_number()) row.push_back(car[k].get<double>());
    if (row.size() != std::size(kFeatures)) continue;
    xs.insert(xs.end(), row.begin(), row.end());
    ys.push_back(car["Miles_per_Gallon"].get<double>());
  }
  if (ys.size() < 10) return false;
  const int64_t n = static_cast<int64_t>(ys.size());
  x = sn::tensor(xs, {n, static_cast<int64_t>(std::size(kFeatures))}, {.dtype = sn::kFloat64});
  y = sn::tensor(ys, {n}, {.dtype = sn::kFloat64});
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json";
  sn::Tensor x, y;
  if (!load_cars(path, x, y)) {
    // keep the example runnable without the package: a synthetic set with the same shape
    std::cout << "note: " << path << " not found or unreadable (Debian package "
              << "python3-vega-datasets); using synthetic data instead\n";
    sn::manual_seed(0);
    x = sn::randn({392, 4}, {.dtype = sn::kFloat64}) * 100.0 + 1000.0;
    y = sn::matmul(x - 1000.0, sn::tensor({-0.05, -0.02, -0.01, 0.03}, {.dtype = sn::kFloat64})) +
        23.0 + sn::randn({392}, {.dtype = sn::kFloat64});
  }
  std::cout << "data: " << x.size(0) << " cars, " << x.size(1) << " features -> mpg\n";
  // standardise: gradient descent needs features on one scale to share one learning rate
  const sn::Tensor mean = x.mean({0}, true), sd = sn::std(x, {0}, 1, true);
  const sn::Tensor xs = (x - mean) / sd;

  classic::LinearRegression exact;
  auto ne = exact.fit_normal_equations(xs, y);
  const double best = classic::mean_squared_error(exact.predict(xs), y);
  std::cout << "normal equations (" << ne.solver << ", cond(XᵀX) ≈ " << ne.condition
            << "): intercept " << exact.intercept() << ", MSE " << best << ", R² "
            << classic::r2_score(exact.predict(xs), y)
            << "\n  coefficients per standard deviation:";
  const auto c = exact.coefficients().to_vector();
  for (size_t i = 0; i < c.size(); ++i) std::cout << "  " << kFeatures[i] << " " << c[i];
  std::cout << "\n";

  // the features are correlated (cond ≈ 80), so full-batch descent needs a few hundred epochs
  // to settle along the flattest direction
  constexpr int64_t kEpochs = 300;
  sn::manual_seed(1);
  struct Run {
    const char* name;
    classic::GradientDescentOptions opts;
  };
  const Run runs[] = {
      {"batch GD", {.lr = 0.25, .epochs = kEpochs}},
      {"SGD",
       {.lr = 0.005, .epochs = kEpochs, .mode = classic::UpdateMode::Online, .lr_decay = 0.1}},
      {"mini-batch (32)",
       {.lr = 0.05,
        .epochs = kEpochs,
        .mode = classic::UpdateMode::MiniBatch,
        .batch_size = 32,
        .lr_decay = 0.05}},
  };
  std::vector<viz::Series> curves;
  bool close = true;
  for (const Run& r : runs) {
    classic::LinearRegression gd;
    auto rep = gd.fit_gradient_descent(xs, y, r.opts);
    const double gap = sn::max(sn::abs(gd.weights() - exact.weights())).item();
    std::cout << r.name << ": final MSE " << rep.loss.back() << ", largest weight difference to "
              << "the normal equations " << gap << "\n";
    close = close && gap < 0.2 && rep.loss.back() < best * 1.05;
    // the distance to the optimum shows each method's speed (and SGD's jitter) on a log axis
    std::vector<double> excess;
    for (double l : rep.loss) excess.push_back(l - best);
    curves.push_back({.name = r.name, .y = excess});
  }
  viz::write_file("linreg_loss.svg",
                  viz::line_plot_svg(curves, {.title = "auto-mpg: training MSE minus the normal-"
                                                       "equations optimum (" +
                                                       std::to_string(best) + ")",
                                              .y_label = "MSE - optimal MSE (mpg²)",
                                              .log_y = true}));
  std::cout << "wrote linreg_loss.svg\n";

  // displacement in litres as well as cubic inches: one column is a multiple of another
  const sn::Tensor litres = xs.select(1, 2).unsqueeze(1) * 0.016387;
  const sn::Tensor dup = sn::cat({xs, litres}, 1);
  try {
    classic::LinearRegression lr;
    lr.fit_normal_equations(dup, y);
    std::cout << "unexpected: the duplicated column was accepted\n";
    close = false;
  } catch (const sn::ValueError& e) {
    std::cout << "with a duplicated column: " << e.what() << "\n";
  }
  classic::LinearRegression svd;
  auto rs = svd.fit_normal_equations(dup, y, {.fallback = classic::LstsqFallback::SVD});
  std::cout << "SVD fallback: rank " << rs.rank << " of " << dup.size(1) + 1 << ", MSE "
            << classic::mean_squared_error(svd.predict(dup), y) << " (same fit as above)\n";
  close = close && std::abs(classic::mean_squared_error(svd.predict(dup), y) - best) < 1e-6 * best;
  return close ? 0 : 1;
}
