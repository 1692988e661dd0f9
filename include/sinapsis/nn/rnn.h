// Recurrent layers as PyTorch 1.13 defines them: RNN (tanh or relu), LSTM (optional proj_size)
// and GRU over whole sequences, and the single-step cells RNNCell, LSTMCell and GRUCell.
// Parameter names, shapes, gate order and initialisation match torch.nn, so a PyTorch
// state_dict loads unchanged. The math is the fused op sn::rnn_layer (sinapsis/ops/rnn.h);
// this file only stacks layers and directions.
//
// Several inputs and outputs go through nn::Value (call / forward_multi):
//   LSTM:    {x, h0, c0, lengths} -> {y, h_n, c_n}
//   GRU/RNN: {x, h0, lengths}     -> {y, h_n}
// Every input after x may be left out or given as an undefined Tensor: h0/c0 then start from
// zeros, lengths then means "every sequence is T steps long". So {x} works, and so does
// {x, h_n, c_n} fed back from the previous call (generation carries state one token at a time).
//   x        [T, B, I] ([B, T, I] with batch_first), or unbatched [T, I]
//   h0, h_n  [L·D, B, P]  (L = num_layers, D = 2 if bidirectional, P = proj_size or hidden_size;
//                          [L·D, P] for unbatched input) — never batch-first, as in PyTorch
//   c0, c_n  [L·D, B, H]  LSTM only
//   lengths  int64 [B], every value in 1..T: sequence b is its first lengths[b] steps (like
//            pack_padded_sequence, but the lengths need no sorting); y is zero past a sequence's
//            end and h_n/c_n hold each sequence's state after its own last step
//   y        [T, B, D·P]  ([B, T, D·P] with batch_first); the two directions side by side
// forward(x) is call({x}) and returns y only: what Sequential and the model spec see.
// Cells take one step: LSTMCell {x, h, c} -> {h', c'}; GRUCell/RNNCell {x, h} -> {h'}, with
// x [B, I] or [I].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sinapsis/nn/module.h"
#include "sinapsis/nn/value.h"
#include "sinapsis/ops/rnn.h"

namespace sn::nn {

struct RNNOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;  // on the outputs of every layer but the last, in training
  bool bidirectional = false;
  std::string nonlinearity = "tanh";  // "tanh" or "relu"
};
struct LSTMOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;
  bool bidirectional = false;
  int64_t proj_size = 0;  // > 0: h = (o·tanh c)·W_hrᵀ has proj_size features
};
struct GRUOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;
  bool bidirectional = false;
};

// The outputs of a whole-sequence recurrent layer (c_n undefined for RNN and GRU).
struct RecurrentOutput {
  Tensor y, h_n, c_n;
};

// What RNN, LSTM and GRU share: parameters per layer and direction, stacking, checks.
class RecurrentBase : public Module {
 public:
  // The layer over a sequence; any of h0, c0, lengths may be undefined (see the top of this
  // file for the shapes).
  RecurrentOutput run(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                      const Tensor& lengths = Tensor());
  Tensor forward(const Tensor& x) override { return run(x).y; }
  std::string extra_repr() const override;
  std::string brief() const override;
  void reset_parameters();  // U(-1/√H, 1/√H) for every parameter, as PyTorch

  RnnKind kind() const { return kind_; }
  int64_t input_size() const { return input_; }
  int64_t hidden_size() const { return hidden_; }
  int64_t proj_size() const { return proj_; }
  int64_t num_layers() const { return layers_; }
  bool bidirectional() const { return dirs_ == 2; }
  bool batch_first() const { return batch_first_; }
  // The weights of layer k, direction dir (0 forward, 1 reverse).
  const RnnWeights& weights(int64_t k, int dir = 0) const { return w_[k * dirs_ + dir]; }

 protected:
  RecurrentBase(RnnKind kind, int64_t input_size, int64_t hidden_size, int64_t num_layers,
                bool bias, bool batch_first, double dropout, bool bidirectional, int64_t proj_size);
  // Splits a Value {x, h0, [c0,] lengths} (trailing entries optional).
  Value run_value(const Value& in, bool has_cell);

 private:
  void check_state(const Tensor& s, const char* what, int64_t B, int64_t size, bool batched,
                   const Tensor& x) const;
  RnnKind kind_;
  int64_t input_, hidden_, layers_, proj_;
  int dirs_;
  bool bias_, batch_first_;
  double dropout_;
  std::vector<RnnWeights> w_;  // layer-major: [k·D + dir]
};

class RNN : public RecurrentBase {
 public:
  RNN(int64_t input_size, int64_t hidden_size, RNNOptions opts = {});
  Value forward_multi(const Value& in) override { return run_value(in, false); }
  std::string type_name() const override { return "RNN"; }
};

class LSTM : public RecurrentBase {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, LSTMOptions opts = {});
  Value forward_multi(const Value& in) override { return run_value(in, true); }
  std::string type_name() const override { return "LSTM"; }
};

class GRU : public RecurrentBase {
 public:
  GRU(int64_t input_size, int64_t hidden_size, GRUOptions opts = {});
  Value forward_multi(const Value& in) override { return run_value(in, false); }
  std::string type_name() const override { return "GRU"; }
};

// ---------------------------------------------------------------------------------------------
// Cells: one step, parameters weight_ih [G·H, I], weight_hh [G·H, H], bias_ih, bias_hh.
class CellBase : public Module {
 public:
  // h' (and c' for LSTMCell) after one step from (h, c); undefined states are zeros.
  RecurrentOutput step(const Tensor& x, const Tensor& h = Tensor(), const Tensor& c = Tensor());
  Tensor forward(const Tensor& x) override { return step(x).h_n; }
  std::string extra_repr() const override;
  std::string brief() const override;
  void reset_parameters();

  int64_t input_size() const { return input_; }
  int64_t hidden_size() const { return hidden_; }
  const RnnWeights& weights() const { return w_; }

 protected:
  CellBase(RnnKind kind, int64_t input_size, int64_t hidden_size, bool bias);
  Value step_value(const Value& in);

 private:
  RnnKind kind_;
  int64_t input_, hidden_;
  RnnWeights w_;
};

class RNNCell : public CellBase {
 public:
  RNNCell(int64_t input_size, int64_t hidden_size, bool bias = true,
          const std::string& nonlinearity = "tanh");
  Value forward_multi(const Value& in) override { return step_value(in); }
  std::string type_name() const override { return "RNNCell"; }
};
class LSTMCell : public CellBase {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  Value forward_multi(const Value& in) override { return step_value(in); }
  std::string type_name() const override { return "LSTMCell"; }
};
class GRUCell : public CellBase {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  Value forward_multi(const Value& in) override { return step_value(in); }
  std::string type_name() const override { return "GRUCell"; }
};

}  // namespace sn::nn
