// sinapsis train: from data to a trained model (namespace sn::train). fit/evaluate/predict,
// callbacks, metrics, history and training checkpoints. The umbrella header of the layer; the
// pieces are in the headers below.
#pragma once
#include "sinapsis/autograd/anomaly.h"
#include "sinapsis/train/adversarial.h"
#include "sinapsis/train/autoencoder.h"
#include "sinapsis/train/callback.h"
#include "sinapsis/train/callbacks.h"
#include "sinapsis/train/checkpoint.h"
#include "sinapsis/train/fit.h"
#include "sinapsis/train/history.h"
#include "sinapsis/train/language_model.h"
#include "sinapsis/train/metrics.h"
