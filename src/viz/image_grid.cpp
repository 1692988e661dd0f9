// viz::image_grid (sinapsis/viz/image.h): a batch of small images laid out in rows, the
// picture of a data set, a model's reconstructions or a generator's samples. Layout and value
// scaling only; encoding is image.cpp's.
#include <algorithm>
#include <cmath>

#include "sinapsis/core/error.h"
#include "sinapsis/core/tensor.h"
#include "sinapsis/viz/image.h"

namespace sn::viz {

Image image_grid(const Tensor& images, const ImageGridOptions& o) {
  const Shape s = images.shape();
  int64_t n = 0, c = 1, h = 0, w = 0;
  if (s.size() == 2) {
    n = s[0];
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(s[1]))));
    SN_CHECK(side * side == s[1] && side > 0, ValueError, "viz::image_grid: rows of ", s[1],
             " values are not square images (shape ", s,
             "); hint: pass [N, C, H, W] or [N, H, W] for other sizes");
    h = w = side;
  } else if (s.size() == 3) {
    n = s[0], h = s[1], w = s[2];
  } else if (s.size() == 4) {
    n = s[0], c = s[1], h = s[2], w = s[3];
    SN_CHECK(c == 1 || c == 3, ValueError, "viz::image_grid: ", c,
             " channels; expected 1 (grey) or 3 (RGB) in [N, C, H, W] (shape ", s, ")");
  } else {
    SN_THROW(ValueError, "viz::image_grid: expected [N, D], [N, H, W] or [N, C, H, W] (got ", s,
             ")");
  }
  SN_CHECK(n > 0 && h > 0 && w > 0, ValueError, "viz::image_grid: no images to draw (shape ", s,
           ")");
  SN_CHECK(o.cols >= 1 && o.scale >= 1 && o.scale <= 32 && o.padding >= 0 && o.padding <= 64,
           ValueError, "viz::image_grid: cols ", o.cols, ", scale ", o.scale, ", padding ",
           o.padding, " (need cols >= 1, scale 1..32, padding 0..64)");
  SN_CHECK(std::isfinite(o.lo) && std::isfinite(o.hi) && o.hi > o.lo, ValueError,
           "viz::image_grid: the value range [", o.lo, ", ", o.hi, "] is empty");
  const int64_t cols = std::min<int64_t>(o.cols, n), rows = (n + cols - 1) / cols;
  const int64_t cell_w = w * o.scale + o.padding, cell_h = h * o.scale + o.padding;
  const int64_t width = cols * cell_w + o.padding, height = rows * cell_h + o.padding;
  SN_CHECK(width <= 16384 && height <= 16384, ValueError, "viz::image_grid: ", n, " images of ", h,
           " x ", w, " in ", cols, " columns at scale ", o.scale, " make a ", width, " x ", height,
           " picture, above the 16384 pixels a side an Image may have; hint: fewer images or a "
           "smaller scale");
  Image img(static_cast<int>(width), static_cast<int>(height), o.background);
  const std::vector<double> v = images.to_vector();
  const double range = o.hi - o.lo;
  auto level = [&](double x) {
    return static_cast<uint8_t>(std::lround(std::clamp((x - o.lo) / range, 0.0, 1.0) * 255.0));
  };
  const int64_t plane = h * w;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = (i % cols) * cell_w + o.padding, y0 = (i / cols) * cell_h + o.padding;
    const double* px = v.data() + i * c * plane;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const int64_t at = y * w + x;
        Color col;
        const double r = px[at], g = px[(c - 1) / 2 * plane + at], b = px[(c - 1) * plane + at];
        if (std::isnan(r) || std::isnan(g) || std::isnan(b))
          col = {255, 0, 255};
        else
          col = {level(r), level(g), level(b)};
        const int xs = static_cast<int>(x0 + x * o.scale), ys = static_cast<int>(y0 + y * o.scale);
        img.fill_rect(xs, ys, xs + o.scale - 1, ys + o.scale - 1, col);
      }
  }
  return img;
}

}  // namespace sn::viz
