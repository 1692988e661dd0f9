// What the training benches with a Fashion-MNIST mode share (mlp_train, cnn_train, ae_train):
// their main's preamble and the JSON line of a timed training step. The programs keep their
// models, optimizers and epoch modes.
#pragma once
#include <sinapsis/sinapsis.h>

#include "harness.h"

namespace sn::bench {

// Parses the common options plus --data, --epochs and --prefetch (exit 2 with the usage on a bad
// one), then runs body(args) under guarded_main with the thread count set and the global
// generator seeded with 0.
template <typename F>
int train_bench_main(int argc, char** argv, F&& body) {
  Args args = parse_args(argc, argv, {}, {.data = true, .epochs = true, .prefetch = true});
  if (!args.ok) return 2;
  return guarded_main(argv[0], [&] {
    set_num_threads(args.threads);
    manual_seed(0);
    return body(args);
  });
}

// The result of a timed training step of `batch` examples: bench, case, threads, batch, the step
// times, samples per second and the last step's loss.
inline void print_train_step(const Args& args, const char* bench, const char* what, int64_t batch,
                             const StepTiming& t, double final_loss) {
  Json()
      .s("bench", bench)
      .s("case", what)
      .s("impl", "sinapsis")
      .s("device", args.device)
      .n("threads", args.threads)
      .n("batch", batch)
      .steps(t)
      .n("samples_per_s", batch / t.median_s)
      .n("final_loss", final_loss)
      .print();
}

}  // namespace sn::bench
