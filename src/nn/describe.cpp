// Describing a model: the PyTorch-style repr (to_string, operator<<) and the Keras-style
// summary() table. summary() learns output shapes by running one forward pass on zeros with
// temporary forward hooks; it never changes the model's weights or modes.
#include <algorithm>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/module.h"

namespace sn::nn {

namespace {
// Indents every line but the first (PyTorch's _addindent).
std::string add_indent(const std::string& s, int n) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out.append(static_cast<size_t>(n), ' ');
  }
  return out;
}

std::string with_commas(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? std::string(1, '-') : std::string();
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string pad(const std::string& s, size_t width) {
  // width counts characters, not UTF-8 bytes: continuation bytes (10xxxxxx) take no column
  size_t cols = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cols;
  return cols >= width ? s + " " : s + std::string(width - cols, ' ');
}
}  // namespace

void Module::repr_into(std::string& out, int indent) const {
  const std::string extra = extra_repr();
  std::vector<std::string> lines;
  if (!extra.empty()) {
    std::istringstream is(extra);
    for (std::string l; std::getline(is, l);) lines.push_back(l);
  }
  const size_t n_extra = lines.size();
  for (const auto& [name, c] : children_) {
    std::string sub;
    c->repr_into(sub, 0);
    lines.push_back("(" + name + "): " + add_indent(sub, 2));
  }
  std::string s = type_name() + "(";
  if (n_extra == 1 && children_.empty()) {
    s += lines[0];
  } else if (!lines.empty()) {
    s += "\n";
    for (const std::string& l : lines) s += "  " + l + "\n";
  }
  s += ")";
  out += add_indent(s, indent);
}

std::string Module::to_string() const {
  std::string s;
  repr_into(s, 0);
  return s;
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.to_string(); }

std::string Module::summary(const Shape& input_shape, DType dtype) {
  struct Row {
    std::string name;
    Module* module;
    Shape out;
    int64_t params = 0;
    int order = -1;  // position of the first call; -1 = never called
  };
  std::vector<Row> rows;
  std::unordered_map<const Module*, size_t> row_of;
  for (auto& [name, m] : named_modules()) {
    if (m == this) continue;
    // a row for every leaf, for any container that owns parameters itself, and for the
    // containers that merge their children's outputs (Parallel concatenates, Residual adds the
    // skip), whose output no child row shows; the hook fires after the children's, so the row
    // comes right after them. The Param # column counts a module's own parameters, so it sums
    // to the total.
    int64_t own = 0;
    for (const Tensor& p : m->parameters(false)) own += p.numel();
    const std::string type = m->type_name();
    const bool merges = type == "Parallel" || type == "Residual";
    if (!m->children_.empty() && own == 0 && !merges) continue;
    row_of.emplace(m, rows.size());
    rows.push_back({name, m, Shape{}, own, -1});
  }

  // Temporary hooks and eval mode, undone even if the forward throws.
  struct Restore {
    std::vector<std::pair<Module*, int>> hooks;
    std::vector<std::pair<Module*, bool>> modes;
    ~Restore() {
      for (auto& [m, id] : hooks) m->remove_forward_hook(id);
      for (auto& [m, on] : modes) m->training_ = on;
    }
  } restore;
  int calls = 0;
  for (auto& [name, m] : named_modules()) restore.modes.emplace_back(m, m->training_);
  for (auto& [m, i] : row_of) {
    Module* mm = const_cast<Module*>(m);
    const size_t idx = i;
    int id = mm->add_forward_hook([&rows, &calls, idx](Module&, const Tensor&, const Tensor& y) {
      if (rows[idx].order >= 0) return;
      rows[idx].order = calls++;
      if (y.defined()) rows[idx].out = y.shape();
    });
    restore.hooks.emplace_back(mm, id);
  }
  eval();
  Tensor out;
  {
    NoGradGuard ng;
    out = (*this)(zeros(input_shape, {.dtype = dtype}));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const int ka = a.order < 0 ? 1 << 30 : a.order, kb = b.order < 0 ? 1 << 30 : b.order;
    return ka < kb;
  });

  std::vector<std::string> names;
  size_t w0 = 30;
  for (const Row& r : rows) {
    names.push_back(r.name + " (" + r.module->type_name() + ")");
    w0 = std::max(w0, names.back().size() + 2);
  }
  const size_t w1 = 26, w2 = 12;
  const std::string thin(w0 + w1 + w2, '_'), thick(w0 + w1 + w2, '=');
  std::ostringstream os;
  os << "Model: " << type_name() << "\n" << thin << "\n";
  os << pad("Layer (type)", w0) << pad("Output Shape", w1) << "Param #\n" << thick << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string shape = rows[i].order < 0 ? "(not called)" : rows[i].out.str();
    os << pad(names[i], w0) << pad(shape, w1) << with_commas(rows[i].params) << "\n";
  }
  const int64_t total = num_parameters(), trainable = num_parameters(true);
  os << thick << "\n";
  os << "Total params: " << with_commas(total) << "\n";
  os << "Trainable params: " << with_commas(trainable) << "\n";
  os << "Non-trainable params: " << with_commas(total - trainable) << "\n";
  os << thin << "\n";
  os << "Input: " << input_shape << " " << dtype
     << "   Output: " << (out.defined() ? out.shape().str() : std::string("(none)")) << "\n";
  return os.str();
}

}  // namespace sn::nn
