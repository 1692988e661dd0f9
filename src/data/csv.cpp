// CSV reader for CsvDataset and read_csv_features: RFC-4180-style quoting within one line, strict
// number parsing (std::from_chars, no locale, no NaN/inf), columns by header name (a hash map, so
// linear in the number of columns), and errors that point at file, line and column.
// Not here: type inference for mixed columns, missing-value imputation, multi-line fields.
#include "sinapsis/data/csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "io/file_util.h"

namespace sn::data {

namespace {

struct Field {
  std::string text;
  bool quoted = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Shortened text for error messages (a hostile field can be megabytes long).
// Control bytes and bytes that are not UTF-8 are written as \xNN, so that a binary file cannot
// garble the terminal.
std::string shown(std::string_view s) {
  const bool cut = s.size() > 40;
  if (cut) s = s.substr(0, 37);
  std::string out;
  auto hex = [&out](unsigned char c) {
    const char* digits = "0123456789abcdef";
    out += std::string("\\x") + digits[c >> 4] + digits[c & 15];
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        hex(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    // a UTF-8 sequence: a lead byte C2..F4 and its 1-3 continuation bytes 80..BF
    const size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                       : c >= 0xE0 && c <= 0xEF ? 3
                       : c >= 0xF0 && c <= 0xF4 ? 4
                                                : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out += s.substr(i, len);
      i += len;
    } else {
      hex(c);
      ++i;
    }
  }
  return cut ? out + "..." : out;
}

class Reader {
 public:
  Reader(std::string_view text, const std::string& file, char delim)
      : text_(text), file_(file), delim_(delim) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 byte order mark
    if (text_.substr(0, 2) == "\xFF\xFE" || text_.substr(0, 2) == "\xFE\xFF")
      SN_THROW(IOError, "CsvDataset: '", file_,
               "' is UTF-16 text (it starts with a UTF-16 byte order mark); hint: save it as "
               "UTF-8");
  }

  // Next non-blank line split into fields; false at the end of the text.
  bool next(std::vector<Field>& out) {
    while (pos_ < text_.size()) {
      const size_t nl = text_.find('\n', pos_);
      std::string_view line =
          text_.substr(pos_, nl == std::string_view::npos ? std::string_view::npos : nl - pos_);
      pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (trim(line).empty()) continue;
      split(line, out);
      return true;
    }
    return false;
  }

  int64_t line() const { return line_no_; }

  [[noreturn]] void fail(const std::string& what) const {
    SN_THROW(IOError, "CsvDataset: '", file_, "' line ", line_no_, ": ", what);
  }

 private:
  std::string_view text_;
  const std::string& file_;
  char delim_;
  size_t pos_ = 0;
  int64_t line_no_ = 0;

