// Every optimizer variant against PyTorch 1.13.1: 20 steps on the fixed regression problem,
// comparing the loss and both parameters after every step (tests/golden/optim.json).
#include "optim_test_util.h"

namespace {
using namespace optim_test;

// The contract is 1e-5 relative; f64 runs are held much tighter (they agree to rounding), and
// the absolute floor only matters for elements that pass near zero.
double rtol_for(sn::DType dt) { return dt == sn::kFloat32 ? 1e-5 : 1e-9; }
double atol_for(sn::DType dt) { return dt == sn::kFloat32 ? 1e-6 : 1e-12; }

TEST(OptimGolden, EveryOptimizerTrajectoryMatchesPyTorch) {
  const json& cases = golden()["optimizers"];
  ASSERT_GE(cases.size(), 25u);
  const int steps = golden()["steps"];
  for (const json& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const sn::DType dt = dtype_of(c["dtype"]);
    Regression p(dt);
    bool maximize = false;
    for (const auto& g : c["groups"]) maximize |= opt_bool(g["options"], "maximize", false);
    auto opt = make_optimizer(c["optimizer"], c["groups"], p.W, p.b);
    ASSERT_TRUE(opt);
    for (int s = 0; s < steps; ++s) {
      opt->zero_grad();
      sn::Tensor loss = p.loss(maximize ? -1.0 : 1.0);
      loss.backward();
      opt->step();
      const std::string at = name + " step " + std::to_string(s);
      const double rtol = rtol_for(dt), atol = atol_for(dt);
      expect_close({loss.item()}, json::array({c["loss"][s]}), rtol, atol, at + " loss");
      expect_close(values(p.W), c["W"][s], rtol, atol, at + " W");
      expect_close(values(p.b), c["b"][s], rtol, atol, at + " b");
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
