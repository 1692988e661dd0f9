// sinapsis: the umbrella header. Include this and use namespace sn.
#pragma once
#include "sinapsis/autograd/gradcheck.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/core/build_info.h"
#include "sinapsis/core/cpu.h"
#include "sinapsis/core/dtype.h"
#include "sinapsis/core/error.h"
#include "sinapsis/core/shape.h"
#include "sinapsis/core/tensor.h"
#include "sinapsis/ops/attention.h"
#include "sinapsis/ops/ops.h"
// Each layer has its own umbrella header; they are picked up as they exist.
#if __has_include("sinapsis/ops/rnn.h")
#include "sinapsis/ops/rnn.h"
#endif
#if __has_include("sinapsis/ops/conv.h")
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/upsample.h"
#endif
#if __has_include("sinapsis/nn/nn.h")
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/nn.h"
#include "sinapsis/nn/spec.h"
#endif
#if __has_include("sinapsis/loss/loss.h")
#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/vae.h"
#endif
#if __has_include("sinapsis/optim/optim.h")
#include "sinapsis/optim/optim.h"
#endif
#if __has_include("sinapsis/data/data.h")
#include "sinapsis/data/data.h"
#endif
#if __has_include("sinapsis/io/io.h")
#include "sinapsis/io/io.h"
#endif
#if __has_include("sinapsis/train/train.h")
#include "sinapsis/train/train.h"
#endif
#if __has_include("sinapsis/classic/classic.h")
#include "sinapsis/classic/classic.h"
#endif
#if __has_include("sinapsis/viz/viz.h")
#include "sinapsis/viz/viz.h"
#endif
