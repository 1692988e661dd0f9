// The dense autoencoder of ../shared/reference/generative.py --model ae (784-256-32-256-784,
// sigmoid output, BCE mean over pixels, Adam 1e-3, batch 128), built from the `autoencoder`
// preset and trained as `sinapsis train --preset autoencoder` trains it (train/autoencoder.h:
// the final Sigmoid fused into the BCE).
// Default: per-step timing on 8 fixed batches of uniform [0, 1) pixels; one timed step =
// zero_grad (set to none) + forward + loss + backward + Adam step, as generative.py times it.
// With --data DIR [--epochs N]: generative.py's whole recipe on Fashion-MNIST (all 60000 images,
// shuffled each epoch, every step timed, data loading outside the steps), then the test BCE and
// MSE (means over pixels) and the training wall time, as generative.py reports them.
#include <sinapsis/sinapsis.h>

#include "common.h"

using namespace sn::bench;
namespace nn = sn::nn;
namespace train = sn::train;

namespace {

constexpr int64_t kBatch = 128;

struct Model {
  nn::BuiltModel built;
  train::AutoencoderTraining t;
};

Model make_model() {
  Model m;
  m.built = nn::build_model(nn::preset_spec("autoencoder", sn::Shape{784}, 0));
  m.t = train::autoencoder_training(m.built.module);
  return m;
}

int run_epochs(const Args& args) {
  Model m = make_model();
  sn::optim::Adam opt(m.built.module->parameters(), {.lr = 1e-3});
  auto flat = [](const sn::data::DatasetPtr& d) {
    return sn::data::transform(d, sn::data::flatten());
  };
  sn::data::DatasetPtr train_set = flat(sn::data::FashionMnist::train(args.data));
  sn::data::DatasetPtr test_set = flat(sn::data::FashionMnist::test(args.data));
  // the data are in memory (as generative.py's tensors); only the steps are timed
  sn::data::DataLoader loader(train::reconstruction_dataset(train_set),
                              {.batch_size = kBatch, .shuffle = true, .prefetch = args.prefetch});
  std::vector<double> times;
  const double start = now_s();
  nn::Module& trainee = *m.t.trainee;
  for (int e = 0; e < args.epochs; ++e) {
    double total = 0;
    int64_t seen = 0;
    for (auto& [x, y] : loader) {
      const double t0 = now_s();
      opt.zero_grad(true);
      sn::Tensor loss = m.t.loss(trainee(x), y);
      loss.backward();
      opt.step();
      times.push_back(now_s() - t0);
      total += loss.item() * static_cast<double>(x.size(0));
      seen += x.size(0);
    }
    Json().n("epoch", e + 1).n("train_bce", total / static_cast<double>(seen)).print();
  }
  sn::data::DataLoader test(test_set, {.batch_size = 10000});
  const train::ReconstructionError r = train::evaluate_reconstruction(*m.built.module, test);
  const double train_s = now_s() - start;
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  const double med = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  Json()
      .s("bench", "ae_train")
      .s("case", "ae fashion-mnist epochs")
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("epochs", args.epochs)
      .n("median_ms", train_s * 1e3)
      .n("train_s", train_s)
      .n("steps", static_cast<double>(n))
      .n("ms_per_step_median", med * 1e3)
      .n("test_bce", r.bce)
      .n("test_mse", r.mse)
      .print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return train_bench_main(argc, argv, [](const Args& args) {
    if (!args.data.empty()) return run_epochs(args);
    Model m = make_model();
    sn::optim::Adam opt(m.built.module->parameters(), {.lr = 1e-3});
    std::vector<sn::Tensor> pool;
    for (int i = 0; i < 8; ++i) pool.push_back(sn::rand(sn::Shape{kBatch, 784}));
    nn::Module& trainee = *m.t.trainee;
    sn::Tensor loss;
    size_t i = 0;
    StepTiming t = time_steps(args, 20, 500, [&] {
      const sn::Tensor& x = pool[i++ % pool.size()];
      opt.zero_grad(true);
      loss = m.t.loss(trainee(x), x);
      loss.backward();
      opt.step();
    });
    print_train_step(args, "ae_train", "ae train step b128", kBatch, t, loss.item());
    return 0;
  });
}
