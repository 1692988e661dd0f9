// Images without Python: a small RGB raster with clipped drawing primitives, a PNG encoder of
// our own (zlib's compress + crc32 do the deflate and checksums) and file output.
// No fonts in the raster: labelled figures are SVG (sinapsis/viz/plot.h), which can embed PNGs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace sn::viz
