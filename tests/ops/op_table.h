// The op table shared by the gradcheck and golden tests: every differentiable op of
// sinapsis/ops/ops.h and of Tensor's view methods is an Op (kOpInfo has a static_assert on its
// size), and each Op has one or more rows (inputs + a function). The golden generator
// (tests/golden/gen_ops.py) mirrors every row id with the same function written in PyTorch.
// Adding an op: a new Op + kOpInfo line, at least one row here, the same id in gen_ops.py.
#pragma once
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "sinapsis/sinapsis.h"

namespace sn::test {

enum class Op : int {
  // elementwise binary (tensor, tensor)
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  // with a scalar
  AddScalar,
  SubScalar,
  RSub,
  MulScalar,
  DivScalar,
  RDiv,
  PowScalar,
  RPow,
  // unary
  Neg,
  Exp,
  Log,
  Sqrt,
  Rsqrt,
  Abs,
  Sin,
  Cos,
  Square,
  Clamp,
  Where,
  WhereScalar,
  MaskedFill,
  // activations
  Step,
  Sigmoid,
  Tanh,
  Relu,
  LeakyRelu,
  Elu,
  Gelu,
  GeluTanh,
  Silu,
  Softplus,
  Softmax,
  LogSoftmax,
  // reductions
  Sum,
  SumDim,
  Mean,
  MeanDim,
  Var,
  Std,
  Max,
  Min,
  MaxDim,
  MinDim,
  Amax,
  Amin,
  Logsumexp,
  SumTo,
  // linear algebra
  Matmul,
  Mm,
  Dot,
  Outer,
  Linear,
  // structure
  Cat,
  Stack,
  Split,
  SplitSizes,
  Chunk,
  IndexSelect,
  Gather,
  ScatterAdd,
  Pad,
  // views and copies (free functions and Tensor methods)
  View,
  Reshape,
  Transpose,
  T,
  Permute,
  Narrow,
  Slice,
  Select,
  Index,
  Expand,
  ExpandAs,
  Squeeze,
  SqueezeAll,
  Unsqueeze,
  Flatten,
  Contiguous,
  Clone,
  To,
  kCount
};

struct OpInfo {
  Op op;
  const char* name;  // e.g. "add_scalar"
  const char* api;   // the function or method it covers, as declared in the headers
};

inline constexpr OpInfo kOpInfo[] = {
    {Op::Add, "add", "add"},
    {Op::Sub, "sub", "sub"},
    {Op::Mul, "mul", "mul"},
    {Op::Div, "div", "div"},
    {Op::Pow, "pow", "pow"},
    {Op::Maximum, "maximum", "maximum"},
    {Op::Minimum, "minimum", "minimum"},
    {Op::AddScalar, "add_scalar", "add"},
    {Op::SubScalar, "sub_scalar", "sub"},
    {Op::RSub, "rsub", "rsub"},
    {Op::MulScalar, "mul_scalar", "mul"},
    {Op::DivScalar, "div_scalar", "div"},
    {Op::RDiv, "rdiv", "rdiv"},
    {Op::PowScalar, "pow_scalar", "pow"},
    {Op::RPow, "rpow", "pow"},
    {Op::Neg, "neg", "neg"},
    {Op::Exp, "exp", "exp"},
    {Op::Log, "log", "log"},
    {Op::Sqrt, "sqrt", "sqrt"},
    {Op::Rsqrt, "rsqrt", "rsqrt"},
    {Op::Abs, "abs", "abs"},
    {Op::Sin, "sin", "sin"},
    {Op::Cos, "cos", "cos"},
    {Op::Square, "square", "square"},
    {Op::Clamp, "clamp", "clamp"},
    {Op::Where, "where", "where"},
    {Op::WhereScalar, "where_scalar", "where"},
    {Op::MaskedFill, "masked_fill", "masked_fill"},
    {Op::Step, "step", "step"},
    {Op::Sigmoid, "sigmoid", "sigmoid"},
    {Op::Tanh, "tanh", "tanh"},
    {Op::Relu, "relu", "relu"},
    {Op::LeakyRelu, "leaky_relu", "leaky_relu"},
    {Op::Elu, "elu", "elu"},
    {Op::Gelu, "gelu", "gelu"},
    {Op::GeluTanh, "gelu_tanh", "gelu"},
    {Op::Silu, "silu", "silu"},
    {Op::Softplus, "softplus", "softplus"},
    {Op::Softmax, "softmax", "softmax"},
    {Op::LogSoftmax, "log_softmax", "log_softmax"},
    {Op::Sum, "sum", "sum"},
    {Op::SumDim, "sum_dim", "sum"},
    {Op::Mean, "mean", "mean"},
    {Op::MeanDim, "mean_dim", "mean"},
    {Op::Var, "var", "var"},
    {Op::Std, "std", "std"},
    {Op::Max, "max", "max"},
    {Op::Min, "min", "min"},
    {Op::MaxDim, "max_dim", "max"},
    {Op::MinDim, "min_dim", "min"},
    {Op::Amax, "amax", "amax"},
    {Op::Amin, "amin", "amin"},
    {Op::Logsumexp, "logsumexp", "logsumexp"},
    {Op::SumTo, "sum_to", "sum_to"},
    {Op::Matmul, "matmul", "matmul"},
    {Op::Mm, "mm", "mm"},
    {Op::Dot, "dot", "dot"},
    {Op::Outer, "outer", "outer"},
    {Op::Linear, "linear", "linear"},
    {Op::Cat, "cat", "cat"},
    {Op::Stack, "stack", "stack"},
    {Op::Split, "split", "split"},
    {Op::SplitSizes, "split_sizes", "split"},
    {Op::Chunk, "chunk", "chunk"},
    {Op::IndexSelect, "index_select", "index_select"},
    {Op::Gather, "gather", "gather"},
    {Op::ScatterAdd, "scatter_add", "scatter_add"},
    {Op::Pad, "pad", "pad"},
    {Op::View, "view", "view"},
    {Op::Reshape, "reshape", "reshape"},
    {Op::Transpose, "transpose", "transpose"},
    {Op::T, "t", "t"},
    {Op::Permute, "permute", "permute"},
    {Op::Narrow, "narrow", "narrow"},
    {Op::Slice, "slice", "slice"},
    {Op::Select, "select", "select"},
    {Op::Index, "index", "operator[]"},
    {Op::Expand, "expand", "expand"},
    {Op::ExpandAs, "expand_as", "expand_as"},
    {Op::Squeeze, "squeeze", "squeeze"},
    {Op::SqueezeAll, "squeeze_all", "squeeze"},
    {Op::Unsqueeze, "unsqueeze", "unsqueeze"},
    {Op::Flatten, "flatten", "flatten"},
    {Op::Contiguous, "contiguous", "contiguous"},
    {Op::Clone, "clone", "clone"},
    {Op::To, "to", "to"},
};
static_assert(std::size(kOpInfo) == static_cast<size_t>(Op::kCount),
              "every Op needs its kOpInfo line (and rows below, and golden cases)");

constexpr bool op_info_in_order() {
  for (size_t i = 0; i < std::size(kOpInfo); ++i)
    if (static_cast<size_t>(kOpInfo[i].op) != i) return false;
  return true;
}
static_assert(op_info_in_order(), "kOpInfo must list the ops in enum order");

inline const OpInfo& info(Op op) { return kOpInfo[static_cast<int>(op)]; }

// Functions and methods in the headers that have no gradient (they return bool or int64, or
// cut the graph on purpose). Everything else declared in ops.h or among Tensor's views needs an
// Op above.
inline const std::vector<std::string>& non_differentiable_api() {
  static const std::vector<std::string> names = {
      "eq",         "ne",       "lt",    "le",   "gt",     "ge",     "logical_not", "logical_and",
      "logical_or", "allclose", "equal", "sign", "argmax", "argmin", "one_hot",     "detach"};
  return names;
}

// How gradcheck draws an input: Real = ±U[0.2, 2] (away from the kinks at 0), Positive =
// U[0.5, 2] (log, sqrt, pow bases).
enum class Domain { Real, Positive };

struct In {
  Shape shape;
  Domain domain = Domain::Real;
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Row {
  Op op;
  std::string id;  // unique; also the golden case id in tests/golden/ops.json
  std::vector<In> inputs;
  Fn fn;
  // gradcheck also runs the row on non-contiguous inputs (sliced with step 2; transposed) and,
  // for elementwise ops, on 0-d inputs
  bool strided = true;
  bool zero_d = false;
  autograd::GradcheckOptions opts = {};
};

// Constant index / mask tensors used inside row functions (mirrored in gen_ops.py). A row
// moves them to its inputs' device, so the backend op test can run it on any device.
inline Tensor idx(std::initializer_list<double> v) { return tensor(v, {.dtype = kInt64}); }
inline Tensor idx2(std::initializer_list<std::initializer_list<double>> v) {
  return tensor(v, {.dtype = kInt64});
}
inline Tensor mask(std::initializer_list<std::initializer_list<double>> v) {
  return tensor(v, {.dtype = kBool});
}

inline const std::vector<Row>& op_rows() {
  using V = const std::vector<Tensor>&;
  static const std::vector<Row> rows = [] {
    std::vector<Row> r;
    auto add_row = [&](Op op, std::string id, std::vector<In> in, Fn fn) -> Row& {
      r.push_back(Row{op, std::move(id), std::move(in), std::move(fn)});
      return r.back();
    };
    const Domain P = Domain::Positive;

    // ---- binary
    add_row(Op::Add, "add", {{{2, 3}}, {{2, 3}}}, [](V x) { return add(x[0], x[1]); }).zero_d =
        true;
    add_row(Op::Add, "add/broadcast", {{{2, 3}}, {{3}}}, [](V x) { return x[0] + x[1]; });
    add_row(Op::Add, "add/alpha", {{{2, 3}}, {{1, 3}}}, [](V x) { return add(x[0], x[1], 2.5); });
    add_row(Op::Add, "add/0d", {{{}}, {{2, 3}}}, [](V x) { return x[0] + x[1]; });
    add_row(Op::Sub, "sub", {{{2, 3}}, {{2, 1}}}, [](V x) { return x[0] - x[1]; }).zero_d = true;
    add_row(Op::Sub, "sub/alpha", {{{3}}, {{2, 3}}}, [](V x) { return sub(x[0], x[1], 0.5); });
    add_row(Op::Mul, "mul", {{{2, 3}}, {{2, 3}}}, [](V x) { return x[0] * x[1]; }).zero_d = true;
    add_row(Op::Mul, "mul/broadcast", {{{4, 1, 3}}, {{2, 1}}}, [](V x) { return x[0] * x[1]; });
    add_row(Op::Mul, "mul/same_input", {{{2, 3}}}, [](V x) { return x[0] * x[0]; });
    add_row(Op::Div, "div", {{{2, 3}}, {{2, 3}}}, [](V x) { return x[0] / x[1]; }).zero_d = true;
    add_row(Op::Div, "div/broadcast", {{{3}}, {{2, 3}, P}}, [](V x) { return x[0] / x[1]; });
    add_row(Op::Pow, "pow", {{{2, 3}, P}, {{2, 3}}}, [](V x) { return pow(x[0], x[1]); }).zero_d =
        true;
    add_row(Op::Pow, "pow/broadcast", {{{2, 3}, P}, {{3}}}, [](V x) { return pow(x[0], x[1]); });
    add_row(Op::Maximum, "maximum", {{{2, 3}}, {{2, 3}}}, [](V x) {
      return maximum(x[0], x[1]);
    }).zero_d = true;
    add_row(Op::Maximum, "maximum/broadcast", {{{2, 3}}, {{3}}},
            [](V x) { return maximum(x[0], x[1]); });
    add_row(Op::Minimum, "minimum", {{{2, 3}}, {{2, 3}}}, [](V x) {
      return minimum(x[0], x[1]);
    }).zero_d = true;
    add_row(Op::Minimum, "minimum/broadcast", {{{2, 1}}, {{2, 3}}},
            [](V x) { return minimum(x[0], x[1]); });

    // ---- with a scalar
    add_row(Op::AddScalar, "add_scalar", {{{2, 3}}}, [](V x) { return x[0] + 1.5; }).zero_d = true;
    add_row(Op::SubScalar, "sub_scalar", {{{2, 3}}}, [](V x) { return x[0] - 1.5; }).zero_d = true;
    add_row(Op::RSub, "rsub", {{{2, 3}}}, [](V x) { return 1.5 - x[0]; }).zero_d = true;
    add_row(Op::MulScalar, "mul_scalar", {{{2, 3}}}, [](V x) { return x[0] * -2.5; }).zero_d = true;
    add_row(Op::DivScalar, "div_scalar", {{{2, 3}}}, [](V x) { return x[0] / 4.0; }).zero_d = true;
    add_row(Op::RDiv, "rdiv", {{{2, 3}}}, [](V x) { return 2.0 / x[0]; }).zero_d = true;
    add_row(Op::PowScalar, "pow_scalar", {{{2, 3}}}, [](V x) { return pow(x[0], 3.0); }).zero_d =
        true;
    add_row(Op::PowScalar, "pow_scalar/sqrt", {{{2, 3}, P}}, [](V x) { return pow(x[0], 0.5); });
    add_row(Op::PowScalar, "pow_scalar/square", {{{2, 3}}}, [](V x) { return x[0].pow(2.0); });
    add_row(Op::PowScalar, "pow_scalar/negative", {{{2, 3}, P}},
            [](V x) { return pow(x[0], -1.5); });
    add_row(Op::RPow, "rpow", {{{2, 3}}}, [](V x) { return pow(2.0, x[0]); }).zero_d = true;

    // ---- unary
    add_row(Op::Neg, "neg", {{{2, 3}}}, [](V x) { return -x[0]; }).zero_d = true;
    add_row(Op::Exp, "exp", {{{2, 3}}}, [](V x) { return exp(x[0]); }).zero_d = true;
    add_row(Op::Log, "log", {{{2, 3}, P}}, [](V x) { return log(x[0]); }).zero_d = true;
    add_row(Op::Sqrt, "sqrt", {{{2, 3}, P}}, [](V x) { return sqrt(x[0]); }).zero_d = true;
    add_row(Op::Rsqrt, "rsqrt", {{{2, 3}, P}}, [](V x) { return rsqrt(x[0]); }).zero_d = true;
    add_row(Op::Abs, "abs", {{{2, 3}}}, [](V x) { return abs(x[0]); }).zero_d = true;
    add_row(Op::Sin, "sin", {{{2, 3}}}, [](V x) { return sin(x[0]); }).zero_d = true;
    add_row(Op::Cos, "cos", {{{2, 3}}}, [](V x) { return cos(x[0]); }).zero_d = true;
    add_row(Op::Square, "square", {{{2, 3}}}, [](V x) { return square(x[0]); }).zero_d = true;
    add_row(Op::Clamp, "clamp", {{{2, 3}}}, [](V x) { return clamp(x[0], -0.5, 0.5); }).zero_d =
        true;
    add_row(Op::Clamp, "clamp/min", {{{2, 3}}},
            [](V x) { return clamp(x[0], -0.5, std::nullopt); });
    add_row(Op::Clamp, "clamp/max", {{{2, 3}}}, [](V x) { return clamp(x[0], std::nullopt, 0.5); });
    add_row(Op::Where, "where", {{{2, 3}}, {{2, 3}}}, [](V x) {
      return where(mask({{1, 0, 1}, {0, 0, 1}}).to(x[0].device()), x[0], x[1]);
    });
    add_row(Op::Where, "where/broadcast", {{{1, 3}}, {{3}}}, [](V x) {
      return where(mask({{1}, {0}}).to(x[0].device()), x[0], x[1]);
    });
    add_row(Op::WhereScalar, "where_scalar", {{{2, 3}}}, [](V x) {
      return where(mask({{1, 0, 1}, {0, 0, 1}}).to(x[0].device()), x[0], 0.5);
    });
    add_row(Op::MaskedFill, "masked_fill", {{{2, 3}}}, [](V x) {
      return masked_fill(x[0], mask({{1, 0, 1}, {0, 0, 1}}).to(x[0].device()), -1.0);
    });
    add_row(Op::MaskedFill, "masked_fill/broadcast", {{{2, 3}}}, [](V x) {
      return masked_fill(x[0], mask({{0, 1, 0}}).to(x[0].device()), 2.0);
    });

    // ---- activations
    add_row(Op::Step, "step", {{{2, 3}}}, [](V x) { return step(x[0]) + x[0]; }).zero_d = true;
    add_row(Op::Sigmoid, "sigmoid", {{{2, 3}}}, [](V x) { return sigmoid(x[0]); }).zero_d = true;
    add_row(Op::Tanh, "tanh", {{{2, 3}}}, [](V x) { return tanh(x[0]); }).zero_d = true;
    add_row(Op::Relu, "relu", {{{2, 3}}}, [](V x) { return relu(x[0]); }).zero_d = true;
    add_row(Op::LeakyRelu, "leaky_relu", {{{2, 3}}}, [](V x) {
      return leaky_relu(x[0], 0.1);
    }).zero_d = true;
    add_row(Op::Elu, "elu", {{{2, 3}}}, [](V x) { return elu(x[0], 1.5); }).zero_d = true;
    add_row(Op::Gelu, "gelu", {{{2, 3}}}, [](V x) { return gelu(x[0]); }).zero_d = true;
    add_row(Op::GeluTanh, "gelu_tanh", {{{2, 3}}}, [](V x) { return gelu(x[0], true); }).zero_d =
        true;
    add_row(Op::Silu, "silu", {{{2, 3}}}, [](V x) { return silu(x[0]); }).zero_d = true;
    add_row(Op::Softplus, "softplus", {{{2, 3}}}, [](V x) { return softplus(x[0]); }).zero_d = true;
    add_row(Op::Softplus, "softplus/beta_threshold", {{{2, 3}}},
            [](V x) { return softplus(x[0], 2.0, 2.0); });
    add_row(Op::Softmax, "softmax", {{{2, 3}}}, [](V x) { return softmax(x[0], 1); });
    add_row(Op::Softmax, "softmax/dim0", {{{3, 2}}}, [](V x) { return softmax(x[0], 0); });
    add_row(Op::Softmax, "softmax/3d", {{{2, 3, 2}}}, [](V x) { return x[0].softmax(1); });
    add_row(Op::LogSoftmax, "log_softmax", {{{2, 3}}}, [](V x) { return log_softmax(x[0], -1); });
    add_row(Op::LogSoftmax, "log_softmax/3d", {{{2, 3, 2}}},
            [](V x) { return x[0].log_softmax(0); });

    // ---- reductions
    add_row(Op::Sum, "sum", {{{2, 3}}}, [](V x) { return sum(x[0]); }).zero_d = true;
    add_row(Op::SumDim, "sum_dim", {{{2, 3}}}, [](V x) { return sum(x[0], {1}); });
    add_row(Op::SumDim, "sum_dim/keepdim", {{{2, 3, 2}}}, [](V x) {
      return x[0].sum({0, 2}, true);
    });
    add_row(Op::SumDim, "sum_dim/negative", {{{2, 3}}}, [](V x) { return sum(x[0], {-1}); });
    add_row(Op::Mean, "mean", {{{2, 3}}}, [](V x) { return mean(x[0]); }).zero_d = true;
    add_row(Op::MeanDim, "mean_dim", {{{2, 3}}}, [](V x) { return mean(x[0], {0}); });
    add_row(Op::MeanDim, "mean_dim/keepdim", {{{2, 3, 2}}}, [](V x) {
      return x[0].mean({1, 2}, true);
    });
    add_row(Op::Var, "var", {{{2, 3}}}, [](V x) { return var(x[0]); });
    add_row(Op::Var, "var/dim", {{{2, 3}}}, [](V x) { return var(x[0], {1}); });
    add_row(Op::Var, "var/population_keepdim", {{{3, 2}}},
            [](V x) { return var(x[0], {0}, 0, true); });
    add_row(Op::Std, "std", {{{2, 3}}}, [](V x) { return sn::std(x[0]); });
    add_row(Op::Std, "std/dim", {{{2, 3}}}, [](V x) { return sn::std(x[0], {1}); });
    add_row(Op::Max, "max", {{{2, 3}}}, [](V x) { return max(x[0]); }).zero_d = true;
    add_row(Op::Min, "min", {{{2, 3}}}, [](V x) { return x[0].min(); }).zero_d = true;
    add_row(Op::MaxDim, "max_dim", {{{2, 3}}}, [](V x) { return max(x[0], 1).first; });
    add_row(Op::MaxDim, "max_dim/keepdim", {{{3, 2}}},
            [](V x) { return max(x[0], 0, true).first; });
    add_row(Op::MinDim, "min_dim", {{{2, 3}}}, [](V x) { return min(x[0], -1).first; });
    add_row(Op::Amax, "amax", {{{2, 3}}}, [](V x) { return amax(x[0], {1}); });
    add_row(Op::Amax, "amax/keepdim", {{{2, 3, 2}}}, [](V x) { return amax(x[0], {0, 2}, true); });
    add_row(Op::Amin, "amin", {{{2, 3}}}, [](V x) { return amin(x[0], {0}); });
    add_row(Op::Logsumexp, "logsumexp", {{{2, 3}}}, [](V x) { return logsumexp(x[0], {1}); });
    add_row(Op::Logsumexp, "logsumexp/keepdim", {{{2, 3}}},
            [](V x) { return logsumexp(x[0], {0}, true); });
    add_row(Op::SumTo, "sum_to", {{{2, 3, 4}}}, [](V x) { return sum_to(x[0], {3, 1}); });

    // ---- linear algebra
    add_row(Op::Matmul, "matmul/1d_1d", {{{3}}, {{3}}}, [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/1d_2d", {{{3}}, {{3, 2}}}, [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/2d_1d", {{{2, 3}}, {{3}}}, [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/2d", {{{2, 3}}, {{3, 4}}}, [](V x) { return x[0].matmul(x[1]); });
    add_row(Op::Matmul, "matmul/batched", {{{2, 2, 3}}, {{2, 3, 2}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/broadcast", {{{2, 1, 2, 3}}, {{3, 3, 2}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/batched_2d", {{{2, 2, 3}}, {{3, 2}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/2d_batched", {{{2, 3}}, {{2, 3, 2}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/1d_batched", {{{3}}, {{2, 3, 2}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Matmul, "matmul/batched_1d", {{{2, 2, 3}}, {{3}}},
            [](V x) { return matmul(x[0], x[1]); });
    add_row(Op::Mm, "mm", {{{2, 3}}, {{3, 4}}}, [](V x) { return mm(x[0], x[1]); });
    add_row(Op::Dot, "dot", {{{4}}, {{4}}}, [](V x) { return dot(x[0], x[1]); });
    add_row(Op::Outer, "outer", {{{3}}, {{2}}}, [](V x) { return outer(x[0], x[1]); });
    add_row(Op::Linear, "linear", {{{2, 3}}, {{4, 3}}, {{4}}},
            [](V x) { return linear(x[0], x[1], x[2]); });
    add_row(Op::Linear, "linear/no_bias_1d", {{{3}}, {{2, 3}}},
            [](V x) { return linear(x[0], x[1]); });
    add_row(Op::Linear, "linear/3d", {{{2, 2, 3}}, {{4, 3}}, {{4}}},
            [](V x) { return linear(x[0], x[1], x[2]); });

    // ---- structure
    add_row(Op::Cat, "cat", {{{2, 3}}, {{1, 3}}}, [](V x) { return cat({x[0], x[1]}); });
    add_row(Op::Cat, "cat/dim1", {{{2, 1}}, {{2, 2}}, {{2, 3}}}, [](V x) {
      return cat({x[0], x[1], x[2]}, 1);
    });
    add_row(Op::Stack, "stack", {{{2, 3}}, {{2, 3}}}, [](V x) { return stack({x[0], x[1]}, 1); });
    add_row(Op::Split, "split", {{{5, 2}}}, [](V x) {
      std::vector<Tensor> p = split(x[0], 2);
      return cat({p[0] * 1.0, p[1] * 2.0, p[2] * 3.0});
    });
    add_row(Op::SplitSizes, "split_sizes", {{{2, 4}}}, [](V x) {
      std::vector<Tensor> p = split(x[0], std::vector<int64_t>{1, 3}, 1);
      return cat({p[0] * -1.0, p[1] * 0.5}, 1);
    });
    add_row(Op::Chunk, "chunk", {{{2, 6}}}, [](V x) {
      std::vector<Tensor> p = chunk(x[0], 3, 1);
      return cat({p[0] * 3.0, p[1], p[2] * -2.0}, 1);
    });
    add_row(Op::Chunk, "chunk/one_used", {{{5, 2}}}, [](V x) { return chunk(x[0], 2)[1]; });
    add_row(Op::IndexSelect, "index_select", {{{4, 3}}}, [](V x) {
      return index_select(x[0], 0, idx({3, 0, 3}));
    });
    add_row(Op::IndexSelect, "index_select/dim1", {{{2, 4}}}, [](V x) {
      return index_select(x[0], 1, idx({1, 1, 2}));
    });
    add_row(Op::Gather, "gather", {{{3, 4}}}, [](V x) {
      return gather(x[0], 1, idx2({{0, 0, 3}, {1, 2, 1}, {3, 3, 0}}));
    });
    add_row(Op::Gather, "gather/dim0", {{{3, 2}}}, [](V x) {
      return gather(x[0], 0, idx2({{2, 0}, {2, 2}, {0, 1}, {1, 1}}));
    });
    add_row(Op::ScatterAdd, "scatter_add", {{{3, 4}}, {{3, 3}}}, [](V x) {
      return scatter_add(x[0], 1, idx2({{0, 0, 3}, {1, 2, 1}, {3, 3, 0}}), x[1]);
    });
    add_row(Op::ScatterAdd, "scatter_add/small_index", {{{2, 3}}, {{3, 3}}}, [](V x) {
      return scatter_add(x[0], 0, idx2({{1, 0}}), x[1]);
    });
    add_row(Op::Pad, "pad", {{{2, 3}}}, [](V x) { return pad(x[0], {1, 2}); });
    add_row(Op::Pad, "pad/2d_value", {{{2, 2, 3}}}, [](V x) {
      return pad(x[0], {0, 1, 2, 0}, 0.5);
    });

    // ---- views and copies
    add_row(Op::View, "view", {{{2, 3}}}, [](V x) { return x[0].view({3, -1}); }).strided = false;
    add_row(Op::Reshape, "reshape", {{{2, 3}}}, [](V x) { return reshape(x[0], {3, 2}); });
    add_row(Op::Reshape, "reshape/flat", {{{2, 3}}}, [](V x) { return x[0].reshape({-1}); });
    add_row(Op::Transpose, "transpose", {{{2, 3, 2}}}, [](V x) { return transpose(x[0], 0, 2); });
    add_row(Op::Transpose, "transpose/method", {{{2, 3}}},
            [](V x) { return x[0].transpose(-1, -2) * 1.0; });
    add_row(Op::T, "t", {{{2, 3}}}, [](V x) { return x[0].t(); });
    add_row(Op::Permute, "permute", {{{2, 3, 2}}}, [](V x) { return permute(x[0], {2, 0, 1}); });
    add_row(Op::Narrow, "narrow", {{{2, 4}}}, [](V x) { return x[0].narrow(1, 1, 2); });
    add_row(Op::Slice, "slice", {{{2, 5}}}, [](V x) { return x[0].slice(1, 0, 4, 2); });
    add_row(Op::Slice, "slice/negative", {{{4, 2}}}, [](V x) { return x[0].slice(0, -3, 3); });
    add_row(Op::Select, "select", {{{2, 3}}}, [](V x) { return x[0].select(1, 2); });
    add_row(Op::Index, "index", {{{3, 2}}}, [](V x) { return x[0][1] * x[0][-1]; });
    add_row(Op::Expand, "expand", {{{3, 1}}}, [](V x) { return x[0].expand({2, 3, 4}); });
    add_row(Op::ExpandAs, "expand_as", {{{1, 3}}}, [](V x) {
      return x[0].expand_as(zeros({2, 3}));
    });
    add_row(Op::Squeeze, "squeeze", {{{2, 1, 3}}}, [](V x) { return squeeze(x[0], 1); });
    add_row(Op::SqueezeAll, "squeeze_all", {{{1, 2, 1, 3}}}, [](V x) { return x[0].squeeze(); });
    add_row(Op::Unsqueeze, "unsqueeze", {{{2, 3}}}, [](V x) { return unsqueeze(x[0], 1); });
    add_row(Op::Flatten, "flatten", {{{2, 3, 2}}}, [](V x) { return flatten(x[0], 1); });
    add_row(Op::Contiguous, "contiguous", {{{2, 3}}},
            [](V x) { return x[0].transpose(0, 1).contiguous(); });
    add_row(Op::Clone, "clone", {{{2, 3}}}, [](V x) { return x[0].clone(); });
    // through float32: a coarse step keeps the finite differences above its rounding
    add_row(Op::To, "to", {{{2, 3}}}, [](V x) { return x[0].to(kFloat32) * 2.0; }).opts = {
        .eps = 1e-2, .atol = 1e-4, .rtol = 1e-3};
    return r;
  }();
  return rows;
}

inline const Row* find_row(const std::string& id) {
  for (const Row& r : op_rows())
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace sn::test
