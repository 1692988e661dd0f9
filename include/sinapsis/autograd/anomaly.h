// Anomaly mode: a debugging switch that checks every recorded op's outputs, and every gradient
// computed by backward, for NaN/Inf and throws AnomalyError naming the op that produced it.
// Off by default, and then it costs one branch per recorded op. Not thread-local: one global
// switch, like PyTorch's torch.autograd.set_detect_anomaly.
#pragma once
#include "sinapsis/core/error.h"

namespace sn {

// Thrown in anomaly mode, e.g.
//   anomaly: LogBackward produced nan in its output (shape [64, 10])
//   anomaly: LogBackward produced inf in the gradient for input 0 (shape [64, 10])
class AnomalyError : public AutogradError {
 public:
  using AutogradError::AutogradError;
};

namespace autograd {

void set_anomaly_mode(bool on);
bool anomaly_mode();

// RAII: anomaly mode on (or off) for a scope.
class AnomalyModeGuard {
 public:
  explicit AnomalyModeGuard(bool on = true) : prev_(anomaly_mode()) { set_anomaly_mode(on); }
  ~AnomalyModeGuard() { set_anomaly_mode(prev_); }
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace autograd
}  // namespace sn
