// A job whose rank 1 fails on bad input while rank 0 waits in a collective (ctest
// mpi.failing_rank): the failing rank reports its error and ends the job (distributed::abort,
// as the CLI does), so rank 0 does not hang. The test expects a non-zero status, "rank 1" in
// the output, and an end within its time limit.
#include <cstdio>

#include "sinapsis/distributed/distributed.h"
#include "sinapsis/sinapsis.h"

int main() {
  namespace dist = sn::distributed;
  try {
    dist::init();
    if (dist::rank() == 1) {
      // "bad input": a shape error from the library
      (void)sn::matmul(sn::ones({2, 3}), sn::ones({4, 5}));
    }
    sn::Tensor step = sn::ones({1});
    for (int i = 0; i < 1000000; ++i) dist::all_reduce(step);  // rank 0 keeps stepping
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", dist::rank(), e.what());
    dist::abort(2);
  }
}
