// Resizing of image batches: upsample2d (PyTorch's F.interpolate for 4-D inputs) in "nearest" and
// "bilinear" mode. No bicubic, area or antialiased modes, and no 1-d/3-d variants here.
#pragma once
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn {

struct UpsampleOptions {
  std::vector<int64_t> size = {};         // output [OH, OW] (one number: both); or empty and
  std::vector<double> scale_factor = {};  // the scale per dim (one number: both), out = ⌊in·s⌋
  std::string mode = "nearest";           // "nearest" or "bilinear"
  bool align_corners = false;             // bilinear only: corner pixels' centres line up
};

// x [N, C, H, W] -> [N, C, OH, OW]. Source positions as PyTorch 1.13:
// with a scale factor given the step is 1/scale, otherwise H/OH; nearest takes ⌊dst·step⌋,
// bilinear (dst + ½)·step − ½ clamped at 0 (align_corners: dst·(H−1)/(OH−1)).
Tensor upsample2d(const Tensor& x, const UpsampleOptions& opts);

}  // namespace sn
