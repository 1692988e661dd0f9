// Golden values from PyTorch 1.13 (tests/golden/ops.json, written by tests/golden/gen_ops.py):
// every row of op_table.h in float32 and float64, forward output and input gradients for a
// fixed grad_output. float32 agrees to ~1e-5 relative, float64 to ~1e-10.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "ops/op_table.h"

namespace sn::test {
namespace {

using nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/ops.json");
    if (!f.good()) return json();
    return json::parse(f);
  }();
  return doc;
}

DType dtype_from(const std::string& s) {
  if (s == "float32") return kFloat32;
  if (s == "float64") return kFloat64;
  ADD_FAILURE() << "unknown dtype " << s;
  return kFloat64;
}

Tensor from_json(const json& j, DType dt) {
  Shape shape(j.at("shape").get<std::vector<int64_t>>());
  return tensor(j.at("data").get<std::vector<double>>(), shape, {.dtype = dt});
}

struct Tolerance {
  double rtol, atol;
};

// |got - want| <= atol + rtol·|want| elementwise, with a message naming the worst element.
void expect_close(const Tensor& got, const json& want_j, Tolerance tol, const std::string& what) {
  const Shape want_shape(want_j.at("shape").get<std::vector<int64_t>>());
  ASSERT_EQ(got.shape(), want_shape) << what;
  const std::vector<double> g = got.to_vector(), w = want_j.at("data").get<std::vector<double>>();
  ASSERT_EQ(g.size(), w.size()) << what;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double excess = std::abs(g[i] - w[i]) / (tol.atol + tol.rtol * std::abs(w[i]));
    if (!(excess <= worst)) {  // also catches NaN
      worst = excess;
      at = i;
    }
  }
  EXPECT_LE(worst, 1.0) << what << ": element " << at << " is " << g[at] << ", PyTorch gives "
                        << w[at];
}

class Golden : public ::testing::TestWithParam<size_t> {};

TEST_P(Golden, MatchesPyTorch) {
  const json& c = golden().at("cases").at(GetParam());
  const std::string id = c.at("id");
  const Row* row = find_row(id);
  ASSERT_NE(row, nullptr) << "ops.json has case " << id << " but op_table.h has no such row";
  const DType dt = dtype_from(c.at("dtype"));
  const Tolerance tol = dt == kFloat32 ? Tolerance{1e-5, 1e-6} : Tolerance{1e-10, 1e-12};
  std::vector<Tensor> inputs;
  for (const json& in : c.at("inputs")) inputs.push_back(from_json(in, dt).requires_grad_());
  Tensor out = row->fn(inputs);
  EXPECT_EQ(out.dtype(), dtype_from(c.at("output").at("dtype"))) << id;
  expect_close(out, c.at("output"), tol, id + " output");
  out.backward(from_json(c.at("grad_output"), out.dtype()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const json& want = c.at("grads").at(i);
    const std::string what = id + " gradient of input " + std::to_string(i);
    if (want.is_null()) {
      EXPECT_FALSE(inputs[i].grad().defined()) << what << " should be none";
      continue;
    }
    ASSERT_TRUE(inputs[i].grad().defined()) << what << " is missing";
    EXPECT_EQ(inputs[i].grad().dtype(), dt) << what;
    expect_close(inputs[i].grad(), want, tol, what);
  }
}

std::vector<size_t> case_indices() {
  std::vector<size_t> v;
  if (golden().is_null()) return v;
  for (size_t i = 0; i < golden().at("cases").size(); ++i) v.push_back(i);
  return v;
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const json& c = golden().at("cases").at(info.param);
  std::string name = c.at("id").get<std::string>() + "_" + c.at("dtype").get<std::string>();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Ops, Golden, ::testing::ValuesIn(case_indices()), case_name);

TEST(GoldenFile, CoversEveryRowInBothDTypes) {
  ASSERT_FALSE(golden().is_null()) << "tests/golden/ops.json is missing; run "
                                      "/usr/bin/python3 tests/golden/gen_ops.py";
  EXPECT_EQ(golden().at("torch_version").get<std::string>().substr(0, 4), "1.13");
  std::set<std::pair<std::string, std::string>> have;
  for (const json& c : golden().at("cases"))
    have.insert({c.at("id").get<std::string>(), c.at("dtype").get<std::string>()});
  for (const Row& r : op_rows())
    for (const char* dt : {"float32", "float64"})
      EXPECT_TRUE(have.count({r.id, dt})) << "no golden case for row " << r.id << " in " << dt
                                          << "; add it to tests/golden/gen_ops.py and rerun it";
}

}  // namespace
}  // namespace sn::test
