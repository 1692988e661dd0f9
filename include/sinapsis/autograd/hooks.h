// Hooks into the backward engine for code that must act while backward runs (gradient
// synchronisation across processes): a per-leaf "gradient ready" hook, called once the leaf's
// .grad holds this backward's contribution, and callbacks queued to run when the current
// backward pass ends. Not for changing gradients (register no math here).
#pragma once
#include <cstdint>
#include <functional>

#include "sinapsis/core/tensor.h"

namespace sn::autograd {

// Called by backward() right after it accumulated into `leaf`'s .grad. The engine runs a leaf's
// accumulation once per backward pass, after every consumer of the leaf delivered its part, so
// the gradient is final for this pass. Not called by grad() (it does not touch .grad), nor for
// a leaf that this backward does not reach. Hooks run on the thread that runs backward, in the
// order they were added.
using GradReadyHook = std::function<void(const Tensor& leaf)>;
// Returns an id for remove_grad_ready_hook. The leaf must require grad.
int64_t add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook);
void remove_grad_ready_hook(int64_t id);

// Runs `fn` once the backward pass that is running on this thread has processed every node
// (PyTorch's Engine::queue_callback). Callable only from inside a backward pass (from a hook):
// elsewhere an AutogradError. Callbacks run in the order queued; one that throws ends the pass
// with its exception. A backward that throws earlier drops its queued callbacks.
void queue_callback(std::function<void()> fn);

}  // namespace sn::autograd
