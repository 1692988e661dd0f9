// RNN, LSTM, GRU and their cells: parameter registration (PyTorch's names, order and init),
// stacking of layers and directions, dropout between layers, batch_first and unbatched input,
// and shape checks naming the layer. The recurrences themselves are sn::rnn_layer (ops/rnn.cpp).
#include "sinapsis/nn/rnn.h"

#include <cmath>
#include <sstream>

#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {

std::string fmt_double(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Inverted dropout on a layer's output: kept elements scaled by 1/(1-p).
Tensor drop(const Tensor& x, double p) {
  if (p >= 1.0) return mul(x, 0.0);
  Tensor mask = rand(x.shape(), {.dtype = x.dtype()});
  mask = mul(lt(mask, 1.0 - p).to(x.dtype()), 1.0 / (1.0 - p));
  return mul(x, mask);
}

RnnKind rnn_kind(const std::string& nonlinearity) {
  SN_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", ValueError,
           "RNN: nonlinearity must be \"tanh\" or \"relu\" (got \"", nonlinearity, "\")");
  return nonlinearity == "tanh" ? RnnKind::Tanh : RnnKind::ReLU;
}

const char* kind_name(RnnKind k) {
  switch (k) {
    case RnnKind::LSTM:
      return "LSTM";
    case RnnKind::GRU:
      return "GRU";
    default:
      return "RNN";
  }
}

}  // namespace

// ============================================================== RecurrentBase
RecurrentBase::RecurrentBase(RnnKind kind, int64_t input_size, int64_t hidden_size,
                             int64_t num_layers, bool bias, bool batch_first, double dropout,
                             bool bidirectional, int64_t proj_size)
    : kind_(kind),
      input_(input_size),
      hidden_(hidden_size),
      layers_(num_layers),
      proj_(proj_size),
      dirs_(bidirectional ? 2 : 1),
      bias_(bias),
      batch_first_(batch_first),
      dropout_(dropout) {
  const char* name = kind_name(kind);
  SN_CHECK(input_size > 0 && hidden_size > 0, ValueError, name,
           ": input_size and hidden_size must be positive (got ", input_size, ", ", hidden_size,
           ")");
  SN_CHECK(num_layers >= 1, ValueError, name, ": num_layers must be at least 1 (got ", num_layers,
           ")");
  SN_CHECK(dropout >= 0.0 && dropout <= 1.0, ValueError, name, ": dropout must be in [0, 1] (got ",
           dropout, ")");
  SN_CHECK(proj_size >= 0, ValueError, name, ": proj_size must be >= 0 (got ", proj_size, ")");
  SN_CHECK(proj_size < hidden_size, ValueError, name,
           ": proj_size must be smaller than hidden_size (got ", proj_size, " and ", hidden_size,
           ")");
  const int64_t G = rnn_gate_count(kind), H = hidden_size;
  const int64_t P = proj_size > 0 ? proj_size : H;
  for (int64_t k = 0; k < num_layers; ++k) {
    const int64_t in = k == 0 ? input_size : P * dirs_;
    for (int dir = 0; dir < dirs_; ++dir) {
      const std::string sfx = std::to_string(k) + (dir == 1 ? "_reverse" : "");
      RnnWeights w;
      w.w_ih = register_parameter("weight_ih_l" + sfx, empty(Shape{G * H, in}));
      w.w_hh = register_parameter("weight_hh_l" + sfx, empty(Shape{G * H, P}));
      if (bias) {
        w.b_ih = register_parameter("bias_ih_l" + sfx, empty(Shape{G * H}));
        w.b_hh = register_parameter("bias_hh_l" + sfx, empty(Shape{G * H}));
      }
      if (proj_size > 0) w.w_hr = register_parameter("weight_hr_l" + sfx, empty(Shape{P, H}));
      w_.push_back(w);
    }
  }
  reset_parameters();
}

void RecurrentBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_));
  for (auto& p : parameters(false)) init::uniform_(p, -bound, bound);
}

