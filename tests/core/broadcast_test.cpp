// Broadcasting and dtype promotion for every binary op: each result is checked element by
// element against a scalar reference that maps output indices back to the inputs by NumPy's
// rules, on shapes that broadcast on the left, on the right, in the middle and from 0-d.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  bool positive_lhs = false;  // pow needs a positive base
  bool bool_result = false;
};

const std::vector<BinaryCase>& binary_cases() {
  static const std::vector<BinaryCase> cases = {
      {"add", [](auto& a, auto& b) { return add(a, b); }, [](double x, double y) { return x + y; }},
      {"add_alpha", [](auto& a, auto& b) { return add(a, b, 2.5); },
       [](double x, double y) { return x + 2.5 * y; }},
      {"sub", [](auto& a, auto& b) { return sub(a, b); }, [](double x, double y) { return x - y; }},
      {"mul", [](auto& a, auto& b) { return a * b; }, [](double x, double y) { return x * y; }},
      {"div", [](auto& a, auto& b) { return a / b; }, [](double x, double y) { return x / y; }},
      {"pow", [](auto& a, auto& b) { return pow(a, b); },
       [](double x, double y) { return std::pow(x, y); }, true},
      {"maximum", [](auto& a, auto& b) { return maximum(a, b); },
       [](double x, double y) { return std::max(x, y); }},
      {"minimum", [](auto& a, auto& b) { return minimum(a, b); },
       [](double x, double y) { return std::min(x, y); }},
      {"eq", [](auto& a, auto& b) { return eq(a, b); },
       [](double x, double y) { return double(x == y); }, false, true},
      {"ne", [](auto& a, auto& b) { return ne(a, b); },
       [](double x, double y) { return double(x != y); }, false, true},
      {"lt", [](auto& a, auto& b) { return a < b; },
       [](double x, double y) { return double(x < y); }, false, true},
      {"le", [](auto& a, auto& b) { return a <= b; },
       [](double x, double y) { return double(x <= y); }, false, true},
      {"gt", [](auto& a, auto& b) { return a > b; },
       [](double x, double y) { return double(x > y); }, false, true},
      {"ge", [](auto& a, auto& b) { return a >= b; },
       [](double x, double y) { return double(x >= y); }, false, true},
      {"logical_and", [](auto& a, auto& b) { return logical_and(a, b); },
       [](double x, double y) { return double(x != 0 && y != 0); }, false, true},
      {"logical_or", [](auto& a, auto& b) { return logical_or(a, b); },
       [](double x, double y) { return double(x != 0 || y != 0); }, false, true},
      {"where", [](auto& a, auto& b) { return where(a > 0.0, a, b); },
       [](double x, double y) { return x > 0 ? x : y; }},
  };
  return cases;
}

// Small integers (some equal across the operands so comparisons see ties), no zeros in b.
Tensor values(const Shape& s, double offset, bool positive) {
  Tensor t = empty(s, {.dtype = kFloat64});
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = static_cast<double>((i * 7 + static_cast<int64_t>(offset)) % 5) - 2.0;
    if (v == 0) v = 0.5;
    p[i] = positive ? std::abs(v) : v;
  }
  return t;
}

// out[idx] = ref(a[idx mapped], b[idx mapped]) by NumPy broadcasting, computed by hand.
void check_against_reference(const BinaryCase& c, const Tensor& a, const Tensor& b,
                             const Tensor& out, double tol) {
  const Shape os = out.shape();
  const std::vector<double> av = a.contiguous().to_vector(), bv = b.contiguous().to_vector();
  const std::vector<double> ov = out.to_vector();
  const Shape ast = contiguous_strides(a.shape()), bst = contiguous_strides(b.shape());
  const Shape ost = contiguous_strides(os);
  for (int64_t e = 0; e < out.numel(); ++e) {
    int64_t ia = 0, ib = 0;
    for (int d = 0; d < os.size(); ++d) {
      const int64_t i = (e / ost[d]) % os[d];
      const int da = d - (os.size() - a.dim()), db = d - (os.size() - b.dim());
      if (da >= 0 && a.shape()[da] != 1) ia += i * ast[da];
      if (db >= 0 && b.shape()[db] != 1) ib += i * bst[db];
    }
    const double want = c.ref(av[ia], bv[ib]);
    ASSERT_NEAR(ov[e], want, tol * (1 + std::abs(want)))
        << c.name << " at flat " << e << " of " << os << " (a " << a.shape() << ", b " << b.shape()
        << ")";
  }
}

