// safetensors checkpoints: named tensors + a string metadata map in the format PyTorch's
// `safetensors` package reads and writes (8-byte little-endian header length, JSON header,
// raw little-endian data). Saving a Module or an optimizer is built on top of this elsewhere;
// this file knows only names, tensors and strings.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "sinapsis/core/tensor.h"

namespace sn::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct Checkpoint {
  TensorMap tensors;
  Metadata metadata;  // the header's "__metadata__" (empty when absent)
};

// Writes F32 / F64 / I64 / BOOL tensors atomically (temp file + fsync + rename): if anything
// fails, the file that was at `path` before is still there, whole.
void save(const TensorMap& tensors, const std::string& path, const Metadata& metadata = {});
// The same bytes save() writes, in memory.
std::string save_bytes(const TensorMap& tensors, const Metadata& metadata = {});

// Reads a checkpoint. F32/F64/I64/BOOL load as themselves; F16 and BF16 become float32;
// I8/U8/I16/I32 become int64. Everything in the file is checked (header size, JSON, names,
// dtypes, shapes, offsets: in range, not overlapping, covering the data exactly) and any
// problem is an IOError naming the file and the tensor.
Checkpoint load(const std::string& path);
// Parses checkpoint bytes held in memory; `name` is used in error messages.
Checkpoint load_bytes(std::string_view bytes, const std::string& name = "<memory>");

// Largest header accepted, as in the reference implementation: a bigger claim is corruption.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

}  // namespace sn::io
