// Raster drawing and our PNG encoder (see sinapsis/viz/image.h). PNG = signature + IHDR + IDAT
// (zlib stream of filtered scanlines) + IEND, each chunk with a CRC-32; zlib provides both.
#include "sinapsis/viz/image.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "sinapsis/core/error.h"

namespace sn::viz {

std::string to_hex(Color c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

Color palette(int64_t i) {
  // Tableau-10-like hues: distinct for ten classes/series, then repeating
  static const Color colors[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
  const int64_t n = static_cast<int64_t>(std::size(colors));
  return colors[((i % n) + n) % n];
}

Color lighten(Color c, double amount) {
  amount = std::clamp(amount, 0.0, 1.0);
  auto mix = [amount](uint8_t v) {
    return static_cast<uint8_t>(std::lround(v + (255.0 - v) * amount));
  };
  return {mix(c.r), mix(c.g), mix(c.b)};
}

Image::Image(int width, int height, Color background) : width_(width), height_(height) {
  SN_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384, ValueError,
           "viz::Image: size must be 1..16384 per side (got ", width, " x ", height, ")");
  rgb_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Color Image::pixel(int x, int y) const {
  SN_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_, IndexError, "viz::Image::pixel: (", x,
           ", ", y, ") is outside the ", width_, " x ", height_, " image");
  const size_t i =
      (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Image::set_pixel(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const size_t i =
      (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  rgb_[i] = c.r;
  rgb_[i + 1] = c.g;
  rgb_[i + 2] = c.b;
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Color c) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, width_ - 1);
  y1 = std::min(y1, height_ - 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) set_pixel(x, y, c);
}

void Image::fill_circle(double cx, double cy, double radius, Color c) {
  if (!(radius > 0) || !std::isfinite(cx) || !std::isfinite(cy)) return;
  const int x0 = static_cast<int>(std::floor(std::max(cx - radius, -1.0)));
  const int x1 = static_cast<int>(std::ceil(std::min(cx + radius, static_cast<double>(width_))));
  const int y0 = static_cast<int>(std::floor(std::max(cy - radius, -1.0)));
  const int y1 = static_cast<int>(std::ceil(std::min(cy + radius, static_cast<double>(height_))));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= radius * radius) set_pixel(x, y, c);
    }
}

void Image::draw_circle(double cx, double cy, double radius, Color c, double thickness) {
  if (!(radius > 0) || !std::isfinite(cx) || !std::isfinite(cy)) return;
  const double outer = radius + thickness / 2, inner = std::max(0.0, radius - thickness / 2);
  const int x0 = static_cast<int>(std::floor(std::max(cx - outer, -1.0)));
  const int x1 = static_cast<int>(std::ceil(std::min(cx + outer, static_cast<double>(width_))));
  const int y0 = static_cast<int>(std::floor(std::max(cy - outer, -1.0)));
  const int y1 = static_cast<int>(std::ceil(std::min(cy + outer, static_cast<double>(height_))));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy, r2 = dx * dx + dy * dy;
      if (r2 <= outer * outer && r2 >= inner * inner) set_pixel(x, y, c);
    }
}

void Image::draw_line(double x0, double y0, double x1, double y1, Color c, double thickness) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  // clip the parameter range to the image (plus the pen) so a far-away end cannot make us
  // walk millions of invisible steps
  const double pad = thickness + 1;
  double t0 = 0, t1 = 1;
  const double dx = x1 - x0, dy = y1 - y0;
  auto clip = [&](double p, double q) {  // Liang–Barsky
    if (p == 0) return q >= 0;
    const double r = q / p;
    if (p < 0) {
      if (r > t1) return false;
      t0 = std::max(t0, r);
    } else {
      if (r < t0) return false;
      t1 = std::min(t1, r);
    }
    return true;
  };
  if (!clip(-dx, x0 + pad) || !clip(dx, width_ + pad - x0) || !clip(-dy, y0 + pad) ||
      !clip(dy, height_ + pad - y0))
    return;
  const double ax = x0 + t0 * dx, ay = y0 + t0 * dy, bx = x0 + t1 * dx, by = y0 + t1 * dy;
  const double len = std::hypot(bx - ax, by - ay);
  const int n = std::max(1, static_cast<int>(std::ceil(len * 2)));
  for (int i = 0; i <= n; ++i) {
    const double t = static_cast<double>(i) / n;
    const double px = ax + t * (bx - ax), py = ay + t * (by - ay);
    if (thickness <= 1.0)
      set_pixel(static_cast<int>(std::floor(px)), static_cast<int>(std::floor(py)), c);
    else
      fill_circle(px, py, thickness / 2, c);
  }
}

namespace {
void put_u32(std::string& out, uint32_t v) {
  out += static_cast<char>((v >> 24) & 0xff);
  out += static_cast<char>((v >> 16) & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  // the CRC covers the chunk type and data, not the length
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}
}  // namespace

std::string encode_png(const Image& image) {
  const size_t w = static_cast<size_t>(image.width()), h = static_cast<size_t>(image.height());
  // each scanline: filter type byte, then the row. Filter 1 (Sub) stores the difference to
  // the pixel on the left, which turns flat colour areas into zeros that deflate well.
  std::string raw;
  raw.reserve(h * (1 + w * 3));
  const uint8_t* px = image.rgb().data();
  for (size_t y = 0; y < h; ++y) {
    raw += static_cast<char>(1);
    const uint8_t* row = px + y * w * 3;
    for (size_t i = 0; i < w * 3; ++i)
      raw += static_cast<char>(static_cast<uint8_t>(row[i] - (i >= 3 ? row[i - 3] : 0)));
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  const int rc =
      compress2(reinterpret_cast<Bytef*>(z.data()), &zlen,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6);
  SN_CHECK(rc == Z_OK, IOError, "viz::encode_png: zlib compression failed (code ", rc, ")");
  z.resize(zlen);

  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(w));
  put_u32(ihdr, static_cast<uint32_t>(h));
  ihdr += static_cast<char>(8);  // bits per channel
  ihdr += static_cast<char>(2);  // colour type: truecolour RGB
  ihdr += static_cast<char>(0);  // compression: deflate
  ihdr += static_cast<char>(0);  // filter method 0 (per-line filter types)
  ihdr += static_cast<char>(0);  // no interlace
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", "");
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  SN_CHECK(f.good(), IOError, "viz: cannot open '", path, "' for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  SN_CHECK(!f.fail(), IOError, "viz: writing '", path, "' failed (disk full?)");
}

void write_png(const Image& image, const std::string& path) { write_file(path, encode_png(image)); }

std::string base64_encode(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sn::viz
