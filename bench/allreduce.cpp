// All-reduce bandwidth against the message size, for the scaling model in docs/distributed.md:
// a float32 sum all-reduce of n bytes over every rank, blocking (MPI_Allreduce) and non-blocking
// (all_reduce_async + wait), median of fixed repetitions (the same count on every rank, so the
// collectives pair up). algbw = bytes / time; busbw = algbw * 2 (N-1) / N, the bytes each link
// carries in a ring all-reduce (NCCL's definition), comparable across world sizes.
//   mpirun -np 2 --bind-to core build/bench/bench_allreduce                  (this host, loopback)
//   mpirun -np 2 build/bench/bench_allreduce --sizes 1024 1048576 --repeats 5 (smoke test)
// Rank 0 prints one JSON line per size.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "sinapsis/distributed/distributed.h"
#include "sinapsis/sinapsis.h"

namespace dist = sn::distributed;

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;  // bytes
  for (int64_t b = 4; b <= (int64_t{256} << 20); b *= 4) sizes.push_back(b);
  int repeats = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--sizes")) {
      sizes.clear();
      while (i + 1 < argc && argv[i + 1][0] != '-') sizes.push_back(std::atoll(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--sizes BYTES...] [--repeats N]\n", argv[0]);
      return 2;
    }
  }
  sn::set_num_threads(1);
  const int w = dist::world_size();
  for (int64_t bytes : sizes) {
    const int64_t n = std::max<int64_t>(1, bytes / 4);
    sn::Tensor t = sn::ones({n});
    // fewer repetitions for big messages, at least 3
    const int reps = std::max(3, bytes >= (int64_t{16} << 20) ? repeats / 4 : repeats);
    auto time_it = [&](bool async) {
      std::vector<double> s;
      for (int r = 0; r < reps + 2; ++r) {
        dist::barrier();
        const double t0 = sn::bench::now_s();
        if (async) {
          dist::Work work = dist::all_reduce_async(t);
          work.wait();
        } else {
          dist::all_reduce(t);
        }
        const double dt = sn::bench::now_s() - t0;
        if (r >= 2) s.push_back(dt);  // two warm-up rounds
      }
      std::sort(s.begin(), s.end());
      // the slowest rank's median: the collective is as slow as its slowest member
      return dist::all_reduce(s[s.size() / 2], dist::ReduceOp::Max);
    };
    const double blocking = time_it(false), async = time_it(true);
    const double algbw = static_cast<double>(n * 4) / blocking / 1e9;
    if (dist::is_main())
      sn::bench::Json()
          .s("bench", "allreduce")
          .s("impl", "sinapsis")
          .s("backend", dist::backend())
          .n("ranks", w)
          .n("bytes", n * 4)
          .n("median_ms", blocking * 1e3)
          .n("async_median_ms", async * 1e3)
          .n("algbw_GBps", algbw)
          .n("busbw_GBps", w > 1 ? algbw * 2.0 * (w - 1) / w : 0.0)
          .print();
  }
  return 0;
}
