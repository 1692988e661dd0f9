// attention_svg: one panel per layer and head, token labels escaped, a cell per weight with
// its shade, and errors for maps of the wrong size.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

namespace sn::viz {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(AttentionSvg, PanelsCellsAndLabels) {
  AttentionMaps m;
  m.tokens = {"a", "<", "b"};
  const std::vector<double> causal = {1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5};
  m.weights = {{causal, causal}, {causal, causal}};  // 2 layers x 2 heads
  m.title = "t";
  const std::string svg = attention_svg(m);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(svg, "layer 1, head 1"), 1u);
  EXPECT_EQ(count(svg, "width=\"16\" height=\"16\""), 4u * 9u);  // one cell per weight
  EXPECT_EQ(count(svg, "fill=\"#ffffff\""), 4u * 3u);            // the zeros above the diagonal
  EXPECT_EQ(count(svg, "fill=\"#08306b\""), 4u);                 // weight 1: the darkest
  EXPECT_NE(svg.find("&lt;"), std::string::npos);                // labels are escaped
  EXPECT_EQ(svg.find(">ERROR"), std::string::npos);
}

TEST(AttentionSvg, WrongSizesAreErrors) {
  AttentionMaps m;
  m.tokens = {"a", "b"};
  m.weights = {{{1, 0, 0}}};
  EXPECT_THROW(attention_svg(m), ValueError);
  m.tokens.clear();
  EXPECT_THROW(attention_svg(m), ValueError);
}

}  // namespace
}  // namespace sn::viz
