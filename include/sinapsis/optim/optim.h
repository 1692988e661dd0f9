// sinapsis/optim: optimizers over parameter tensors, learning-rate schedules and gradient
// clipping. Include sinapsis/sinapsis.h or this header.
#pragma once
#include "sinapsis/optim/adadelta.h"
#include "sinapsis/optim/adagrad.h"
#include "sinapsis/optim/adam.h"
#include "sinapsis/optim/clip.h"
#include "sinapsis/optim/lbfgs.h"
#include "sinapsis/optim/optimizer.h"
#include "sinapsis/optim/rmsprop.h"
#include "sinapsis/optim/scheduler.h"
#include "sinapsis/optim/sgd.h"
