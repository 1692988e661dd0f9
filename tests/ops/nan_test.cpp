// NaN through the ops as PyTorch 1.13 has it (tests/golden/nan.json, written by
// tests/golden/gen_nan.py): forward values, indices and input gradients of relu and the other
// activations, clamp, maximum/minimum, max/min/amax/amin/argmax, max-pool, softmax and a conv with
// a fused ReLU, on inputs holding NaN, in float32 and float64.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "sinapsis/sinapsis.h"

namespace sn::test {
namespace {

using nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/nan.json");
    if (!f.good()) return json();
    return json::parse(f);
  }();
  return doc;
}

std::vector<double> numbers(const json& data) {
  std::vector<double> v;
  for (const json& e : data) v.push_back(e.is_string() ? NAN : e.get<double>());
  return v;
}

Tensor from_json(const json& j, DType dt) {
  return tensor(numbers(j.at("data")), Shape(j.at("shape").get<std::vector<int64_t>>()),
                {.dtype = dt});
}

// Equal up to rounding, NaN where PyTorch has NaN and only there.
void expect_same(const Tensor& got, const json& want_j, DType dt, const std::string& what) {
  ASSERT_EQ(got.shape(), Shape(want_j.at("shape").get<std::vector<int64_t>>())) << what;
  const std::vector<double> g = got.to_vector(), w = numbers(want_j.at("data"));
  const double rtol = dt == kFloat32 ? 1e-5 : 1e-10, atol = dt == kFloat32 ? 1e-6 : 1e-12;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i]))
          << what << ": element " << i << " is " << g[i] << ", PyTorch gives nan";
    } else {
      EXPECT_NEAR(g[i], w[i], atol + rtol * std::abs(w[i])) << what << ": element " << i;
    }
  }
}

using Fn = std::function<std::pair<Tensor, Tensor>(const std::vector<Tensor>&)>;
std::pair<Tensor, Tensor> only(Tensor t) { return {t, Tensor()}; }

const std::map<std::string, Fn>& ops() {
  static const std::map<std::string, Fn> m = {
      {"relu", [](auto& x) { return only(relu(x[0])); }},
      {"leaky_relu", [](auto& x) { return only(leaky_relu(x[0], 0.1)); }},
      {"elu", [](auto& x) { return only(elu(x[0], 1.0)); }},
      {"gelu", [](auto& x) { return only(gelu(x[0], false)); }},
      {"silu", [](auto& x) { return only(silu(x[0])); }},
      {"softplus", [](auto& x) { return only(softplus(x[0], 1.0, 20.0)); }},
      {"sigmoid", [](auto& x) { return only(sigmoid(x[0])); }},
      {"tanh", [](auto& x) { return only(tanh(x[0])); }},
      {"abs", [](auto& x) { return only(abs(x[0])); }},
      {"clamp", [](auto& x) { return only(clamp(x[0], -0.7, 1.0)); }},
      {"clamp_min", [](auto& x) { return only(clamp(x[0], 0.0, std::nullopt)); }},
      {"clamp_max", [](auto& x) { return only(clamp(x[0], std::nullopt, 1.0)); }},
      {"maximum", [](auto& x) { return only(maximum(x[0], x[1])); }},
      {"minimum", [](auto& x) { return only(minimum(x[0], x[1])); }},
      {"max_dim", [](auto& x) { return max(x[0], 1); }},
      {"min_dim", [](auto& x) { return min(x[0], 1); }},
      {"max_dim0", [](auto& x) { return max(x[0], 0); }},
      {"max_all", [](auto& x) { return only(max(x[0])); }},
      {"min_all", [](auto& x) { return only(min(x[0])); }},
      {"amax", [](auto& x) { return only(amax(x[0], {1})); }},
      {"amin", [](auto& x) { return only(amin(x[0], {1})); }},
      {"max_pool2d", [](auto& x) { return only(max_pool2d(x[0], 2)); }},
      {"max_pool2d_s1", [](auto& x) { return only(max_pool2d(x[0], 3, {.stride = 1})); }},
      {"max_pool1d", [](auto& x) { return only(max_pool1d(x[0], 3)); }},
      {"softmax", [](auto& x) { return only(softmax(x[0], 1)); }},
      {"log_softmax", [](auto& x) { return only(log_softmax(x[0], 1)); }},
      {"logsumexp", [](auto& x) { return only(logsumexp(x[0], {1})); }},
      {"conv2d_relu", [](auto& x) { return only(conv2d_relu(x[0], x[1], x[2])); }},
      {"argmax",
       [](auto& x) {
         return std::pair{Tensor(), argmax(x[0])};
       }},
      {"argmin",
       [](auto& x) {
         return std::pair{Tensor(), argmin(x[0])};
       }},
      {"argmax_dim",
       [](auto& x) {
         return std::pair{Tensor(), argmax(x[0], 1)};
       }},
      {"argmin_dim",
       [](auto& x) {
         return std::pair{Tensor(), argmin(x[0], 1)};
       }},
  };
  return m;
}

