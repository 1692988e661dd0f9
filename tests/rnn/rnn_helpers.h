// Helpers for the recurrent tests: the golden file (tests/golden/rnn.json, made by
// tests/golden/gen_rnn.py), and a reference recurrent layer composed from public ops (one graph
// node per gate), which the fused sn::rnn_layer must agree with forward and backward.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "conv/conv_helpers.h"
#include "sinapsis/ops/rnn.h"
#include "sinapsis/sinapsis.h"

namespace sn::testing {

inline const nlohmann::json& rnn_golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/rnn.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/rnn.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

inline const nlohmann::json& rnn_case(const std::string& name) {
  for (const auto& c : rnn_golden()["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

// One layer and direction of the recurrence from matmul/sigmoid/tanh/mul/add: the textbook
// formulas, step by step. lens empty = every sequence T long.
inline RnnLayerOutput reference_layer(RnnKind kind, const Tensor& x, const Tensor& h0,
                                      const Tensor& c0, const RnnWeights& w,
                                      const std::vector<int64_t>& lens, bool reverse) {
  const int64_t T = x.shape()[0], B = x.shape()[1];
  const int64_t H = w.w_hh.shape()[0] / rnn_gate_count(kind), P = w.w_hh.shape()[1];
  Tensor h = h0.defined() ? h0 : zeros(Shape{B, P}, {.dtype = x.dtype()});
  Tensor c = c0.defined() ? c0 : zeros(Shape{B, H}, {.dtype = x.dtype()});
  std::vector<Tensor> ys(T);
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const Tensor xt = x.select(0, t);
    const Tensor gi = linear(xt, w.w_ih, w.b_ih), gh = linear(h, w.w_hh, w.b_hh);
    Tensor hn, cn;
    if (kind == RnnKind::LSTM) {
      auto a = chunk(add(gi, gh), 4, 1);
      Tensor i = sigmoid(a[0]), f = sigmoid(a[1]), g = tanh(a[2]), o = sigmoid(a[3]);
      cn = add(mul(f, c), mul(i, g));
      hn = mul(o, tanh(cn));
      if (w.w_hr.defined()) hn = linear(hn, w.w_hr);
    } else if (kind == RnnKind::GRU) {
      auto a = chunk(gi, 3, 1), b = chunk(gh, 3, 1);
      Tensor r = sigmoid(add(a[0], b[0])), z = sigmoid(add(a[1], b[1]));
      Tensor n = tanh(add(a[2], mul(r, b[2])));
      hn = add(mul(rsub(z, 1.0), n), mul(z, h));
    } else {
      hn = kind == RnnKind::Tanh ? tanh(add(gi, gh)) : relu(add(gi, gh));
    }
    std::vector<double> mv(B, 1.0);
    for (int64_t b = 0; b < B; ++b)
      if (!lens.empty() && t >= lens[b]) mv[b] = 0.0;
    const Tensor m = tensor(mv, Shape{B, 1}, {.dtype = x.dtype()});
    h = add(mul(m, hn), mul(rsub(m, 1.0), h));
    if (kind == RnnKind::LSTM) c = add(mul(m, cn), mul(rsub(m, 1.0), c));
    ys[t] = mul(m, hn);
  }
  RnnLayerOutput out;
  out.y = stack(ys, 0);
  out.h_n = h;
  if (kind == RnnKind::LSTM) out.c_n = c;
  return out;
}

}  // namespace sn::testing
