// Private knobs of the spec builder (nn/spec.h) for tests and the fuzzer: the memory a model
// may take while it is built (default: half the machine's memory).
#pragma once
#include <cstddef>

namespace sn::nn::detail {

// 0 restores the default. Returns the previous setting.
size_t set_spec_memory_limit(size_t bytes);

}  // namespace sn::nn::detail
