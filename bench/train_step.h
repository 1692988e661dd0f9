// The synthetic training step of ../shared/reference/mlp_train.py and cnn_train.py: zero_grad,
// forward, cross-entropy on 10 classes, backward, optimizer step, cycling over 8 fixed random
// batches, each step timed on its own (20 warm-up steps, then at least 500 and --min-time).
// The models and optimizers stay in the bench programs.
#pragma once
#include <sinapsis/sinapsis.h>

#include <utility>
#include <vector>

#include "harness.h"

namespace sn::bench {

inline StepTiming time_train_steps(const Args& args, nn::Module& model, optim::Optimizer& opt,
                                   const Shape& input, Tensor& last_loss) {
  std::vector<std::pair<Tensor, Tensor>> pool;
  const Device dev(args.device);  // the model is there already (the bench moved it)
  for (int i = 0; i < 8; ++i)
    pool.emplace_back(randn(input).to(dev), randint(0, 10, {input[0]}).to(dev));
  size_t i = 0;
  return time_steps(args, 20, 500, [&] {
    const auto& [x, y] = pool[i++ % pool.size()];
    opt.zero_grad(true);
    last_loss = loss::cross_entropy(model(x), y);
    last_loss.backward();
    opt.step();
  });
}

}  // namespace sn::bench
