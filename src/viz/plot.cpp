// SVG figures (see sinapsis/viz/plot.h): axes with 1-2-5 ticks, line panels, training curves,
// decision regions (a PNG raster of the classified plane embedded in the SVG) and contour plots
// (marching squares) with optimisation paths. Text is plain SVG, so no font files are needed.
#include "sinapsis/viz/plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "sinapsis/ops/ops.h"
#include "viz/internal.h"

namespace sn::viz {

namespace {

using detail::format_number;
using detail::xml_escape;

std::string fmt(double v) {  // coordinates: two decimals are plenty
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string svg_open(int w, int h) {
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
     << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"Helvetica, Arial, sans-serif\">\n"
     << "<rect x=\"0\" y=\"0\" width=\"" << w << "\" height=\"" << h << "\" fill=\"#ffffff\"/>\n";
  return os.str();
}

void text(std::ostringstream& os, double x, double y, const std::string& s, int size,
          const char* anchor = "middle", const std::string& extra = "") {
  os << "<text x=\"" << fmt(x) << "\" y=\"" << fmt(y) << "\" font-size=\"" << size
     << "\" text-anchor=\"" << anchor << "\"" << extra << ">" << xml_escape(s) << "</text>\n";
}

// Tick positions at 1-2-5 steps covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

// Whole-number ticks (epochs): steps of 1, 2, 5, 10, ... covering [lo, hi].
std::vector<double> integer_ticks(double lo, double hi, int target) {
  const double raw = std::max(1.0, (hi - lo) / std::max(1, target));
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double map(double v, double a, double b) const {  // data -> pixel between a and b
    double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                   : (v - lo) / (hi - lo);
    return a + t * (b - a);
  }
};

// Sets lo/hi from data (with a margin), handling empty, constant and log cases.
Axis make_axis(std::vector<double> v, bool log, bool pad) {
  Axis ax;
  ax.log = log;
  std::erase_if(v, [log](double x) { return !std::isfinite(x) || (log && x <= 0); });
  if (v.empty()) {
    ax.lo = log ? 1 : 0;
    ax.hi = log ? 10 : 1;
    return ax;
  }
  auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  double lo = *mn, hi = *mx;
  if (log) {
    lo = std::pow(10.0, std::floor(std::log10(lo)));
    hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
  } else {
    if (hi == lo) {
      lo -= lo == 0 ? 1 : std::abs(lo) * 0.1;
      hi += hi == 0 ? 1 : std::abs(hi) * 0.1;
    } else if (pad) {
      const double m = (hi - lo) * 0.05;
      lo -= m;
      hi += m;
    }
  }
  ax.lo = lo;
  ax.hi = hi;
  return ax;
}

std::vector<double> log_ticks(const Axis& ax) {
  std::vector<double> t;
  for (double p = ax.lo; p <= ax.hi * 1.0000001; p *= 10) t.push_back(p);
  if (t.size() <= 2) {  // one decade: add 2 and 5
    std::vector<double> more;
    for (double p : t)
      for (double m : {1.0, 2.0, 5.0})
        if (p * m <= ax.hi * 1.0000001) more.push_back(p * m);
    return more;
  }
  return t;
}

struct Frame {
  double x0, y0, x1, y1;  // plot area in pixels (y0 top)
  Axis ax, ay;
  bool integer_x = false;
  double px(double v) const { return ax.map(v, x0, x1); }
  double py(double v) const { return ay.map(v, y1, y0); }
};

void draw_axes(std::ostringstream& os, const Frame& f, const std::string& x_label,
               const std::string& y_label, const std::string& title) {
  os << "<rect x=\"" << fmt(f.x0) << "\" y=\"" << fmt(f.y0) << "\" width=\"" << fmt(f.x1 - f.x0)
     << "\" height=\"" << fmt(f.y1 - f.y0) << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  const std::vector<double> xt = f.ax.log      ? log_ticks(f.ax)
                                 : f.integer_x ? integer_ticks(f.ax.lo, f.ax.hi, 6)
                                               : nice_ticks(f.ax.lo, f.ax.hi, 6);
  const std::vector<double> yt = f.ay.log ? log_ticks(f.ay) : nice_ticks(f.ay.lo, f.ay.hi, 5);
  for (double t : xt) {
    if (t < f.ax.lo || t > f.ax.hi) continue;
    const double x = f.px(t);
    os << "<line x1=\"" << fmt(x) << "\" y1=\"" << fmt(f.y0) << "\" x2=\"" << fmt(x) << "\" y2=\""
       << fmt(f.y1) << "\" stroke=\"#e6e6e6\"/>\n";
    text(os, x, f.y1 + 14, format_number(t, 4), 10);
  }
  for (double t : yt) {
    if (t < f.ay.lo || t > f.ay.hi) continue;
    const double y = f.py(t);
    os << "<line x1=\"" << fmt(f.x0) << "\" y1=\"" << fmt(y) << "\" x2=\"" << fmt(f.x1)
       << "\" y2=\"" << fmt(y) << "\" stroke=\"#e6e6e6\"/>\n";
    text(os, f.x0 - 5, y + 3.5, format_number(t, 4), 10, "end");
  }
  if (!x_label.empty()) text(os, (f.x0 + f.x1) / 2, f.y1 + 32, x_label, 12);
  if (!y_label.empty()) {
    const double x = f.x0 - 48, y = (f.y0 + f.y1) / 2;
    text(os, x, y, y_label, 12, "middle",
         " transform=\"rotate(-90 " + fmt(x) + " " + fmt(y) + ")\"");
  }
  if (!title.empty())
    text(os, (f.x0 + f.x1) / 2, f.y0 - 10, title, 14, "middle", " font-weight=\"bold\"");
}

struct LegendItem {
  std::string name, color;
  bool dashed = false, dot = false;
};

struct Box {
  double x0, y0, x1, y1;
  bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

// Width and height of the legend box for `items`.
std::pair<double, double> legend_size(const std::vector<LegendItem>& items) {
  size_t longest = 0;
  for (const auto& it : items) longest = std::max(longest, it.name.size());
  return {34 + 6.2 * static_cast<double>(longest), 8 + 16.0 * static_cast<double>(items.size())};
}

void draw_legend(std::ostringstream& os, double x, double y, const std::vector<LegendItem>& items) {
  if (items.empty()) return;
  const auto [w, h] = legend_size(items);
  os << "<g class=\"legend\"><rect x=\"" << fmt(x) << "\" y=\"" << fmt(y) << "\" width=\"" << fmt(w)
     << "\" height=\"" << fmt(h)
     << "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n";
  for (size_t i = 0; i < items.size(); ++i) {
    const double cy = y + 12 + 16.0 * i;
    if (items[i].dot)
      os << "<circle cx=\"" << fmt(x + 14) << "\" cy=\"" << fmt(cy) << "\" r=\"4\" fill=\""
         << items[i].color << "\" stroke=\"#222222\" stroke-width=\"0.6\"/>\n";
    else
      os << "<line x1=\"" << fmt(x + 6) << "\" y1=\"" << fmt(cy) << "\" x2=\"" << fmt(x + 24)
         << "\" y2=\"" << fmt(cy) << "\" stroke=\"" << items[i].color << "\" stroke-width=\"2\""
         << (items[i].dashed ? " stroke-dasharray=\"5,3\"" : "") << "/>\n";
    text(os, x + 30, cy + 4, items[i].name, 11, "start");
  }
  os << "</g>\n";
}

// The legend in the top-right corner of the frame (figures whose corner is known to be free).
void draw_legend(std::ostringstream& os, const Frame& f, const std::vector<LegendItem>& items) {
  if (items.empty()) return;
  draw_legend(os, f.x1 - legend_size(items).first - 8, f.y0 + 8, items);
}

std::vector<double> xs_of(const Series& s) {
  if (!s.x.empty()) return s.x;
  std::vector<double> x(s.y.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i + 1);
  return x;
}

// The drawable runs of one series in pixels: split where a value is not finite (or <= 0 on a
// log axis), so a gap breaks the line instead of drawing garbage.
std::vector<std::vector<std::pair<double, double>>> runs_of(const Series& s, const Frame& f,
                                                            bool log_y) {
  const std::vector<double> x = xs_of(s);
  std::vector<std::vector<std::pair<double, double>>> runs(1);
  for (size_t k = 0; k < s.y.size(); ++k) {
    const bool ok = std::isfinite(s.y[k]) && std::isfinite(x[k]) && (!log_y || s.y[k] > 0);
    if (!ok) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    runs.back().push_back({f.px(x[k]), std::clamp(f.py(s.y[k]), f.y0 - 2, f.y1 + 2)});
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

// True when a drawn line or point comes within 3 pixels of `b` (segments sampled every 2 px).
bool crosses(const std::vector<std::vector<std::pair<double, double>>>& runs, const Box& b) {
  const Box g{b.x0 - 3, b.y0 - 3, b.x1 + 3, b.y1 + 3};
  for (const auto& r : runs) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (g.contains(r[i].first, r[i].second)) return true;
      if (i + 1 == r.size()) break;
      const double dx = r[i + 1].first - r[i].first, dy = r[i + 1].second - r[i].second;
      const int n = static_cast<int>(std::ceil(std::hypot(dx, dy) / 2));
      for (int k = 1; k < n; ++k)
        if (g.contains(r[i].first + dx * k / n, r[i].second + dy * k / n)) return true;
    }
  }
  return false;
}

// One panel of line series inside [x0, x1] x [y0, y1] of the page.
void line_panel(std::ostringstream& os, double x0, double y0, double x1, double y1,
                const std::vector<Series>& series, const PlotOptions& o) {
  std::vector<double> all_x, all_y;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    SN_CHECK(s.x.empty() || s.x.size() == s.y.size(), ShapeError, "viz::line_plot: series '",
             s.name, "' has ", s.x.size(), " x values but ", s.y.size(), " y values");
    std::vector<double> x = xs_of(s);
    all_x.insert(all_x.end(), x.begin(), x.end());
    all_y.insert(all_y.end(), s.y.begin(), s.y.end());
  }
  for (const auto& m : o.markers) all_x.push_back(m.x);
  Axis ax = make_axis(all_x, false, false);
  if (o.integer_x && ax.hi - ax.lo < 1) {  // one epoch: centred, with room either side
    const double c = std::round((ax.lo + ax.hi) / 2);
    ax.lo = c - 0.5;
    ax.hi = c + 0.5;
  }
  Frame f{x0 + 64, y0 + 34, x1 - 14, y1 - 44, ax, make_axis(all_y, o.log_y, true), o.integer_x};

  std::vector<std::string> colors;
  std::vector<LegendItem> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    colors.push_back(s.color.empty() ? to_hex(palette(static_cast<int64_t>(i))) : s.color);
    if (!s.name.empty()) legend.push_back({s.name, colors.back(), s.dashed, false});
  }
  auto all_runs = [&] {
    std::vector<std::vector<std::pair<double, double>>> all;
    for (const Series& s : series)
      for (auto& r : runs_of(s, f, o.log_y)) all.push_back(std::move(r));
    return all;
  };
  // Marker labels go beside their line on the side with room (never into a neighbouring
  // panel), at the foot of the frame, or at its top when a curve runs through the foot.
  auto label_box = [&](const VerticalMarker& m, bool top) {
    const double x = f.px(m.x), w = 5.6 * static_cast<double>(m.label.size()) + 4;
    const double y0 = top ? f.y0 + 2 : f.y1 - 20, y1 = y0 + 18;
    return x > (f.x0 + f.x1) / 2 ? Box{x - 4 - w, y0, x, y1} : Box{x, y0, x + 4 + w, y1};
  };
  std::vector<bool> label_on_top;
  for (const auto& m : o.markers)
    label_on_top.push_back(!m.label.empty() && crosses(all_runs(), label_box(m, false)) &&
                           !crosses(all_runs(), label_box(m, true)));
  // The legend's corner: the first of top-right, top-left, bottom-right, bottom-left that no
  // curve and no marker label touches; if none is free, the y axis grows upwards until the top
  // corners are free of curves.
  double lx = 0, ly = 0;
  if (!legend.empty()) {
    const auto [lw, lh] = legend_size(legend);
    const double w = lw, h = lh;  // clang 14 cannot capture a structured binding
    auto free_at = [&](double x, double y) {
      const Box b{x, y, x + w, y + h};
      for (size_t i = 0; i < o.markers.size(); ++i)
        if (!o.markers[i].label.empty()) {
          const Box l = label_box(o.markers[i], label_on_top[i]);
          if (l.x0 < b.x1 && b.x0 < l.x1 && l.y0 < b.y1 && b.y0 < l.y1) return false;
        }
      return !crosses(all_runs(), b);
    };
    const double left = f.x0 + 8, right = f.x1 - w - 8, top = f.y0 + 8, bottom = f.y1 - h - 8;
    bool placed = false;
    for (auto [x, y] : {std::pair{right, top}, {left, top}, {right, bottom}, {left, bottom}})
      if (free_at(x, y)) {
        lx = x, ly = y, placed = true;
        break;
      }
    if (!placed) {
      // the data's top must map below the legend: (top - lo) / (hi' - lo) = 1 - room / height
      const double frac = 1 - (h + 20) / (f.y1 - f.y0);
      if (frac > 0.2) {
        if (f.ay.log) {
          const double l = std::log10(f.ay.lo), t = std::log10(f.ay.hi);
          f.ay.hi = std::pow(10.0, std::ceil(l + (t - l) / frac));
        } else {
          f.ay.hi = f.ay.lo + (f.ay.hi - f.ay.lo) / frac;
        }
      }
      // the strip above the curves is free now; of its two corners, the one no label takes
      lx = right, ly = top;
      if (!free_at(right, top) && free_at(left, top)) lx = left;
    }
  }

  draw_axes(os, f, o.x_label, o.y_label, o.title);
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    for (const auto& r : runs_of(s, f, o.log_y)) {
      std::string pts;
      for (const auto& [px, py] : r)
        pts += detail::join(pts.empty() ? "" : " ", fmt(px), ",", fmt(py));
      os << "<polyline class=\"series\" fill=\"none\" stroke=\"" << colors[i]
         << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << " points=\""
         << pts << "\"/>\n";
      // a lone point draws no line: a dot shows it (markers draw every point anyway)
      for (const auto& [px, py] : r)
        if (s.markers || r.size() == 1)
          os << "<circle cx=\"" << fmt(px) << "\" cy=\"" << fmt(py) << "\" r=\""
             << (s.markers ? "2.5" : "3.5") << "\" fill=\"" << colors[i] << "\"/>\n";
    }
  }
  for (size_t i = 0; i < o.markers.size(); ++i) {
    const VerticalMarker& m = o.markers[i];
    const double x = f.px(m.x);
    os << "<line class=\"marker\" x1=\"" << fmt(x) << "\" y1=\"" << fmt(f.y0) << "\" x2=\""
       << fmt(x) << "\" y2=\"" << fmt(f.y1) << "\" stroke=\"#555555\" stroke-dasharray=\"3,3\"/>\n";
    const bool right_half = x > (f.x0 + f.x1) / 2;
    // a white halo keeps the label legible should a curve still pass under it
    if (!m.label.empty())
      text(os, right_half ? x - 4 : x + 4, label_on_top[i] ? f.y0 + 14 : f.y1 - 8, m.label, 10,
           right_half ? "end" : "start",
           " fill=\"#333333\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"");
  }
  draw_legend(os, lx, ly, legend);
}

}  // namespace

std::string line_plot_svg(const std::vector<Series>& series, const PlotOptions& o) {
  SN_CHECK(o.width >= 120 && o.height >= 100, ValueError,
           "viz::line_plot_svg: the figure is too "
           "small (",
           o.width, " x ", o.height, ")");
  std::ostringstream os;
  os << svg_open(o.width, o.height);
  line_panel(os, 0, 0, o.width, o.height, series, o);
  os << "</svg>\n";
  return os.str();
}

std::string training_curves_svg(const TrainingCurves& c, int width, int height) {
  SN_CHECK(width >= 240 && height >= 100, ValueError,
           "viz::training_curves_svg: the figure is "
           "too small (",
           width, " x ", height, ")");
  SN_CHECK(!c.train_loss.empty() || !c.val_loss.empty(), ValueError,
           "viz::training_curves_svg: no loss values to plot");
  const int64_t epochs = static_cast<int64_t>(std::max(c.train_loss.size(), c.val_loss.size()));
  SN_CHECK(c.best_epoch >= 0 && c.best_epoch <= epochs, ValueError,
           "viz::training_curves_svg: best_epoch ", c.best_epoch, " is outside 1..", epochs);
  const bool metric = !c.train_metric.empty() || !c.val_metric.empty();
  std::vector<VerticalMarker> markers;
  SN_CHECK(c.stopped_epoch >= 0 && c.stopped_epoch <= epochs, ValueError,
           "viz::training_curves_svg: stopped_epoch ", c.stopped_epoch, " is outside 1..", epochs);
  if (c.best_epoch > 0 && epochs > 1)  // of a single epoch, the mark would say nothing
    markers.push_back({static_cast<double>(c.best_epoch),
                       (c.stopped_epoch > 0 ? "early stop: best epoch " : "best epoch ") +
                           std::to_string(c.best_epoch)});
  const std::string blue = to_hex(palette(0)), orange = to_hex(palette(1));
  auto curves = [&](const std::vector<double>& tr, const std::vector<double>& va) {
    std::vector<Series> s;
    if (!tr.empty()) s.push_back({.name = "train", .y = tr, .color = blue});
    if (!va.empty()) s.push_back({.name = "validation", .y = va, .color = orange, .dashed = true});
    return s;
  };
  std::ostringstream os;
  os << svg_open(width, height);
  double top = 0;
  if (!c.title.empty()) {
    text(os, width / 2.0, 20, c.title, 15, "middle", " font-weight=\"bold\"");
    top = 16;
  }
  const double split = metric ? width / 2.0 : width;
  line_panel(os, 0, top, split, height, curves(c.train_loss, c.val_loss),
             {.title = "loss",
              .y_label = "loss",
              .log_y = c.log_loss,
              .integer_x = true,
              .markers = markers});
  if (metric)
    line_panel(
        os, split, top, width, height, curves(c.train_metric, c.val_metric),
        {.title = c.metric_name, .y_label = c.metric_name, .integer_x = true, .markers = markers});
  // the chosen epoch on the validation curve(s)
  os << "</svg>\n";
  return os.str();
}

// ================================================================ decision regions
namespace {

struct Region {
  double x_min, x_max, y_min, y_max;
};

Region region_of(const Tensor& pts, const DecisionRegionOptions& o) {
  if (o.x_min != 0 || o.x_max != 0 || o.y_min != 0 || o.y_max != 0) {
    SN_CHECK(o.x_max > o.x_min && o.y_max > o.y_min, ValueError,
             "viz::decision_regions: empty range (x ", o.x_min, "..", o.x_max, ", y ", o.y_min,
             "..", o.y_max, ")");
    return {o.x_min, o.x_max, o.y_min, o.y_max};
  }
  std::vector<double> v = pts.to_vector();
  double r[4] = {std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                 std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()};
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    r[0] = std::min(r[0], v[i]);
    r[1] = std::max(r[1], v[i]);
    r[2] = std::min(r[2], v[i + 1]);
    r[3] = std::max(r[3], v[i + 1]);
  }
  for (int a = 0; a < 4; a += 2) {
    const double span = r[a + 1] - r[a];
    const double m = span > 0 ? span * 0.15 : 1.0;
    r[a] -= m;
    r[a + 1] += m;
  }
  return {r[0], r[1], r[2], r[3]};
}

void check_points(const Tensor& x, const Tensor& y, const char* op) {
  SN_CHECK(x.defined() && y.defined(), ValueError, op, ": points or labels are undefined");
  SN_CHECK(x.dim() == 2 && x.size(1) == 2, ShapeError, op, ": points must be [N, 2] (got ",
           x.shape(), ")");
  SN_CHECK(y.numel() == x.size(0), ShapeError, op, ": ", x.size(0), " points but ", y.numel(),
           " labels (shape ", y.shape(), ")");
  for (double v : x.to_vector())
    SN_CHECK(std::isfinite(v), ValueError, op, ": the points contain a non-finite value (", v, ")");
}

// The plane classified on a res x res grid, painted into a w x h raster (no points).
Image region_raster(const Classifier2D& predict, const Region& r, int w, int h, int res,
                    std::vector<bool>& seen_classes) {
  SN_CHECK(predict, ValueError, "viz::decision_regions: no classifier given");
  SN_CHECK(res >= 2 && res <= 2048, ValueError,
           "viz::decision_regions: resolution must be "
           "2..2048 (got ",
           res, ")");
  std::vector<double> grid(static_cast<size_t>(res) * res * 2);
  for (int j = 0; j < res; ++j)
    for (int i = 0; i < res; ++i) {
      const size_t k = (static_cast<size_t>(j) * res + i) * 2;
      grid[k] = r.x_min + (i + 0.5) / res * (r.x_max - r.x_min);
      grid[k + 1] = r.y_max - (j + 0.5) / res * (r.y_max - r.y_min);  // row 0 at the top
    }
  Tensor pred = predict(tensor(grid, {static_cast<int64_t>(res) * res, 2}, {.dtype = kFloat64}));
  SN_CHECK(pred.defined() && pred.numel() == static_cast<int64_t>(res) * res, ShapeError,
           "viz::decision_regions: the classifier must return one class per point (",
           static_cast<int64_t>(res) * res, " points, got ",
           pred.defined() ? pred.shape() : Shape{}, ")");
  std::vector<double> cls = pred.to_vector();
  Image img(w, h);
  for (int py = 0; py < h; ++py)
    for (int px = 0; px < w; ++px) {
      const int i = std::min(res - 1, px * res / w), j = std::min(res - 1, py * res / h);
      const double c = cls[static_cast<size_t>(j) * res + i];
      if (!std::isfinite(c)) continue;
      const int64_t k = std::llround(c);
      if (k >= 0 && k < 4096) {
        if (seen_classes.size() <= static_cast<size_t>(k)) seen_classes.resize(k + 1);
        seen_classes[static_cast<size_t>(k)] = true;
      }
      img.set_pixel(px, py, lighten(palette(k), 0.62));
    }
  return img;
}

}  // namespace

