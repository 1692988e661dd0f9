// sn::rnn_layer, the fused op: agrees with the recurrence composed from public ops (forward and
// every gradient, float64 and float32), passes finite-difference gradchecks for every kind with
// projection, reverse direction and variable lengths, and rejects bad shapes and lengths.
#include <gtest/gtest.h>

#include "rnn/rnn_helpers.h"

namespace sn::testing {
namespace {

struct OpCase {
  const char* name;
  RnnKind kind;
  int64_t T, B, I, H, P;  // P = 0: no projection
  bool bias, reverse, state, lengths;
};

const OpCase kCases[] = {
    {"lstm", RnnKind::LSTM, 4, 3, 3, 2, 0, true, false, true, false},
    {"lstm_reverse_lengths", RnnKind::LSTM, 5, 3, 2, 3, 0, true, true, true, true},
    {"lstm_proj", RnnKind::LSTM, 4, 2, 3, 4, 2, true, false, true, false},
    {"lstm_proj_reverse_lengths", RnnKind::LSTM, 4, 3, 2, 3, 2, true, true, false, true},
    {"lstm_nobias_nostate", RnnKind::LSTM, 3, 2, 2, 3, 0, false, false, false, false},
    {"gru", RnnKind::GRU, 4, 3, 3, 2, 0, true, false, true, false},
    {"gru_reverse_lengths", RnnKind::GRU, 5, 3, 2, 3, 0, true, true, true, true},
    {"gru_nobias", RnnKind::GRU, 3, 2, 2, 3, 0, false, false, true, true},
    {"lstm_wide_lengths", RnnKind::LSTM, 3, 11, 4, 20, 0, true, false, true, true},
    {"gru_wide_reverse", RnnKind::GRU, 3, 9, 3, 13, 0, true, true, true, false},
    {"rnn_tanh", RnnKind::Tanh, 4, 3, 3, 2, 0, true, false, true, true},
    {"rnn_tanh_reverse", RnnKind::Tanh, 4, 2, 3, 2, 0, true, true, true, false},
    {"rnn_relu", RnnKind::ReLU, 4, 3, 3, 3, 0, true, false, true, false},
    {"rnn_relu_reverse_lengths", RnnKind::ReLU, 5, 3, 2, 3, 0, true, true, true, true},
};

// gtest prints parameters in failure messages; the name, not the struct's bytes
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

struct Inputs {
  Tensor x, h0, c0;
  RnnWeights w;
  Tensor lengths;
  std::vector<int64_t> lens;
  std::vector<Tensor> all() const {  // the differentiable inputs, in a fixed order
    std::vector<Tensor> v{x};
    for (const Tensor& t : {h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr})
      if (t.defined()) v.push_back(t);
    return v;
  }
};

Inputs make_inputs(const OpCase& c, DType dt) {
  const int64_t G = rnn_gate_count(c.kind), P = c.P > 0 ? c.P : c.H;
  auto rnd = [&](Shape s) { return mul(randn(s, {.dtype = dt}), 0.7).requires_grad_(true); };
  Inputs in;
  in.x = rnd({c.T, c.B, c.I});
  if (c.state) {
    in.h0 = rnd({c.B, P});
    if (c.kind == RnnKind::LSTM) in.c0 = rnd({c.B, c.H});
  }
  in.w.w_ih = rnd({G * c.H, c.I});
  in.w.w_hh = rnd({G * c.H, P});
  if (c.bias) {
    in.w.b_ih = rnd({G * c.H});
    in.w.b_hh = rnd({G * c.H});
  }
  if (c.P > 0) in.w.w_hr = rnd({P, c.H});
  if (c.lengths) {
    for (int64_t b = 0; b < c.B; ++b) in.lens.push_back(b == 0 ? c.T : 1 + (b * 2) % c.T);
    in.lengths = tensor(in.lens, Shape{c.B});
  }
  return in;
}

// Rebuilds an Inputs from the flat list gradcheck passes in (same order as all()).
Inputs rebind(const Inputs& proto, const std::vector<Tensor>& v) {
  Inputs in = proto;
  size_t k = 0;
  in.x = v[k++];
  for (Tensor* t : {&in.h0, &in.c0, &in.w.w_ih, &in.w.w_hh, &in.w.b_ih, &in.w.b_hh, &in.w.w_hr})
    if (t->defined()) *t = v[k++];
  return in;
}

Tensor flat_outputs(const RnnLayerOutput& o) {
  std::vector<Tensor> parts{o.y.reshape(Shape{-1}), o.h_n.reshape(Shape{-1})};
  if (o.c_n.defined()) parts.push_back(o.c_n.reshape(Shape{-1}));
  return cat(parts, 0);
}

class RnnOp : public ::testing::TestWithParam<OpCase> {};

TEST_P(RnnOp, FusedMatchesComposedReference) {
  const OpCase& c = GetParam();
  for (DType dt : {kFloat64, kFloat32}) {
    manual_seed(7);
    Inputs in = make_inputs(c, dt);
    const std::vector<Tensor> xs = in.all();
    RnnLayerOutput f = rnn_layer(c.kind, in.x, in.h0, in.c0, in.w, in.lengths, c.reverse);
    RnnLayerOutput r = reference_layer(c.kind, in.x, in.h0, in.c0, in.w, in.lens, c.reverse);
    const double rt = dt == kFloat64 ? 1e-12 : 2e-5, at = dt == kFloat64 ? 1e-12 : 2e-5;
    EXPECT_TRUE(close(f.y, r.y, rt, at)) << c.name << " y";
    EXPECT_TRUE(close(f.h_n, r.h_n, rt, at)) << c.name << " h_n";
    if (c.kind == RnnKind::LSTM) {
      EXPECT_TRUE(close(f.c_n, r.c_n, rt, at)) << c.name << " c_n";
    }
    const Tensor g = randn(Shape{flat_outputs(f).numel()}, {.dtype = dt});
    auto gf = autograd::grad({flat_outputs(f)}, xs, {g});
    auto gr = autograd::grad({flat_outputs(r)}, xs, {g});
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_TRUE(close(gf[i], gr[i], rt * 10, at * 10)) << c.name << " gradient of input " << i;
  }
}

TEST_P(RnnOp, Gradcheck) {
  const OpCase& c = GetParam();
  manual_seed(11);
  const Inputs proto = make_inputs(c, kFloat64);
  auto fn = [&](const std::vector<Tensor>& v) {
    Inputs in = rebind(proto, v);
    return flat_outputs(rnn_layer(c.kind, in.x, in.h0, in.c0, in.w, in.lengths, c.reverse));
  };
  auto res = autograd::gradcheck(fn, proto.all());
  EXPECT_TRUE(res.ok) << c.name << ": " << res.message;
}

INSTANTIATE_TEST_SUITE_P(All, RnnOp, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RnnOp, OnlyTheOutputsUsedNeedGradients) {
  // y alone, h_n alone, c_n alone: the unused outputs' gradients count as zero
  manual_seed(3);
  const OpCase c{"lstm", RnnKind::LSTM, 3, 2, 2, 3, 0, true, false, true, false};
  Inputs in = make_inputs(c, kFloat64);
  RnnLayerOutput f = rnn_layer(c.kind, in.x, in.h0, in.c0, in.w);
  RnnLayerOutput r = reference_layer(c.kind, in.x, in.h0, in.c0, in.w, {}, false);
  for (int k = 0; k < 3; ++k) {
    const Tensor& a = k == 0 ? f.y : k == 1 ? f.h_n : f.c_n;
    const Tensor& b = k == 0 ? r.y : k == 1 ? r.h_n : r.c_n;
    auto ga = autograd::grad({sum(a)}, {in.x, in.c0, in.w.w_hh}, {}, {.retain_graph = true});
    auto gb = autograd::grad({sum(b)}, {in.x, in.c0, in.w.w_hh}, {}, {.retain_graph = true});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(ga[i], gb[i], 1e-11, 1e-11)) << k << " " << i;
  }
}

TEST(RnnOp, NoGraphWithoutGrad) {
  manual_seed(3);
  const OpCase c{"gru", RnnKind::GRU, 3, 2, 2, 3, 0, true, false, true, false};
  Inputs in = make_inputs(c, kFloat32);
  NoGradGuard ng;
  RnnLayerOutput f = rnn_layer(c.kind, in.x, in.h0, in.c0, in.w);
  EXPECT_FALSE(f.y.requires_grad());
  EXPECT_EQ(f.y.grad_fn(), nullptr);
}

TEST(RnnOp, ErrorsNameTheShapes) {
  manual_seed(3);
  const OpCase c{"lstm", RnnKind::LSTM, 3, 2, 2, 3, 0, true, false, true, false};
  Inputs in = make_inputs(c, kFloat32);
  EXPECT_NE(error_of([&] {
              rnn_layer(c.kind, in.x, zeros(Shape{2, 4}), in.c0, in.w);
            }).find("initial state h0 must be [2, 3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              rnn_layer(c.kind, zeros(Shape{3, 2, 5}), in.h0, in.c0, in.w);
            }).find("has 5 features"),
            std::string::npos);
  const std::string too_long = error_of([&] {
    rnn_layer(c.kind, in.x, in.h0, in.c0, in.w, tensor({2, 4}).to(kInt64));
  });
  EXPECT_NE(too_long.find("sequence 1 has length 4, longer than the input's 3 steps"),
            std::string::npos)
      << too_long;
  const std::string zero = error_of([&] {
    rnn_layer(c.kind, in.x, in.h0, in.c0, in.w, tensor({0, 3}).to(kInt64));
  });
  EXPECT_NE(zero.find("sequence 0 has length 0"), std::string::npos) << zero;
  EXPECT_NE(error_of([&] {
              rnn_layer(c.kind, in.x, in.h0, in.c0, in.w, tensor({2}).to(kInt64));
            }).find("lengths must be [2]"),
            std::string::npos);
}

}  // namespace
}  // namespace sn::testing
