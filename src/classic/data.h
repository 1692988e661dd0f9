// Private input checks shared by the classic learners: inputs become contiguous float64
// matrices with finite values, or the learner throws a message naming itself and the shapes.
// Nothing here trains anything.
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::classic::detail {

// x as contiguous float64 [N, d] (N ≥ 1, finite). expect_d ≥ 0 also checks d.
Tensor features(const Tensor& x, const char* op, int64_t expect_d = -1);
// t as contiguous float64 [N] (finite); a [N, 1] column is accepted too.
Tensor targets(const Tensor& t, int64_t n, const char* op);
// [N, d] -> [N, d + 1] with the constant 1 in column 0.
Tensor with_bias(const Tensor& x);
// Throws ValueError unless every value is finite.
void check_finite(const Tensor& t, const char* op, const char* what);
void check_options(const char* op, double lr, int64_t epochs);
// 0..n-1, shuffled with the global generator when asked.
std::vector<int64_t> sample_order(int64_t n, bool shuffle);
// Gradient descent on a squared error has diverged when the error is no longer finite or has
// grown a million-fold over the error at the starting weights (a converging run never does).
bool diverging(double mse, double start_mse);
// Rows `idx[begin, end)` of a contiguous float64 matrix [N, c] (or vector [N]).
Tensor gather_rows(const Tensor& m, const std::vector<int64_t>& idx, int64_t begin, int64_t end);

}  // namespace sn::classic::detail