Image decision_regions_image(const Classifier2D& predict, const Tensor& x, const Tensor& y,
                             const DecisionRegionOptions& o) {
  check_points(x, y, "viz::decision_regions_image");
  const Region r = region_of(x, o);
  std::vector<bool> seen;
  Image img = region_raster(predict, r, o.width, o.height, o.resolution, seen);
  std::vector<double> p = x.to_vector(), l = y.to_vector();
  for (size_t i = 0; i < l.size(); ++i) {
    const double px = (p[2 * i] - r.x_min) / (r.x_max - r.x_min) * o.width;
    const double py = (r.y_max - p[2 * i + 1]) / (r.y_max - r.y_min) * o.height;
    img.fill_circle(px, py, 5, palette(std::llround(l[i])));
    img.draw_circle(px, py, 5, {30, 30, 30}, 1.2);
  }
  return img;
}

std::string decision_regions_svg(const Classifier2D& predict, const Tensor& x, const Tensor& y,
                                 const DecisionRegionOptions& o) {
  check_points(x, y, "viz::decision_regions_svg");
  SN_CHECK(o.width >= 160 && o.height >= 160, ValueError,
           "viz::decision_regions_svg: the figure "
           "is too small (",
           o.width, " x ", o.height, ")");
  const Region r = region_of(x, o);
  Frame f{60,
          34,
          o.width - 14.0,
          o.height - 44.0,
          Axis{r.x_min, r.x_max, false},
          Axis{r.y_min, r.y_max, false}};
  const int pw = static_cast<int>(f.x1 - f.x0), ph = static_cast<int>(f.y1 - f.y0);
  std::vector<bool> seen;
  Image raster = region_raster(predict, r, pw, ph, o.resolution, seen);
  std::ostringstream os;
  os << svg_open(o.width, o.height);
  os << "<image x=\"" << fmt(f.x0) << "\" y=\"" << fmt(f.y0) << "\" width=\"" << pw
     << "\" height=\"" << ph << "\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,"
     << base64_encode(encode_png(raster)) << "\"/>\n";
  draw_axes(os, f, o.x_label, o.y_label, o.title);
  std::vector<double> p = x.to_vector(), l = y.to_vector();
  int64_t max_label = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    const int64_t k = std::llround(l[i]);
    max_label = std::max(max_label, k);
    os << "<circle class=\"point\" cx=\"" << fmt(f.px(p[2 * i])) << "\" cy=\""
       << fmt(f.py(p[2 * i + 1])) << "\" r=\"5\" fill=\"" << to_hex(palette(k))
       << "\" stroke=\"#1e1e1e\" stroke-width=\"1\"/>\n";
  }
  std::vector<LegendItem> legend;
  const int64_t classes = std::max<int64_t>(max_label + 1, static_cast<int64_t>(seen.size()));
  for (int64_t k = 0; k < classes && k < 10; ++k)
    legend.push_back({static_cast<size_t>(k) < o.class_names.size() ? o.class_names[k]
                                                                    : "class " + std::to_string(k),
                      to_hex(palette(k)), false, true});
  draw_legend(os, f, legend);
  os << "</svg>\n";
  return os.str();
}