  void split(std::string_view line, std::vector<Field>& out) {
    out.clear();
    size_t i = 0;
    while (true) {
      Field f;
      size_t j = i;
      while (j < line.size() && (line[j] == ' ' || line[j] == '\t') && line[j] != delim_) ++j;
      if (j < line.size() && line[j] == '"') {
        f.quoted = true;
        ++j;
        while (true) {
          if (j >= line.size())
            fail(detail::concat("field ", out.size() + 1,
                                " has an unterminated quote "
                                "(fields spanning several lines are not supported)"));
          if (line[j] == '"') {
            if (j + 1 < line.size() && line[j + 1] == '"') {
              f.text.push_back('"');
              j += 2;
              continue;
            }
            ++j;
            break;
          }
          f.text.push_back(line[j++]);
        }
        while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
        if (j < line.size() && line[j] != delim_)
          fail(detail::concat("field ", out.size() + 1, " has text after its closing quote"));
        i = j;
      } else {
        const size_t end = line.find(delim_, i);
        f.text = std::string(
            trim(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
        i = end == std::string_view::npos ? line.size() : end;
      }
      out.push_back(std::move(f));
      if (i >= line.size()) break;
      ++i;                     // the delimiter
      if (i == line.size()) {  // a trailing delimiter ends with one empty field
        out.push_back(Field{});
        break;
      }
    }
  }
};

// Strict: the whole text is one finite number (a leading '+' allowed).
std::optional<double> parse_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// "NaN", "-inf", "Infinity"...: a missing or broken value, never a class label.
bool is_non_finite_text(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  std::string l(s);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "nan" || l == "inf" || l == "infinity";
}

// At most `max` names, then how many there are: an error never lists 100,000 columns.
std::string list_names(const std::vector<std::string>& names, size_t max = 12) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) s += (i ? ", " : "") + shown(names[i]);
  if (names.size() > max) s += detail::concat(", ... (", names.size(), " in all)");
  return s;
}

// The header row: names and a name -> column index (so finding a column is O(1), and a file of
// 10^5 columns is read in linear time).
struct Header {
  std::vector<std::string> names;
  std::unordered_map<std::string, int64_t> index;
  int64_t find(const std::string& n) const {
    auto it = index.find(n);
    return it == index.end() ? -1 : it->second;
  }
};

Header read_header(Reader& rd, const std::string& file) {
  std::vector<Field> fields;
  SN_CHECK(rd.next(fields), IOError, "CsvDataset: '", file, "' is empty (no header row)");
  Header h;
  h.names.reserve(fields.size());
  h.index.reserve(fields.size());
  for (Field& f : fields) {
    const int64_t c = static_cast<int64_t>(h.names.size());
    auto [it, fresh] = h.index.emplace(f.text, c);
    if (!fresh)
      rd.fail(detail::concat("column name '", shown(f.text), "' appears twice (columns ",
                             it->second + 1, " and ", c + 1, ")"));
    h.names.push_back(std::move(f.text));
  }
  return h;
}

// A header read as one column that holds another likely separator: say so.
std::string delimiter_hint(const Header& h, const CsvOptions& opts) {
  if (h.names.size() != 1) return "";
  for (char d : {',', ';', '\t', '|'})
    if (d != opts.delimiter && h.names[0].find(d) != std::string::npos)
      return detail::concat("; hint: the header reads as one column: are fields separated by ",
                            d == '\t' ? std::string("tabs") : "'" + std::string(1, d) + "'",
                            "? (.delimiter; --delimiter in the CLI)");
  return "";
}

// The feature columns: opts.features by name, or every column but the target (tcol, -1: none).
std::vector<int64_t> feature_columns(const Header& h, const CsvOptions& opts, int64_t tcol,
                                     const std::string& file) {
  std::vector<int64_t> fcols;
  if (opts.features.empty()) {
    for (int64_t c = 0; c < static_cast<int64_t>(h.names.size()); ++c)
      if (c != tcol) fcols.push_back(c);
  } else {
    std::unordered_map<std::string, size_t> seen;
    for (const std::string& n : opts.features) {
      int64_t c = h.find(n);
      if (c < 0) c = h.find(std::string(trim(n)));  // "a, b" on a command line
      SN_CHECK(c >= 0, IOError, "CsvDataset: '", file, "' has no feature column '", shown(n),
               "' (columns: ", list_names(h.names), ")", delimiter_hint(h, opts));
      SN_CHECK(c != tcol, ValueError, "CsvDataset: '", shown(n), "' is the target, not a feature");
      SN_CHECK(seen.emplace(n, fcols.size()).second, ValueError, "CsvDataset: feature '", shown(n),
               "' is named twice");
      fcols.push_back(c);
    }
  }
  SN_CHECK(!fcols.empty(), IOError, "CsvDataset: '", file, "' has no feature columns",
           tcol >= 0 ? " besides the target '" + h.names[static_cast<size_t>(tcol)] + "'" : "");
  return fcols;
}

// One field as a finite float32 number, or an error naming line, column and the text.
// Why a field is not a finite number, for the error.
std::string not_a_number(std::string_view text, bool target) {
  if (text.empty())
    return target ? "empty target (a missing value?)" : "empty field (a missing value?)";
  if (is_non_finite_text(text))
    return "\"" + std::string(text) + "\" is not a finite number (a missing value?)";
  std::string_view s = text.front() == '+' ? text.substr(1) : text;
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && p == s.data() + s.size())
    return "\"" + shown(text) + "\" is outside the float32 range";
  return "cannot read \"" + shown(text) + "\" as a number" +
         (target ? ""
                 : "; hint: list the numeric feature columns (.features; --features in the CLI)");
}

// One field as a finite float32 number, or an error naming line, column and the text.
float number(const Reader& rd, const Header& h, const Field& f, int64_t c, bool target) {
  const std::optional<double> v = parse_number(f.text);
  if (!v || std::abs(*v) > std::numeric_limits<float>::max())
    rd.fail(detail::concat("column '", shown(h.names[static_cast<size_t>(c)]), "' (", c + 1, "): ",
                           v ? "\"" + shown(f.text) + "\" is outside the float32 range"
                             : not_a_number(f.text, target)));
  return static_cast<float>(*v);
}

// The next row's feature values appended to xs; false at the end of the file. A row with
// another number of fields than the header is an error naming its line.
bool next_features(Reader& rd, const Header& h, const std::vector<int64_t>& fcols,
                   std::vector<Field>& fields, std::vector<float>& xs) {
  if (!rd.next(fields)) return false;
  if (fields.size() != h.names.size())
    rd.fail(detail::concat("expected ", h.names.size(), " fields (as in the header), found ",
                           fields.size()));
  for (int64_t c : fcols) xs.push_back(number(rd, h, fields[static_cast<size_t>(c)], c, false));
  return true;
}

void check_options(const CsvOptions& opts) {
  SN_CHECK(opts.delimiter != '"' && opts.delimiter != '\n' && opts.delimiter != '\r', ValueError,
           "CsvDataset: the delimiter cannot be a quote or a line break");
}

// Classes in a file-independent order: integer-like labels ("3", "10") by value, not as text
// ("10" < "3"); text labels alphabetically. Fills y with each label's index.
std::vector<std::string> own_classes(const std::vector<std::string>& labels, bool numeric,
                                     std::vector<int64_t>& y) {
  std::vector<std::string> classes;
  if (numeric) {
    std::map<double, int64_t> by_value;
    std::map<double, std::string> text_of;
    for (const std::string& l : labels) text_of.emplace(*parse_number(l), l);
    for (const auto& [v, t] : text_of) {
      by_value[v] = static_cast<int64_t>(classes.size());
      classes.push_back(t);
    }
    for (size_t i = 0; i < labels.size(); ++i) y[i] = by_value[*parse_number(labels[i])];
  } else {
    std::map<std::string, int64_t> index;
    for (const std::string& l : labels) index.emplace(l, 0);
    for (auto& [t, k] : index) {
      k = static_cast<int64_t>(classes.size());
      classes.push_back(t);
    }
    for (size_t i = 0; i < labels.size(); ++i) y[i] = index[labels[i]];
  }
  return classes;
}

// Labels mapped onto a given class list: exact text first, then equal numbers ("1.0" is "1").
// Labels outside the list are one error naming each (with its first line) and the list.
void map_to_classes(const std::vector<std::string>& labels, const std::vector<int64_t>& lines,
                    const std::vector<std::string>& classes, const std::string& target,
                    const std::string& file, std::vector<int64_t>& y) {
  std::unordered_map<std::string, int64_t> by_text;
  std::map<double, int64_t> by_value;
  for (size_t k = 0; k < classes.size(); ++k) {
    by_text.emplace(classes[k], static_cast<int64_t>(k));
    if (const auto v = parse_number(classes[k])) by_value.emplace(*v, static_cast<int64_t>(k));
  }
  std::map<std::string, int64_t> unknown;  // label -> first line
  for (size_t i = 0; i < labels.size(); ++i) {
    if (auto it = by_text.find(labels[i]); it != by_text.end()) {
      y[i] = it->second;
      continue;
    }
    if (const auto v = parse_number(labels[i])) {
      if (auto it = by_value.find(*v); it != by_value.end()) {
        y[i] = it->second;
        continue;
      }
    }
    unknown.emplace(labels[i], lines[i]);
  }
  if (unknown.empty()) return;
  std::string list;
  size_t k = 0;
  for (const auto& [l, line] : unknown) {
    if (k++ == 10) {
      list += detail::concat(", ... (", unknown.size(), " in all)");
      break;
    }
    list += detail::concat(k > 1 ? ", " : "", "\"", shown(l), "\" (line ", line, ")");
  }
  SN_THROW(IOError, "CsvDataset: '", file, "': column '", shown(target), "' has ", unknown.size(),
           unknown.size() == 1 ? " label" : " labels", " that the ", classes.size(),
           " known classes do not include: ", list, " (classes: ", list_names(classes), ")");
}

}  // namespace

