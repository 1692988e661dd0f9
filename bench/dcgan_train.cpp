// One DCGAN training step (D step + G step), the workload of ../shared/reference/generative.py
// --model dcgan: the dcgan preset pair with DCGAN's init, BCE with logits, Adam 2e-4 betas
// (0.5, 0.999), batch 64 of 1x28x28 in [-1, 1]. One timed step = noise + G forward + the D step
// on real and fake + the G step through a fresh D forward (train::adversarial_step), as the
// reference times it (data loading excluded). Real batches cycle over 8 fixed random batches;
// 5 warm-up steps, then at least 30 steps and --min-time seconds.
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  return guarded_main(argv[0], [&] {
    sn::set_num_threads(args.threads);
    sn::manual_seed(0);
    constexpr int64_t kBatch = 64;
    nn::GanPreset p = nn::gan_preset("dcgan", sn::Shape{1, 28, 28});
    auto G = nn::build_model(p.generator).module;
    auto D = nn::build_model(p.discriminator).module;
    nn::init_gan_(*G, p.init);
    nn::init_gan_(*D, p.init);
    sn::optim::Adam og(G->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
    sn::optim::Adam od(D->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
    std::vector<sn::Tensor> pool;
    for (int i = 0; i < 8; ++i) pool.push_back(sn::tanh(sn::randn({kBatch, 1, 28, 28})));
    size_t i = 0;
    sn::train::AdversarialStep last;
    StepTiming t = time_steps(args, 5, 30, [&] {
      const sn::Tensor& x = pool[i++ % pool.size()];
      last = sn::train::adversarial_step(*G, *D, og, od, x, sn::randn({kBatch, p.latent_dim}));
    });
    Json()
        .s("bench", "dcgan_train")
        .s("case", "dcgan train step b64")
        .s("impl", "sinapsis")
        .n("threads", args.threads)
        .n("batch", kBatch)
        .steps(t)
        .n("samples_per_s", kBatch / t.median_s)
        .n("loss_d", last.loss_d)
        .n("loss_g", last.loss_g)
        .print();
    return 0;
  });
}
