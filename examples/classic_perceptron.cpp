// Rosenblatt's perceptron on the logic gates: AND and OR are linearly separable and are learned
// in a few epochs; XOR is not, and the rule keeps making mistakes until max_epochs, which the
// report says. Writes the decision regions of each gate as PNG and SVG into the current folder.
#include <sinapsis/sinapsis.h>

#include <iostream>

namespace classic = sn::classic;
namespace viz = sn::viz;

int main() {
  const auto x = sn::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
  struct Gate {
    const char* name;
    sn::Tensor target;
    bool separable;
  };
  const Gate gates[] = {{"and", sn::tensor({0, 0, 0, 1}), true},
                        {"or", sn::tensor({0, 1, 1, 1}), true},
                        {"xor", sn::tensor({0, 1, 1, 0}), false}};
  bool as_expected = true;
  for (const Gate& g : gates) {
    classic::Perceptron p(2);
    auto report = p.fit(x, g.target, {.lr = 0.1, .max_epochs = 30});
    std::cout << g.name << ": " << (report.converged ? "converged" : "did NOT converge")
              << " after " << report.epochs << " epochs; mistakes per epoch:";
    for (int64_t e : report.errors) std::cout << ' ' << e;
    const auto w = p.weights().to_vector();
    std::cout << "\n  w0 = " << w[0] << ", w1 = " << w[1] << ", w2 = " << w[2] << "  (boundary "
              << w[0] << " + " << w[1] << "·x1 + " << w[2] << "·x2 = 0)\n";
    std::cout << "  predictions: " << p.predict(x) << "\n";
    as_expected = as_expected && report.converged == g.separable;

    auto predict = [&p](const sn::Tensor& pts) { return p.predict(pts); };
    viz::DecisionRegionOptions opts{.x_min = -0.5,
                                    .x_max = 1.5,
                                    .y_min = -0.5,
                                    .y_max = 1.5,
                                    .title = std::string("perceptron: ") + g.name,
                                    .class_names = {"0", "1"}};
    const std::string base = std::string("perceptron_") + g.name;
    viz::write_png(viz::decision_regions_image(predict, x, g.target,
                                               {.x_min = -0.5,
                                                .x_max = 1.5,
                                                .y_min = -0.5,
                                                .y_max = 1.5,
                                                .width = 240,
                                                .height = 240}),
                   base + ".png");
    viz::write_file(base + ".svg", viz::decision_regions_svg(predict, x, g.target, opts));
    std::cout << "  wrote " << base << ".png and " << base << ".svg\n";
  }
  // online vs batch on AND: the same rule, summed over the epoch instead of applied per sample
  classic::Perceptron batch(2);
  auto rb = batch.fit(x, gates[0].target,
                      {.lr = 0.1, .max_epochs = 30, .mode = classic::UpdateMode::Batch});
  std::cout << "and (batch rule): " << (rb.converged ? "converged" : "did NOT converge")
            << " after " << rb.epochs << " epochs\n";
  as_expected = as_expected && rb.converged;
  if (!as_expected) {
    std::cerr << "unexpected: AND/OR should be learned and XOR should not\n";
    return 1;
  }
  return 0;
}
