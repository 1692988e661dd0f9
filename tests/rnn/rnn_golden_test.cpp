// RNN, LSTM, GRU and the cells against PyTorch 1.13.1 (tests/golden/rnn.json): PyTorch's
// state_dict loads strictly (same names, order and shapes), and the outputs, final states and
// the gradients of the input, the initial states and every parameter agree, in float64 and
// float32, for 1 and 2 layers, bidirectional, batch_first, proj_size, no bias and variable
// lengths.
#include <gtest/gtest.h>

#include "rnn/rnn_helpers.h"
#include "sinapsis/nn/rnn.h"

namespace sn::testing {
namespace {

using nlohmann::json;

std::shared_ptr<nn::Module> make_module(const json& c) {
  const std::string type = c["type"];
  const int64_t I = c["input_size"], H = c["hidden_size"];
  const json& o = c["options"];
  const int64_t L = o.value("num_layers", 1);
  const bool bias = o.value("bias", true), bf = o.value("batch_first", false);
  const bool bi = o.value("bidirectional", false);
  if (type == "LSTM")
    return std::make_shared<nn::LSTM>(I, H,
                                      nn::LSTMOptions{.num_layers = L,
                                                      .bias = bias,
                                                      .batch_first = bf,
                                                      .bidirectional = bi,
                                                      .proj_size = o.value("proj_size", 0)});
  if (type == "GRU")
    return std::make_shared<nn::GRU>(
        I, H,
        nn::GRUOptions{.num_layers = L, .bias = bias, .batch_first = bf, .bidirectional = bi});
  if (type == "RNN")
    return std::make_shared<nn::RNN>(
        I, H,
        nn::RNNOptions{.num_layers = L,
                       .bias = bias,
                       .batch_first = bf,
                       .bidirectional = bi,
                       .nonlinearity = o.value("nonlinearity", std::string("tanh"))});
  if (type == "LSTMCell") return std::make_shared<nn::LSTMCell>(I, H, bias);
  if (type == "GRUCell") return std::make_shared<nn::GRUCell>(I, H, bias);
  return std::make_shared<nn::RNNCell>(I, H, bias, o.value("nonlinearity", std::string("tanh")));
}

Tensor opt(const json& c, const char* key, DType dt, bool grad) {
  return c.contains(key) ? from_json(c[key], dt, grad) : Tensor();
}

void check_case(const std::string& name, DType dt) {
  SCOPED_TRACE(name + (dt == kFloat64 ? " float64" : " float32"));
  const json& c = rnn_case(name);
  auto m = make_module(c);
  m->to(dt);
  // PyTorch's names in PyTorch's order
  std::vector<std::string> keys = m->state_dict().keys();
  EXPECT_EQ(keys, c["param_order"].get<std::vector<std::string>>());
  nn::StateDict sd;
  for (const std::string k : c["param_order"]) sd.insert(k, from_json(c["params"][k], dt));
  m->load_state_dict(sd);

  const Tensor x = from_json(c["x"], dt, true);
  const Tensor h0 = opt(c, "h0", dt, true), c0 = opt(c, "c0", dt, true);
  Tensor lengths;
  if (c.contains("lengths"))
    lengths = tensor(c["lengths"].get<std::vector<int64_t>>(),
                     Shape{static_cast<int64_t>(c["lengths"].size())});
  nn::RecurrentOutput o;
  if (auto* r = dynamic_cast<nn::RecurrentBase*>(m.get()))
    o = r->run(x, h0, c0, lengths);
  else
    o = dynamic_cast<nn::CellBase&>(*m).step(x, h0, c0);
  const double rt = dt == kFloat64 ? 1e-9 : 1e-4, at = dt == kFloat64 ? 1e-10 : 1e-4;
  if (o.y.defined()) {
    EXPECT_TRUE(close(o.y, from_json(c["y"], kFloat64), rt, at)) << "y";
  }
  EXPECT_TRUE(close(o.h_n, from_json(c["h_n"], kFloat64), rt, at)) << "h_n";
  if (c.contains("c_n")) {
    EXPECT_TRUE(close(o.c_n, from_json(c["c_n"], kFloat64), rt, at)) << "c_n";
  }

  Tensor E = sum(mul(o.h_n, from_json(c["gh"], dt)));
  if (o.y.defined()) E = add(E, sum(mul(o.y, from_json(c["gy"], dt))));
  if (c.contains("c_n")) E = add(E, sum(mul(o.c_n, from_json(c["gc"], dt))));
  E.backward();
  EXPECT_TRUE(close(x.grad(), from_json(c["dx"], kFloat64), rt, at)) << "dx";
  if (h0.defined()) {
    EXPECT_TRUE(close(h0.grad(), from_json(c["dh0"], kFloat64), rt, at)) << "dh0";
  }
  if (c0.defined()) {
    EXPECT_TRUE(close(c0.grad(), from_json(c["dc0"], kFloat64), rt, at)) << "dc0";
  }
  int n = 0;
  for (auto& [k, p] : m->named_parameters()) {
    EXPECT_TRUE(close(p.grad(), from_json(c["grads"][k], kFloat64), rt, at)) << "grad of " << k;
    ++n;
  }
  EXPECT_EQ(n, static_cast<int>(c["grads"].size()));
}

class RnnGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RnnGolden, MatchesPyTorchFloat64) { check_case(GetParam(), kFloat64); }
TEST_P(RnnGolden, MatchesPyTorchFloat32) { check_case(GetParam(), kFloat32); }

std::vector<std::string> case_names() {
  std::vector<std::string> v;
  for (const auto& c : rnn_golden()["cases"]) v.push_back(c["name"]);
  return v;
}

INSTANTIATE_TEST_SUITE_P(All, RnnGolden, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sn::testing
