// MLP inference latency, the workload of ../shared/reference/mlp_infer.py: the MLP of
// mlp_train.py (784-512-256-10, ReLU, default init) in eval mode; one timed call = model(x)
// without recording (the guard is entered inside the call, as `with torch.no_grad()` is), for
// batch 1 and batch 256, inputs N(0, 1) allocated once. Calls are timed one by one (100 warm-up
// calls, then at least 1000 calls and --min-time seconds); the median is reported.
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

int main(int argc, char** argv) {
  // --sizes are the batch sizes
  Args args = parse_args(argc, argv, {1, 256});
  if (!args.ok) return 2;
  return guarded_main(argv[0], [&] {
    sn::set_num_threads(args.threads);
    sn::manual_seed(0);
    auto model = nn::Sequential(
        {nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(), nn::Linear(256, 10)});
    model.eval();
    for (int64_t batch : args.sizes) {
      const std::string name = "mlp infer b" + std::to_string(batch);
      if (!selected(args, name)) continue;
      sn::Tensor x = sn::randn({batch, 784});
      sn::Tensor y;
      StepTiming t = time_steps(args, 100, 1000, [&] {
        sn::NoGradGuard no_grad;
        y = model(x);
      });
      Json()
          .s("bench", "mlp_infer")
          .s("case", name)
          .s("impl", "sinapsis")
          .n("threads", args.threads)
          .n("batch", batch)
          .n("median_ms", t.median_s * 1e3)
          .n("us_median", t.median_s * 1e6)
          .n("us_mean", t.mean_s * 1e6)
          .n("us_min", t.min_s * 1e6)
          .n("calls", t.steps)
          .n("timed_s", t.timed_s)
          .n("samples_per_s", batch / t.median_s)
          .print();
    }
    return 0;
  });
}
