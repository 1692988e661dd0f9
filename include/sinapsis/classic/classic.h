// sinapsis classic learners: perceptron, Hebb, ADALINE (Widrow–Hoff), linear regression
// (normal equations and gradient descent) and logistic regression, all on sn::Tensor.
// They train with explicit update rules, not with autograd, so each rule reads as in the lecture.
#pragma once
#include "sinapsis/classic/adaline.h"
#include "sinapsis/classic/common.h"
#include "sinapsis/classic/hebb.h"
#include "sinapsis/classic/linear_regression.h"
#include "sinapsis/classic/logistic_regression.h"
#include "sinapsis/classic/perceptron.h"
