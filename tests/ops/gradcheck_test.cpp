// The gradcheck table: every row of op_table.h checked with sn::autograd::gradcheck in float64,
// as written and again on non-contiguous inputs (each input sliced with step 2, and transposed
// when it has two dims or more) and, for elementwise ops, on 0-d inputs. Coverage tests make
// sure every op declared in the headers has a row (or is declared non-differentiable).
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "ops/op_table.h"

namespace sn::test {
namespace {

enum class Variant { Plain, Strided, Transposed, ZeroD };

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::Plain:
      return "plain";
    case Variant::Strided:
      return "strided";
    case Variant::Transposed:
      return "transposed";
    case Variant::ZeroD:
      return "zero_d";
  }
  return "";
}

struct Case {
  size_t row;
  Variant variant;
};

// gtest prints parameters into test names; without this it dumps the struct's bytes (padding
// included, so the names would change from run to run)
void PrintTo(const Case& c, std::ostream* os) {
  *os << op_rows()[c.row].id << " [" << variant_name(c.variant) << "]";
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const std::vector<Row>& rows = op_rows();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    cases.push_back({i, Variant::Plain});
    bool any_1d = false, any_2d = false;
    for (const In& in : r.inputs) {
      any_1d |= in.shape.size() >= 1;
      any_2d |= in.shape.size() >= 2;
    }
    if (r.strided && any_1d) cases.push_back({i, Variant::Strided});
    if (r.strided && any_2d) cases.push_back({i, Variant::Transposed});
    if (r.zero_d) cases.push_back({i, Variant::ZeroD});
  }
  return cases;
}

Tensor draw(const Shape& shape, Domain d) {
  Tensor u = rand(shape, {.dtype = kFloat64});
  Tensor mag = add(mul(u, 1.8), 0.2);  // U[0.2, 2]
  if (d == Domain::Positive) return add(mul(u, 1.5), 0.5);
  Tensor sign = sub(mul(step(sub(rand(shape, {.dtype = kFloat64}), 0.5)), 2.0), 1.0);
  return mul(mag, sign);
}

// The stored shape of an input for the variant, and how fn turns it back into the row's shape.
Shape stored_shape(const Shape& s, Variant v) {
  Shape out = s;
  if (v == Variant::ZeroD) return Shape{};
  if (v == Variant::Strided && s.size() >= 1) out.back() *= 2;
  if (v == Variant::Transposed && s.size() >= 2) std::swap(out[s.size() - 1], out[s.size() - 2]);
  return out;
}
Tensor restore(const Tensor& x, const Shape& s, Variant v) {
  if (v == Variant::Strided && s.size() >= 1) return x.slice(-1, 0, 2 * s.back(), 2);
  if (v == Variant::Transposed && s.size() >= 2) return x.transpose(-1, -2);
  return x;
}

class Gradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(Gradcheck, AnalyticMatchesFiniteDifferences) {
  const Case c = GetParam();
  const Row& row = op_rows()[c.row];
  manual_seed(1000 + c.row);
  std::vector<Tensor> inputs;
  for (const In& in : row.inputs)
    inputs.push_back(draw(stored_shape(in.shape, c.variant), in.domain).requires_grad_());
  Fn wrapped = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> views;
    for (size_t i = 0; i < xs.size(); ++i) {
      const Shape target = c.variant == Variant::ZeroD ? Shape{} : row.inputs[i].shape;
      views.push_back(restore(xs[i], target, c.variant));
      EXPECT_EQ(views.back().shape(), target);
      const int n = target.size();
      const bool strided =
          (c.variant == Variant::Strided && n >= 1 && target[n - 1] > 1) ||
          (c.variant == Variant::Transposed && n >= 2 && target[n - 1] > 1 && target[n - 2] > 1);
      if (strided) {
        EXPECT_FALSE(views.back().is_contiguous()) << "input " << i << " of " << row.id;
      }
    }
    return row.fn(views);
  };
  autograd::GradcheckResult res = autograd::gradcheck(wrapped, inputs, row.opts);
  EXPECT_TRUE(res.ok) << row.id << " [" << variant_name(c.variant) << "]: " << res.message;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string id = op_rows()[info.param.row].id;
  for (char& ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return id + "_" + variant_name(info.param.variant);
}

INSTANTIATE_TEST_SUITE_P(OpTable, Gradcheck, ::testing::ValuesIn(all_cases()), case_name);

// ---------------------------------------------------------------- coverage of the table

TEST(OpTable, EveryOpHasAGradcheckRow) {
  std::set<Op> covered;
  for (const Row& r : op_rows()) covered.insert(r.op);
  for (const OpInfo& oi : kOpInfo) EXPECT_TRUE(covered.count(oi.op)) << oi.name << " has no row";
}

TEST(OpTable, RowIdsAreUniqueAndNamedAfterTheirOp) {
  std::set<std::string> ids;
  for (const Row& r : op_rows()) {
    EXPECT_TRUE(ids.insert(r.id).second) << "duplicate row id " << r.id;
    const std::string name = info(r.op).name;
    EXPECT_EQ(r.id.substr(0, r.id.find('/')), name) << "row " << r.id << " is for op " << name;
  }
}

