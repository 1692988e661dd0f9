// The confusion-matrix SVG: one cell per pair of classes with its count, shading by the row's
// share, recall and precision in the margins, escaped names, and refused inputs.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

#include "viz/xml_check.h"

namespace {
namespace viz = sn::viz;
using viz_test::count_of;
using viz_test::xml_problem;

TEST(ConfusionSvg, CellsCountsAndMargins) {
  // rows: true class; 8 of 10 "cat" right, 2 taken for "<dog>"; 25 examples, 22 right
  sn::Tensor m = sn::tensor(std::vector<int64_t>{8, 2, 0, 1, 9, 0, 0, 0, 5}, sn::Shape{3, 3});
  const std::string svg =
      viz::confusion_matrix_svg(m, {"cat", "<dog>", "bird"}, {.title = "eval & test"});
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count_of(svg, "<rect class=\"cell\""), 9);
  EXPECT_NE(svg.find("&lt;dog&gt;"), std::string::npos);
  EXPECT_NE(svg.find("eval &amp; test"), std::string::npos);
  EXPECT_NE(svg.find(">8<"), std::string::npos);
  EXPECT_NE(svg.find(">80.0%<"), std::string::npos);  // cat's recall
  EXPECT_NE(svg.find(">90.0%<"), std::string::npos);  // <dog>'s recall
  EXPECT_NE(svg.find(">88.9%<"), std::string::npos);  // cat's precision, 8 of 9
  EXPECT_NE(svg.find(">81.8%<"), std::string::npos);  // <dog>'s precision, 9 of 11
  EXPECT_NE(svg.find("accuracy 88.0% of 25 examples"), std::string::npos) << svg;
  // a full row is the darkest blue, an empty cell white
  EXPECT_NE(svg.find("fill=\"" + viz::to_hex(viz::palette(0)) + "\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#ffffff\" stroke"), std::string::npos);
}

TEST(ConfusionSvg, RefusesBadInput) {
  EXPECT_THROW(viz::confusion_matrix_svg(sn::zeros({2, 3})), sn::ShapeError);
  EXPECT_THROW(viz::confusion_matrix_svg(sn::zeros({2, 2}), {"a"}), sn::ValueError);
  EXPECT_THROW(viz::confusion_matrix_svg(sn::full({2, 2}, -1.0)), sn::ValueError);
  EXPECT_EQ(xml_problem(viz::confusion_matrix_svg(sn::zeros({1, 1}))), "");
}

}  // namespace
