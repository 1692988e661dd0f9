// Two classic rules side by side. Hebb: Δw = η·x·y, shown sample by sample on bipolar AND (it
// works) and binary AND (it cannot: zeros never change a weight). ADALINE: the Widrow–Hoff / LMS
// rule, online vs batch, and what a too-large learning rate does. Writes adaline_mse.svg and
// adaline_and.svg into the current folder.
#include <sinapsis/sinapsis.h>

#include <cmath>
#include <iomanip>
#include <iostream>

namespace classic = sn::classic;
namespace viz = sn::viz;

int main() {
  // ---- Hebb on bipolar AND, the lecture table
  const auto xb = sn::tensor({{1, 1}, {1, -1}, {-1, 1}, {-1, -1}});
  const auto yb = sn::tensor({1, -1, -1, -1});
  classic::Hebb hebb(2);
  auto hr = hebb.fit(xb, yb);
  std::cout << "Hebb, bipolar AND (w0 is the bias weight)\n  x1  x2   y |  w0  w1  w2\n";
  for (size_t i = 0; i < hr.weights.size(); ++i) {
    const auto w = hr.weights[i].to_vector();
    std::cout << std::setw(4) << xb.at({static_cast<int64_t>(i), 0}) << std::setw(4)
              << xb.at({static_cast<int64_t>(i), 1}) << std::setw(4)
              << yb.at({static_cast<int64_t>(i)}) << " |" << std::setw(4) << w[0] << std::setw(4)
              << w[1] << std::setw(4) << w[2] << "\n";
  }
  std::cout << "  misclassified after learning: " << hr.errors << "\n";

  classic::Hebb binary(2, {.encoding = classic::Encoding::Binary});
  auto br = binary.fit(sn::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}), sn::tensor({0, 0, 0, 1}));
  std::cout << "Hebb, binary AND: w = " << binary.weights() << "  misclassified: " << br.errors
            << " (a 0 target or input never changes a weight)\n\n";

  // ---- ADALINE on bipolar AND: the least-squares line is w̃ = [-0.5, 0.5, 0.5]
  classic::Adaline online(2), batch(2), too_fast(2);
  auto ro = online.fit(xb, yb, {.lr = 0.05, .max_epochs = 60});
  auto rb = batch.fit(xb, yb, {.lr = 0.2, .max_epochs = 60, .mode = classic::UpdateMode::Batch});
  auto rf =
      too_fast.fit(xb, yb, {.lr = 2.5, .max_epochs = 2000, .mode = classic::UpdateMode::Batch});
  std::cout << "ADALINE, bipolar AND\n  online (lr 0.05): w = " << online.weights() << "  MSE "
            << ro.mse.back() << "\n  batch  (lr 0.2):  w = " << batch.weights() << "  MSE "
            << rb.mse.back()
            << "\n  batch  (lr 2.5):  " << (rf.diverged ? "diverged" : "did not diverge")
            << " after " << rf.epochs << " epochs (MSE " << rf.mse.back() << ")\n";
  std::cout << "  classified: " << batch.classify(xb) << "\n";

  viz::PlotOptions opts{
      .title = "ADALINE on bipolar AND: MSE per epoch", .y_label = "MSE", .log_y = true};
  std::vector<double> fast = rf.mse;
  if (fast.size() > 25) fast.resize(25);  // keep the axis readable: it grows without bound
  viz::write_file(
      "adaline_mse.svg",
      viz::line_plot_svg({{.name = "online, lr 0.05", .y = ro.mse},
                          {.name = "batch, lr 0.2", .y = rb.mse},
                          {.name = "batch, lr 2.5 (diverges)", .y = fast, .dashed = true}},
                         opts));
  auto predict = [&batch](const sn::Tensor& p) {
    return batch.classify(p, classic::Encoding::Binary);
  };
  viz::write_file("adaline_and.svg", viz::decision_regions_svg(predict, xb, (yb + 1) / 2,
                                                               {.title = "ADALINE: sign(w0 + w·x)",
                                                                .class_names = {"-1", "+1"}}));
  std::cout << "wrote adaline_mse.svg and adaline_and.svg\n";

  const bool ok = hr.errors == 0 && br.errors > 0 && !ro.diverged && !rb.diverged && rf.diverged &&
                  std::abs(batch.weights().at({0}) + 0.5) < 1e-3;
  return ok ? 0 : 1;
}
