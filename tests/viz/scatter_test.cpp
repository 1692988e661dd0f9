// viz::scatter_svg: one circle per point coloured by its label, a legend of the labels present
// (named when names are given), well-formed SVG even for one point, and errors for bad input.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>
#include <algorithm>

#include "test_util.h"
#include "viz/xml_check.h"

namespace {
namespace viz = sn::viz;
using sn::Shape;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(Scatter, PointsColouredByLabelWithALegend) {
  const sn::Tensor x = sn::tensor(std::vector<double>{0, 0, 1, 2, 3, 1, -1, 4, 2, 2}, Shape{5, 2});
  const sn::Tensor y =
      sn::tensor(std::vector<int64_t>{0, 2, 2, 0, 2}, Shape{5}, {.dtype = sn::kInt64});
  const std::string svg =
      viz::scatter_svg(x, y, {.title = "codes", .class_names = {"zero", "one", "two"}});
  EXPECT_EQ(viz_test::xml_problem(svg), "");
  EXPECT_EQ(count(svg, "class=\"point\""), 5u);
  EXPECT_EQ(count(svg, viz::to_hex(viz::palette(2))), 3u + 1u);  // three points + its legend dot
  EXPECT_NE(svg.find(">zero<"), std::string::npos);
  EXPECT_NE(svg.find(">two<"), std::string::npos);
  EXPECT_EQ(svg.find(">one<"), std::string::npos);  // no point of class 1: not in the legend
  EXPECT_NE(svg.find(">codes<"), std::string::npos);
  // one point (a constant axis) still draws
  const std::string one = viz::scatter_svg(sn::zeros(Shape{1, 2}), sn::zeros(Shape{1}));
  EXPECT_EQ(viz_test::xml_problem(one), "");
  EXPECT_NE(one.find(">class 0<"), std::string::npos);
}

TEST(Scatter, Errors) {
  auto error_of = [](const sn::Tensor& x, const sn::Tensor& y) {
    return sn::test::error_of([&] { viz::scatter_svg(x, y); });
  };
  EXPECT_NE(error_of(sn::zeros(Shape{3, 3}), sn::zeros(Shape{3})).find("points must be [N, 2]"),
            std::string::npos);
  EXPECT_NE(error_of(sn::zeros(Shape{3, 2}), sn::zeros(Shape{2})).find("3 points but 2 labels"),
            std::string::npos);
  const sn::Tensor bad = sn::tensor(std::vector<double>{0, std::nan("")}, Shape{1, 2});
  EXPECT_NE(error_of(bad, sn::zeros(Shape{1})).find("non-finite"), std::string::npos);
}

}  // namespace
