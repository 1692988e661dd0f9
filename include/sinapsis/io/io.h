// sinapsis io: safetensors checkpoints and atomic file writes (namespace sn::io).
// Saving modules/optimizers lives with them (nn, train); this layer moves named tensors.
#pragma once
#include "sinapsis/io/atomic_file.h"
#include "sinapsis/io/safetensors.h"
