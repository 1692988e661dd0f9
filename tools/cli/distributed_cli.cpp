// The CLI's helpers for running under mpirun (distributed_cli.h).
#include "distributed_cli.h"

#include <iostream>
#include <set>
#include <sstream>

#include "sinapsis/core/error.h"
#include "sinapsis/distributed/distributed.h"

namespace sn::cli {

StdoutOnMainRank::StdoutOnMainRank() {
  if (!distributed::is_main()) saved_ = std::cout.rdbuf(nullptr);  // writes are dropped
}
StdoutOnMainRank::~StdoutOnMainRank() {
  if (saved_) {
    std::cout.rdbuf(saved_);
    std::cout.clear();
  }
}

std::string shared_run_dir(const std::string& mine) {
  std::string dir = mine;
  distributed::broadcast(dir, 0);
  return dir;
}

int threads_for_rank(int requested) {
  if (requested > 0 || !distributed::is_distributed()) return requested;
  return distributed::threads_per_rank();
}

std::string describe_world(int64_t global_batch, int64_t per_rank, int threads) {
  const std::vector<std::string> hosts = distributed::all_gather(distributed::host_name());
  const size_t nhosts = std::set<std::string>(hosts.begin(), hosts.end()).size();
  std::ostringstream os;
  os << "distributed: " << distributed::world_size() << " ranks on " << nhosts
     << (nhosts == 1 ? " host" : " hosts") << " (" << distributed::backend() << "), batch "
     << global_batch << " = " << distributed::world_size() << " x " << per_rank << ", " << threads
     << (threads == 1 ? " thread" : " threads") << " per rank";
  return os.str();
}

void refuse_distributed(const std::string& what) {
  SN_CHECK(!distributed::is_distributed(), ValueError, "train: ", what,
           " cannot train on several ranks yet (", distributed::world_size(),
           " ranks); hint: run it without mpirun");
}

}  // namespace sn::cli
