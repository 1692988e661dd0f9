// Attention weights as heat maps: one panel per layer (rows) and head (columns), the query
// positions down and the key positions across, each labelled with its token's text. Drawing
// only: the weights come from the caller (e.g. `sinapsis generate --attention`).
#pragma once
#include <string>
#include <vector>

namespace sn::viz {

struct AttentionMaps {
  std::vector<std::string> tokens;  // one label per position
  // weights[layer][head] holds T×T values row-major: row = query position, column = key
  // position, each row a probability distribution (zeros above the diagonal when causal).
  std::vector<std::vector<std::vector<double>>> weights;
  std::string title;
};

// The panels as one SVG; ValueError when a map is not T×T for T = tokens.size().
std::string attention_svg(const AttentionMaps& maps);

}  // namespace sn::viz
