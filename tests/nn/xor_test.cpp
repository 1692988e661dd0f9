// Integration: a 2-layer MLP learns XOR to 100% accuracy with a plain SGD loop written here
// (p -= lr·grad under NoGradGuard), using Linear, Tanh and binary_cross_entropy_with_logits.
#include <gtest/gtest.h>

#include "sinapsis/autograd/node.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"

namespace {

using namespace sn;

TEST(Xor, TwoLayerMlpLearnsXor) {
  manual_seed(0);
  const Tensor x = tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}});
  const Tensor y = tensor(std::vector<double>{0, 1, 1, 0}, {4, 1});
  auto model = nn::Sequential({nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1)});
  const double lr = 0.5;
  double first = 0, last = 0;
  for (int step = 0; step < 1000; ++step) {
    model.zero_grad();
    Tensor loss = loss::binary_cross_entropy_with_logits(model(x), y);
    loss.backward();
    if (step == 0) first = loss.item();
    last = loss.item();
    NoGradGuard ng;
    for (Tensor p : model.parameters()) p.sub_(mul(p.grad(), lr));
  }
  EXPECT_LT(last, 0.05 * first);
  model.eval();
  NoGradGuard ng;
  const auto pred = gt(model(x), 0.0).to(kFloat32).to_vector();
  EXPECT_EQ(pred, y.to_vector()) << "model did not learn XOR; final loss " << last;
}

}  // namespace
