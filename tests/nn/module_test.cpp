// Module bookkeeping: dotted parameter names through nested and user-defined modules,
// state_dict round trips and the strict-load error, train/eval, to(dtype), hooks, printing and
// summary().
#include <gtest/gtest.h>

#include <sstream>

#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;

using sn::test::error_of;

// A user model: an encoder (Sequential) with a named layer, a head and a buffer.
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> encoder;
  std::shared_ptr<nn::Linear> head;
  Tensor steps;
  Net() {
    encoder = register_module("encoder", nn::Sequential({{"fc1", nn::Linear(4, 8)},
                                                         {"act", nn::ReLU()},
                                                         {"fc2", nn::Linear(8, 8)}}));
    head = register_module("head", nn::Linear(8, 2));
    steps = register_buffer("steps", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*encoder)(x)); }
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& v) {
  std::vector<std::string> n;
  for (auto& [k, t] : v) n.push_back(k);
  return n;
}

TEST(Module, DottedParameterNames) {
  Net net;
  EXPECT_EQ(
      names_of(net.named_parameters()),
      (std::vector<std::string>{"encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight",
                                "encoder.fc2.bias", "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(net.named_parameters(false)), std::vector<std::string>{});
  EXPECT_EQ(names_of(net.named_buffers()), std::vector<std::string>{"steps"});
  EXPECT_EQ(net.parameters().size(), 6u);
  EXPECT_EQ(net.num_parameters(), 4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
  for (const Tensor& p : net.parameters()) EXPECT_TRUE(p.requires_grad());

  auto seq = nn::Sequential({nn::Linear(3, 2), nn::Tanh(), nn::Linear(2, 1)});
  EXPECT_EQ(names_of(seq.named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  // the handle the layer exposes is the registered parameter itself
  EXPECT_TRUE(seq.at<nn::Linear>(0).weight().is_same(seq.named_parameters()[0].second));

  std::vector<std::string> mods;
  for (auto& [name, m] : net.named_modules()) mods.push_back(name + ":" + m->type_name());
  EXPECT_EQ(mods,
            (std::vector<std::string>{":Net", "encoder:Sequential", "encoder.fc1:Linear",
                                      "encoder.act:ReLU", "encoder.fc2:Linear", "head:Linear"}));
  EXPECT_EQ(net.encoder->at<nn::Linear>(0).path(), "encoder.fc1");
}

TEST(Module, SharedModuleCountedOnce) {
  auto shared = std::make_shared<nn::Linear>(3, 3);
  auto seq = nn::Sequential({shared, nn::ReLU(), shared});
  EXPECT_EQ(seq.parameters().size(), 2u);  // tied weights: one copy
  EXPECT_EQ(names_of(seq.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias"}));
  // state_dict keeps both names, as PyTorch does
  EXPECT_EQ(seq.state_dict().keys(),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
}

TEST(Module, StateDictRoundTrip) {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  Tensor x = randn({5, 4});
  EXPECT_FALSE(allclose(a(x), b(x)));
  a.steps.fill_(7);
  nn::StateDict sd = a.state_dict();
  EXPECT_EQ(sd.size(), 7u);
  EXPECT_TRUE(sd.contains("steps"));
  const auto res = b.load_state_dict(sd);
  EXPECT_TRUE(res.missing_keys.empty());
  EXPECT_TRUE(res.unexpected_keys.empty());
  EXPECT_TRUE(allclose(a(x), b(x), 0, 0));
  EXPECT_EQ(b.steps.item(), 7.0);
  // loading copies: b's parameters keep their own storage and still require grad
  EXPECT_FALSE(b.head->weight().shares_storage(a.head->weight()));
  EXPECT_TRUE(b.head->weight().requires_grad());
  // the dict shares storage with the model, like PyTorch's
  sd["head.bias"].fill_(0.5);
  EXPECT_EQ(a.head->bias().at({1}), 0.5);
  // float64 values are converted on load
  nn::StateDict d64;
  for (const auto& [k, t] : a.state_dict()) d64.insert(k, t.to(kFloat64));
  b.load_state_dict(d64);
  EXPECT_EQ(b.head->weight().dtype(), kFloat32);
  EXPECT_TRUE(allclose(a(x), b(x), 0, 0));
}

TEST(Module, StrictLoadListsEveryProblem) {
  auto model = nn::Sequential({nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2)});
  nn::StateDict sd = model.state_dict();
  sd.erase("2.weight");
  sd.erase("2.bias");
  sd.insert("3.weight", zeros({2, 3}));
  sd.insert("0.weight", zeros({3, 5}));
  const Tensor before = model.at<nn::Linear>(0).bias().clone();
  sd.insert("0.bias", full({3}, 9.0));
  EXPECT_EQ(error_of([&] { model.load_state_dict(sd); }),
            "load_state_dict: the state dict does not fit Sequential (2 missing, 1 unexpected, "
            "1 shape-mismatched key)\n"
            "  missing keys: 2.weight, 2.bias\n"
            "  unexpected keys: 3.weight\n"
            "  shape mismatch: 0.weight: checkpoint [3, 5], model [3, 4]\n"
            "  hint: the checkpoint was saved from a model with different layer sizes");
  // nothing was written by the failed load
  EXPECT_TRUE(equal(model.at<nn::Linear>(0).bias(), before));

  // non-strict: keys are reported, not thrown; shape mismatches still throw
  EXPECT_THROW(model.load_state_dict(sd, false), ValueError);
  sd.insert("0.weight", zeros({3, 4}));
  const auto res = model.load_state_dict(sd, false);
  EXPECT_EQ(res.missing_keys, (std::vector<std::string>{"2.weight", "2.bias"}));
  EXPECT_EQ(res.unexpected_keys, std::vector<std::string>{"3.weight"});
  EXPECT_EQ(model.at<nn::Linear>(0).bias().at({0}), 9.0);
  // only missing/unexpected under strict: the hint suggests strict=false
  const std::string e = error_of([&] { model.load_state_dict(sd); });
  EXPECT_NE(e.find("hint: load_state_dict(dict, /*strict=*/false)"), std::string::npos) << e;
}

TEST(Module, TrainEvalSwitchesDropout) {
  manual_seed(3);
  auto model = nn::Sequential({nn::Linear(10, 10), nn::Dropout(0.5)});
  EXPECT_TRUE(model.is_training());
  Tensor x = ones({8, 10});
  Tensor y1 = model(x);
  const auto v = y1.to_vector();
  EXPECT_GT(std::count(v.begin(), v.end(), 0.0), 10);  // ~40 of 80 dropped
  model.eval();
  EXPECT_FALSE(model[1].is_training());
  Tensor y2 = model(x), y3 = model(x);
  EXPECT_TRUE(equal(y2, y3));
  EXPECT_TRUE(
      allclose(y2, linear(x, model.at<nn::Linear>(0).weight(), model.at<nn::Linear>(0).bias())));
  model.train();
  EXPECT_TRUE(model[1].is_training());
}

TEST(Module, ToDtypeKeepsHandles) {
  manual_seed(4);
  Net net;
  Tensor w = net.head->weight();
  const auto before = w.to_vector();
  net.to(kFloat64);
  EXPECT_EQ(w.dtype(), kFloat64);  // the old handle sees the conversion
  EXPECT_EQ(net.steps.dtype(), kFloat64);
  EXPECT_EQ(w.to_vector(), before);
  EXPECT_TRUE(w.requires_grad());
  Tensor y = net(randn({3, 4}, {.dtype = kFloat64}));
  EXPECT_EQ(y.dtype(), kFloat64);
  y.sum().backward();
  EXPECT_EQ(w.grad().dtype(), kFloat64);
  EXPECT_THROW(net.to(kInt64), DTypeError);
}

TEST(Module, ZeroGradApplyHooks) {
  auto model = nn::Sequential({nn::Linear(3, 2), nn::Sigmoid()});
  model(ones({1, 3})).sum().backward();
  EXPECT_TRUE(model.at<nn::Linear>(0).weight().grad().defined());
  model.zero_grad();
  EXPECT_FALSE(model.at<nn::Linear>(0).weight().grad().defined());

  std::vector<std::string> visited;
  model.apply([&](nn::Module& m) { visited.push_back(m.type_name()); });
  EXPECT_EQ(visited, (std::vector<std::string>{"Linear", "Sigmoid", "Sequential"}));

  std::vector<std::string> calls;
  const int id = model[1].add_forward_hook([&](nn::Module& m, const Tensor& in, const Tensor& out) {
    std::ostringstream os;
    os << m.type_name() << " " << in.shape() << " -> " << out.shape();
    calls.push_back(os.str());
  });
  model(ones({4, 3}));
  EXPECT_EQ(calls, std::vector<std::string>{"Sigmoid [4, 2] -> [4, 2]"});
  model[1].remove_forward_hook(id);
  model(ones({4, 3}));
  EXPECT_EQ(calls.size(), 1u);
}

TEST(Module, RegistrationErrors) {
  struct Bad : nn::Module {
    void add(const std::string& n) { register_parameter(n, zeros({2})); }
    void add_int() { register_parameter("i", zeros({2}, {.dtype = kInt64})); }
  } bad;
  bad.add("w");
  EXPECT_NE(error_of([&] { bad.add("w"); }).find("parameter name 'w' is already used"),
            std::string::npos);
  EXPECT_NE(error_of([&] { bad.add("a.b"); }).find("must not contain '.'"), std::string::npos);
  EXPECT_NE(error_of([&] { bad.add(""); }).find("must not be empty"), std::string::npos);
  EXPECT_THROW(bad.add_int(), DTypeError);
  // a module cannot become its own descendant
  auto inner = std::make_shared<nn::Sequential>();
  auto outer = std::make_shared<nn::Sequential>();
  outer->append(inner);
  EXPECT_NE(error_of([&] { inner->append(outer); }).find("its own descendant"), std::string::npos);
  EXPECT_THROW(inner->append(inner), ValueError);
  // a module without forward says so
  struct NoForward : nn::Module {};
  NoForward nf;
  EXPECT_EQ(error_of([&] { nf(zeros({1})); }),
            "NoForward: forward is not implemented; hint: override Tensor forward(const Tensor& "
            "x) in NoForward");
}

TEST(Module, PrintsLikePyTorch) {
  Net net;
  EXPECT_EQ(net.to_string(),
            "Net(\n"
            "  (encoder): Sequential(\n"
            "    (fc1): Linear(in_features=4, out_features=8, bias=True)\n"
            "    (act): ReLU()\n"
            "    (fc2): Linear(in_features=8, out_features=8, bias=True)\n"
            "  )\n"
            "  (head): Linear(in_features=8, out_features=2, bias=True)\n"
            ")");
  auto m = nn::Sequential({nn::Flatten(), nn::Linear(784, 10, {.bias = false}), nn::Dropout(0.25),
                           nn::LeakyReLU(0.2), nn::Parallel({nn::Identity(), nn::Softmax(1)}, 1),
                           nn::Residual(nn::GELU(true)), nn::LayerNorm(20), nn::Embedding(5, 3)});
  std::ostringstream os;
  os << m;
  EXPECT_EQ(os.str(),
            "Sequential(\n"
            "  (0): Flatten(start_dim=1, end_dim=-1)\n"
            "  (1): Linear(in_features=784, out_features=10, bias=False)\n"
            "  (2): Dropout(p=0.25)\n"
            "  (3): LeakyReLU(negative_slope=0.2)\n"
            "  (4): Parallel(\n"
            "    dim=1\n"
            "    (0): Identity()\n"
            "    (1): Softmax(dim=1)\n"
            "  )\n"
            "  (5): Residual(\n"
            "    (body): GELU(approximate='tanh')\n"
            "  )\n"
            "  (6): LayerNorm((20,), eps=1e-05, elementwise_affine=True)\n"
            "  (7): Embedding(5, 3)\n"
            ")");
}

TEST(Module, SummaryTable) {
  auto model = nn::Sequential(
      {nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Dropout(0.2), nn::Linear(512, 10)});
  const std::string s = model.summary({1, 28, 28});
  EXPECT_EQ(s,
            "Model: Sequential\n"
            "____________________________________________________________________\n"
            "Layer (type)                  Output Shape              Param #\n"
            "====================================================================\n"
            "0 (Flatten)                   [1, 784]                  0\n"
            "1 (Linear)                    [1, 512]                  401,920\n"
            "2 (ReLU)                      [1, 512]                  0\n"
            "3 (Dropout)                   [1, 512]                  0\n"
            "4 (Linear)                    [1, 10]                   5,130\n"
            "====================================================================\n"
            "Total params: 407,050\n"
            "Trainable params: 407,050\n"
            "Non-trainable params: 0\n"
            "____________________________________________________________________\n"
            "Input: [1, 28, 28] float32   Output: [1, 10]\n");
  // modes are restored and no gradient was recorded
  EXPECT_TRUE(model[3].is_training());
  EXPECT_FALSE(model.at<nn::Linear>(1).weight().grad().defined());

  // nested user model: rows carry dotted names, non-trainable parameters are counted apart
  Net net;
  Tensor w = net.head->weight();
  w.requires_grad_(false);
  const std::string t = net.summary({2, 4});
  EXPECT_NE(t.find("encoder.fc1 (Linear)          [2, 8]                    40\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("head (Linear)                 [2, 2]                    18\n"),
            std::string::npos);
  EXPECT_NE(t.find("Total params: 130\nTrainable params: 114\nNon-trainable params: 16\n"),
            std::string::npos)
      << t;
  // containers that merge their branches get a row of their own, after their children
  auto branches = nn::Sequential(
      {nn::Parallel({nn::Linear(4, 3), nn::Linear(4, 5)}, 1), nn::Residual(nn::Linear(8, 8))});
  const std::string u = branches.summary({2, 4});
  const size_t second = u.find("0.1 (Linear)                  [2, 5]"),
               merged = u.find("0 (Parallel)                  [2, 8]                    0\n"),
               skip = u.find("1 (Residual)                  [2, 8]                    0\n");
  EXPECT_NE(second, std::string::npos) << u;
  EXPECT_NE(merged, std::string::npos) << u;
  EXPECT_NE(skip, std::string::npos) << u;
  EXPECT_LT(second, merged) << u;
  EXPECT_LT(merged, skip) << u;
  EXPECT_NE(u.find("Total params: 112\n"), std::string::npos) << u;
  // a wrong input shape reports the layer
  EXPECT_NE(error_of([&] {
              model.summary({1, 10});
            }).find("Linear(784 → 512) '1'"),
            std::string::npos);
}

}  // namespace
