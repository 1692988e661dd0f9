// confusion_matrix_svg (see sinapsis/viz/confusion.h): a grid of <rect> cells, shaded white to
// blue by the share of their row, with the count in each cell, recall per row and precision per
// column in the margins. Long class names are cut to 18 characters (the full name stays in a
// <title> tooltip).
#include "sinapsis/viz/confusion.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sinapsis/viz/image.h"
#include "viz/internal.h"

namespace sn::viz {

namespace {

using detail::xml_escape;

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string pct(double num, double den) {
  if (den <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * num / den);
  return buf;
}

std::string cut(const std::string& s) { return s.size() <= 18 ? s : s.substr(0, 17) + "~"; }

void text(std::ostringstream& os, double x, double y, const std::string& s, int size,
          const char* anchor, const std::string& extra = "") {
  os << "<text x=\"" << px(x) << "\" y=\"" << px(y) << "\" font-size=\"" << size
     << "\" text-anchor=\"" << anchor << "\"" << extra << ">" << xml_escape(s) << "</text>\n";
}

}  // namespace

std::string confusion_matrix_svg(const Tensor& counts, const std::vector<std::string>& names,
                                 const ConfusionSvgOptions& o) {
  SN_CHECK(counts.defined() && counts.dim() == 2 && counts.size(0) == counts.size(1) &&
               counts.size(0) >= 1,
           ShapeError, "viz::confusion_matrix_svg: counts must be a square [C, C] matrix (got ",
           counts.defined() ? counts.shape() : Shape{}, ")");
  const int64_t n = counts.size(0);
  SN_CHECK(names.empty() || static_cast<int64_t>(names.size()) == n, ValueError,
           "viz::confusion_matrix_svg: ", names.size(), " class names for ", n, " classes");
  SN_CHECK(n <= 1000, ValueError, "viz::confusion_matrix_svg: ", n,
           " classes are too many to draw (at most 1000)");
  SN_CHECK(o.cell >= 0 && o.cell <= 200, ValueError,
           "viz::confusion_matrix_svg: cell must be in [0, 200] pixels (got ", o.cell, ")");
  const std::vector<double> v = counts.to(kFloat64).contiguous().to_vector();
  for (double c : v)
    SN_CHECK(std::isfinite(c) && c >= 0, ValueError,
             "viz::confusion_matrix_svg: counts must be finite and >= 0 (got ", c, ")");
  std::vector<std::string> label(static_cast<size_t>(n));
  size_t longest = 1;
  for (int64_t c = 0; c < n; ++c) {
    label[c] = cut(names.empty() ? std::to_string(c) : names[c]);
    longest = std::max(longest, label[c].size());
  }
  std::vector<double> row(n, 0), col(n, 0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t p = 0; p < n; ++p) {
      row[t] += v[t * n + p];
      col[p] += v[t * n + p];
    }
  const double cell = o.cell > 0 ? o.cell : std::clamp(560.0 / static_cast<double>(n), 14.0, 56.0);
  const int font = static_cast<int>(std::clamp(cell / 3.2, 6.0, 13.0));
  const double name_w = 7.0 * static_cast<double>(longest) + 12;  // row labels, rotated columns
  const double x0 = 40 + name_w, y0 = (o.title.empty() ? 30 : 56) + name_w;
  const double w = x0 + cell * n + 90, h = y0 + cell * n + 70;
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << px(w) << "\" height=\"" << px(h)
     << "\" viewBox=\"0 0 " << px(w) << " " << px(h)
     << "\" font-family=\"Helvetica, Arial, sans-serif\">\n"
     << "<rect x=\"0\" y=\"0\" width=\"" << px(w) << "\" height=\"" << px(h)
     << "\" fill=\"#ffffff\"/>\n";
  if (!o.title.empty()) text(os, w / 2, 24, o.title, 15, "middle", " font-weight=\"bold\"");
  text(os, x0 + cell * n / 2, y0 - name_w - 10, "predicted class", 12, "middle");
  text(os, 16, y0 + cell * n / 2, "true class", 12, "middle",
       " transform=\"rotate(-90 16 " + px(y0 + cell * n / 2) + ")\"");
  const Color blue = palette(0);
  for (int64_t t = 0; t < n; ++t) {
    const double y = y0 + cell * t;
    text(os, x0 - 6, y + cell / 2 + font / 3.0, label[t], font, "end");
    for (int64_t p = 0; p < n; ++p) {
      const double x = x0 + cell * p, c = v[t * n + p];
      const double share = row[t] > 0 ? c / row[t] : 0;
      os << "<rect class=\"cell\" x=\"" << px(x) << "\" y=\"" << px(y) << "\" width=\"" << px(cell)
         << "\" height=\"" << px(cell) << "\" fill=\"" << to_hex(lighten(blue, 1 - share))
         << "\" stroke=\"#dddddd\"><title>true " << xml_escape(names.empty() ? label[t] : names[t])
         << ", predicted " << xml_escape(names.empty() ? label[p] : names[p]) << ": "
         << detail::format_number(c, 10) << " (" << pct(c, row[t])
         << " of the row)</title></rect>\n";
      if (cell >= 14)
        text(os, x + cell / 2, y + cell / 2 + font / 3.0, detail::format_number(c, 6), font,
             "middle", share > 0.5 ? " fill=\"#ffffff\"" : "");
    }
    text(os, x0 + cell * n + 6, y + cell / 2 + font / 3.0, pct(v[t * n + t], row[t]), font,
         "start");
  }
  for (int64_t p = 0; p < n; ++p) {
    const double x = x0 + cell * p + cell / 2 + font / 3.0;
    text(os, x, y0 - 6, label[p], font, "start",
         " transform=\"rotate(-90 " + px(x) + " " + px(y0 - 6) + ")\"");
    text(os, x0 + cell * p + cell / 2, y0 + cell * n + 16, pct(v[p * n + p], col[p]), font,
         "middle");
  }
  text(os, x0 + cell * n + 6, y0 - 6, "recall", 11, "start");
  text(os, x0 - 6, y0 + cell * n + 16, "precision", 11, "end");
  double diag = 0, all = 0;
  for (int64_t c = 0; c < n; ++c) diag += v[c * n + c], all += row[c];
  text(os, x0, y0 + cell * n + 44,
       "accuracy " + pct(diag, all) + " of " + detail::format_number(all, 12) + " examples", 12,
       "start");
  os << "</svg>\n";
  return os.str();
}

}  // namespace sn::viz
