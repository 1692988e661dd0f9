// Training curves as a user sees them: a one-epoch run draws every series (as dots), epoch
// ticks are whole numbers, and the legend never lies over a curve, wherever the curves run.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>
#include <regex>

#include "viz/xml_check.h"

namespace {
namespace viz = sn::viz;
using viz_test::count_of;
using viz_test::xml_problem;

// The text of every <text> element.
std::vector<std::string> texts(const std::string& svg) {
  std::vector<std::string> out;
  std::regex re("<text[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

struct Rect {
  double x, y, w, h;
};
// The legend boxes (the <rect> right after <g class="legend">).
std::vector<Rect> legends(const std::string& svg) {
  std::vector<Rect> out;
  std::regex re(
      "<g class=\"legend\"><rect x=\"([0-9.]+)\" y=\"([0-9.]+)\" width=\"([0-9.]+)\" "
      "height=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back(
        {std::stod((*it)[1]), std::stod((*it)[2]), std::stod((*it)[3]), std::stod((*it)[4])});
  return out;
}

// Every point of every series polyline, and points every pixel along its segments.
std::vector<std::pair<double, double>> curve_pixels(const std::string& svg) {
  std::vector<std::pair<double, double>> out;
  std::regex re("<polyline class=\"series\"[^>]*points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    std::vector<std::pair<double, double>> pts;
    std::stringstream ss((*it)[1]);
    std::string pair;
    while (ss >> pair) {
      const size_t c = pair.find(',');
      pts.push_back({std::stod(pair.substr(0, c)), std::stod(pair.substr(c + 1))});
    }
    for (size_t i = 0; i < pts.size(); ++i) {
      out.push_back(pts[i]);
      if (i + 1 < pts.size())
        for (int k = 1; k < 100; ++k)
          out.push_back({pts[i].first + (pts[i + 1].first - pts[i].first) * k / 100.0,
                         pts[i].second + (pts[i + 1].second - pts[i].second) * k / 100.0});
    }
  }
  return out;
}

int covered(const std::string& svg) {
  int n = 0;
  for (const Rect& r : legends(svg))
    for (auto [x, y] : curve_pixels(svg))
      n += x >= r.x && x <= r.x + r.w && y >= r.y && y <= r.y + r.h ? 1 : 0;
  return n;
}

TEST(TrainingCurves, OneEpochDrawsEveryPanelAndSeries) {
  viz::TrainingCurves c{.train_loss = {0.7},
                        .val_loss = {0.6},
                        .train_metric = {0.8},
                        .val_metric = {0.85},
                        .best_epoch = 1};
  const std::string svg = viz::training_curves_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  // one dot per series (a one-point polyline draws nothing)
  EXPECT_EQ(count_of(svg, "<circle"), 4) << svg;
  EXPECT_EQ(svg.find("best epoch"), std::string::npos);  // one epoch: no mark
  // the only x tick is epoch 1: no 0.9, 0.95, 1.05 ...
  std::vector<std::string> t = texts(svg);
  EXPECT_EQ(std::count(t.begin(), t.end(), "1"), 2) << svg;  // one per panel
  for (const auto& s : t) EXPECT_EQ(s.find("0.9"), std::string::npos) << s;
  for (const auto& s : t) EXPECT_EQ(s.find("1.0"), std::string::npos) << s;
}

TEST(TrainingCurves, EpochTicksAreWholeNumbers) {
  for (int epochs : {2, 3, 7, 13, 40}) {
    viz::TrainingCurves c;
    for (int e = 0; e < epochs; ++e) c.train_loss.push_back(1.0 / (e + 1));
    const std::string svg = viz::training_curves_svg(c);
    // x tick labels sit 14 px under the frame: every text that parses as a number and is not
    // a y tick (which end-anchor) must be a whole number
    std::regex re(
        "<text x=\"[0-9.]+\" y=\"[0-9.]+\" font-size=\"10\" text-anchor=\"middle\">([^<]*)<");
    int ticks = 0;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
         ++it, ++ticks) {
      const double v = std::stod((*it)[1]);
      EXPECT_EQ(v, std::round(v)) << epochs << " epochs: tick " << (*it)[1];
      EXPECT_GE(v, 1) << epochs;
      EXPECT_LE(v, epochs) << epochs;
    }
    EXPECT_GE(ticks, 2) << epochs << " epochs\n" << svg;
  }
}

TEST(TrainingCurves, TheLegendCoversNoCurve) {
  // curves through each corner in turn: rising, falling, and both at once
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {{0.1, 0.2, 0.4, 0.8, 1.6}, {0.2, 0.3, 0.5, 0.9, 1.7}},  // rising: top right taken
      {{1.6, 0.8, 0.4, 0.2, 0.1}, {1.7, 0.9, 0.5, 0.3, 0.2}},  // falling: top left taken
      {{1.0, 0.1, 1.0, 0.1, 1.0}, {0.1, 1.0, 0.1, 1.0, 0.1}},  // zig-zag: every corner taken
      {{1.0, 1.0, 1.0, 1.0, 1.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},  // flat along top and bottom
  };
  for (const auto& [tr, va] : cases) {
    viz::TrainingCurves c{.train_loss = tr, .val_loss = va};
    const std::string svg = viz::training_curves_svg(c);
    ASSERT_EQ(legends(svg).size(), 1u) << svg;
    EXPECT_EQ(covered(svg), 0) << svg;
    EXPECT_EQ(xml_problem(svg), "");
  }
  // a plain line plot too
  std::vector<viz::Series> s = {{.name = "a long series name", .y = {0, 1, 0, 1, 0, 1}},
                                {.name = "b", .y = {1, 0, 1, 0, 1, 0}}};
  const std::string svg = viz::line_plot_svg(s);
  EXPECT_EQ(covered(svg), 0) << svg;
}

}  // namespace
