// viz::image_grid: layout (rows, columns, padding, scale), value scaling and clipping, the
// accepted shapes ([N, D] square rows, [N, H, W], [N, 1|3, H, W]) and the errors.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

#include "test_util.h"

namespace {
namespace viz = sn::viz;
using sn::Shape;

viz::Color grey(uint8_t v) { return {v, v, v}; }

TEST(ImageGrid, LayoutScaleAndPadding) {
  // 5 images of 2 x 3, image i filled with i / 4: 3 columns -> 2 rows
  std::vector<double> v;
  for (int i = 0; i < 5; ++i)
    for (int p = 0; p < 6; ++p) v.push_back(i / 4.0);
  sn::Tensor x = sn::tensor(v, Shape{5, 2, 3});
  viz::Image img = viz::image_grid(x, {.cols = 3, .scale = 2, .padding = 1});
  // width: 3 cells of (3*2 + 1) + 1; height: 2 cells of (2*2 + 1) + 1
  EXPECT_EQ(img.width(), 22);
  EXPECT_EQ(img.height(), 11);
  EXPECT_EQ(img.pixel(0, 0), grey(255));   // padding is the background
  EXPECT_EQ(img.pixel(1, 1), grey(0));     // image 0: value 0 -> black
  EXPECT_EQ(img.pixel(6, 4), grey(0));     // its last scaled pixel
  EXPECT_EQ(img.pixel(7, 1), grey(255));   // the gap after it
  EXPECT_EQ(img.pixel(8, 1), grey(64));    // image 1: 0.25
  EXPECT_EQ(img.pixel(15, 1), grey(128));  // image 2: 0.5
  EXPECT_EQ(img.pixel(1, 6), grey(191));   // image 3 starts row 2
  EXPECT_EQ(img.pixel(8, 6), grey(255));   // image 4: 1.0
  EXPECT_EQ(img.pixel(15, 6), grey(255));  // no image 5: background
}

TEST(ImageGrid, FlatRowsRangeClippingNanAndRgb) {
  // [N, 784] rows are 28 x 28; fewer images than columns shrink the grid
  viz::Image flat = viz::image_grid(sn::zeros(Shape{2, 784}), {.cols = 8, .padding = 0});
  EXPECT_EQ(flat.width(), 56);
  EXPECT_EQ(flat.height(), 28);
  // a tanh range: -1 black, 1 white, beyond clipped; NaN magenta
  sn::Tensor t = sn::tensor(std::vector<double>{-1.0, 0.0, 3.0, std::nan("")}, Shape{1, 1, 2, 2});
  viz::Image g = viz::image_grid(t, {.padding = 0, .lo = -1, .hi = 1});
  EXPECT_EQ(g.pixel(0, 0), grey(0));
  EXPECT_EQ(g.pixel(1, 0), grey(128));
  EXPECT_EQ(g.pixel(0, 1), grey(255));
  EXPECT_EQ(g.pixel(1, 1), (viz::Color{255, 0, 255}));
  // three channels are red, green, blue
  sn::Tensor rgb = sn::tensor(std::vector<double>{1.0, 0.0, 0.5}, Shape{1, 3, 1, 1});
  viz::Image c = viz::image_grid(rgb, {.padding = 0});
  EXPECT_EQ(c.pixel(0, 0), (viz::Color{255, 0, 128}));
  // the PNG of a grid is a PNG
  EXPECT_EQ(viz::encode_png(c).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

std::string error_of(const sn::Tensor& x, const viz::ImageGridOptions& o = {}) {
  return sn::test::error_of<sn::ValueError>([&] { viz::image_grid(x, o); });
}

TEST(ImageGrid, Errors) {
  EXPECT_NE(error_of(sn::zeros(Shape{2, 10})).find("rows of 10 values are not square images"),
            std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{2, 2, 4, 4})).find("2 channels"), std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{4})).find("expected [N, D]"), std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{0, 4, 4})).find("no images"), std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{1, 4, 4}), {.scale = 0}).find("scale 0"), std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{1, 4, 4}), {.lo = 1, .hi = 1}).find("is empty"),
            std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{1000, 28, 28}), {.cols = 1000, .scale = 2})
                .find("above the 16384 pixels"),
            std::string::npos);
}

}  // namespace