TEST(Broadcast, EveryBinaryOpFollowsNumPyRules) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 1}, {4}},    {{2, 1, 4}, {3, 1}}, {{}, {2, 3}},           {{5}, {}},
      {{1, 3}, {2, 1}}, {{2, 3}, {2, 3}},    {{4, 1, 1}, {1, 2, 3}}, {{1}, {1, 1, 2}},
  };
  for (const BinaryCase& c : binary_cases())
    for (const auto& [sa, sb] : shapes)
      for (DType dt : {kFloat32, kFloat64}) {
        Tensor a = values(sa, 1, c.positive_lhs).to(dt), b = values(sb, 3, false).to(dt);
        Tensor out = c.op(a, b);
        EXPECT_EQ(out.shape(), broadcast_shapes(sa, sb)) << c.name;
        EXPECT_EQ(out.dtype(), c.bool_result ? kBool : dt) << c.name;
        check_against_reference(c, a, b, out, dt == kFloat32 ? 1e-6 : 1e-14);
        // the same with both operands swapped
        if (!c.positive_lhs)
          check_against_reference(c, b, a, c.op(b, a), dt == kFloat32 ? 1e-6 : 1e-14);
      }
}

TEST(Broadcast, NonContiguousOperands) {
  Tensor base = values({4, 3}, 2, false);
  Tensor a = base.t();                                    // [3, 4], strides (1, 3)
  Tensor b = values({4, 2}, 1, false).slice(1, 0, 2, 2);  // [4, 1], stride 2
  for (const BinaryCase& c : binary_cases()) {
    if (c.positive_lhs) continue;
    check_against_reference(c, a, b.t().slice(0, 0, 1), c.op(a, b.t().slice(0, 0, 1)), 1e-14);
    check_against_reference(c, a.unsqueeze(0), b.t(), c.op(a.unsqueeze(0), b.t()), 1e-14);
  }
}

TEST(Broadcast, ShapeMismatchNamesTheOp) {
  for (const BinaryCase& c : binary_cases()) {
    try {
      c.op(ones({2, 3}), ones({4}));
      ADD_FAILURE() << c.name << " accepted [2, 3] and [4]";
    } catch (const ShapeError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot be broadcast"), std::string::npos) << e.what();
    }
  }
}

TEST(Broadcast, DTypePromotion) {
  Tensor f = ones({2}), d = ones({2}, {.dtype = kFloat64}), i = ones({2}, {.dtype = kInt64});
  Tensor b = ones({2}, {.dtype = kBool});
  EXPECT_EQ((f + d).dtype(), kFloat64);
  EXPECT_EQ((i + f).dtype(), kFloat32);
  EXPECT_EQ((i + i).dtype(), kInt64);
  EXPECT_EQ((b + b).dtype(), kInt64);
  EXPECT_EQ((b + b).to_vector(), (std::vector<double>{2, 2}));
  EXPECT_EQ((i / i).dtype(), kFloat32);  // true division
  EXPECT_EQ((i * 2.0).dtype(), kInt64);
  EXPECT_EQ((i * 0.5).dtype(), kFloat32);
  EXPECT_EQ((f * 2.0).dtype(), kFloat32);
  EXPECT_EQ((i / 2.0).to_vector(), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(maximum(i, d).dtype(), kFloat64);
  EXPECT_EQ((i > 0.5).dtype(), kBool);
  EXPECT_EQ(where(b, i, f).dtype(), kFloat32);
}

TEST(Broadcast, ScalarFormsMatchTensorForms) {
  Tensor a = values({2, 3}, 1, true).to(kFloat64);
  Tensor s = tensor(1.5, {.dtype = kFloat64});
  EXPECT_TRUE(allclose(a + 1.5, a + s));
  EXPECT_TRUE(allclose(1.5 + a, s + a));
  EXPECT_TRUE(allclose(a - 1.5, a - s));
  EXPECT_TRUE(allclose(1.5 - a, s - a));
  EXPECT_TRUE(allclose(a * 1.5, a * s));
  EXPECT_TRUE(allclose(a / 1.5, a / s));
  EXPECT_TRUE(allclose(1.5 / a, s / a));
  EXPECT_TRUE(allclose(pow(a, 1.5), pow(a, s)));
  EXPECT_TRUE(allclose(pow(1.5, a), pow(s, a)));
  EXPECT_TRUE(equal(a > 1.5, a > s));
  EXPECT_TRUE(equal(eq(a, 2.0), eq(a, tensor(2.0, {.dtype = kFloat64}))));
}

}  // namespace
}  // namespace sn