CsvDataset::CsvDataset(Tensor x, Tensor y, std::vector<std::string> features, std::string target,
                       CsvTask task, std::vector<std::string> classes, std::string file)
    : TensorDataset(std::move(x), std::move(y)),
      features_(std::move(features)),
      target_(std::move(target)),
      task_(task),
      classes_(std::move(classes)),
      file_(std::move(file)) {}

std::shared_ptr<CsvDataset> CsvDataset::load(const std::string& path, const CsvOptions& opts) {
  return parse(io::detail::read_file(path, "CsvDataset"), opts, path);
}

std::shared_ptr<CsvDataset> CsvDataset::parse(std::string_view text, const CsvOptions& opts,
                                              const std::string& file) {
  SN_CHECK(!opts.target.empty(), ValueError,
           "CsvDataset: no target column given; hint: set .target = \"<column name>\"");
  check_options(opts);
  // a fixed class list means classification
  const CsvTask task_asked = opts.classes.empty() ? opts.task : CsvTask::Classification;
  Reader rd(text, file, opts.delimiter);
  const Header header = read_header(rd, file);
  const int64_t tcol = header.find(opts.target);
  SN_CHECK(tcol >= 0, IOError, "CsvDataset: '", file, "' has no column '", shown(opts.target),
           "' (columns: ", list_names(header.names), ")", delimiter_hint(header, opts));
  const std::vector<int64_t> fcols = feature_columns(header, opts, tcol, file);
  std::vector<std::string> fnames;
  for (int64_t c : fcols) fnames.push_back(header.names[static_cast<size_t>(c)]);

  // ---- rows
  const size_t nf = fcols.size();
  const std::string& tname = header.names[static_cast<size_t>(tcol)];
  std::vector<float> xs;
  std::vector<float> reg;
  std::vector<std::string> labels;
  std::vector<int64_t> lines;
  std::vector<Field> fields;
  while (next_features(rd, header, fcols, fields, xs)) {
    const Field& t = fields[static_cast<size_t>(tcol)];
    if (task_asked == CsvTask::Regression) {
      reg.push_back(number(rd, header, t, tcol, true));
      continue;
    }
    if (t.text.empty())
      rd.fail(detail::concat("column '", shown(tname), "' (", tcol + 1,
                             "): empty target (a missing label?)"));
    if (is_non_finite_text(t.text))
      rd.fail(detail::concat("column '", shown(tname), "' (", tcol + 1, "): target \"",
                             shown(t.text), "\" is not a value (a missing label?)"));
    labels.push_back(t.text);
    lines.push_back(rd.line());
  }
  const int64_t n = static_cast<int64_t>(xs.size() / nf);
  SN_CHECK(n > 0, IOError, "CsvDataset: '", file, "' has a header but no data rows");

  Tensor x = tensor(xs, Shape{n, static_cast<int64_t>(nf)});
  bool numeric = true;
  for (const std::string& l : labels) numeric = numeric && parse_number(l).has_value();
  CsvTask task = task_asked;
  if (task == CsvTask::Auto) {
    task = CsvTask::Classification;
    if (numeric) {
      std::set<double> distinct;
      bool integral = true;
      for (const std::string& l : labels) {
        const double v = *parse_number(l);
        integral = integral && v == std::floor(v);
        if (distinct.size() <= 20) distinct.insert(v);
      }
      if (!integral || distinct.size() > 20) task = CsvTask::Regression;
    }
    if (task == CsvTask::Regression)
      for (const std::string& l : labels) {
        const double v = *parse_number(l);
        SN_CHECK(std::abs(v) <= std::numeric_limits<float>::max(), IOError, "CsvDataset: '", file,
                 "': column '", shown(tname), "': ", shown(l), " is outside the float32 range");
        reg.push_back(static_cast<float>(v));
      }
  }
  if (task == CsvTask::Regression) {
    return std::make_shared<CsvDataset>(x, tensor(reg, Shape{n, 1}), fnames, tname, task,
                                        std::vector<std::string>{}, file);
  }
  std::vector<int64_t> y(labels.size());
  std::vector<std::string> classes;
  if (opts.classes.empty()) {
    classes = own_classes(labels, numeric, y);
  } else {
    map_to_classes(labels, lines, opts.classes, tname, file, y);
    classes = opts.classes;
  }
  return std::make_shared<CsvDataset>(x, tensor(y, Shape{n}), fnames, tname, task, classes, file);
}