TEST(NaN, GoldenFileCoversEveryOp) {
  ASSERT_FALSE(golden().is_null()) << "tests/golden/nan.json is missing";
  std::map<std::string, int> seen;
  for (const json& c : golden().at("cases")) ++seen[c.at("id").get<std::string>()];
  for (const auto& [id, fn] : ops()) EXPECT_EQ(seen[id], 2) << id << ": float32 and float64";
}

TEST(NaN, PropagatesAsPyTorch) {
  ASSERT_FALSE(golden().is_null());
  for (const json& c : golden().at("cases")) {
    const std::string id = c.at("id");
    const DType dt = c.at("dtype") == "float32" ? kFloat32 : kFloat64;
    const std::string what = id + " (" + c.at("dtype").get<std::string>() + ")";
    auto it = ops().find(id);
    ASSERT_NE(it, ops().end()) << "nan.json has a case " << id << " this test does not know";
    const bool grads = c.contains("grads");
    std::vector<Tensor> xs;
    for (const json& in : c.at("inputs")) {
      Tensor x = from_json(in, dt);
      if (grads) x.requires_grad_();
      xs.push_back(x);
    }
    auto [out, idx] = it->second(xs);
    if (c.contains("indices")) {
      ASSERT_TRUE(idx.defined()) << what;
      std::vector<int64_t> want = c.at("indices").get<std::vector<int64_t>>();
      std::vector<double> got = idx.reshape(Shape{-1}).to_vector();
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(static_cast<int64_t>(got[i]), want[i]) << what << " index " << i;
    }
    if (!grads) continue;
    expect_same(out, c.at("output"), dt, what + " output");
    out.backward(from_json(c.at("grad_output"), dt));
    for (size_t i = 0; i < xs.size(); ++i)
      expect_same(xs[i].grad(), c.at("grads").at(i), dt,
                  what + " gradient of input " + std::to_string(i));
  }
}

// The in-place clamp_ keeps NaN too.
TEST(NaN, InPlaceClampKeepsNaN) {
  Tensor x = tensor(std::vector<double>{NAN, -3.0, 3.0}, Shape{3});
  x.clamp_(-1, 1);
  std::vector<double> v = x.to_vector();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], -1);
  EXPECT_EQ(v[2], 1);
}

// A NaN entering a network comes out as NaN, not as a plausible number relu made of it.
TEST(NaN, ReachesTheOutputOfAnMlp) {
  manual_seed(0);
  auto m = nn::Sequential({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)});
  Tensor y = m(tensor(std::vector<double>{1.0, NAN, 2.0}, Shape{1, 3}).to(kFloat32));
  for (double v : y.to_vector()) EXPECT_TRUE(std::isnan(v));
}

// The fused relu of the recurrent kernel too: a NaN at step 1 reaches every later output.
TEST(NaN, ReachesLaterStepsOfAReluRnn) {
  manual_seed(1);
  nn::RNN rnn(2, 3, {.nonlinearity = "relu"});
  Tensor x = tensor(std::vector<double>{1, 2, NAN, 0.5, -1, 1}, Shape{3, 1, 2}).to(kFloat32);
  std::vector<double> y = rnn(x).to_vector();
  ASSERT_EQ(y.size(), 9u);
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(std::isnan(y[i])) << i;
  for (size_t i = 3; i < 9; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;
}

}  // namespace
}  // namespace sn::test
