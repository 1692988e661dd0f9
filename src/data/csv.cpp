// CSV reader for CsvDataset: RFC-4180-style quoting within one line, strict number parsing
// (std::from_chars, no locale, no NaN/inf), and errors that point at file, line and column.
// Not here: type inference for mixed columns, missing-value imputation, multi-line fields.
#include "sinapsis/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

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
std::string shown(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return std::string(s.substr(0, 37)) + "...";
}

class Reader {
 public:
  Reader(std::string_view text, const std::string& file, char delim)
      : text_(text), file_(file), delim_(delim) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 byte order mark
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
  SN_CHECK(opts.delimiter != '"' && opts.delimiter != '\n' && opts.delimiter != '\r', ValueError,
           "CsvDataset: the delimiter cannot be a quote or a line break");
  Reader rd(text, file, opts.delimiter);
  std::vector<Field> fields;
  SN_CHECK(rd.next(fields), IOError, "CsvDataset: '", file, "' is empty (no header row)");

  // ---- header
  std::vector<std::string> header;
  for (Field& f : fields) header.push_back(std::move(f.text));
  auto column_of = [&](const std::string& n) -> int64_t {
    auto it = std::find(header.begin(), header.end(), n);
    return it == header.end() ? -1 : it - header.begin();
  };
  for (size_t c = 0; c < header.size(); ++c) {
    for (size_t d = 0; d < c; ++d)
      if (header[d] == header[c])
        rd.fail(detail::concat("column name '", shown(header[c]), "' appears twice (columns ",
                               d + 1, " and ", c + 1, ")"));
  }
  auto list_columns = [&] {
    std::string s;
    for (const std::string& h : header) s += (s.empty() ? "" : ", ") + shown(h);
    return s;
  };
  const int64_t tcol = column_of(opts.target);
  SN_CHECK(tcol >= 0, IOError, "CsvDataset: '", file, "' has no column '", opts.target,
           "' (columns: ", list_columns(), ")");
  std::vector<int64_t> fcols;
  std::vector<std::string> fnames;
  if (opts.features.empty()) {
    for (size_t c = 0; c < header.size(); ++c)
      if (static_cast<int64_t>(c) != tcol) {
        fcols.push_back(static_cast<int64_t>(c));
        fnames.push_back(header[c]);
      }
  } else {
    for (const std::string& n : opts.features) {
      const int64_t c = column_of(n);
      SN_CHECK(c >= 0, IOError, "CsvDataset: '", file, "' has no feature column '", n,
               "' (columns: ", list_columns(), ")");
      SN_CHECK(c != tcol, ValueError, "CsvDataset: '", n, "' is the target, not a feature");
      fcols.push_back(c);
      fnames.push_back(n);
    }
  }
  SN_CHECK(!fcols.empty(), IOError, "CsvDataset: '", file,
           "' has no feature columns besides the target '", opts.target, "'");

  // ---- rows
  const size_t ncols = header.size();
  const size_t nf = fcols.size();
  std::vector<float> xs;
  std::vector<float> reg;
  std::vector<std::string> labels;
  auto number = [&](const Field& f, int64_t c) {
    const std::optional<double> v = parse_number(f.text);
    if (!v) {
      rd.fail(detail::concat("column '", shown(header[c]), "' (", c + 1, "): ",
                             f.text.empty() ? std::string("empty field")
                                            : "cannot read \"" + shown(f.text) +
                                                  "\" as a "
                                                  "finite number",
                             c == tcol ? "" : "; hint: choose numeric columns with .features"));
    }
    if (std::abs(*v) > std::numeric_limits<float>::max())
      rd.fail(detail::concat("column '", shown(header[c]), "' (", c + 1, "): ", shown(f.text),
                             " is outside the float32 range"));
    return static_cast<float>(*v);
  };
  while (rd.next(fields)) {
    if (fields.size() != ncols)
      rd.fail(
          detail::concat("expected ", ncols, " fields (as in the header), found ", fields.size()));
    for (int64_t c : fcols) xs.push_back(number(fields[static_cast<size_t>(c)], c));
    const Field& t = fields[static_cast<size_t>(tcol)];
    if (opts.task == CsvTask::Regression) {
      reg.push_back(number(t, tcol));
    } else {
      if (t.text.empty())
        rd.fail(detail::concat("column '", shown(header[tcol]), "' (", tcol + 1,
                               "): empty class label"));
      labels.push_back(t.text);
    }
  }
  const int64_t n = static_cast<int64_t>(xs.size() / nf);
  SN_CHECK(n > 0, IOError, "CsvDataset: '", file, "' has a header but no data rows");

  Tensor x = tensor(xs, Shape{n, static_cast<int64_t>(nf)});
  if (opts.task == CsvTask::Regression) {
    return std::make_shared<CsvDataset>(x, tensor(reg, Shape{n, 1}), fnames, opts.target, opts.task,
                                        std::vector<std::string>{}, file);
  }
  // Integer-like labels ("3", "10") order by value, not as text ("10" < "3").
  bool numeric = true;
  for (const std::string& l : labels) numeric = numeric && parse_number(l).has_value();
  std::vector<std::string> classes;
  std::vector<int64_t> y(labels.size());
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
  return std::make_shared<CsvDataset>(x, tensor(y, Shape{n}), fnames, opts.target, opts.task,
                                      classes, file);
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
