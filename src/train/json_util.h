// Private helpers of the train layer: numbers to and from JSON without losing NaN/Inf (JSON has
// no such numbers, so they travel as the strings "nan", "inf", "-inf"), and the shortest text
// that reads back as the same double (CSV and progress output).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace sn::train::detail {

nlohmann::json number_to_json(double v);
// A JSON number, null (NaN) or one of the strings above; ValueError naming `what` otherwise.
double json_to_number(const nlohmann::json& j, const std::string& what);
// Shortest round-trip decimal text; "nan", "inf", "-inf" for the others.
std::string format_number(double v);

}  // namespace sn::train::detail
