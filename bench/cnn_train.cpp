// LeNet-5-like CNN training, the workload of ../shared/reference/cnn_train.py: conv 1->6 5x5
// pad 2, ReLU, maxpool 2; conv 6->16 5x5, ReLU, maxpool 2; linear 400-120-84-10 with ReLU;
// cross-entropy; Adam lr 1e-3; batch 64 of 1x28x28.
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
    constexpr int64_t kBatch = 64;
    auto model = nn::Sequential({nn::Conv2d(1, 6, 5, {.padding = 2}), nn::ReLU(), nn::MaxPool2d(2),
                                 nn::Conv2d(6, 16, 5), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                                 nn::Linear(400, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(),
                                 nn::Linear(84, 10)});
    model.to(sn::Device(args.device));  // --device (conv has no GPU kernel yet: an error there)
    sn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
    if (!args.data.empty())
      return run_fashion_epochs(args, "cnn_train", "cnn fashion-mnist epoch", model, opt, kBatch,
                                /*flat=*/false);
    sn::Tensor loss;
    StepTiming t = time_train_steps(args, model, opt, sn::Shape{kBatch, 1, 28, 28}, loss);
    print_train_step(args, "cnn_train", "cnn train step b64", kBatch, t, loss.item());
    return 0;
  });
}
