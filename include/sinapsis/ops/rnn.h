// The fused recurrent layer op: one layer and one direction of an RNN (tanh or relu), LSTM (with
// optional projection) or GRU over a whole sequence, as one autograd node. The input projection
// of all time steps is one GEMM, each step adds one GEMM for the hidden part, and the gate
// nonlinearities and state update run fused, forward and backward. Stacking layers, directions,
// batch_first and dropout are the modules' business (sinapsis/nn/rnn.h), not this op's.
#pragma once
#include <cstdint>

#include "sinapsis/core/tensor.h"

namespace sn {

enum class RnnKind { Tanh, ReLU, LSTM, GRU };

// The weights of one layer and direction, exactly as PyTorch stores them. G = 1 (RNN), 4 (LSTM:
// gates i, f, g, o) or 3 (GRU: gates r, z, n); H the hidden size; P = proj_size (LSTM with a
// projection) or H.
struct RnnWeights {
  Tensor w_ih;  // [G·H, I]
  Tensor w_hh;  // [G·H, P]
  Tensor b_ih;  // [G·H] or undefined (bias=false)
  Tensor b_hh;  // [G·H] or undefined
  Tensor w_hr;  // [P, H]: LSTM with proj_size > 0 only, else undefined
};

struct RnnLayerOutput {
  Tensor y;    // [T, B, P]: h_t of every step (zero past a sequence's length)
  Tensor h_n;  // [B, P]: the state after each sequence's own last step
  Tensor c_n;  // [B, H]: LSTM only (undefined otherwise)
};

// One layer, one direction, time-major. x [T, B, I]; h0 [B, P] and c0 [B, H] (LSTM) may be
// undefined for zeros; lengths, if defined, is an int64 [B] of values in 1..T: sequence b is
// x[0 .. len_b - 1, b], its later outputs are zero and its final state is the one after step
// len_b - 1 (pack_padded_sequence semantics). reverse runs each sequence from its own last step
// back to step 0 (the backward direction of a bidirectional layer).
//   LSTM: i, f, g, o = σ, σ, tanh, σ (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
//         c' = f·c + i·g;  h' = o·tanh(c')  (then h' = h'·W_hrᵀ with a projection)
//   GRU:  r, z = σ(x·W_i{r,z}ᵀ + b_i{r,z} + h·W_h{r,z}ᵀ + b_h{r,z})
//         n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn));  h' = (1 - z)·n + z·h
//   RNN:  h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), act = tanh or relu
// `name` prefixes every error message (the calling layer's label).
RnnLayerOutput rnn_layer(RnnKind kind, const Tensor& x, const Tensor& h0, const Tensor& c0,
                         const RnnWeights& w, const Tensor& lengths = Tensor(),
                         bool reverse = false, const char* name = "rnn_layer");

// Gates per hidden unit: 1, 4 or 3.
int64_t rnn_gate_count(RnnKind kind);

}  // namespace sn
