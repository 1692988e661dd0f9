// Training checkpoints: ONE safetensors file holding the model's state_dict as "model.<name>",
// the optimizer's state tensors as "optim.<key>", and in __metadata__ the epoch, sn's RNG state,
// the model spec (JSON text), the optimizer's name and numbers (hyper-parameters, step counts),
// the LR scheduler's state and the History. Written atomically (temp file + rename). Plain
// model weights without training state are io's and nn's business, not this file's.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "sinapsis/nn/module.h"
#include "sinapsis/optim/optimizer.h"
#include "sinapsis/optim/scheduler.h"
#include "sinapsis/train/history.h"

namespace sn::train {

// Metadata keys written by save_checkpoint (all values are strings, JSON where structured):
//   "format"          "sinapsis.checkpoint"
//   "format_version"  "1"
//   "epoch"           epochs completed, decimal
//   "rng_state"       sn::rng_state()                         (when saved)
//   "model_spec"      the JSON model spec, verbatim           (when given)
//   "optimizer"       {"name": "Adam", "scalars": {"group.0.lr": 0.001, "state.0.step": 12, ...}}
//   "scheduler"       {"name": "StepLR", "state": {"last_epoch": 3, ...}}   (when given)
//   "history"         History::to_json()   (when given: ModelCheckpoint gives it only with
//                     embed_history; runs keep it in a HistoryFile instead)
// plus the caller's extra keys, which must not collide with these.
struct CheckpointData {
  int64_t epoch = 0;  // epochs completed: resume with FitOptions::initial_epoch = epoch
  const History* history = nullptr;
  bool save_rng = true;
  std::string model_spec{};
  const optim::LRScheduler* scheduler = nullptr;
  std::map<std::string, std::string> extra{};
};

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const CheckpointData& data = {});
// Model only (no "optim.*" tensors, no "optimizer" key).
void save_checkpoint(const std::string& path, const nn::Module& model,
                     const CheckpointData& data = {});

struct CheckpointInfo {
  int64_t epoch = 0;
  bool has_history = false;  // files that embed a History (older ModelCheckpoint files do)
  History history;
  std::string rng_state;   // empty when not saved
  std::string model_spec;  // empty when not saved
  std::string optimizer;   // optimizer class name; empty when no optimizer state was saved
  std::map<std::string, double> optimizer_scalars;  // "group.0.lr", "state.0.step", ...
  std::string scheduler;                            // scheduler class name, or empty
  std::map<std::string, double> scheduler_state;
  std::map<std::string, std::string> extra;     // the caller's keys
  std::map<std::string, std::string> metadata;  // the whole __metadata__, raw
};

struct LoadCheckpointOptions {
  bool strict = true;       // every model key must match (see Module::load_state_dict)
  bool restore_rng = true;  // sn::set_rng_state from the file, when it holds one
  // Restored from the file's "scheduler" entry; ValueError when the file has none or it was
  // written by another scheduler class.
  optim::LRScheduler* scheduler = nullptr;
};

// Restores the model (and the optimizer, the RNG and the scheduler) and returns the metadata.
// Everything is checked before anything is changed: a file from another model or optimizer
// type throws ValueError/IOError and leaves the objects as they were. Corrupt files throw
// IOError naming the file.
CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer& optimizer, const LoadCheckpointOptions& opts = {});
// Model only: the optimizer state in the file, if any, is ignored.
CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model,
                               const LoadCheckpointOptions& opts = {});
// Reads the metadata without touching any model (for inspection tools).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace sn::train
