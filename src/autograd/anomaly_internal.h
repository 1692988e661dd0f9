// Library-private side of anomaly mode (sinapsis/autograd/anomaly.h): the switch the engine
// tests with one load, and the NaN/Inf checks it calls only when the switch is on.
#pragma once
#include <atomic>
#include <cstddef>
#include <vector>

#include "sinapsis/autograd/anomaly.h"
#include "sinapsis/autograd/node.h"

namespace sn::detail {

extern std::atomic<bool> g_anomaly_mode;
inline bool anomaly_on() { return g_anomaly_mode.load(std::memory_order_relaxed); }

// AnomalyError when an output of `node` holds a NaN/Inf (forward, from connect()).
void check_anomaly_outputs(const Node& node, Tensor* const* outs, size_t n);
// AnomalyError when a gradient `node` computed for one of its inputs holds a NaN/Inf.
void check_anomaly_grads(const Node& node, const std::vector<Tensor>& grads);

}  // namespace sn::detail
