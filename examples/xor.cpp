// XOR with a 2-8-1 network: the classic problem a single perceptron cannot solve. Trains with a
// hand-written SGD step (p -= lr·grad) so every part of the loop is visible, prints the loss
// as it falls and the final predictions. Exits non-zero if the network fails to learn XOR.
#include <cstdio>

#include <sinapsis/sinapsis.h>

namespace nn = sn::nn;

int main() {
  sn::manual_seed(0);
  // the four XOR cases and their labels
  const sn::Tensor x = sn::tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}});
  const sn::Tensor y = sn::tensor(std::vector<double>{0, 1, 1, 0}, {4, 1});

  auto model = nn::Sequential({nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1)});
  std::printf("%s\n\n", model.to_string().c_str());

  const double lr = 0.5;
  for (int epoch = 0; epoch <= 1000; ++epoch) {
    model.zero_grad();
    sn::Tensor loss = sn::loss::binary_cross_entropy_with_logits(model(x), y);
    loss.backward();
    {
      sn::NoGradGuard no_grad;  // the update itself must not be recorded
      for (sn::Tensor p : model.parameters()) p.sub_(sn::mul(p.grad(), lr));
    }
    if (epoch % 100 == 0) std::printf("epoch %4d  loss %.6f\n", epoch, loss.item());
  }

  model.eval();
  sn::NoGradGuard no_grad;
  const sn::Tensor prob = sn::sigmoid(model(x));
  int correct = 0;
  std::printf("\n x1 x2 | target  p(1)    prediction\n");
  for (int i = 0; i < 4; ++i) {
    const double p = prob.at({i, 0});
    const int pred = p > 0.5 ? 1 : 0;
    correct += pred == static_cast<int>(y.at({i, 0}));
    std::printf("  %d  %d |   %d     %.4f   %d\n", static_cast<int>(x.at({i, 0})),
                static_cast<int>(x.at({i, 1})), static_cast<int>(y.at({i, 0})), p, pred);
  }
  std::printf("\naccuracy: %d/4\n", correct);
  return correct == 4 ? 0 : 1;
}
