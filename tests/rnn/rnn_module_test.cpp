// The recurrent modules: finite-difference gradchecks of every input, initial state and
// parameter element (float64) for each layer and cell (2 layers, bidirectional, batch_first,
// proj_size, variable lengths), the Value interface (state in, state out, carried one step at a
// time), Sequential and the model spec, dropout between layers, and the error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "rnn/rnn_helpers.h"
#include "sinapsis/nn/rnn.h"

namespace sn::testing {
namespace {

// E = Σ y·gy + Σ h_n·gh (+ Σ c_n·gc), fixed random weights gy, gh, gc.
struct Probe {
  Tensor gy, gh, gc;
  Tensor loss(const nn::RecurrentOutput& o) {
    if (!gh.defined()) {
      if (o.y.defined()) gy = randn(o.y.shape(), {.dtype = o.y.dtype()});
      gh = randn(o.h_n.shape(), {.dtype = o.h_n.dtype()});
      if (o.c_n.defined()) gc = randn(o.c_n.shape(), {.dtype = o.c_n.dtype()});
    }
    Tensor e = sum(mul(o.h_n, gh));
    if (o.y.defined()) e = add(e, sum(mul(o.y, gy)));
    if (o.c_n.defined()) e = add(e, sum(mul(o.c_n, gc)));
    return e;
  }
};

using RunFn = std::function<nn::RecurrentOutput(const Tensor& x, const Tensor& h, const Tensor& c)>;

// Inputs and states through autograd::gradcheck; every parameter element by central
// differences against its .grad.
void check_module(nn::Module& m, const RunFn& run, const Tensor& x, const Tensor& h,
                  const Tensor& c, const std::string& what) {
  SCOPED_TRACE(what);
  Probe probe;
  std::vector<Tensor> ins{x};
  if (h.defined()) ins.push_back(h);
  if (c.defined()) ins.push_back(c);
  auto fn = [&](const std::vector<Tensor>& v) {
    size_t k = 1;
    const Tensor hh = h.defined() ? v[k++] : Tensor();
    const Tensor cc = c.defined() ? v[k++] : Tensor();
    return probe.loss(run(v[0], hh, cc));
  };
  auto res = autograd::gradcheck(fn, ins);
  EXPECT_TRUE(res.ok) << res.message;

  m.zero_grad();
  probe.loss(run(x, h, c)).backward();
  const double eps = 1e-6;
  int checked = 0;
  for (auto& [name, p] : m.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    const std::vector<double> g = p.grad().to_vector();
    Tensor flat = p.detach().reshape(Shape{-1});
    for (int64_t i = 0; i < p.numel(); ++i) {
      NoGradGuard ng;
      const double v0 = flat.at({i});
      flat.select(0, i).fill_(v0 + eps);
      const double up = probe.loss(run(x, h, c)).item();
      flat.select(0, i).fill_(v0 - eps);
      const double dn = probe.loss(run(x, h, c)).item();
      flat.select(0, i).fill_(v0);
      const double num = (up - dn) / (2 * eps);
      EXPECT_NEAR(g[i], num, 1e-5 + 1e-4 * std::abs(num)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

Tensor rnd(Shape s) { return mul(randn(s, {.dtype = kFloat64}), 0.8).requires_grad_(true); }

TEST(RnnModules, GradcheckLSTM2LayersBidirectionalBatchFirstLengths) {
  manual_seed(1);
  nn::LSTM m(3, 4, {.num_layers = 2, .batch_first = true, .bidirectional = true});
  m.to(kFloat64);
  const Tensor len = tensor(std::vector<int64_t>{2, 4, 1}, Shape{3});
  check_module(
      m, [&](auto& x, auto& h, auto& c) { return m.run(x, h, c, len); }, rnd({3, 4, 3}),
      rnd({4, 3, 4}), rnd({4, 3, 4}), "lstm");
}

TEST(RnnModules, GradcheckLSTMProjection2Layers) {
  manual_seed(2);
  nn::LSTM m(3, 4, {.num_layers = 2, .proj_size = 2});
  m.to(kFloat64);
  check_module(
      m, [&](auto& x, auto& h, auto& c) { return m.run(x, h, c); }, rnd({4, 2, 3}), rnd({2, 2, 2}),
      rnd({2, 2, 4}), "lstm proj");
}

TEST(RnnModules, GradcheckGRU2LayersBidirectionalLengths) {
  manual_seed(3);
  nn::GRU m(3, 3, {.num_layers = 2, .bidirectional = true});
  m.to(kFloat64);
  const Tensor len = tensor(std::vector<int64_t>{4, 2}, Shape{2});
  check_module(
      m, [&](auto& x, auto& h, auto&) { return m.run(x, h, Tensor(), len); }, rnd({4, 2, 3}),
      rnd({4, 2, 3}), Tensor(), "gru");
}

TEST(RnnModules, GradcheckRNNTanhAndReLU) {
  for (std::string nl : {"tanh", "relu"}) {
    manual_seed(4);
    nn::RNN m(3, 3, {.num_layers = 2, .batch_first = true, .nonlinearity = nl});
    m.to(kFloat64);
    const Tensor len = tensor(std::vector<int64_t>{3, 1}, Shape{2});
    check_module(
        m, [&](auto& x, auto& h, auto&) { return m.run(x, h, Tensor(), len); }, rnd({2, 3, 3}),
        rnd({2, 2, 3}), Tensor(), "rnn " + nl);
  }
}

TEST(RnnModules, GradcheckCells) {
  manual_seed(5);
  nn::LSTMCell lc(3, 4);
  lc.to(kFloat64);
  check_module(
      lc, [&](auto& x, auto& h, auto& c) { return lc.step(x, h, c); }, rnd({2, 3}), rnd({2, 4}),
      rnd({2, 4}), "lstm cell");
  nn::GRUCell gc(3, 4);
  gc.to(kFloat64);
  check_module(
      gc, [&](auto& x, auto& h, auto&) { return gc.step(x, h); }, rnd({2, 3}), rnd({2, 4}),
      Tensor(), "gru cell");
  nn::RNNCell rc(3, 4, true, "tanh");
  rc.to(kFloat64);
  check_module(
      rc, [&](auto& x, auto& h, auto&) { return rc.step(x, h); }, rnd({2, 3}), rnd({2, 4}),
      Tensor(), "rnn cell");
}

// ---------------------------------------------------------------- the Value interface
TEST(RnnModules, LSTMGivenXReturnsOutputAndBothStates) {
  manual_seed(6);
  nn::LSTM m(5, 7, {.num_layers = 2, .batch_first = true});
  nn::Value out = m.call({randn({3, 4, 5})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape(), Shape({3, 4, 7}));
  EXPECT_EQ(out[1].shape(), Shape({2, 3, 7}));
  EXPECT_EQ(out[2].shape(), Shape({2, 3, 7}));
  nn::GRU g(5, 7);
  nn::Value go = g.call({randn({4, 3, 5})});
  ASSERT_EQ(go.size(), 2u);
  EXPECT_EQ(go[1].shape(), Shape({1, 3, 7}));
}

TEST(RnnModules, CarriedStateContinuesTheSequence) {
  // the whole sequence at once == two halves with the state carried == one step at a time
  manual_seed(7);
  nn::LSTM m(4, 6, {.num_layers = 2, .batch_first = true});
  const Tensor x = randn({2, 6, 4});
  NoGradGuard ng;
  nn::Value full = m.call({x});
  nn::Value a = m.call({x.narrow(1, 0, 3)});
  nn::Value b = m.call({x.narrow(1, 3, 3), a[1], a[2]});
  EXPECT_TRUE(close(b[0], full[0].narrow(1, 3, 3), 1e-5, 1e-6));
  EXPECT_TRUE(close(b[1], full[1], 1e-5, 1e-6));
  EXPECT_TRUE(close(b[2], full[2], 1e-5, 1e-6));
  nn::Value s{x.narrow(1, 0, 1)};
  Tensor h, c;
  for (int64_t t = 0; t < 6; ++t) {
    nn::Value o = t == 0 ? m.call({x.narrow(1, 0, 1)}) : m.call({x.narrow(1, t, 1), h, c});
    EXPECT_TRUE(close(o[0], full[0].narrow(1, t, 1), 1e-5, 1e-6)) << "step " << t;
    h = o[1];
    c = o[2];
  }
  EXPECT_TRUE(close(h, full[1], 1e-5, 1e-6));
}

TEST(RnnModules, SequentialChainsTheState) {
  manual_seed(8);
  nn::Sequential model({nn::Embedding(11, 8),
                        nn::LSTM(8, 16, {.num_layers = 2, .batch_first = true}),
                        nn::Linear(16, 11)});
  const Tensor tokens = randint(0, 11, {3, 5});
  nn::Value out = model.call({tokens});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape(), Shape({3, 5, 11}));
  EXPECT_EQ(out[1].shape(), Shape({2, 3, 16}));
  nn::Value next = model.call({randint(0, 11, {3, 1}), out[1], out[2]});
  EXPECT_EQ(next[0].shape(), Shape({3, 1, 11}));
  // forward(x) is the main output alone, from a zero state
  EXPECT_TRUE(close(model(tokens), out[0], 0, 0));
}

TEST(RnnModules, UnbatchedInputMatchesABatchOfOne) {
  manual_seed(9);
  nn::GRU m(3, 4, {.num_layers = 2});
  const Tensor x = randn({5, 3}), h = randn({2, 4});
  nn::Value u = m.call({x, h});
  nn::Value b = m.call({x.unsqueeze(1), h.unsqueeze(1)});
  EXPECT_EQ(u[0].shape(), Shape({5, 4}));
  EXPECT_EQ(u[1].shape(), Shape({2, 4}));
  EXPECT_TRUE(close(u[0], b[0].squeeze(1), 0, 0));
}

TEST(RnnModules, CellsTakeAndGiveState) {
  manual_seed(10);
  nn::LSTMCell c(3, 5);
  nn::Value o = c.call({randn({2, 3})});
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[1].shape(), Shape({2, 5}));
  nn::Value o2 = c.call({randn({2, 3}), o[0], o[1]});
  EXPECT_EQ(o2[0].shape(), Shape({2, 5}));
  nn::GRUCell g(3, 5);
  EXPECT_EQ(g.call({randn({3})}).size(), 1u);
  EXPECT_EQ(g(randn({3})).shape(), Shape({5}));
}

TEST(RnnModules, DropoutOnlyBetweenLayersAndOnlyInTraining) {
  manual_seed(11);
  nn::LSTM m(3, 4, {.num_layers = 2, .dropout = 0.5});
  const Tensor x = randn({5, 2, 3});
  m.eval();
  const Tensor a = m(x), b = m(x);
  EXPECT_TRUE(close(a, b, 0, 0));
  m.train();
  const Tensor c = m(x);
  EXPECT_FALSE(close(a, c, 1e-6, 1e-6));
  nn::LSTM one(3, 4, {.dropout = 0.5});  // a single layer: nothing to drop between
  EXPECT_TRUE(close(one(x), one(x), 0, 0));
}

TEST(RnnModules, ParameterNamesAndShapesArePyTorchs) {
  nn::LSTM m(10, 20, {.num_layers = 2, .bidirectional = true, .proj_size = 5});
  std::vector<std::string> want;
  for (int k = 0; k < 2; ++k)
    for (std::string sfx : {"", "_reverse"})
      for (std::string n : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l", "weight_hr_l"})
        want.push_back(n + std::to_string(k) + sfx);
  EXPECT_EQ(m.state_dict().keys(), want);
  const auto sd = m.state_dict();
  EXPECT_EQ(sd.at("weight_ih_l0").shape(), Shape({80, 10}));
  EXPECT_EQ(sd.at("weight_ih_l1_reverse").shape(), Shape({80, 10}));  // 2 directions · proj 5
  EXPECT_EQ(sd.at("weight_hh_l0").shape(), Shape({80, 5}));
  EXPECT_EQ(sd.at("weight_hr_l1").shape(), Shape({5, 20}));
  // U(-1/√H, 1/√H)
  const double bound = 1 / std::sqrt(20.0);
  for (auto& [k, p] : m.named_parameters()) {
    EXPECT_LE(max(abs(p)).item(), bound) << k;
    EXPECT_GT(max(abs(p)).item(), 0.8 * bound) << k;
  }
  EXPECT_EQ(m.to_string(), "LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True)");
}

// ---------------------------------------------------------------- model spec
TEST(RnnModules, ModelSpecBuildsRecurrentLayers) {
  for (std::string type : {"LSTM", "GRU", "RNN"}) {
    auto b = nn::build_model(R"({"input": [7, 5], "layers": [{"type": ")" + type +
                             R"(", "hidden_size": 6, "num_layers": 2, "bidirectional": true},
                              {"type": "Linear", "out": 3}]})");
    EXPECT_EQ(b.output_shape, Shape({7, 3})) << type;
    const auto spec = nlohmann::json::parse(b.spec);
    EXPECT_EQ(spec["layers"][0]["input_size"], 5) << b.spec;
    EXPECT_EQ(spec["layers"][0]["batch_first"], true) << b.spec;
    const Tensor y = (*b.module)(randn({2, 7, 5}));
    EXPECT_EQ(y.shape(), Shape({2, 7, 3}));
  }
  auto p = nn::build_model(
      R"({"input": [4, 5], "layers": [{"type": "LSTM", "hidden_size": 6, "proj_size": 2}]})");
  EXPECT_EQ(p.output_shape, Shape({4, 2}));
  const std::string e = error_of(
      [] { nn::build_model(R"({"input": [5], "layers": [{"type": "LSTM", "hidden_size": 6}]})"); });
  EXPECT_NE(e.find("expected [N, T, features]"), std::string::npos) << e;
  const std::string e2 =
      error_of([] { nn::build_model(R"({"input": [4, 5], "layers": [{"type": "GRU"}]})"); });
  EXPECT_NE(e2.find("layers[0] (GRU) needs \"hidden_size\""), std::string::npos) << e2;
}

// ---------------------------------------------------------------- errors
TEST(RnnModules, ErrorsNameTheLayerAndShapes) {
  manual_seed(12);
  nn::LSTM m(5, 7, {.num_layers = 2, .batch_first = true});
  const Tensor x = randn({3, 4, 5});
  std::string e = error_of([&] { m.call({x, randn({2, 3, 6}), randn({2, 3, 7})}); });
  EXPECT_NE(e.find("LSTM(5 → 7, layers=2): h0 must be [2, 3, 7]"), std::string::npos) << e;
  EXPECT_NE(e.find("got [2, 3, 6]"), std::string::npos) << e;
  e = error_of([&] { m.call({x, randn({3, 2, 7}), randn({2, 3, 7})}); });
  EXPECT_NE(e.find("never batch-first"), std::string::npos) << e;
  e = error_of([&] { m(randn({3, 4, 6})); });
  EXPECT_NE(e.find("input [3, 4, 6] has 6 features, expected input_size 5"), std::string::npos)
      << e;
  e = error_of([&] { m(randint(0, 5, {3, 4})); });
  EXPECT_NE(e.find("hint: token ids need an Embedding first"), std::string::npos) << e;
  e = error_of([&] {
    m.call({x, Tensor(), Tensor(), tensor(std::vector<int64_t>{4, 5, 1}, {3})});
  });
  EXPECT_NE(e.find("sequence 1 has length 5, longer than the input's 4 steps"), std::string::npos)
      << e;
  e = error_of([&] {
    m.call({x, Tensor(), Tensor(), tensor(std::vector<int64_t>{4, 0, 1}, {3})});
  });
  EXPECT_NE(e.find("sequence 1 has length 0"), std::string::npos) << e;
  e = error_of([&] { m.call({x, Tensor(), Tensor(), tensor(std::vector<int64_t>{4, 2}, {2})}); });
  EXPECT_NE(e.find("lengths must be [3]"), std::string::npos) << e;
  nn::GRU g(5, 7);
  e = error_of([&] { g.call({randn({4, 3, 5}), Tensor(), Tensor(), Tensor()}); });
  EXPECT_NE(e.find("takes {x, h0, lengths}"), std::string::npos) << e;
  nn::LSTMCell c(5, 7);
  e = error_of([&] { c.call({randn({3, 5}), randn({2, 7})}); });
  EXPECT_NE(e.find("LSTMCell(5 → 7): state h must be [3, 7] for input [3, 5] (got [2, 7])"),
            std::string::npos)
      << e;
  e = error_of([] { nn::LSTM(5, 7, {.proj_size = 7}); });
  EXPECT_NE(e.find("proj_size must be smaller than hidden_size"), std::string::npos) << e;
}

TEST(RnnModules, VariableLengthsGiveZerosPastTheEndAndOwnLastState) {
  manual_seed(13);
  nn::GRU m(3, 4, {.batch_first = true, .bidirectional = true});
  const Tensor x = randn({2, 5, 3});
  const Tensor len = tensor(std::vector<int64_t>{5, 2}, Shape{2});
  NoGradGuard ng;
  nn::Value o = m.call({x, Tensor(), len});
  EXPECT_EQ(max(abs(o[0].select(0, 1).narrow(0, 2, 3))).item(), 0.0);
  // sequence 1 alone, cut to its length, gives the same outputs and final states
  nn::Value s = m.call({x.narrow(0, 1, 1).narrow(1, 0, 2)});
  EXPECT_TRUE(close(o[0].narrow(0, 1, 1).narrow(1, 0, 2), s[0], 1e-5, 1e-6));
  EXPECT_TRUE(close(o[1].narrow(1, 1, 1), s[1], 1e-5, 1e-6));
}

}  // namespace
}  // namespace sn::testing
