// Attention heat maps as SVG: a grid of layer × head panels, white (0) to dark blue (the
// panel's row maximum is not used: 1 is darkest, so panels compare), tokens on both axes.
#include "sinapsis/viz/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sinapsis/core/error.h"
#include "viz/internal.h"

namespace sn::viz {

namespace {

std::string cell_color(double w) {
  const double t = std::sqrt(std::clamp(w, 0.0, 1.0));  // sqrt: small weights stay visible
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(255 - t * (255 - 8)),
                static_cast<int>(255 - t * (255 - 48)), static_cast<int>(255 - t * (255 - 107)));
  return buf;
}

void check_maps(const AttentionMaps& m) {
  const size_t t = m.tokens.size();
  SN_CHECK(t > 0, ValueError, "attention_svg: no tokens");
  SN_CHECK(!m.weights.empty(), ValueError, "attention_svg: no layers");
  for (size_t l = 0; l < m.weights.size(); ++l)
    for (size_t h = 0; h < m.weights[l].size(); ++h)
      SN_CHECK(m.weights[l][h].size() == t * t, ValueError, "attention_svg: layer ", l, " head ", h,
               " holds ", m.weights[l][h].size(), " values, expected ", t, "×", t);
}

// One panel at (x0, y0): the cells, then the token labels on the left and on top.
void panel(std::ostringstream& os, const AttentionMaps& m, const std::vector<double>& w, int x0,
           int y0, int cell, const std::string& caption) {
  const auto t = static_cast<int>(m.tokens.size());
  os << "<text x=\"" << x0 << "\" y=\"" << y0 - 4 - cell
     << "\" font-size=\"12\" font-weight=\"bold\">" << detail::xml_escape(caption) << "</text>\n";
  for (int i = 0; i < t; ++i)
    for (int j = 0; j < t; ++j)
      os << "<rect x=\"" << x0 + j * cell << "\" y=\"" << y0 + i * cell << "\" width=\"" << cell
         << "\" height=\"" << cell << "\" fill=\"" << cell_color(w[i * t + j]) << "\"/>\n";
  const int fs = std::max(6, cell - 2);
  for (int i = 0; i < t; ++i) {
    const std::string label = detail::xml_escape(m.tokens[i]);
    os << "<text x=\"" << x0 - 2 << "\" y=\"" << y0 + i * cell + cell - 2 << "\" font-size=\"" << fs
       << "\" text-anchor=\"end\" font-family=\"monospace\">" << label << "</text>\n";
    os << "<text x=\"" << x0 + i * cell + cell / 2 << "\" y=\"" << y0 - 2 << "\" font-size=\"" << fs
       << "\" text-anchor=\"middle\" font-family=\"monospace\">" << label << "</text>\n";
  }
  os << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << t * cell << "\" height=\""
     << t * cell << "\" fill=\"none\" stroke=\"#888\"/>\n";
}

}  // namespace

std::string attention_svg(const AttentionMaps& m) {
  check_maps(m);
  const auto t = static_cast<int>(m.tokens.size());
  const int cell = std::clamp(420 / t, 6, 16);
  const int margin = 6 * cell + 20, side = t * cell;
  size_t heads = 0;
  for (const auto& layer : m.weights) heads = std::max(heads, layer.size());
  const int width = static_cast<int>(heads) * (side + margin) + 20;
  const int height = static_cast<int>(m.weights.size()) * (side + margin + cell) + 50;
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"10\" y=\"22\" font-size=\"15\">" << detail::xml_escape(m.title)
     << " (rows: queries, columns: keys)</text>\n";
  for (size_t l = 0; l < m.weights.size(); ++l)
    for (size_t h = 0; h < m.weights[l].size(); ++h)
      panel(os, m, m.weights[l][h], static_cast<int>(h) * (side + margin) + margin,
            static_cast<int>(l) * (side + margin + cell) + 40 + margin, cell,
            "layer " + std::to_string(l) + ", head " + std::to_string(h));
  os << "</svg>\n";
  return os.str();
}

}  // namespace sn::viz
