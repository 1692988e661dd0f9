// SVG figures: well-formed XML, the expected number of drawn series/points/contours, the
// early-stopping marker, decision-region colours matching the classifier, and input errors.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

#include "viz/xml_check.h"

namespace {
namespace viz = sn::viz;
using viz_test::count_of;
using viz_test::xml_problem;

// number of "x,y" pairs in the points attribute of the n-th polyline with this class
int points_in(const std::string& svg, const std::string& cls, int nth = 0) {
  size_t at = 0;
  for (int i = 0; i <= nth; ++i) {
    at = svg.find("<polyline class=\"" + cls + "\"", at + (i ? 1 : 0));
    if (at == std::string::npos) return -1;
  }
  const size_t p = svg.find("points=\"", at) + 8;
  const std::string pts = svg.substr(p, svg.find('"', p) - p);
  return count_of(pts, ",");
}
}  // namespace

TEST(Plot, LinePlot) {
  std::vector<viz::Series> s = {{.name = "loss <train>", .y = {3, 2, 1.5, 1.2}},
                                {.name = "val", .y = {3.2, 2.4, 2.0, 2.1}, .dashed = true}};
  const std::string svg = viz::line_plot_svg(s, {.title = "a & b", .y_label = "loss"});
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count_of(svg, "<polyline class=\"series\""), 2);
  EXPECT_EQ(points_in(svg, "series", 0), 4);
  EXPECT_EQ(points_in(svg, "series", 1), 4);
  EXPECT_NE(svg.find("loss &lt;train&gt;"), std::string::npos);  // escaped
  EXPECT_NE(svg.find("a &amp; b"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
}

TEST(Plot, GapsAndLogAxis) {
  std::vector<viz::Series> s = {{.name = "x", .y = {1, 10, NAN, 100, 1000, -1, 5}}};
  const std::string lin = viz::line_plot_svg(s);
  EXPECT_EQ(xml_problem(lin), "");
  EXPECT_EQ(count_of(lin, "<polyline class=\"series\""), 2);  // broken at the NaN
  const std::string log = viz::line_plot_svg(s, {.log_y = true});
  EXPECT_EQ(xml_problem(log), "");
  EXPECT_EQ(count_of(log, "<polyline class=\"series\""), 3);  // and at the negative value
  EXPECT_NE(log.find(">1000<"), std::string::npos);           // decade ticks
  EXPECT_THROW(viz::line_plot_svg({{.y = {1, 2}, .x = {1}}}), sn::ShapeError);
  EXPECT_THROW(viz::line_plot_svg(s, {.width = 10}), sn::ValueError);
  EXPECT_EQ(xml_problem(viz::line_plot_svg({})), "");  // empty plot is still a valid figure
}

TEST(Plot, TrainingCurvesMarkEarlyStopping) {
  viz::TrainingCurves c;
  for (int e = 0; e < 12; ++e) {
    c.train_loss.push_back(1.0 / (e + 1));
    c.val_loss.push_back(1.0 / (e + 1) + 0.01 * std::max(0, e - 6) * std::max(0, e - 6));
    c.train_metric.push_back(0.5 + 0.04 * e);
    c.val_metric.push_back(0.5 + 0.03 * std::min(e, 7));
  }
  c.best_epoch = 7;
  c.title = "fit";
  const std::string svg = viz::training_curves_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count_of(svg, "<polyline class=\"series\""), 4);
  // the best epoch is marked; "early stop" only when early stopping ended the run
  EXPECT_EQ(count_of(svg, "best epoch 7"), 2);  // in both panels
  EXPECT_EQ(count_of(svg, "early stop"), 0);
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 2);
  c.stopped_epoch = 12;
  EXPECT_EQ(count_of(viz::training_curves_svg(c), "early stop: best epoch 7"), 2);
  c.stopped_epoch = 13;
  EXPECT_THROW(viz::training_curves_svg(c), sn::ValueError);
  c.stopped_epoch = 0;
  EXPECT_NE(svg.find(">accuracy<"), std::string::npos);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(points_in(svg, "series", i), 12);

  viz::TrainingCurves loss_only{.train_loss = {1, 0.5}, .val_loss = {}};
  const std::string one = viz::training_curves_svg(loss_only);
  EXPECT_EQ(xml_problem(one), "");
  EXPECT_EQ(count_of(one, "<polyline class=\"series\""), 1);
  c.best_epoch = 13;
  EXPECT_THROW(viz::training_curves_svg(c), sn::ValueError);
  EXPECT_THROW(viz::training_curves_svg(viz::TrainingCurves{}), sn::ValueError);
}

