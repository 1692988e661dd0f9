// The CLI under mpirun (`mpirun -np N sinapsis train ...`): what the ranks share and what only
// rank 0 does. In a world of one every helper here is a no-op, so cmd_train.cpp has no
// special path for a single process.
#pragma once
#include <iosfwd>
#include <streambuf>
#include <string>

namespace sn::cli {

// While it lives, std::cout prints on rank 0 only (errors on std::cerr still come from every
// rank, prefixed with the rank by main).
class StdoutOnMainRank {
 public:
  StdoutOnMainRank();
  ~StdoutOnMainRank();
  StdoutOnMainRank(const StdoutOnMainRank&) = delete;
  StdoutOnMainRank& operator=(const StdoutOnMainRank&) = delete;

 private:
  std::streambuf* saved_ = nullptr;
};

// Rank 0's run folder, on every rank (each rank may have picked another free name).
std::string shared_run_dir(const std::string& mine);
// --threads when given, else the cores per rank on this host (all cores in a world of one: 0).
int threads_for_rank(int requested);
// "distributed: 2 ranks on 1 host (mpi), batch 128 = 2 x 64, 1 thread per rank", once.
std::string describe_world(int64_t global_batch, int64_t per_rank, int threads);
// Refuses a run kind that cannot train on several ranks (text runs, L-BFGS), naming it.
void refuse_distributed(const std::string& what);

}  // namespace sn::cli