Tensor read_csv_features(std::string_view text, const CsvOptions& opts, const std::string& file) {
  check_options(opts);
  Reader rd(text, file, opts.delimiter);
  const Header header = read_header(rd, file);
  const int64_t tcol = opts.target.empty() ? -1 : header.find(opts.target);
  const std::vector<int64_t> fcols = feature_columns(header, opts, tcol, file);
  std::vector<float> xs;
  std::vector<Field> fields;
  while (next_features(rd, header, fcols, fields, xs)) {
  }
  const int64_t n = static_cast<int64_t>(xs.size() / fcols.size());
  SN_CHECK(n > 0, IOError, "CsvDataset: '", file, "' has a header but no data rows");
  return tensor(xs, Shape{n, static_cast<int64_t>(fcols.size())});
}

Tensor load_csv_features(const std::string& path, const CsvOptions& opts) {
  return read_csv_features(io::detail::read_file(path, "CsvDataset"), opts, path);
}

int64_t CsvDataset::class_index(const std::string& label) const {
  SN_CHECK(task_ == CsvTask::Classification, ValueError, "CsvDataset: '", target_,
           "' is a regression target; it has no classes");
  for (size_t k = 0; k < classes_.size(); ++k)
    if (classes_[k] == label) return static_cast<int64_t>(k);
  if (const auto v = parse_number(label)) {
    for (size_t k = 0; k < classes_.size(); ++k)
      if (parse_number(classes_[k]) == v) return static_cast<int64_t>(k);
  }
  SN_THROW(ValueError, "CsvDataset: '", shown(label), "' is not a class of column '", target_,
           "' (", classes_.size(), " classes)");
}

std::string CsvDataset::name() const {
  return detail::concat("CsvDataset('", file_, "', ", size(), " rows)");
}

}  // namespace sn::data
