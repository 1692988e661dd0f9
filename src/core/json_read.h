// The one way the library and the CLI read JSON they did not write in this process (model specs,
// checkpoint headers and metadata, run.json, histories, tokenizers): size and nesting depth are
// checked by a linear pre-scan BEFORE the parser runs, duplicate keys are refused, and every
// problem is an sn::Error whose text names the source and the place, never nlohmann's own
// text. Also typed field access and the "did you mean" for unknown keys. Private to sinapsis.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sinapsis/core/error.h"

namespace sn::detail {

struct JsonLimits {
  size_t max_bytes = 100'000'000;  // the safetensors header limit; smaller files say so
  int max_depth = 64;              // arrays and objects open at once
};

// Why `text` is not acceptable JSON, or "" with `out` set. The reason reads
// "nested deeper than 64 levels (line 1, column 65)" or "not valid JSON at line 2, column 7:
// ...": the caller puts the source in front.
std::string try_parse_json(std::string_view text, const JsonLimits& limits, nlohmann::json& out);

// `text` parsed, or E("<what>: <reason>"): what names the source ("model spec 'm.json'").
template <typename E = ValueError>
nlohmann::json parse_json(std::string_view text, const std::string& what,
                          const JsonLimits& limits = {}) {
  nlohmann::json j;
  const std::string why = try_parse_json(text, limits, j);
  if (!why.empty()) throw E(what.empty() ? why : what + ": " + why);
  return j;
}

// A file's JSON: read by io::detail::read_file (IOError naming the file when it is missing,
// not a regular file or larger than limits.max_bytes, checked before reading), then
// parse_json<E>.
template <typename E = ValueError>
nlohmann::json read_json_file(const std::string& path, const std::string& what,
                              const JsonLimits& limits = {});
std::string read_json_text(const std::string& path, const std::string& what,
                           const JsonLimits& limits);
template <typename E>
nlohmann::json read_json_file(const std::string& path, const std::string& what,
                              const JsonLimits& limits) {
  return parse_json<E>(read_json_text(path, what, limits), what, limits);
}

// A JSON value for a message: dumped and cut to `max` characters ("..." marks the cut).
std::string json_brief(const nlohmann::json& j, size_t max = 60);
// Text cut to `max` characters for a message.
std::string cut_text(std::string_view s, size_t max = 60);

// The closest of `valid` to `key` (edit distance), or "" when none is close.
std::string nearest_key(const std::string& key, const std::vector<std::string>& valid);
// E naming the first key of `obj` not in `valid`:
//   <where>: unknown key "otu"; did you mean "out"? (known: type, name, out, ...)
template <typename E = ValueError>
void check_keys(const nlohmann::json& obj, const std::vector<std::string>& valid,
                const std::string& where) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const auto& v : valid) ok = ok || v == it.key();
    if (ok) continue;
    const std::string near = nearest_key(it.key(), valid);
    std::string known;
    for (const auto& v : valid) known += (known.empty() ? "" : ", ") + v;
    throw E(concat(where, ": unknown key \"", cut_text(it.key()), "\"",
                   near.empty() ? "" : "; did you mean \"" + near + "\"?", " (known: ", known,
                   ")"));
  }
}

// `j` checked against a reference object of the same form (e.g. the defaults' to_json()):
// every key of j must be in `ref` or `also_allowed` (else the unknown-key error above), and a
// key in both must hold the same kind of value as in `ref` (a number, an integer, a
// non-negative integer, a string, true/false, a list, an object: nested objects recursively).
// Messages name the field: `<where>.epochs must be an integer (got "ten")`.
void check_like(const nlohmann::json& j, const nlohmann::json& ref, const std::string& where,
                const std::vector<std::string>& also_allowed = {});

// Typed fields of an object with messages that name the field: `<where>.<key> must be an
// integer (got "ten")`. `dflt` when the key is absent; E when present with the wrong type.
// Integers must fit int64 (18446744073709551615 is an error, not -1).
template <typename E = ValueError>
int64_t json_int(const nlohmann::json& obj, const char* key, int64_t dflt,
                 const std::string& where);
template <typename E = ValueError>
double json_double(const nlohmann::json& obj, const char* key, double dflt,
                   const std::string& where);
template <typename E = ValueError>
bool json_bool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& where);
template <typename E = ValueError>
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& dflt,
                        const std::string& where);
// A required field: E `<where> has no "<key>"` when absent.
template <typename E = ValueError>
const nlohmann::json& json_field(const nlohmann::json& obj, const char* key,
                                 const std::string& where) {
  if (!obj.is_object()) throw E(where + " must be a JSON object (got " + json_brief(obj) + ")");
  auto it = obj.find(key);
  if (it == obj.end()) throw E(concat(where, " has no \"", key, "\""));
  return *it;
}

// One element checked: what `j` must be, for messages (the implementations of the above).
bool json_fits_int64(const nlohmann::json& j);

template <typename E>
int64_t json_int(const nlohmann::json& obj, const char* key, int64_t dflt,
                 const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) return dflt;
  const nlohmann::json& j = obj[key];
  if (!json_fits_int64(j))
    throw E(concat(where, ".", key, " must be an integer",
                   j.is_number_integer() ? " that fits in 64 bits" : "", " (got ", json_brief(j),
                   ")"));
  return j.get<int64_t>();
}
template <typename E>
double json_double(const nlohmann::json& obj, const char* key, double dflt,
                   const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) return dflt;
  const nlohmann::json& j = obj[key];
  if (!j.is_number())
    throw E(concat(where, ".", key, " must be a number (got ", json_brief(j), ")"));
  return j.get<double>();
}
template <typename E>
bool json_bool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) return dflt;
  const nlohmann::json& j = obj[key];
  if (!j.is_boolean())
    throw E(concat(where, ".", key, " must be true or false (got ", json_brief(j), ")"));
  return j.get<bool>();
}
template <typename E>
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& dflt,
                        const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) return dflt;
  const nlohmann::json& j = obj[key];
  if (!j.is_string())
    throw E(concat(where, ".", key, " must be a string (got ", json_brief(j), ")"));
  return j.get<std::string>();
}

}  // namespace sn::detail
