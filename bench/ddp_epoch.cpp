// One training epoch of the mlp or lenet preset on Fashion-MNIST-shaped data, on however many
// ranks mpirun starts, through DistributedDataParallel and a sharded loader; the global batch
// stays the same whatever the world size. With the same total cores, 2 ranks x 1 thread against
// 1 rank x 2 threads gives the data-parallel efficiency on one host:
//   mpirun -np 1 --bind-to none build/bench/bench_ddp_epoch --model mlp --threads 2
//   mpirun -np 2 --bind-to core build/bench/bench_ddp_epoch --model mlp --threads 1
// (the same with --model lenet). Synthetic data (--examples, default 60000 as Fashion-MNIST's
// training set) unless --data DIR names the Fashion-MNIST folder. Rank 0 prints one JSON line:
// the epoch's wall time (slowest rank), ms per step, the gradient bytes all-reduced per step and
// the buckets. A smoke test: --examples 512.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "harness.h"
#include "sinapsis/distributed/ddp.h"
#include "sinapsis/distributed/sampler.h"
#include "sinapsis/sinapsis.h"

namespace dist = sn::distributed;
using sn::Tensor;

int main(int argc, char** argv) {
  std::string model_name = "mlp", data_dir;
  int64_t examples = 60000, batch = 0;
  int threads = 0, epochs = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--model" && has)
      model_name = argv[++i];
    else if (a == "--examples" && has)
      examples = std::atoll(argv[++i]);
    else if (a == "--batch" && has)
      batch = std::atoll(argv[++i]);
    else if (a == "--threads" && has)
      threads = std::atoi(argv[++i]);
    else if (a == "--epochs" && has)
      epochs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--data" && has)
      data_dir = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: %s [--model mlp|lenet] [--examples N] [--batch GLOBAL] [--threads N] "
                   "[--epochs N] [--data FASHION_MNIST_DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    const bool flat = model_name == "mlp";
    if (batch == 0) batch = flat ? 128 : 32;  // the CLI's defaults for these presets
    sn::set_num_threads(threads > 0 ? threads : dist::threads_per_rank());
    sn::manual_seed(0);
    const sn::Shape in = flat ? sn::Shape{784} : sn::Shape{1, 28, 28};
    sn::data::DatasetPtr train;
    if (!data_dir.empty()) {
      sn::data::Transform t = sn::data::normalize(0.2860, 0.3530);
      if (flat) t = t | sn::data::flatten();
      train = sn::data::transform(sn::data::FashionMnist::train(data_dir), t);
    } else {
      sn::Shape xs = in;
      xs.insert(0, examples);
      train =
          std::make_shared<sn::data::TensorDataset>(sn::randn(xs), sn::randint(0, 10, {examples}));
    }
    auto built = sn::nn::build_model(sn::nn::preset_spec(model_name, in, 10), in);
    sn::nn::Module& model = *built.module;
    dist::DistributedDataParallel ddp(model);
    sn::optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
    sn::data::DataLoader loader(
        train,
        dist::shard_options(
            {.batch_size = dist::per_rank_batch(batch, "--batch"), .shuffle = true, .seed = 0}));
    int64_t grad_bytes = 0;
    for (const Tensor& p : model.parameters()) grad_bytes += static_cast<int64_t>(p.nbytes());
    for (int e = 0; e < epochs; ++e) {
      loader.set_epoch(e);
      dist::barrier();
      const double t0 = sn::bench::now_s();
      int64_t steps = 0;
      double loss_sum = 0;
      for (auto& [x, y] : loader) {
        opt.zero_grad();
        Tensor loss = sn::loss::cross_entropy(model(x), y);
        loss.backward();
        opt.step();
        loss_sum += loss.item();
        ++steps;
      }
      const double wall = dist::all_reduce(sn::bench::now_s() - t0, dist::ReduceOp::Max);
      const double loss = dist::all_reduce(loss_sum / steps, dist::ReduceOp::Mean);
      if (dist::is_main())
        sn::bench::Json()
            .s("bench", "ddp_epoch")
            .s("impl", "sinapsis")
            .s("model", model_name)
            .s("data", data_dir.empty() ? "synthetic" : "fashion-mnist")
            .n("ranks", dist::world_size())
            .n("threads_per_rank", sn::get_num_threads())
            .n("global_batch", static_cast<double>(batch))
            .n("epoch", e + 1)
            .n("steps", static_cast<double>(steps))
            .n("wall_s", wall)
            .n("ms_per_step", wall / static_cast<double>(steps) * 1e3)
            .n("grad_bytes", static_cast<double>(grad_bytes))
            .n("buckets", static_cast<double>(ddp.buckets().size()))
            .n("train_loss", loss)
            .print();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ddp_epoch: rank %d: %s\n", dist::rank(), e.what());
    dist::abort(2);
  }
  return 0;
}
