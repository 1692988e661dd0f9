// MLP training, the workload of ../shared/reference/mlp_train.py: 784-512-256-10 with ReLU,
// cross-entropy, SGD (lr 0.01, momentum 0.9), batch 128.
// Default: per-step timing cycling through 8 fixed random batches; one timed step = zero_grad
// (set to none) + forward + loss + backward + step. With --data DIR [--epochs N]: Fashion-MNIST
// epochs as the reference's --data mode (see fashion_epoch.h), wall time and test accuracy.
#include <sinapsis/sinapsis.h>

#include "common.h"
#include "fashion_epoch.h"
#include "harness.h"
#include "train_step.h"

using namespace sn::bench;
namespace nn = sn::nn;

int main(int argc, char** argv) {
  return train_bench_main(argc, argv, [](const Args& args) {
    constexpr int64_t kBatch = 128;
    auto model = nn::Sequential(
        {nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(), nn::Linear(256, 10)});
    model.to(sn::Device(args.device));  // --device; the optimizer's state follows
    sn::optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
    if (!args.data.empty())
      return run_fashion_epochs(args, "mlp_train", "mlp fashion-mnist epoch", model, opt, kBatch,
                                /*flat=*/true);
    sn::Tensor loss;
    StepTiming t = time_train_steps(args, model, opt, sn::Shape{kBatch, 784}, loss);
    print_train_step(args, "mlp_train", "mlp train step b128", kBatch, t, loss.item());
    return 0;
  });
}
