// DataLoader throughput: samples/s delivered over Fashion-MNIST train (batch 128, shuffled, with
// the MLP's normalize + flatten transform, last partial batch kept) while the consumer does
// nothing with the batches; with the default prefetch thread (2 batches ahead) and with loading
// in the loop's own thread (prefetch 0). One timed call = one whole epoch, begin() included.
// bench/run.py sets this against the samples/s the MLP training step consumes.
#include <sinapsis/sinapsis.h>

#include "fashion_epoch.h"
#include "harness.h"

using namespace sn::bench;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {}, {.data = true});
  if (!args.ok) return 2;
  return guarded_main(argv[0], [&] {
    sn::set_num_threads(args.threads);
    sn::manual_seed(0);
    constexpr int64_t kBatch = 128;
    sn::data::DatasetPtr train = fashion_split(args.data, true, /*flat=*/true);
    for (int prefetch : {2, 0}) {
      const std::string name = "loader fmnist b128 prefetch " + std::to_string(prefetch);
      if (!selected(args, name)) continue;
      sn::data::DataLoader loader(
          train, {.batch_size = kBatch, .shuffle = true, .seed = 0, .prefetch = prefetch});
      int64_t samples = 0;
      StepTiming t = time_steps(args, 1, 3, [&] {
        samples = 0;
        for (auto& [x, y] : loader) {
          keep(x);
          samples += x.size(0);
        }
      });
      Json()
          .s("bench", "loader")
          .s("case", name)
          .s("impl", "sinapsis")
          .n("threads", args.threads)
          .n("batch", kBatch)
          .n("prefetch", prefetch)
          .n("samples_per_epoch", static_cast<double>(samples))
          .n("median_ms", t.median_s * 1e3)
          .n("epochs_timed", t.steps)
          .n("samples_per_s", static_cast<double>(samples) / t.median_s)
          .print();
    }
    return 0;
  });
}
