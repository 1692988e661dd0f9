// Figures as SVG files: line plots, training curves (train vs validation loss and a metric per
// epoch, the early-stopping point marked), decision regions of a 2-D classifier, and
// optimisation paths over the contours of a 2-D function. Plain vectors in, SVG text out.
// No interactive output and no general plotting grammar.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/viz/image.h"

namespace sn::viz {

struct Series {
  std::string name{};
  std::vector<double> y{};
  std::vector<double> x{};  // empty: 1, 2, ..., y.size() (epochs)
  std::string color{};      // "#rrggbb"; empty picks from the palette
  bool dashed = false;
  bool markers = false;
};

struct VerticalMarker {
  double x = 0.0;
  std::string label{};
};

struct PlotOptions {
  std::string title{};
  std::string x_label = "epoch";
  std::string y_label{};
  int width = 720;
  int height = 420;
  bool log_y = false;      // non-positive values are left out on a log axis
  bool integer_x = false;  // x ticks at whole numbers only (epochs)
  std::vector<VerticalMarker> markers{};
};
// The legend goes in a corner of the plot that no curve, point or marker label crosses; when
// every corner is taken, the y axis grows upwards to leave it room. A point with no drawn
// neighbour (one epoch, or between gaps) is drawn as a dot, so no series is invisible.

std::string line_plot_svg(const std::vector<Series>& series, const PlotOptions& options = {});

struct TrainingCurves {
  std::vector<double> train_loss{}, val_loss{};
  std::string metric_name = "accuracy";
  std::vector<double> train_metric{}, val_metric{};  // empty: no metric panel
  int64_t best_epoch = 0;     // 1-based best epoch, marked "best epoch N"; 0 = none
  int64_t stopped_epoch = 0;  // 1-based epoch after which early stopping ended the run; 0 = it
                              // did not (the marker then says "early stop")
  std::string title{};
  bool log_loss = false;
};
// Loss panel (and metric panel when given) side by side; x ticks at whole epochs.
std::string training_curves_svg(const TrainingCurves& curves, int width = 980, int height = 400);

// Classifies points: float64 [M, 2] -> class indices [M] (any numeric dtype).
using Classifier2D = std::function<Tensor(const Tensor& points)>;

struct DecisionRegionOptions {
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;  // all 0: the data's range plus a margin
  int resolution = 160;                               // classified grid points per side
  int width = 480, height = 480;  // of the SVG, or of the PNG from decision_regions_image
  std::string title{};
  std::string x_label = "x1", y_label = "x2";
  std::vector<std::string> class_names{};  // legend; empty: "class 0", ...
};

// The plane coloured by predicted class, with the points x [N, 2] coloured by label y [N].
Image decision_regions_image(const Classifier2D& predict, const Tensor& x, const Tensor& y,
                             const DecisionRegionOptions& options = {});
// The same with axes, title and legend (the region raster is embedded as a PNG).
std::string decision_regions_svg(const Classifier2D& predict, const Tensor& x, const Tensor& y,
                                 const DecisionRegionOptions& options = {});

struct ScatterOptions {
  std::string title{};
  std::string x_label = "x1", y_label = "x2";
  std::vector<std::string> class_names{};  // legend; empty: "class 0", ...
  int width = 640, height = 500;           // the legend sits right of the plot, inside these
  double radius = 2.5;                     // of each point, in pixels
  double opacity = 0.75;
};
// Points x [N, 2] coloured by their integer label y [N] (palette(label)), drawn in a shuffled
// but fixed order so no class hides the others, with a legend of the labels present. Finite
// points only (ValueError naming the value otherwise).
std::string scatter_svg(const Tensor& x, const Tensor& y, const ScatterOptions& options = {});

using Function2D = std::function<double(double x, double y)>;

struct Trajectory {
  std::string name{};
  std::vector<double> x{}, y{};  // the visited points, in order
  std::string color{};
};

struct ContourOptions {
  double x_min = -2, x_max = 2, y_min = -1, y_max = 3;
  int grid = 120;  // function evaluations per side
  int levels = 14;
  bool log_levels = true;  // levels spaced geometrically above the minimum (valleys)
  std::string title{};
  int width = 600, height = 500;
};

// Contour lines of f (marching squares) over a shaded background, with each path drawn on top.
std::string contour_plot_svg(const Function2D& f, const std::vector<Trajectory>& paths,
                             const ContourOptions& options = {});

}  // namespace sn::viz
