// sinapsis/nn: modules, layers and init. The umbrella header for the layer; the convolution /
// pooling / normalisation layers and the JSON model specs live in their own headers, included
// here when present.
#pragma once
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/autoencoder.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/nn/gpt.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/nn/positional.h"
#include "sinapsis/nn/transformer.h"
#if __has_include("sinapsis/nn/rnn.h")
#include "sinapsis/nn/rnn.h"
#endif
#if __has_include("sinapsis/nn/conv.h")
#include "sinapsis/nn/conv.h"
#endif
#if __has_include("sinapsis/nn/spec.h")
#include "sinapsis/nn/spec.h"
#endif
#include "sinapsis/nn/gan.h"
