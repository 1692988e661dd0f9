// Run folders that cannot be mistaken: a new run claims a folder of its own (an existing one only
// with --overwrite, the default name moving on to -2, -3, ...), a failed run removes what it
// created, and Ctrl-C ends a run with a checkpoint that `sinapsis resume` continues.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli.h"
#include "sinapsis/distributed/distributed.h"

namespace sn::cli {

namespace fs = std::filesystem;

namespace {
// What a run writes into its folder (RunPaths); --overwrite removes these and nothing else.
const char* const kRunFiles[] = {"best.safetensors", "last.safetensors", "run.json",
                                 "history.csv",      "history.jsonl",    "curves.svg",
                                 "model.json",       "result.json"};

bool is_run_tmp(const fs::path& p) {
  // io::AtomicFile's temporaries: ".<name>.tmp-XXXXXX"
  const std::string n = p.filename().string();
  return n.size() > 1 && n[0] == '.' && n.find(".tmp-") != std::string::npos;
}

void remove_tmp_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_run_tmp(e.path())) fs::remove(e.path(), ec);
}
}  // namespace

std::string next_free_run_dir(const std::string& base) {
  if (!fs::exists(base)) return base;
  for (int i = 2;; ++i) {
    const std::string d = base + "-" + std::to_string(i);
    if (!fs::exists(d)) return d;
  }
}

bool claim_run_dir(const std::string& dir, bool overwrite,
                   const std::vector<std::pair<std::string, std::string>>& inputs) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return true;
  SN_CHECK(fs::is_directory(st), IOError, "--out: '", dir, "' exists and is not a folder");
  if (fs::is_empty(dir, ec)) return false;
  SN_CHECK(overwrite, IOError, "--out: '", dir, "' already exists",
           fs::exists(RunPaths(dir).run_json) ? " and holds a run" : " and is not empty",
           "; hint: --overwrite replaces the run in it, or give another --out");
  // the run writes these: none of them may be a file the run reads
  for (const char* f : kRunFiles)
    refuse_overwrite("train --overwrite", (fs::path(dir) / f).string(), inputs);
  for (const char* f : kRunFiles) fs::remove(fs::path(dir) / f, ec);
  remove_tmp_files(dir);
  return false;
}

RunCleanup::RunCleanup(std::string dir, bool created) : dir_(std::move(dir)), created_(created) {}

RunCleanup::~RunCleanup() {
  if (done_ || !fs::exists(dir_)) return;
  std::error_code ec;
  remove_tmp_files(dir_);
  // a folder this run made, with no checkpoint to resume from, goes entirely
  if (created_ && !fs::exists(RunPaths(dir_).last)) fs::remove_all(dir_, ec);
}

// ---------------------------------------------------------------- Ctrl-C

namespace {
std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
  static const char msg[] =
      "\ninterrupted: finishing the batch and saving a checkpoint (Ctrl-C again quits at once)\n";
  [[maybe_unused]] ssize_t r = ::write(2, msg, sizeof msg - 1);
  std::signal(SIGINT, SIG_DFL);  // the second Ctrl-C ends the process
}

// Stops fit/fit_steps after the batch in flight; on_train_end saves where the run is.
class InterruptCheckpoint : public train::Callback {
 public:
  InterruptCheckpoint(std::string path, std::string spec, std::map<std::string, std::string> extra)
      : path_(std::move(path)), spec_(std::move(spec)), extra_(std::move(extra)) {}
  void on_batch_end(train::TrainState& s) override {
    bool now = g_interrupted.load();
    // under mpirun every rank stops at the batch where any rank saw the signal
    if (distributed::is_distributed())
      now = distributed::all_reduce(int64_t{now}, distributed::ReduceOp::Max) > 0;
    if (!now || s.stop_requested()) return;
    where_ = s.steps > 0 ? "step " + std::to_string(s.step + 1) + " of " + std::to_string(s.steps)
                         : "epoch " + std::to_string(s.epoch + 1) + ", batch " +
                               std::to_string(s.batch + 1) + " of " + std::to_string(s.num_batches);
    s.request_stop("interrupted at " + where_);
  }
  void on_train_end(train::TrainState& s) override {
    if (where_.empty() || !distributed::is_main()) return;
    // The epoch (or period of steps) in flight is not complete: the file says the epochs before
    // it are done, with the weights as they are now, so resume runs that epoch again.
    train::History done = *s.history;
    std::erase_if(done.epochs, [](const train::EpochRecord& r) { return !r.completed; });
    const train::CheckpointData data{.epoch = s.epoch,
                                     .history = &done,
                                     .model_spec = spec_,
                                     .scheduler = s.scheduler,
                                     .extra = extra_};
    train::save_checkpoint(path_, *s.model, *s.optimizer, data);
    saved_ = true;
  }
  const std::string& where() const { return where_; }
  bool saved() const { return saved_; }

 private:
  std::string path_, spec_;
  std::map<std::string, std::string> extra_;
  std::string where_;
  bool saved_ = false;
};
}  // namespace

void install_interrupt_handler() {
  g_interrupted.store(false);
  std::signal(SIGINT, on_sigint);
  // Ctrl-C on mpirun reaches the ranks as SIGTERM (then SIGKILL after
  // odls_base_sigkill_timeout seconds): treated as Ctrl-C
  if (distributed::is_distributed()) std::signal(SIGTERM, on_sigint);
}

bool interrupted() { return g_interrupted.load(); }

train::CallbackPtr interrupt_checkpoint(const RunPaths& run, const std::string& spec,
                                        const std::map<std::string, std::string>& extra) {
  return std::make_shared<InterruptCheckpoint>(run.last, spec, extra);
}

void finish_interrupted(const train::CallbackPtr& cb, const RunPaths& run) {
  auto* ic = dynamic_cast<InterruptCheckpoint*>(cb.get());
  if (!ic || ic->where().empty()) return;
  if (!distributed::is_main()) throw ExitStatus{130};
  std::cout.flush();
  std::cerr << "\ninterrupted at " << ic->where() << "; saved " << run.last << " (the interrupted "
            << (ic->where().rfind("step", 0) == 0 ? "period" : "epoch")
            << " runs again from its start)\n"
            << "resume: sinapsis resume " << run.dir << "\n";
  throw ExitStatus{130};
}

void diverged(const train::DivergenceError& e, const RunPaths& run, double lr,
              int64_t steps_per_period) {
  std::string kept = "no epoch finished, so no checkpoint is kept";
  if (steps_per_period > 0) kept = "no period of steps finished, so no checkpoint is kept";
  if (fs::exists(run.last)) {
    const int64_t done = train::read_checkpoint_info(run.last).epoch;
    kept = "the last good checkpoint is kept: " + run.last + " (" +
           (steps_per_period > 0 ? "step " + std::to_string(done * steps_per_period)
                                 : "epoch " + std::to_string(done)) +
           ")";
  }
  std::cout.flush();
  SN_THROW(ValueError, "train: the run diverged: ", e.what(), "; ", kept,
           "; hint: a smaller --lr (now ", lr, ")");
}

}  // namespace sn::cli
