// History: what fit() records, one EpochRecord per epoch (train/validation loss and metrics,
// learning rate, wall time), plus the best epoch and why training stopped. It serialises to
// JSON (checkpoints store it) and CSV. It computes nothing: fit() and the callbacks fill it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sn::train {

// Which way a monitored quantity improves. Auto: Max for names containing "acc" (accuracy,
// val_top5_accuracy, balanced_accuracy), Min otherwise (losses, mse, mae).
enum class Mode { Auto, Min, Max };
// Mode::Auto resolved for `key`.
Mode resolve_mode(Mode mode, const std::string& key);

struct EpochRecord {
  int64_t epoch = 0;                        // 0-based index (printed as epoch + 1)
  double loss = 0;                          // mean training loss over the epoch's examples
  std::map<std::string, double> metrics{};  // training metrics by name ("accuracy", ...)
  bool has_validation = false;
  double val_loss = 0;
  std::map<std::string, double> val_metrics{};  // by name, without the "val_" prefix
  double lr = 0;          // learning rate of group 0 at the epoch's first batch
  double seconds = 0;     // wall time of the epoch, validation included
  int64_t batches = 0;    // training batches run
  int64_t examples = 0;   // training examples seen
  bool completed = true;  // false when training stopped in the middle of this epoch

  // Keras-style flat view: "loss", "<metric>", "val_loss", "val_<metric>", "lr", "time".
  std::map<std::string, double> logs() const;
  // One value of logs(), or nullopt when this epoch has no such key.
  std::optional<double> get(const std::string& key) const;
};

struct History {
  std::vector<EpochRecord> epochs{};
  // Index into `epochs` of the best epoch by `monitor` (-1 when none), set by fit().
  int64_t best_epoch = -1;
  std::string monitor{};  // the key best_epoch was chosen by, e.g. "val_loss"
  bool stopped_early = false;
  std::string stop_reason{};  // who stopped training and why (empty when all epochs ran)

  bool empty() const { return epochs.empty(); }
  size_t size() const { return epochs.size(); }
  const EpochRecord& back() const { return epochs.back(); }
  // The values of `key` over the epochs (NaN where an epoch lacks it).
  std::vector<double> series(const std::string& key) const;
  // Every key any epoch has, in a stable order: loss, metrics, val_loss, val_metrics, lr, time.
  std::vector<std::string> keys() const;
  // Index of the best completed epoch by `key` (-1 when no epoch has it). Ties keep the first.
  int64_t best(const std::string& key, Mode mode = Mode::Auto) const;

  std::string to_json() const;
  // Parses to_json()'s output; ValueError on anything else.
  static History from_json(const std::string& json);
  // A file of to_json()'s output (HistoryFile writes one); IOError naming the file otherwise.
  static History load(const std::string& path);
  // Header "epoch,<keys()>" and one row per epoch (epoch printed 1-based).
  std::string to_csv() const;
};

}  // namespace sn::train
