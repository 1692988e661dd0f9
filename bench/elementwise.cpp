// Elementwise throughput: add, mul (two inputs) and relu (one input) on contiguous float32
// tensors of 1M and 16M elements, a new output each call. Reports GB/s counting every byte
// read and written once. The PyTorch side is torch_ops.py.
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {1 << 20, 1 << 24});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::manual_seed(0);
  sn::NoGradGuard ng;
  for (int64_t n : args.sizes) {
    sn::Tensor a = sn::randn({n}), b = sn::randn({n});
    auto report = [&](const char* op, int operands, auto&& fn) {
      if (!selected(args, op)) return;
      Timing t = measure(args, fn);
      const double bytes = static_cast<double>(operands + 1) * n * sizeof(float);
      Json()
          .s("bench", "elementwise")
          .s("op", op)
          .s("impl", "sinapsis")
          .n("threads", args.threads)
          .n("n", n)
          .timing(t)
          .n("gbps", bytes / t.median_s / 1e9)
          .print();
    };
    report("add", 2, [&] { keep(sn::add(a, b)); });
    report("mul", 2, [&] { keep(sn::mul(a, b)); });
    report("relu", 1, [&] { keep(sn::relu(a)); });
  }
  return 0;
}