std::string RecurrentBase::extra_repr() const {
  std::string s = std::to_string(input_) + ", " + std::to_string(hidden_);
  if (proj_ > 0) s += ", proj_size=" + std::to_string(proj_);
  if (layers_ != 1) s += ", num_layers=" + std::to_string(layers_);
  if (kind_ == RnnKind::ReLU) s += ", nonlinearity='relu'";
  if (!bias_) s += ", bias=False";
  if (batch_first_) s += ", batch_first=True";
  if (dropout_ != 0.0) s += ", dropout=" + fmt_double(dropout_);
  if (dirs_ == 2) s += ", bidirectional=True";
  return s;
}
std::string RecurrentBase::brief() const {
  std::string s = type_name() + "(" + std::to_string(input_) + " → " + std::to_string(hidden_);
  if (layers_ != 1) s += ", layers=" + std::to_string(layers_);
  if (dirs_ == 2) s += ", bidirectional";
  return s + ")";
}

void RecurrentBase::check_state(const Tensor& s, const char* what, int64_t B, int64_t size,
                                bool batched, const Tensor& x) const {
  if (!s.defined()) return;
  const Shape want = batched ? Shape{layers_ * dirs_, B, size} : Shape{layers_ * dirs_, size};
  if (s.shape() != want)
    SN_THROW(ShapeError, label(), ": ", what, " must be ", want, " (num_layers·directions, ",
             batched ? "batch, " : "", "size) for input ", x.shape(), " (got ", s.shape(), ")",
             s.dim() == 3 && batched && s.shape()[0] == B && s.shape()[1] == layers_ * dirs_
                 ? "; hint: states are never batch-first, even with batch_first"
                 : "");
  SN_CHECK(s.dtype() == x.dtype(), DTypeError, label(), ": dtype mismatch (input ", x.dtype(), ", ",
           what, " ", s.dtype(), ")");
}

RecurrentOutput RecurrentBase::run(const Tensor& x_in, const Tensor& h0, const Tensor& c0,
                                   const Tensor& lengths) {
  const std::string lbl = label();
  SN_CHECK(x_in.defined(), ValueError, lbl, ": input is undefined");
  SN_CHECK(x_in.dim() == 2 || x_in.dim() == 3, ShapeError, lbl, ": input must be ",
           batch_first_ ? "[B, T, I]" : "[T, B, I]", " or unbatched [T, I] (got ", x_in.shape(),
           ")");
  SN_CHECK(x_in.is_floating_point(), DTypeError, lbl, ": expected a floating-point input, got ",
           x_in.dtype(), x_in.dtype() == kInt64 ? "; hint: token ids need an Embedding first" : "");
  const bool batched = x_in.dim() == 3;
  SN_CHECK(x_in.shape()[x_in.dim() - 1] == input_, ShapeError, lbl, ": input ", x_in.shape(),
           " has ", x_in.shape()[x_in.dim() - 1], " features, expected input_size ", input_);
  Tensor x = batched ? (batch_first_ ? x_in.transpose(0, 1) : x_in) : x_in.unsqueeze(1);
  const int64_t T = x.shape()[0], B = x.shape()[1];
  SN_CHECK(T > 0 && B > 0, ShapeError, lbl, ": input ", x_in.shape(), " is empty");
  const int64_t P = proj_ > 0 ? proj_ : hidden_;
  check_state(h0, "h0", B, P, batched, x_in);
  if (kind_ == RnnKind::LSTM)
    check_state(c0, "c0", B, hidden_, batched, x_in);
  else
    SN_CHECK(!c0.defined(), ValueError, lbl, ": only LSTM takes a cell state c0");
  if (lengths.defined()) {
    SN_CHECK(batched, ValueError, lbl, ": lengths need a batched input (got ", x_in.shape(), ")");
    SN_CHECK(lengths.dim() == 1 && lengths.shape()[0] == B, ShapeError, lbl, ": lengths must be [",
             B, "], one per sequence of input ", x_in.shape(), " (got ", lengths.shape(), ")");
  }
  const Tensor h0b = h0.defined() && !batched ? h0.unsqueeze(1) : h0;
  const Tensor c0b = c0.defined() && !batched ? c0.unsqueeze(1) : c0;

  std::vector<Tensor> hs, cs;
  Tensor inp = x;
  for (int64_t k = 0; k < layers_; ++k) {
    std::vector<Tensor> ys;
    for (int dir = 0; dir < dirs_; ++dir) {
      const int64_t idx = k * dirs_ + dir;
      const Tensor hk = h0b.defined() ? h0b.select(0, idx) : Tensor();
      const Tensor ck = c0b.defined() ? c0b.select(0, idx) : Tensor();
      RnnLayerOutput o = rnn_layer(kind_, inp, hk, ck, w_[idx], lengths, dir == 1, lbl.c_str());
      ys.push_back(o.y);
      hs.push_back(o.h_n);
      if (kind_ == RnnKind::LSTM) cs.push_back(o.c_n);
    }
    inp = dirs_ == 2 ? cat(ys, 2) : ys[0];
    if (k + 1 < layers_ && dropout_ > 0.0 && is_training()) inp = drop(inp, dropout_);
  }
  RecurrentOutput out;
  out.y = batched ? (batch_first_ ? inp.transpose(0, 1) : inp) : inp.squeeze(1);
  out.h_n = stack(hs, 0);
  if (!batched) out.h_n = out.h_n.squeeze(1);
  if (kind_ == RnnKind::LSTM) {
    out.c_n = stack(cs, 0);
    if (!batched) out.c_n = out.c_n.squeeze(1);
  }
  return out;
}