// ================================================================ contours + paths
namespace {

// A perceptually ordered ramp (dark blue -> teal -> yellow) for the background.
Color ramp(double t) {
  static const Color stops[] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  const double u = t - i;
  auto mix = [u](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a + (b - a) * u));
  };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g),
          mix(stops[i].b, stops[i + 1].b)};
}

}  // namespace

std::string contour_plot_svg(const Function2D& fn, const std::vector<Trajectory>& paths,
                             const ContourOptions& o) {
  const char* op = "viz::contour_plot_svg";
  SN_CHECK(fn, ValueError, op, ": no function given");
  SN_CHECK(o.x_max > o.x_min && o.y_max > o.y_min, ValueError, op, ": empty range (x ", o.x_min,
           "..", o.x_max, ", y ", o.y_min, "..", o.y_max, ")");
  SN_CHECK(o.grid >= 8 && o.grid <= 1024 && o.levels >= 1 && o.levels <= 200, ValueError, op,
           ": grid must be 8..1024 and levels 1..200 (got ", o.grid, ", ", o.levels, ")");
  SN_CHECK(o.width >= 160 && o.height >= 160, ValueError, op, ": the figure is too small (",
           o.width, " x ", o.height, ")");
  for (const Trajectory& t : paths)
    SN_CHECK(t.x.size() == t.y.size(), ShapeError, op, ": path '", t.name, "' has ", t.x.size(),
             " x values but ", t.y.size(), " y values");
  const int n = o.grid;
  // f on an (n+1) x (n+1) lattice of corners, row 0 at y_min
  std::vector<double> v(static_cast<size_t>(n + 1) * (n + 1));
  double fmin = std::numeric_limits<double>::max(), fmax = std::numeric_limits<double>::lowest();
  for (int j = 0; j <= n; ++j)
    for (int i = 0; i <= n; ++i) {
      const double x = o.x_min + (o.x_max - o.x_min) * i / n,
                   y = o.y_min + (o.y_max - o.y_min) * j / n;
      const double z = fn(x, y);
      v[static_cast<size_t>(j) * (n + 1) + i] = z;
      if (std::isfinite(z)) {
        fmin = std::min(fmin, z);
        fmax = std::max(fmax, z);
      }
    }
  SN_CHECK(fmin <= fmax, ValueError, op, ": the function is not finite anywhere on the grid");
  const double range = fmax > fmin ? fmax - fmin : 1.0;
  std::vector<double> levels;
  for (int k = 0; k < o.levels; ++k) {
    const double t = o.levels == 1 ? 0.5 : static_cast<double>(k) / (o.levels - 1);
    levels.push_back(o.log_levels ? fmin + range * std::pow(10.0, -4.0 + 4.0 * t * 0.999)
                                  : fmin + range * (k + 1.0) / (o.levels + 1.0));
  }
  auto shade = [&](double z) {  // 0..1 on the same scale as the levels
    if (!std::isfinite(z)) return 1.0;
    const double u = (z - fmin) / range;
    return o.log_levels ? (std::log10(std::max(u, 1e-4)) + 4.0) / 4.0 : u;
  };

  Frame f{60,
          34,
          o.width - 14.0,
          o.height - 44.0,
          Axis{o.x_min, o.x_max, false},
          Axis{o.y_min, o.y_max, false}};
  const int pw = static_cast<int>(f.x1 - f.x0), ph = static_cast<int>(f.y1 - f.y0);
  Image bg(pw, ph);
  for (int py = 0; py < ph; ++py)
    for (int px = 0; px < pw; ++px) {
      const int i = std::min(n, static_cast<int>(std::lround(static_cast<double>(px) / pw * n)));
      const int j =
          std::min(n, static_cast<int>(std::lround((1.0 - static_cast<double>(py) / ph) * n)));
      bg.set_pixel(px, py, lighten(ramp(shade(v[static_cast<size_t>(j) * (n + 1) + i])), 0.55));
    }

  std::ostringstream os;
  os << svg_open(o.width, o.height);
  os << "<image x=\"" << fmt(f.x0) << "\" y=\"" << fmt(f.y0) << "\" width=\"" << pw
     << "\" height=\"" << ph << "\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,"
     << base64_encode(encode_png(bg)) << "\"/>\n";
  // marching squares: each cell's corners above/below a level give the segment(s) crossing it
  auto cx = [&](double i) { return f.x0 + (f.x1 - f.x0) * i / n; };
  auto cy = [&](double j) { return f.y1 - (f.y1 - f.y0) * j / n; };
  for (size_t li = 0; li < levels.size(); ++li) {
    const double lv = levels[li];
    std::string d;
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        const double a = v[static_cast<size_t>(j) * (n + 1) + i],
                     b = v[static_cast<size_t>(j) * (n + 1) + i + 1],
                     c = v[static_cast<size_t>(j + 1) * (n + 1) + i + 1],
                     e = v[static_cast<size_t>(j + 1) * (n + 1) + i];
        if (!std::isfinite(a) || !std::isfinite(b) || !std::isfinite(c) || !std::isfinite(e))
          continue;
        const int code = (a > lv) | ((b > lv) << 1) | ((c > lv) << 2) | ((e > lv) << 3);
        if (code == 0 || code == 15) continue;
        // crossing points on the four edges: bottom (a-b), right (b-c), top (e-c), left (a-e)
        auto lerp = [lv](double p, double q) { return (lv - p) / (q - p); };
        const double px[4] = {cx(i + lerp(a, b)), cx(i + 1), cx(i + lerp(e, c)), cx(i)};
        const double py[4] = {cy(j), cy(j + lerp(b, c)), cy(j + 1), cy(j + lerp(a, e))};
        auto seg = [&](int s, int t) {
          d += detail::join("M", fmt(px[s]), " ", fmt(py[s]), "L", fmt(px[t]), " ", fmt(py[t]));
        };
        const bool centre_high = (a + b + c + e) / 4 > lv;
        switch (code) {
          case 1:
          case 14:
            seg(3, 0);
            break;
          case 2:
          case 13:
            seg(0, 1);
            break;
          case 3:
          case 12:
            seg(3, 1);
            break;
          case 4:
          case 11:
            seg(1, 2);
            break;
          case 6:
          case 9:
            seg(0, 2);
            break;
          case 7:
          case 8:
            seg(3, 2);
            break;
          case 5:  // saddle: a and c high
            if (centre_high) {
              seg(3, 2);
              seg(0, 1);
            } else {
              seg(3, 0);
              seg(1, 2);
            }
            break;
          case 10:  // saddle: b and e high
            if (centre_high) {
              seg(3, 0);
              seg(1, 2);
            } else {
              seg(3, 2);
              seg(0, 1);
            }
            break;
        }
      }
    if (!d.empty())
      os << "<path class=\"contour\" data-level=\"" << format_number(lv, 4) << "\" d=\"" << d
         << "\" fill=\"none\" stroke=\"#3b3b6b\" stroke-opacity=\"0.55\" stroke-width=\"0.8\"/>\n";
  }
  draw_axes(os, f, "x", "y", o.title);
  std::vector<LegendItem> legend;
  os << "<g clip-path=\"none\">\n";
  for (size_t k = 0; k < paths.size(); ++k) {
    const Trajectory& t = paths[k];
    const std::string color =
        t.color.empty() ? to_hex(palette(static_cast<int64_t>(k) + 3)) : t.color;
    std::string pts;
    for (size_t i = 0; i < t.x.size(); ++i) {
      if (!std::isfinite(t.x[i]) || !std::isfinite(t.y[i])) break;  // a diverged path ends here
      const double px = std::clamp(f.px(t.x[i]), f.x0 - 20, f.x1 + 20);
      const double py = std::clamp(f.py(t.y[i]), f.y0 - 20, f.y1 + 20);
      pts += detail::join(pts.empty() ? "" : " ", fmt(px), ",", fmt(py));
    }
    if (!pts.empty()) {
      os << "<polyline class=\"path\" fill=\"none\" stroke=\"" << color
         << "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" << pts << "\"/>\n";
      const std::string first = pts.substr(0, pts.find(' '));
      const std::string last = pts.substr(pts.rfind(' ') + 1);
      auto circle = [&](const std::string& xy, bool filled) {
        const size_t comma = xy.find(',');
        os << "<circle cx=\"" << xy.substr(0, comma) << "\" cy=\"" << xy.substr(comma + 1)
           << "\" r=\"4\" fill=\"" << (filled ? color : "#ffffff") << "\" stroke=\"" << color
           << "\" stroke-width=\"1.5\"/>\n";
      };
      circle(first, false);
      circle(last, true);
    }
    legend.push_back(
        {t.name.empty() ? "path " + std::to_string(k + 1) : t.name, color, false, false});
  }
  os << "</g>\n";
  draw_legend(os, f, legend);
  os << "</svg>\n";
  return os.str();
}

