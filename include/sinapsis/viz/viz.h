// sinapsis glass box: computation graphs as DOT/SVG with values and gradients, a step-by-step
// backpropagation trace, PNG/SVG figures (training curves, decision regions, optimiser paths).
#pragma once
#include "sinapsis/viz/attention.h"
#include "sinapsis/viz/confusion.h"
#include "sinapsis/viz/graph.h"
#include "sinapsis/viz/image.h"
#include "sinapsis/viz/plot.h"
#include "sinapsis/viz/trace.h"
