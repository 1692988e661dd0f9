// Dtype dispatch: runs a generic body with `scalar_t` bound to the C++ type of a DType.
// Private to the library. A new dtype adds a case here and a row in kDTypeTable.
#pragma once
#include <cstdint>

#include "sinapsis/core/dtype.h"
#include "sinapsis/core/error.h"

#define SN_DTYPE_CASE(enumv, ctype, ...) \
  case ::sn::DType::enumv: {             \
    using scalar_t = ctype;              \
    __VA_ARGS__();                       \
    break;                               \
  }

// All dtypes.
#define SN_DISPATCH_ALL(dtype, opname, ...)                                                  \
  do {                                                                                       \
    switch (dtype) {                                                                         \
      SN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                             \
      SN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                            \
      SN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                                             \
      SN_DTYPE_CASE(Bool, bool, __VA_ARGS__)                                                 \
    }                                                                                        \
  } while (0)

// Numeric dtypes (no bool).
#define SN_DISPATCH_NUMERIC(dtype, opname, ...)                                              \
  do {                                                                                       \
    switch (dtype) {                                                                         \
      SN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                             \
      SN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                            \
      SN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                                             \
      default:                                                                               \
        SN_THROW(::sn::DTypeError, opname, ": not supported for dtype ", dtype);             \
    }                                                                                        \
  } while (0)

// Floating dtypes only.
#define SN_DISPATCH_FLOAT(dtype, opname, ...)                                                \
  do {                                                                                       \
    switch (dtype) {                                                                         \
      SN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                             \
      SN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                            \
      default:                                                                               \
        SN_THROW(::sn::DTypeError, opname, ": expected a floating-point tensor, got ", dtype, \
                 "; hint: convert with .to(sn::kFloat32)");                                  \
    }                                                                                        \
  } while (0)
