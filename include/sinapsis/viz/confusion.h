// A confusion matrix as an SVG heat map: rows are the true classes, columns the predicted ones,
// each cell shaded by its share of the row (the row's recall on the diagonal) and labelled
// with its count; per-class recall on the right, precision at the foot. Counts in, SVG out.
#pragma once
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::viz {

struct ConfusionSvgOptions {
  std::string title{};
  int cell = 0;  // pixels per cell side; 0 picks one from the number of classes
};

// counts: an integer or float tensor [C, C] (rows: true class), C >= 1, no negative entry;
// class_names: C names, or empty for "0", "1", ...
std::string confusion_matrix_svg(const Tensor& counts,
                                 const std::vector<std::string>& class_names = {},
                                 const ConfusionSvgOptions& options = {});

}  // namespace sn::viz
