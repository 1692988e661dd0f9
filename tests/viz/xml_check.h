// A small XML well-formedness checker for the SVG tests: balanced tags, quoted attributes,
// known entities. Enough to catch broken output without an XML library.
#pragma once
#include <cctype>
#include <string>
#include <vector>

namespace viz_test {

// Returns "" when `s` is well-formed, else a description of the first problem. Counts
// elements by name into `counts` when given.
inline std::string xml_problem(const std::string& s, std::vector<std::string>* elements = nullptr) {
  std::vector<std::string> open;
  size_t i = 0;
  bool root_seen = false;
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  };
  auto check_text = [&](size_t a, size_t b) -> std::string {
    for (size_t k = a; k < b; ++k) {
      if (s[k] == '<') return "stray '<' at " + std::to_string(k);
      if (s[k] == '&') {
        size_t semi = s.find(';', k);
        if (semi == std::string::npos || semi > b)
          return "unterminated entity at " + std::to_string(k);
        std::string ent = s.substr(k + 1, semi - k - 1);
        if (ent != "amp" && ent != "lt" && ent != "gt" && ent != "quot" && ent != "apos" &&
            (ent.empty() || ent[0] != '#'))
          return "unknown entity &" + ent + ";";
      }
    }
    return "";
  };
  while (i < s.size()) {
    size_t lt = s.find('<', i);
    if (lt == std::string::npos) {
      if (auto p = check_text(i, s.size()); !p.empty()) return p;
      break;
    }
    if (auto p = check_text(i, lt); !p.empty()) return p;
    if (s.compare(lt, 5, "<?xml") == 0) {
      size_t e = s.find("?>", lt);
      if (e == std::string::npos) return "unterminated declaration";
      i = e + 2;
      continue;
    }
    if (s.compare(lt, 4, "<!--") == 0) {
      size_t e = s.find("-->", lt);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    bool closing = lt + 1 < s.size() && s[lt + 1] == '/';
    size_t k = lt + (closing ? 2 : 1);
    size_t name_start = k;
    while (k < s.size() && is_name(s[k])) ++k;
    std::string name = s.substr(name_start, k - name_start);
    if (name.empty()) return "empty tag name at " + std::to_string(lt);
    if (closing) {
      while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      if (k >= s.size() || s[k] != '>') return "bad closing tag </" + name;
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
      i = k + 1;
      continue;
    }
    if (open.empty()) {
      if (root_seen) return "second root element <" + name + ">";
      root_seen = true;
    }
    if (elements) elements->push_back(name);
    // attributes
    bool self_closing = false;
    while (true) {
      while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      if (k >= s.size()) return "unterminated tag <" + name;
      if (s[k] == '>') {
        ++k;
        break;
      }
      if (s[k] == '/' && k + 1 < s.size() && s[k + 1] == '>') {
        self_closing = true;
        k += 2;
        break;
      }
      size_t a = k;
      while (k < s.size() && is_name(s[k])) ++k;
      if (k == a) return "bad attribute in <" + name + "> at " + std::to_string(k);
      if (k >= s.size() || s[k] != '=') return "attribute without value in <" + name + ">";
      ++k;
      if (k >= s.size() || (s[k] != '"' && s[k] != '\''))
        return "unquoted attribute in <" + name + ">";
      char q = s[k];
      size_t e = s.find(q, k + 1);
      if (e == std::string::npos) return "unterminated attribute in <" + name + ">";
      if (auto p = check_text(k + 1, e); !p.empty()) return p;
      k = e + 1;
    }
    if (!self_closing) open.push_back(name);
    i = k;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

inline int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

}  // namespace viz_test
