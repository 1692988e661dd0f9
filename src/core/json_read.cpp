// Guarded JSON reading (json_read.h): a linear pre-scan bounds size and depth, so the parser
// and everything that walks the parsed value afterwards (dump, copies, the spec builder's
// recursion) stays shallow; nlohmann's messages are turned into line/column text.
#include "core/json_read.h"

#include "io/file_util.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace sn::detail {

namespace {

struct Place {
  size_t line = 1, column = 1;
};
Place place_of(std::string_view text, size_t byte) {  // byte: 0-based offset
  Place p;
  const size_t end = std::min(byte, text.size());
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1,
// column 2: " prefix, cut to a readable length.
std::string library_reason(const char* what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  if (const size_t col = s.find("column "); s.rfind("parse error", 0) == 0 && col != s.npos)
    if (const size_t colon = s.find(": ", col); colon != s.npos) s = s.substr(colon + 2);
  return cut_text(s, 120);
}

}  // namespace

std::string cut_text(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole UTF-8 chars
  return std::string(s.substr(0, n)) + "...";
}

std::string json_brief(const nlohmann::json& j, size_t max) {
  return cut_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max);
}

bool json_fits_int64(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
  return j.is_number_integer();
}

std::string try_parse_json(std::string_view text, const JsonLimits& limits, nlohmann::json& out) {
  if (text.size() > limits.max_bytes)
    return concat(text.size(), " bytes of JSON, more than the ", limits.max_bytes,
                  "-byte limit for it");
  // Depth, outside strings: [ and { open, ] and } close.
  int depth = 0;
  bool in_string = false, escape = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape)
        escape = false;
      else if (c == '\\')
        escape = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) {
        const Place p = place_of(text, i);
        return concat("JSON nested deeper than ", limits.max_depth, " levels (line ", p.line,
                      ", column ", p.column, ")");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  // Duplicate keys would silently shadow each other: one key set per open object.
  std::vector<std::set<std::string>> open_keys;
  std::string duplicate;
  try {
    out = nlohmann::json::parse(
        text.begin(), text.end(),
        [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
          if (ev == nlohmann::json::parse_event_t::object_start) {
            open_keys.emplace_back();
          } else if (ev == nlohmann::json::parse_event_t::object_end) {
            if (!open_keys.empty()) open_keys.pop_back();
          } else if (ev == nlohmann::json::parse_event_t::key && !open_keys.empty()) {
            const std::string& k = parsed.get_ref<const std::string&>();
            if (!open_keys.back().insert(k).second && duplicate.empty()) duplicate = k;
          }
          return true;
        });
  } catch (const nlohmann::json::parse_error& e) {
    const Place p = place_of(text, e.byte > 0 ? e.byte - 1 : 0);
    return concat("not valid JSON at line ", p.line, ", column ", p.column, ": ",
                  library_reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    return concat("not valid JSON: ", library_reason(e.what()));
  }
  if (!duplicate.empty()) return concat("names the key \"", cut_text(duplicate), "\" twice");
  return "";
}

std::string read_json_text(const std::string& path, const std::string& what,
                           const JsonLimits& limits) {
  // the file rules (type checked before opening: a FIFO would block; size bounded) are io's
  return io::detail::read_file(path, what.c_str(), static_cast<int64_t>(limits.max_bytes),
                               "a JSON file");
}

namespace {
void check_like_at(const nlohmann::json& j, const nlohmann::json& ref, const std::string& source,
                   const std::string& path, const std::vector<std::string>& also_allowed) {
  const std::string at = path.empty() ? source : source + ": " + path;
  SN_CHECK(j.is_object(), ValueError, at, " must be a JSON object (got ", json_brief(j), ")");
  std::vector<std::string> valid = also_allowed;
  for (auto it = ref.begin(); it != ref.end(); ++it) valid.push_back(it.key());
  check_keys(j, valid, at);
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto r = ref.find(it.key());
    if (r == ref.end()) continue;
    const nlohmann::json& v = it.value();
    const std::string name = path.empty() ? it.key() : path + "." + it.key();
    const char* want = nullptr;
    if (r->is_number_unsigned() && !v.is_number_unsigned())
      want = "a non-negative integer";
    else if (r->is_number_integer() && !json_fits_int64(v))
      want = "an integer";
    else if (r->is_number_float() && !v.is_number())
      want = "a number";
    else if (r->is_string() && !v.is_string())
      want = "a string";
    else if (r->is_boolean() && !v.is_boolean())
      want = "true or false";
    else if (r->is_array() && !v.is_array())
      want = "a list";
    else if (r->is_object() && !v.is_object())
      want = "an object";
    SN_CHECK(!want, ValueError, source, ": ", name, " must be ", want, " (got ", json_brief(v),
             ")");
    if (r->is_object()) check_like_at(v, *r, source, name, {});
  }
}
}  // namespace

void check_like(const nlohmann::json& j, const nlohmann::json& ref, const std::string& where,
                const std::vector<std::string>& also_allowed) {
  check_like_at(j, ref, where, "", also_allowed);
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& valid) {
  // Edit distance with transpositions (optimal string alignment), case-insensitive; "close"
  // is at most a third of the longer word (and at least 1 edit): "otu" -> "out", "foo" -> none.
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string a = lower(key.substr(0, 64));
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& v : valid) {
    const std::string b = lower(v);
    std::vector<size_t> pp(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          cur[j] = std::min(cur[j], pp[j - 2] + 1);
      }
      std::swap(pp, prev);
      std::swap(prev, cur);
    }
    const size_t d = prev[b.size()];
    if (d < best_d) {
      best_d = d;
      best = v;
    }
  }
  const size_t allowed = std::max<size_t>(1, std::max(a.size(), best.size()) / 3);
  return best_d <= allowed ? best : "";
}

}  // namespace sn::detail