Value RecurrentBase::run_value(const Value& in, bool has_cell) {
  const size_t n_max = has_cell ? 4 : 3;
  SN_CHECK(in.size() >= 1 && in.size() <= n_max, ValueError, label(), ": takes ",
           has_cell ? "{x, h0, c0, lengths}" : "{x, h0, lengths}",
           " (trailing entries optional), got ", in.size(), " tensors");
  auto at = [&](size_t i) { return i < in.size() ? in[i] : Tensor(); };
  if (has_cell) {
    RecurrentOutput o = run(at(0), at(1), at(2), at(3));
    return Value{o.y, o.h_n, o.c_n};
  }
  RecurrentOutput o = run(at(0), at(1), Tensor(), at(2));
  return Value{o.y, o.h_n};
}

RNN::RNN(int64_t input_size, int64_t hidden_size, RNNOptions o)
    : RecurrentBase(rnn_kind(o.nonlinearity), input_size, hidden_size, o.num_layers, o.bias,
                    o.batch_first, o.dropout, o.bidirectional, 0) {}
LSTM::LSTM(int64_t input_size, int64_t hidden_size, LSTMOptions o)
    : RecurrentBase(RnnKind::LSTM, input_size, hidden_size, o.num_layers, o.bias, o.batch_first,
                    o.dropout, o.bidirectional, o.proj_size) {}
GRU::GRU(int64_t input_size, int64_t hidden_size, GRUOptions o)
    : RecurrentBase(RnnKind::GRU, input_size, hidden_size, o.num_layers, o.bias, o.batch_first,
                    o.dropout, o.bidirectional, 0) {}

// ============================================================== cells
CellBase::CellBase(RnnKind kind, int64_t input_size, int64_t hidden_size, bool bias)
    : kind_(kind), input_(input_size), hidden_(hidden_size) {
  SN_CHECK(input_size > 0 && hidden_size > 0, ValueError, kind_name(kind),
           "Cell: input_size and hidden_size must be positive (got ", input_size, ", ", hidden_size,
           ")");
  const int64_t G = rnn_gate_count(kind);
  w_.w_ih = register_parameter("weight_ih", empty(Shape{G * hidden_size, input_size}));
  w_.w_hh = register_parameter("weight_hh", empty(Shape{G * hidden_size, hidden_size}));
  if (bias) {
    w_.b_ih = register_parameter("bias_ih", empty(Shape{G * hidden_size}));
    w_.b_hh = register_parameter("bias_hh", empty(Shape{G * hidden_size}));
  }
  reset_parameters();
}

void CellBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_));
  for (auto& p : parameters(false)) init::uniform_(p, -bound, bound);
}
std::string CellBase::extra_repr() const {
  std::string s = std::to_string(input_) + ", " + std::to_string(hidden_);
  if (!w_.b_ih.defined()) s += ", bias=False";
  if (kind_ == RnnKind::ReLU) s += ", nonlinearity='relu'";
  return s;
}
std::string CellBase::brief() const {
  return type_name() + "(" + std::to_string(input_) + " → " + std::to_string(hidden_) + ")";
}

RecurrentOutput CellBase::step(const Tensor& x, const Tensor& h, const Tensor& c) {
  const std::string lbl = label();
  SN_CHECK(x.defined(), ValueError, lbl, ": input is undefined");
  SN_CHECK(x.dim() == 1 || x.dim() == 2, ShapeError, lbl,
           ": input must be [B, I] or unbatched [I] (got ", x.shape(), ")");
  SN_CHECK(x.is_floating_point(), DTypeError, lbl, ": expected a floating-point input, got ",
           x.dtype());
  SN_CHECK(x.shape()[x.dim() - 1] == input_, ShapeError, lbl, ": input ", x.shape(), " has ",
           x.shape()[x.dim() - 1], " features, expected input_size ", input_);
  const bool batched = x.dim() == 2;
  const int64_t B = batched ? x.shape()[0] : 1;
  const Shape want = batched ? Shape{B, hidden_} : Shape{hidden_};
  for (auto [s, what] : {std::pair{&h, "h"}, std::pair{&c, "c"}}) {
    if (!s->defined()) continue;
    SN_CHECK(s->shape() == want, ShapeError, lbl, ": state ", what, " must be ", want,
             " for input ", x.shape(), " (got ", s->shape(), ")");
  }
  SN_CHECK(!c.defined() || kind_ == RnnKind::LSTM, ValueError, lbl,
           ": only LSTMCell takes a cell state c");
  // one step of the fused layer op: [1, B, ·]
  const Tensor x3 = batched ? x.unsqueeze(0) : x.reshape(Shape{1, 1, input_});
  const Tensor h2 = h.defined() ? h.reshape(Shape{B, hidden_}) : Tensor();
  const Tensor c2 = c.defined() ? c.reshape(Shape{B, hidden_}) : Tensor();
  RnnLayerOutput o = rnn_layer(kind_, x3, h2, c2, w_, Tensor(), false, lbl.c_str());
  RecurrentOutput r;
  r.h_n = o.h_n.reshape(want);
  if (kind_ == RnnKind::LSTM) r.c_n = o.c_n.reshape(want);
  return r;
}

Value CellBase::step_value(const Value& in) {
  const bool lstm = kind_ == RnnKind::LSTM;
  SN_CHECK(in.size() >= 1 && in.size() <= (lstm ? 3u : 2u), ValueError, label(), ": takes ",
           lstm ? "{x, h, c}" : "{x, h}", " (trailing entries optional), got ", in.size(),
           " tensors");
  auto at = [&](size_t i) { return i < in.size() ? in[i] : Tensor(); };
  RecurrentOutput o = step(at(0), at(1), at(2));
  if (lstm) return Value{o.h_n, o.c_n};
  return Value{o.h_n};
}

RNNCell::RNNCell(int64_t input_size, int64_t hidden_size, bool bias,
                 const std::string& nonlinearity)
    : CellBase(rnn_kind(nonlinearity), input_size, hidden_size, bias) {}
LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias)
    : CellBase(RnnKind::LSTM, input_size, hidden_size, bias) {}
GRUCell::GRUCell(int64_t input_size, int64_t hidden_size, bool bias)
    : CellBase(RnnKind::GRU, input_size, hidden_size, bias) {}

}  // namespace sn::nn
