// MLP training step, the workload of ../shared/reference/mlp_train.py: 784-512-256-10 with
// ReLU, cross-entropy, SGD (lr 0.01, momentum 0.9), batch 128, cycling through 8 fixed random
// batches. One timed step = zero_grad (set to none) + forward + loss + backward + step.
// Synthetic data only (the Fashion-MNIST epoch mode is not reproduced here).
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::manual_seed(0);
  constexpr int64_t kBatch = 128;
  auto model = nn::Sequential(
      {nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(), nn::Linear(256, 10)});
  sn::optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  std::vector<std::pair<sn::Tensor, sn::Tensor>> pool;
  for (int i = 0; i < 8; ++i)
    pool.emplace_back(sn::randn({kBatch, 784}), sn::randint(0, 10, {kBatch}));
  size_t i = 0;
  sn::Tensor loss;
  StepTiming t = time_steps(args, 20, 500, [&] {
    const auto& [x, y] = pool[i++ % pool.size()];
    opt.zero_grad(true);
    loss = sn::loss::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
  });
  Json()
      .s("bench", "mlp_train")
      .s("case", "mlp train step b128")
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("batch", kBatch)
      .steps(t)
      .n("samples_per_s", kBatch / t.median_s)
      .n("final_loss", loss.item())
      .print();
  return 0;
}
