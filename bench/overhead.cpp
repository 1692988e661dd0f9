// Per-op overhead: sn::add of two one-element float32 tensors, with no input requiring grad
// (nothing recorded), and with one input requiring grad so that each call records (and then
// frees) a Backward node.
// Measures the fixed cost of an op call: checks, allocation, dispatch, graph bookkeeping.
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {1});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::Tensor a = sn::ones({1}), b = sn::ones({1});
  sn::Tensor ag = sn::ones({1}, {.requires_grad = true});
  auto report = [&](const char* variant, auto&& fn) {
    if (!selected(args, variant)) return;
    Timing t = measure(args, fn);
    Json()
        .s("bench", "overhead")
        .s("op", variant)
        .s("impl", "sinapsis")
        .n("threads", args.threads)
        .timing(t)
        .n("us", t.median_s * 1e6)
        .print();
  };
  report("add_no_grad", [&] { keep(sn::add(a, b)); });
  report("add_grad", [&] { keep(sn::add(ag, b)); });
  return 0;
}