TEST(Plot, DecisionRegionsFollowTheClassifier) {
  auto x = sn::tensor({{-1.0, 0.0}, {-0.5, 0.5}, {0.5, -0.5}, {1.0, 0.0}});
  auto y = sn::tensor({0, 0, 1, 1});
  int calls = 0;
  viz::Classifier2D right_half = [&calls](const sn::Tensor& p) {
    ++calls;
    EXPECT_EQ(p.dim(), 2);
    EXPECT_EQ(p.size(1), 2);
    return sn::gt(p.select(1, 0), 0.0).to(sn::kInt64);
  };
  viz::DecisionRegionOptions o{.x_min = -2,
                               .x_max = 2,
                               .y_min = -2,
                               .y_max = 2,
                               .resolution = 50,
                               .width = 100,
                               .height = 80};
  viz::Image img = viz::decision_regions_image(right_half, x, y, o);
  EXPECT_EQ(calls, 1);  // the whole grid in one call
  EXPECT_EQ(img.width(), 100);
  EXPECT_EQ(img.height(), 80);
  EXPECT_EQ(img.pixel(2, 2), viz::lighten(viz::palette(0), 0.62));
  EXPECT_EQ(img.pixel(97, 77), viz::lighten(viz::palette(1), 0.62));
  // the point (1, 0) is drawn at pixel (75, 40) in its class colour
  EXPECT_EQ(img.pixel(75, 40), viz::palette(1));
  EXPECT_EQ(img.pixel(25, 40), viz::palette(0));

  const std::string svg = viz::decision_regions_svg(
      right_half, x, y, {.resolution = 40, .title = "x1 > 0", .class_names = {"left", "right"}});
  EXPECT_EQ(xml_problem(svg), "") << svg.substr(0, 500);
  EXPECT_EQ(count_of(svg, "class=\"point\""), 4);
  EXPECT_NE(svg.find("href=\"data:image/png;base64,iVBORw0KGgo"), std::string::npos);
  EXPECT_NE(svg.find(">right<"), std::string::npos);

  viz::Classifier2D wrong = [](const sn::Tensor&) { return sn::zeros({3}); };
  EXPECT_THROW(viz::decision_regions_image(wrong, x, y, o), sn::ShapeError);
  EXPECT_THROW(viz::decision_regions_image(right_half, x, sn::tensor({0, 1}), o), sn::ShapeError);
  EXPECT_THROW(viz::decision_regions_image(right_half, sn::tensor({1.0, 2.0}), y, o),
               sn::ShapeError);
  EXPECT_THROW(viz::decision_regions_image(right_half, x, y, {.x_min = 1, .x_max = 0, .y_max = 1}),
               sn::ValueError);
}

TEST(Plot, ContoursAndPaths) {
  auto bowl = [](double x, double y) { return x * x + 4 * y * y; };
  viz::Trajectory gd{.name = "gradient descent"};
  double px = -1.8, py = 1.5;
  for (int i = 0; i < 25; ++i) {
    gd.x.push_back(px);
    gd.y.push_back(py);
    px -= 0.1 * 2 * px;
    py -= 0.1 * 8 * py;
  }
  viz::Trajectory broken{.name = "diverged", .x = {0.5, 1.0, INFINITY}, .y = {0.5, 1.0, 0.0}};
  const std::string svg = viz::contour_plot_svg(bowl, {gd, broken},
                                                {.x_min = -2,
                                                 .x_max = 2,
                                                 .y_min = -2,
                                                 .y_max = 2,
                                                 .grid = 60,
                                                 .levels = 10,
                                                 .title = "bowl"});
  EXPECT_EQ(xml_problem(svg), "") << svg.substr(0, 300);
  const int contours = count_of(svg, "class=\"contour\"");
  EXPECT_GE(contours, 8);
  EXPECT_LE(contours, 10);
  EXPECT_EQ(count_of(svg, "<polyline class=\"path\""), 2);
  EXPECT_EQ(points_in(svg, "path", 0), 25);
  EXPECT_EQ(points_in(svg, "path", 1), 2);  // stops at the first non-finite point
  EXPECT_NE(svg.find(">gradient descent<"), std::string::npos);
  // linear levels: the same count of contour paths, evenly spaced values
  const std::string lin =
      viz::contour_plot_svg(bowl, {}, {.grid = 40, .levels = 5, .log_levels = false});
  EXPECT_EQ(xml_problem(lin), "");
  EXPECT_EQ(count_of(lin, "class=\"contour\""), 5);

  EXPECT_THROW(viz::contour_plot_svg(bowl, {{.x = {1, 2}, .y = {1}}}), sn::ShapeError);
  EXPECT_THROW(viz::contour_plot_svg(bowl, {}, {.x_min = 1, .x_max = 1}), sn::ValueError);
  EXPECT_THROW(viz::contour_plot_svg([](double, double) { return NAN; }, {}), sn::ValueError);
}