std::string read_source(const std::string& rel) {
  std::ifstream f(std::string(SN_SOURCE_DIR) + "/" + rel);
  EXPECT_TRUE(f.good()) << rel;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The identifier after the whitespace at s[pos], when a '(' follows it: "  relu(" -> "relu".
// (A hand scan rather than <regex>: GCC 12 warns inside std::regex under the sanitizer build.)
std::string name_after(const std::string& s, size_t pos) {
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  size_t i = pos;
  if (i >= s.size() || !std::isspace(static_cast<unsigned char>(s[i]))) return "";
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  size_t j = i;
  while (j < s.size() && ident(s[j])) ++j;
  if (j == i || j >= s.size() || s[j] != '(') return "";
  return s.substr(i, j - i);
}

// Names of the functions declared in ops.h and of Tensor's view methods in tensor.h.
std::set<std::string> declared_api() {
  std::set<std::string> names;
  const std::string kReturns[] = {"Tensor", "std::vector<Tensor>", "std::pair<Tensor, Tensor>",
                                  "bool"};
  std::istringstream ops(read_source("include/sinapsis/ops/ops.h"));
  for (std::string line; std::getline(ops, line);)
    for (const std::string& r : kReturns)
      if (line.rfind(r, 0) == 0) {
        const std::string n = name_after(line, r.size());
        if (!n.empty()) names.insert(n);
      }
  const std::string th = read_source("include/sinapsis/core/tensor.h");
  const size_t begin = th.find("// --- views");
  const size_t end = th.find("// ---", begin + 5);
  EXPECT_NE(begin, std::string::npos) << "tensor.h lost its '// --- views' section";
  const std::string views = th.substr(begin, end - begin);
  for (size_t at = views.find("Tensor"); at != std::string::npos;
       at = views.find("Tensor", at + 1)) {
    const bool word_start = at == 0 || !(std::isalnum(static_cast<unsigned char>(views[at - 1])) ||
                                         views[at - 1] == '_');
    const std::string n = word_start ? name_after(views, at + 6) : "";
    if (!n.empty()) names.insert(n);
  }
  return names;
}

TEST(OpTable, EveryDeclaredOpIsInTheTableOrMarkedNonDifferentiable) {
  const std::set<std::string> declared = declared_api();
  EXPECT_GT(declared.size(), 60u) << "the header scan found too few functions";
  std::set<std::string> known(non_differentiable_api().begin(), non_differentiable_api().end());
  for (const OpInfo& oi : kOpInfo) known.insert(oi.api);
  for (const std::string& name : declared)
    EXPECT_TRUE(known.count(name)) << name
                                   << " is declared in the headers but has no Op in "
                                      "tests/ops/op_table.h (add it with a gradcheck row and a "
                                      "golden case, or list it as non-differentiable)";
  for (const OpInfo& oi : kOpInfo)
    if (std::string(oi.api) != "operator[]") {
      EXPECT_TRUE(declared.count(oi.api)) << oi.api << " is in the table but not in the headers";
    }
}

TEST(OpTable, NonDifferentiableOpsRecordNothing) {
  Tensor x = tensor({1, -2, 3}, {.requires_grad = true});
  for (Tensor t :
       {eq(x, x), ne(x, 1.0), lt(x, x), le(x, 0.0), gt(x, x), ge(x, 2.0), logical_not(x > 0.0),
        logical_and(x > 0.0, x < 2.0), logical_or(x > 0.0, x < 2.0), sign(x), argmax(x),
        argmin(x, 0), one_hot(tensor({0, 2}, {.dtype = kInt64})), x.detach()})
    EXPECT_FALSE(t.requires_grad());
}

// gradcheck itself must catch a wrong backward (here: d(x²) claimed to be x instead of 2x).
class HalfSquareBackward : public Node {
 public:
  SavedTensor x;
  std::string name() const override { return "HalfSquareBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    return {mul(grads[0], x.get("bad_square"))};
  }
};

TEST(GradcheckItself, CatchesAWrongBackward) {
  Fn bad_square = [](const std::vector<Tensor>& xs) {
    Tensor out;
    {
      NoGradGuard ng;
      out = mul(xs[0], xs[0]);
    }
    auto node = std::make_shared<HalfSquareBackward>();
    node->x = SavedTensor(xs[0]);
    autograd::connect(node, {&xs[0]}, {&out});
    return out;
  };
  Tensor x = tensor({0.5, -1.5, 2}, {.dtype = kFloat64, .requires_grad = true});
  autograd::GradcheckResult res = autograd::gradcheck(bad_square, {x});
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.message.find("gradcheck FAILED"), std::string::npos) << res.message;
  EXPECT_NEAR(res.numeric, 2 * res.analytic, 1e-6);
  // and passes the correct one
  EXPECT_TRUE(
      autograd::gradcheck([](const std::vector<Tensor>& xs) { return xs[0] * xs[0]; }, {x}).ok);
  // x itself was not changed by the perturbations
  EXPECT_EQ(x.to_vector(), (std::vector<double>{0.5, -1.5, 2}));
}

}  // namespace
}  // namespace sn::test
