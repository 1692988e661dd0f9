// Backward-observer fan-out, tensor lookup for graph nodes and text formatting shared by the
// viz files (see viz/internal.h). Nothing here draws.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>

#include "viz/internal.h"

namespace sn::viz::detail {

namespace {
std::mutex g_listeners_mu;
std::vector<std::pair<int, BackwardListener>> g_listeners;
int g_next_id = 1;

void dispatch(const autograd::BackwardStep& step, void*) {
  std::vector<BackwardListener> copy;
  {
    std::lock_guard<std::mutex> lock(g_listeners_mu);
    for (auto& [id, fn] : g_listeners) copy.push_back(fn);
  }
  for (auto& fn : copy) fn(step);
}
}  // namespace

int add_backward_listener(BackwardListener fn) {
  std::lock_guard<std::mutex> lock(g_listeners_mu);
  const int id = g_next_id++;
  g_listeners.emplace_back(id, std::move(fn));
  if (g_listeners.size() == 1) autograd::set_backward_observer(&dispatch, nullptr);
  return id;
}

void remove_backward_listener(int id) {
  std::lock_guard<std::mutex> lock(g_listeners_mu);
  std::erase_if(g_listeners, [id](const auto& p) { return p.first == id; });
  if (g_listeners.empty()) autograd::set_backward_observer(nullptr, nullptr);
}

TensorLookup::TensorLookup(const GraphRecorder* recorder, const std::vector<Tensor>& tensors)
    : recorder_(recorder) {
  for (const Tensor& t : tensors)
    if (t.defined() && t.grad_fn()) by_node_[t.grad_fn().get()].emplace_back(t.output_nr(), t);
}

Tensor TensorLookup::find(const Node* node, uint32_t nr) const {
  if (const auto* acc = dynamic_cast<const AccumulateGrad*>(node)) return acc->variable();
  if (auto it = by_node_.find(node); it != by_node_.end())
    for (const auto& [k, t] : it->second)
      if (k == nr) return t;
  if (recorder_) {
    Tensor t = recorder_->output(node, nr);
    if (t.defined()) return t;
  }
  for (const auto& [k, weak] : node->retained)
    if (k == nr)
      if (auto impl = weak.lock()) return Tensor(impl);
  return Tensor();
}

std::string format_number(double v, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0.0) return "0";  // also turns -0 into 0
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", std::clamp(precision, 1, 17), v);
  return buf;
}

std::string shape_text(const Shape& s) {
  if (s.empty()) return "scalar";
  std::ostringstream os;
  os << s;
  return os.str();
}

std::string format_tensor(const Tensor& t, int precision, int64_t max_elements) {
  if (!t.defined()) return "?";
  if (t.numel() > max_elements) {
    std::string out(1, '<');  // (not "<" + ...: GCC 12 -Wrestrict false positive)
    out += shape_text(t.shape());
    out += '>';
    return out;
  }
  std::vector<double> v = t.to_vector();
  if (t.dim() == 0) return format_number(v[0], precision);
  // nested brackets, row-major
  const Shape& s = t.shape();
  std::string out;
  std::vector<int64_t> idx(static_cast<size_t>(s.size()), 0);
  for (size_t flat = 0; flat < v.size(); ++flat) {
    int opened = 0;
    for (int d = s.size() - 1; d >= 0 && idx[static_cast<size_t>(d)] == 0; --d) ++opened;
    if (flat > 0) out += ", ";
    out.append(static_cast<size_t>(opened), '[');
    out += format_number(v[flat], precision);
    int closed = 0;
    for (int d = s.size() - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < s[d]) break;
      idx[static_cast<size_t>(d)] = 0;
      ++closed;
    }
    out.append(static_cast<size_t>(closed), ']');
  }
  if (v.empty())
    out = std::string(static_cast<size_t>(s.size()), '[') +
          std::string(static_cast<size_t>(s.size()), ']');
  return out;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // control characters are not allowed in XML 1.0
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out += c;
  }
  return out;
}

}  // namespace sn::viz::detail
