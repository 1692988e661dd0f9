// Images without Python: a small RGB raster with clipped drawing primitives, a PNG encoder of
// our own (zlib's compress + crc32 do the deflate and checksums) and file output.
// No fonts in the raster: labelled figures are SVG (sinapsis/viz/plot.h), which can embed PNGs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sn {
class Tensor;
}

namespace sn::viz {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Color&, const Color&) = default;
};
// "#rrggbb"
std::string to_hex(Color c);
// The i-th colour of a palette that stays distinguishable for the first ten.
Color palette(int64_t i);
// c mixed with white: amount 0 = c, 1 = white.
Color lighten(Color c, double amount);

class Image {
 public:
  Image(int width, int height, Color background = {255, 255, 255});  // 1..16384 per side

  int width() const { return width_; }
  int height() const { return height_; }
  Color pixel(int x, int y) const;  // IndexError outside
  // Drawing clips to the image: coordinates outside are ignored, never written.
  void set_pixel(int x, int y, Color c);
  void fill_rect(int x0, int y0, int x1, int y1, Color c);  // inclusive corners, any order
  void draw_line(double x0, double y0, double x1, double y1, Color c, double thickness = 1.0);
  void fill_circle(double cx, double cy, double radius, Color c);
  void draw_circle(double cx, double cy, double radius, Color c, double thickness = 1.0);
  const std::vector<uint8_t>& rgb() const { return rgb_; }  // row-major, 3 bytes per pixel

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

// PNG file bytes: 8-bit RGB, no interlace.
std::string encode_png(const Image& image);
void write_png(const Image& image, const std::string& path);
// Writes bytes to a file (IOError on failure).
void write_file(const std::string& path, const std::string& bytes);
std::string base64_encode(const std::string& bytes);

// ---- a grid of small images (data sets, reconstructions, generated samples) ----
struct ImageGridOptions {
  int cols = 8;           // images per row (fewer when there are fewer images)
  int scale = 1;          // each pixel drawn as a scale x scale block (1..32)
  int padding = 1;        // background pixels between images and around the grid (0..64)
  double lo = 0, hi = 1;  // the values drawn black and white, clipped (tanh outputs: -1, 1)
  Color background = {255, 255, 255};
};
// images: [N, H, W], [N, C, H, W] with C = 1 (grey) or 3 (RGB), or [N, D] with D a perfect
// square (784: 28 x 28 grey). Any numeric dtype; NaN is drawn magenta so it cannot pass for
// black. Image i sits at row i / cols, column i % cols. ValueError for other shapes, N = 0, a
// grid above 16384 pixels a side or options out of range.
Image image_grid(const Tensor& images, const ImageGridOptions& options = {});

}  // namespace sn::viz
