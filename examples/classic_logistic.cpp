// Multinomial logistic regression (softmax + cross-entropy, gradient descent) on Fisher's iris
// flowers by petal length and width (iris.json from Debian's python3-vega-datasets; synthetic
// blobs when it is missing). Trains epoch by epoch on 70% of the flowers, watches the other
// 30%, keeps the epoch with the lowest validation loss, and writes logistic_curves.svg
// (train vs validation loss and accuracy, that epoch marked) and logistic_regions.svg.
#include <sinapsis/sinapsis.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace classic = sn::classic;
namespace viz = sn::viz;

namespace {
const char* kSpecies[] = {"setosa", "versicolor", "virginica"};

bool load_iris(const std::string& path, sn::Tensor& x, sn::Tensor& y) {
  std::ifstream f(path);
  if (!f) return false;
  nlohmann::json doc = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) return false;
  std::vector<double> xs;
  std::vector<int64_t> ys;
  for (const auto& flower : doc) {
    if (!flower.is_object() || !flower.contains("species") || !flower["species"].is_string())
      continue;
    if (!flower.contains("petalLength") || !flower["petalLength"].is_number() ||
        !flower.contains("petalWidth") || !flower["petalWidth"].is_number())
      continue;
    const std::string s = flower["species"].get<std::string>();
    for (int64_t k = 0; k < 3; ++k)
      if (s == kSpecies[k]) {
        xs.push_back(flower["petalLength"].get<double>());
        xs.push_back(flower["petalWidth"].get<double>());
        ys.push_back(k);
      }
  }
  if (ys.size() < 30) return false;
  const int64_t n = static_cast<int64_t>(ys.size());
  x = sn::tensor(xs, {n, 2}, {.dtype = sn::kFloat64});
  y = sn::tensor(ys, {n});
  return true;
}

double cross_entropy(const classic::LogisticRegression& m, const sn::Tensor& x,
                     const sn::Tensor& y) {
  sn::Tensor p = sn::gather(m.predict_proba(x), 1, y.unsqueeze(1));
  return -sn::log(p).mean().item();
}
}  // namespace

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/vega_datasets/_data/iris.json";
  sn::manual_seed(0);
  sn::Tensor x, y;
  if (!load_iris(path, x, y)) {
    std::cout << "note: " << path << " not found (Debian package python3-vega-datasets); "
              << "using three synthetic blobs instead\n";
    std::vector<sn::Tensor> xs, ys;
    const double centres[3][2] = {{1.5, 0.3}, {4.3, 1.3}, {5.6, 2.0}};
    for (int64_t k = 0; k < 3; ++k) {
      xs.push_back(sn::tensor({centres[k][0], centres[k][1]}, {.dtype = sn::kFloat64}) +
                   0.35 * sn::randn({50, 2}, {.dtype = sn::kFloat64}));
      ys.push_back(sn::full({50}, static_cast<double>(k), {.dtype = sn::kInt64}));
    }
    x = sn::cat(xs, 0);
    y = sn::cat(ys, 0);
  }
  // gradient descent likes features on one scale; the regions are still drawn in centimetres
  const sn::Tensor mu = x.mean({0}, true), sd = sn::std(x, {0}, 1, true);
  auto scale = [&mu, &sd](const sn::Tensor& t) { return (t - mu) / sd; };
  const int64_t n = x.size(0), n_train = n * 7 / 10;
  const sn::Tensor perm = sn::randperm(n);
  const sn::Tensor xtr = scale(sn::index_select(x, 0, perm.narrow(0, 0, n_train)));
  const sn::Tensor ytr = sn::index_select(y, 0, perm.narrow(0, 0, n_train));
  const sn::Tensor xva = scale(sn::index_select(x, 0, perm.narrow(0, n_train, n - n_train)));
  const sn::Tensor yva = sn::index_select(y, 0, perm.narrow(0, n_train, n - n_train));
  std::cout << "iris: " << n_train << " flowers to train on, " << n - n_train << " to validate\n";

  classic::LogisticRegression model(2, 3);
  viz::TrainingCurves curves{.metric_name = "accuracy", .title = "softmax regression on iris"};
  double best = 1e300;
  sn::Tensor best_weights;
  int64_t best_epoch = 0, since_best = 0;
  const int64_t patience = 20;
  for (int64_t epoch = 1; epoch <= 600 && since_best < patience; ++epoch) {
    auto r = model.fit(
        xtr, ytr,
        {.lr = 0.1, .epochs = 1, .mode = classic::UpdateMode::MiniBatch, .batch_size = 32});
    curves.train_loss.push_back(r.loss.back());
    curves.train_metric.push_back(r.accuracy.back());
    const double val = cross_entropy(model, xva, yva);
    curves.val_loss.push_back(val);
    curves.val_metric.push_back(classic::accuracy(model.predict(xva), yva));
    if (val < best - 1e-3) {  // an improvement must be worth keeping (min_delta)
      best = val;
      best_epoch = epoch;
      best_weights = model.weights().clone();
      since_best = 0;
    } else {
      ++since_best;
    }
  }
  curves.best_epoch = best_epoch;
  std::cout << "stopped after " << curves.val_loss.size() << " epochs; best validation loss "
            << best << " at epoch " << best_epoch << ", validation accuracy there "
            << curves.val_metric[static_cast<size_t>(best_epoch - 1)] << "\n";
  viz::write_file("logistic_curves.svg", viz::training_curves_svg(curves));

  // the regions of the best epoch's weights
  classic::LogisticRegression best_model(2, 3);
  best_model.set_weights(best_weights);
  auto predict = [&](const sn::Tensor& p) { return best_model.predict(scale(p)); };
  viz::write_file(
      "logistic_regions.svg",
      viz::decision_regions_svg(predict, x, y,
                                {.title = "iris species by petal size",
                                 .x_label = "petal length (cm)",
                                 .y_label = "petal width (cm)",
                                 .class_names = {"setosa", "versicolor", "virginica"}}));
  std::cout << "wrote logistic_curves.svg and logistic_regions.svg\n";
  return curves.val_metric[static_cast<size_t>(best_epoch - 1)] > 0.85 ? 0 : 1;
}
