// Bad optimizer options and parameters: each raises the documented error type with a message
// naming the optimizer, the option and the offending value; options set by name are validated
// the same way and leave the optimizer unchanged when refused.
#include "optim_test_util.h"
#include "test_util.h"

namespace {
using namespace optim_test;

// these errors are ValueErrors unless a test names another type
template <typename E = sn::ValueError, typename F>
std::string error_of(F&& f) {
  return sn::test::error_of<E>(std::forward<F>(f));
}

sn::Tensor param() { return sn::zeros({2, 2}, {.requires_grad = true}); }

TEST(OptimizerErrors, SGDOptions) {
  auto w = param();
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.lr = -0.1}); }), "SGD: lr must be >= 0 (got -0.1)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.momentum = -0.5}); }),
            "SGD: momentum must be >= 0 (got -0.5)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.weight_decay = -1}); }),
            "SGD: weight_decay must be >= 0 (got -1)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.dampening = 2}); }),
            "SGD: dampening must be in [0, 1] (got 2)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.nesterov = true}); }),
            "SGD: nesterov needs momentum > 0 and dampening = 0 (got momentum 0, dampening 0)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}); }),
            "SGD: nesterov needs momentum > 0 and dampening = 0 (got momentum 0.9, dampening 0.1)");
  EXPECT_EQ(error_of([&] { so::SGD({w}, {.lr = NAN}); }), "SGD: lr must be >= 0 (got nan)");
}

TEST(OptimizerErrors, AdamAndAdamWOptions) {
  auto w = param();
  EXPECT_EQ(error_of([&] {
              so::Adam({w}, {.betas = {1.5, 0.999}});
            }),
            "Adam: beta1 must be in [0, 1) (got 1.5)");
  EXPECT_EQ(error_of([&] {
              so::Adam({w}, {.betas = {0.9, 1.0}});
            }),
            "Adam: beta2 must be in [0, 1) (got 1)");
  EXPECT_EQ(error_of([&] {
              so::Adam({w}, {.betas = {-0.1, 0.9}});
            }),
            "Adam: beta1 must be in [0, 1) (got -0.1)");
  EXPECT_EQ(error_of([&] { so::Adam({w}, {.eps = -1e-8}); }),
            "Adam: eps must be >= 0 (got -1e-08)");
  EXPECT_EQ(error_of([&] { so::Adam({w}, {.lr = -1}); }), "Adam: lr must be >= 0 (got -1)");
  EXPECT_EQ(error_of([&] { so::AdamW({w}, {.weight_decay = -0.01}); }),
            "AdamW: weight_decay must be >= 0 (got -0.01)");
  EXPECT_EQ(error_of([&] {
              so::AdamW({w}, {.betas = {0.9, 2.0}});
            }),
            "AdamW: beta2 must be in [0, 1) (got 2)");
}

TEST(OptimizerErrors, AdaptiveOptimizersOptions) {
  auto w = param();
  EXPECT_EQ(error_of([&] { so::Adagrad({w}, {.lr_decay = -1}); }),
            "Adagrad: lr_decay must be >= 0 (got -1)");
  EXPECT_EQ(error_of([&] { so::Adagrad({w}, {.initial_accumulator_value = -0.1}); }),
            "Adagrad: initial_accumulator_value must be >= 0 (got -0.1)");
  EXPECT_EQ(error_of([&] { so::Adagrad({w}, {.eps = -1}); }), "Adagrad: eps must be >= 0 (got -1)");
  EXPECT_EQ(error_of([&] { so::Adadelta({w}, {.rho = 1.1}); }),
            "Adadelta: rho must be in [0, 1] (got 1.1)");
  EXPECT_EQ(error_of([&] { so::Adadelta({w}, {.lr = -2}); }), "Adadelta: lr must be >= 0 (got -2)");
  EXPECT_EQ(error_of([&] { so::RMSprop({w}, {.alpha = -0.5}); }),
            "RMSprop: alpha must be in [0, 1] (got -0.5)");
  EXPECT_EQ(error_of([&] { so::RMSprop({w}, {.momentum = -0.9}); }),
            "RMSprop: momentum must be >= 0 (got -0.9)");
  EXPECT_EQ(error_of([&] { so::RMSprop({w}, {.eps = -1}); }), "RMSprop: eps must be >= 0 (got -1)");
}

TEST(OptimizerErrors, BadParameters) {
  auto w = param();
  EXPECT_EQ(error_of([&] { so::SGD(std::vector<sn::Tensor>{}); }),
            "SGD: a parameter group is empty; hint: pass the tensors to optimize, e.g. "
            "model.parameters()");
  EXPECT_EQ(error_of([&] {
              so::Adam({w, sn::Tensor()});
            }),
            "Adam: parameter 1 is an undefined tensor");
  EXPECT_EQ(error_of([&] {
              so::SGD({w, w});
            }),
            "SGD: parameter 1 (shape [2, 2]) appears twice in the parameter groups");
  EXPECT_EQ(error_of<sn::DTypeError>([&] { so::SGD({sn::zeros({3}, {.dtype = sn::kInt64})}); }),
            "SGD: parameter 0 must be floating point (dtype int64)");
  auto y = w * 2.0;  // computed from w: not a leaf
  EXPECT_NE(error_of([&] { so::SGD({y}); }).find("is not a leaf tensor"), std::string::npos);
  so::SGD opt({w});
  EXPECT_NE(error_of([&] { opt.add_param_group({w}, {}); }).find("appears twice"),
            std::string::npos);
  EXPECT_EQ(opt.num_param_groups(), 1u);  // the refused group was not added
  EXPECT_EQ(error_of([&] { so::SGD(std::vector<so::SGD::Group>{}); }),
            "SGD: no parameter groups given");
}

TEST(OptimizerErrors, OptionsByNameAreValidated) {
  auto w = param();
  so::Adam opt({w}, {.lr = 0.01});
  EXPECT_EQ(error_of([&] { opt.set_option(0, "beta1", 1.5); }),
            "Adam: beta1 must be in [0, 1) (got 1.5)");
  EXPECT_EQ(opt.option(0, "beta1"), 0.9);  // unchanged
  EXPECT_EQ(error_of([&] { opt.set_option(0, "momentum", 0.9); }),
            "Adam: unknown option 'momentum' (options: lr, beta1, beta2, eps, weight_decay, "
            "amsgrad, maximize)");
  EXPECT_EQ(error_of([&] { opt.set_lr(-1.0); }), "Adam: lr must be >= 0 (got -1)");
  EXPECT_EQ(error_of<sn::IndexError>([&] { opt.lr(3); }),
            "Adam: parameter group 3 does not exist (1 groups)");
  EXPECT_EQ(error_of<sn::IndexError>([&] { opt.params(1); }),
            "Adam: parameter group 1 does not exist (1 groups)");
  EXPECT_EQ(error_of<sn::IndexError>([&] { opt.options(2); }),
            "Adam: parameter group 2 does not exist (1 groups)");
  EXPECT_EQ(opt.lr(), 0.01);
}

}  // namespace