// ================================================================ scatter by class
std::string scatter_svg(const Tensor& x, const Tensor& y, const ScatterOptions& o) {
  check_points(x, y, "viz::scatter_svg");
  SN_CHECK(o.width >= 200 && o.height >= 160 && o.radius > 0, ValueError,
           "viz::scatter_svg: the figure is too small (", o.width, " x ", o.height, ", radius ",
           o.radius, ")");
  const std::vector<double> p = x.to_vector(), l = y.to_vector();
  const size_t n = l.size();
  std::vector<int64_t> labels(n);
  std::vector<int64_t> present;
  for (size_t i = 0; i < n; ++i) {
    labels[i] = std::llround(l[i]);
    if (std::find(present.begin(), present.end(), labels[i]) == present.end())
      present.push_back(labels[i]);
  }
  std::sort(present.begin(), present.end());
  std::vector<LegendItem> legend;
  for (int64_t k : present)
    legend.push_back({k >= 0 && static_cast<size_t>(k) < o.class_names.size()
                          ? o.class_names[static_cast<size_t>(k)]
                          : "class " + std::to_string(k),
                      to_hex(palette(k)), false, true});
  const double legend_w = legend.empty() ? 0 : legend_size(legend).first + 16;
  std::vector<double> xs(n), ys(n);
  for (size_t i = 0; i < n; ++i) {
    xs[i] = p[2 * i];
    ys[i] = p[2 * i + 1];
  }
  Frame f{60,
          34,
          o.width - 14.0 - legend_w,
          o.height - 44.0,
          make_axis(xs, false, true),
          make_axis(ys, false, true)};
  SN_CHECK(f.x1 - f.x0 >= 60, ValueError, "viz::scatter_svg: ", o.width,
           " pixels are too narrow for the plot beside its legend of ", legend.size(), " classes");
  std::ostringstream os;
  os << svg_open(o.width, o.height);
  draw_axes(os, f, o.x_label, o.y_label, o.title);
  // a fixed pseudo-random order (a multiplicative stride through the points), so the class
  // drawn last does not cover the others
  size_t stride = 1;
  if (n > 2) {
    stride = static_cast<size_t>(0.6180339887 * static_cast<double>(n)) | 1;
    while (std::gcd(stride, n) != 1) stride += 2;
  }
  os << "<g fill-opacity=\"" << fmt(o.opacity) << "\">\n";
  for (size_t j = 0, i = 0; j < n; ++j, i = (i + stride) % n)
    os << "<circle class=\"point\" cx=\"" << fmt(f.px(xs[i])) << "\" cy=\"" << fmt(f.py(ys[i]))
       << "\" r=\"" << fmt(o.radius) << "\" fill=\"" << to_hex(palette(labels[i])) << "\"/>\n";
  os << "</g>\n";
  draw_legend(os, f.x1 + 10, f.y0, legend);
  os << "</svg>\n";
  return os.str();
}

}  // namespace sn::viz
