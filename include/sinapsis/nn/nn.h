// sinapsis/nn: modules, layers and init. The umbrella header for the layer; other layer
// headers (convolution, pooling, normalisation) join below as they exist.
#pragma once
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/module.h"
#if __has_include("sinapsis/nn/conv.h")
#include "sinapsis/nn/conv.h"
#endif
#if __has_include("sinapsis/nn/pool.h")
#include "sinapsis/nn/pool.h"
#endif
#if __has_include("sinapsis/nn/batchnorm.h")
#include "sinapsis/nn/batchnorm.h"
#endif
#if __has_include("sinapsis/nn/norm.h")
#include "sinapsis/nn/norm.h"
#endif
