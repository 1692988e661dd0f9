// Which backends implement each op of op_table.h, forward and backward: the one list of ops
// and backends. The CPU implements every op. A device backend (src/backend/backend.h)
// implements an op when every kernel of its forward and backward goes through the Backend
// interface; the other ops read memory on the CPU and fail on that device with a DeviceError
// naming it (never a silent fallback). tests/backend/op_backends_test.cpp runs every row of the
// table on every device present and checks both directions, so this list cannot go stale;
// adding an op to op_table.h fails to compile until it has a line here.
#pragma once
#include <iterator>

#include "ops/op_table.h"

namespace sn::test {

inline constexpr unsigned kCpu = 1u << static_cast<int>(DeviceType::CPU);
inline constexpr unsigned kCuda = 1u << static_cast<int>(DeviceType::CUDA);

struct OpBackends {
  Op op;
  unsigned backends;  // kCpu | kCuda ...
};

inline constexpr OpBackends kOpBackends[] = {
    {Op::Add, kCpu | kCuda},
    {Op::Sub, kCpu | kCuda},
    {Op::Mul, kCpu | kCuda},
    {Op::Div, kCpu | kCuda},
    {Op::Pow, kCpu | kCuda},
    {Op::Maximum, kCpu | kCuda},
    {Op::Minimum, kCpu | kCuda},
    {Op::AddScalar, kCpu | kCuda},
    {Op::SubScalar, kCpu | kCuda},
    {Op::RSub, kCpu | kCuda},
    {Op::MulScalar, kCpu | kCuda},
    {Op::DivScalar, kCpu | kCuda},
    {Op::RDiv, kCpu | kCuda},
    {Op::PowScalar, kCpu | kCuda},
    {Op::RPow, kCpu | kCuda},
    {Op::Neg, kCpu | kCuda},
    {Op::Exp, kCpu | kCuda},
    {Op::Log, kCpu | kCuda},
    {Op::Sqrt, kCpu | kCuda},
    {Op::Rsqrt, kCpu | kCuda},
    {Op::Abs, kCpu | kCuda},
    {Op::Sin, kCpu | kCuda},
    {Op::Cos, kCpu | kCuda},
    {Op::Square, kCpu | kCuda},
    {Op::Clamp, kCpu | kCuda},
    {Op::Where, kCpu | kCuda},
    {Op::WhereScalar, kCpu | kCuda},
    {Op::MaskedFill, kCpu | kCuda},
    {Op::Step, kCpu | kCuda},
    {Op::Sigmoid, kCpu | kCuda},
    {Op::Tanh, kCpu | kCuda},
    {Op::Relu, kCpu | kCuda},
    {Op::LeakyRelu, kCpu | kCuda},
    {Op::Elu, kCpu | kCuda},
    {Op::Gelu, kCpu | kCuda},
    {Op::GeluTanh, kCpu | kCuda},
    {Op::Silu, kCpu | kCuda},
    {Op::Softplus, kCpu | kCuda},
    {Op::Softmax, kCpu | kCuda},
    {Op::LogSoftmax, kCpu | kCuda},
    {Op::Sum, kCpu | kCuda},
    {Op::SumDim, kCpu | kCuda},
    {Op::Mean, kCpu | kCuda},
    {Op::MeanDim, kCpu | kCuda},
    {Op::Var, kCpu | kCuda},
    {Op::Std, kCpu | kCuda},
    {Op::Max, kCpu},
    {Op::Min, kCpu},
    {Op::MaxDim, kCpu},
    {Op::MinDim, kCpu},
    {Op::Amax, kCpu},
    {Op::Amin, kCpu},
    {Op::Logsumexp, kCpu},
    {Op::SumTo, kCpu | kCuda},
    {Op::Matmul, kCpu | kCuda},
    {Op::Mm, kCpu | kCuda},
    {Op::Dot, kCpu | kCuda},
    {Op::Outer, kCpu | kCuda},
    {Op::Linear, kCpu | kCuda},
    {Op::Cat, kCpu | kCuda},
    {Op::Stack, kCpu | kCuda},
    {Op::Split, kCpu | kCuda},
    {Op::SplitSizes, kCpu | kCuda},
    {Op::Chunk, kCpu | kCuda},
    {Op::IndexSelect, kCpu},
    {Op::Gather, kCpu},
    {Op::ScatterAdd, kCpu},
    {Op::Pad, kCpu | kCuda},
    {Op::View, kCpu | kCuda},
    {Op::Reshape, kCpu | kCuda},
    {Op::Transpose, kCpu | kCuda},
    {Op::T, kCpu | kCuda},
    {Op::Permute, kCpu | kCuda},
    {Op::Narrow, kCpu | kCuda},
    {Op::Slice, kCpu | kCuda},
    {Op::Select, kCpu | kCuda},
    {Op::Index, kCpu | kCuda},
    {Op::Expand, kCpu | kCuda},
    {Op::ExpandAs, kCpu | kCuda},
    {Op::Squeeze, kCpu | kCuda},
    {Op::SqueezeAll, kCpu | kCuda},
    {Op::Unsqueeze, kCpu | kCuda},
    {Op::Flatten, kCpu | kCuda},
    {Op::Contiguous, kCpu | kCuda},
    {Op::Clone, kCpu | kCuda},
    {Op::To, kCpu | kCuda},
};
static_assert(std::size(kOpBackends) == static_cast<size_t>(Op::kCount),
              "every Op of op_table.h needs a line in kOpBackends");

constexpr bool op_backends_in_order() {
  for (size_t i = 0; i < std::size(kOpBackends); ++i)
    if (static_cast<size_t>(kOpBackends[i].op) != i) return false;
  return true;
}
static_assert(op_backends_in_order(), "kOpBackends must list the ops in enum order");

inline bool implements(Op op, DeviceType type) {
  return (kOpBackends[static_cast<int>(op)].backends >> static_cast<int>(type)) & 1u;
}

}  // namespace sn::test
