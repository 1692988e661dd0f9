// The dtype table: every element type sinapsis knows, its name, size and promotion rank.
// Adding a dtype means one row in kDTypeTable plus a case in SN_DISPATCH (src/core/dispatch.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace sn {

enum class DType : uint8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };
inline constexpr int kNumDTypes = 4;

inline constexpr DType kBool = DType::Bool;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;

struct DTypeInfo {
  DType dtype;
  const char* name;       // "float32"
  const char* st_name;    // safetensors name, "F32"
  size_t itemsize;
  bool is_floating;
};
extern const DTypeInfo kDTypeTable[kNumDTypes];

inline const DTypeInfo& info(DType t) { return kDTypeTable[static_cast<int>(t)]; }
inline const char* dtype_name(DType t) { return info(t).name; }
inline size_t itemsize(DType t) { return info(t).itemsize; }
inline bool is_floating(DType t) { return info(t).is_floating; }
// Result type of a binary op: bool < int64 < float32 < float64.
inline DType promote(DType a, DType b) { return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b; }

std::ostream& operator<<(std::ostream& os, DType t);

}  // namespace sn
