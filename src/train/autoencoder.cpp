// Autoencoder training pieces (sinapsis/train/autoencoder.h): the module and loss fit() runs,
// (x, x) data, the test reconstruction error, the bottleneck's codes and their principal
// components. The loop itself is fit()'s.
#include "sinapsis/train/autoencoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sinapsis/autograd/node.h"
#include "sinapsis/data/transforms.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/ops/ops.h"

namespace sn::train {

namespace {

// Restores a module's train/eval mode on leaving the scope.
struct ModeGuard {
  nn::Module& m;
  bool was;
  explicit ModeGuard(nn::Module& module) : m(module), was(module.is_training()) {}
  ~ModeGuard() { m.train(was); }
};

// The same layers as `m` without its last Sigmoid (looking into a last child that is itself a
// Sequential), sharing the modules and their names; null when `m` does not end in a Sigmoid.
std::shared_ptr<nn::Module> without_last_sigmoid(const std::shared_ptr<nn::Module>& m) {
  auto* seq = dynamic_cast<nn::Sequential*>(m.get());
  if (!seq || seq->empty()) return nullptr;
  const auto& ch = seq->named_children();
  const auto& [last_name, last] = ch.back();
  std::shared_ptr<nn::Module> inner;
  if (!dynamic_cast<nn::Sigmoid*>(last.get())) {
    inner = without_last_sigmoid(last);
    if (!inner) return nullptr;
  }
  auto out = std::make_shared<nn::Sequential>();
  for (size_t i = 0; i + 1 < ch.size(); ++i) out->append(ch[i].first, ch[i].second);
  if (inner) out->append(last_name, inner);
  return out;
}

nn::GaussianLatent* find_latent(nn::Module& model) {
  for (auto& [name, m] : model.named_modules())
    if (auto* l = dynamic_cast<nn::GaussianLatent*>(m)) return l;
  return nullptr;
}

// The target in the output's shape: [N, 1, 28, 28] images against a [N, 784] reconstruction.
Tensor target_like(const Tensor& out, const Tensor& target) {
  if (out.shape() == target.shape()) return target;
  SN_CHECK(out.dim() >= 1 && target.dim() >= 1 && out.numel() == target.numel() &&
               out.size(0) == target.size(0),
           ShapeError, "autoencoder: the model gives ", out.shape(), " for inputs ", target.shape(),
           "; an autoencoder's output needs as many values per example as its "
           "input (",
           target.dim() >= 1 && target.size(0) > 0 ? target.numel() / target.size(0) : 0, ")");
  return target.reshape(out.shape());
}

}  // namespace

AutoencoderTraining autoencoder_training(const std::shared_ptr<nn::Module>& model) {
  SN_CHECK(model, ValueError, "autoencoder_training: the model is null");
  AutoencoderTraining t;
  t.latent = find_latent(*model);
  std::shared_ptr<nn::Module> body = without_last_sigmoid(model);
  t.logits = body != nullptr;
  t.trainee = body ? body : model;
  nn::GaussianLatent* latent = t.latent;
  const bool logits = t.logits;
  if (!latent) {
    t.description = logits ? "binary cross-entropy, mean over values (on the logits before the "
                             "final Sigmoid, fused)"
                           : "mean squared error, mean over values (the model has no final "
                             "Sigmoid for a binary cross-entropy)";
    t.loss = [logits](const Tensor& out, const Tensor& y) {
      const Tensor target = target_like(out, y);
      return logits ? loss::binary_cross_entropy_with_logits(out, target) : loss::mse(out, target);
    };
    return t;
  }
  t.description = std::string(logits ? "binary cross-entropy (on the logits before the final "
                                       "Sigmoid, fused)"
                                     : "squared error") +
                  " summed over the values of an example + the latent's KL term, mean over the "
                  "batch (the negative ELBO per example)";
  t.loss = [logits, latent](const Tensor& out, const Tensor& y) {
    const Tensor target = target_like(out, y);
    const double n = static_cast<double>(std::max<int64_t>(1, out.size(0)));
    const loss::Reduction sum = loss::Reduction::Sum;
    Tensor rec = logits ? loss::binary_cross_entropy_with_logits(out, target, {.reduction = sum})
                        : loss::mse(out, target, {.reduction = sum});
    return add(mul(rec, 1.0 / n), latent->kl(loss::Reduction::BatchMean));
  };
  return t;
}

data::DatasetPtr reconstruction_dataset(const data::DatasetPtr& base) {
  SN_CHECK(base, ValueError, "reconstruction_dataset: the data set is null");
  auto pair = [](data::Example e) { return data::Example{e.x, e.x}; };
  return data::transform(base, data::Transform("input as target", pair, pair));
}

ReconstructionError evaluate_reconstruction(nn::Module& model, data::DataLoader& loader) {
  NoGradGuard ng;
  ModeGuard mode(model);
  model.eval();
  nn::GaussianLatent* latent = find_latent(model);
  const loss::Reduction sum = loss::Reduction::Sum;
  double bce = 0, mse = 0, kl = 0;
  int64_t values = 0;
  ReconstructionError r;
  for (auto& batch : loader) {
    const Tensor out = model(batch.x);
    const Tensor target = target_like(out, batch.x);
    bce += loss::binary_cross_entropy(clamp(out, 0.0, 1.0), target, {.reduction = sum}).item();
    mse += loss::mse(out, target, {.reduction = sum}).item();
    if (latent) kl += latent->kl(sum).item();
    values += out.numel();
    r.examples += out.size(0);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.bce = values > 0 ? bce / static_cast<double>(values) : nan;
  r.mse = values > 0 ? mse / static_cast<double>(values) : nan;
  r.kl = latent && r.examples > 0 ? kl / static_cast<double>(r.examples) : nan;
  return r;
}

Tensor encode(nn::Module& model, const Tensor& x, int64_t batch_size) {
  auto* seq = dynamic_cast<nn::Sequential*>(&model);
  SN_CHECK(seq && !seq->empty(), ValueError, "encode: the model is a ", model.type_name(),
           ", not a Sequential of layers with a bottleneck");
  SN_CHECK(x.dim() >= 1 && x.size(0) > 0, ValueError, "encode: no examples (x is ", x.shape(), ")");
  NoGradGuard ng;
  ModeGuard mode(model);
  model.eval();
  const auto& ch = seq->named_children();
  // the layer whose output is the code
  size_t code = ch.size();
  for (size_t i = 0; i < ch.size(); ++i)
    if (ch[i].first == "encoder") code = i;
  if (code == ch.size()) {
    Tensor h = x.narrow(0, 0, 1);
    int64_t fewest = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < ch.size(); ++i) {
      h = (*ch[i].second)(h);
      if (h.numel() < fewest) {
        fewest = h.numel();
        code = i;
      }
    }
  }
  const int64_t n = x.size(0), b = batch_size > 0 ? batch_size : n;
  std::vector<Tensor> parts;
  for (int64_t s = 0; s < n; s += b) {
    Tensor h = x.narrow(0, s, std::min(b, n - s));
    for (size_t i = 0; i <= code; ++i) h = (*ch[i].second)(h);
    parts.push_back(h);
  }
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

Pca principal_components(const Tensor& x, int64_t k) {
  SN_CHECK(x.dim() == 2 && x.size(0) >= 2 && k >= 1 && k <= x.size(1), ValueError,
           "principal_components: needs x [N, D] with N >= 2 and 1 <= k <= D (got x ", x.shape(),
           ", k ", k, ")");
  NoGradGuard ng;
  const int64_t n = x.size(0), d = x.size(1);
  Tensor xc = x.to(kFloat64);
  xc = sub(xc, mean(xc, {0}, true)).contiguous();
  // covariance C [D, D] and its top-k eigenvectors by subspace iteration
  const std::vector<double> c =
      div(matmul(xc.transpose(0, 1), xc), static_cast<double>(n - 1)).to_vector();
  double trace = 0;
  for (int64_t i = 0; i < d; ++i) trace += c[i * d + i];
  std::vector<double> v(d * k), w(d * k);
  for (int64_t i = 0; i < d; ++i)  // a start no eigenvector is orthogonal to, in practice
    for (int64_t j = 0; j < k; ++j) v[i * k + j] = std::cos(1.0 + 0.7 * i + 1.3 * j * (i + 1));
  auto orthonormalise = [&](std::vector<double>& m) {
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t p = 0; p < j; ++p) {
        double dot = 0;
        for (int64_t i = 0; i < d; ++i) dot += m[i * k + j] * m[i * k + p];
        for (int64_t i = 0; i < d; ++i) m[i * k + j] -= dot * m[i * k + p];
      }
      double norm = 0;
      for (int64_t i = 0; i < d; ++i) norm += m[i * k + j] * m[i * k + j];
      norm = std::sqrt(norm);
      for (int64_t i = 0; i < d; ++i) m[i * k + j] = norm > 0 ? m[i * k + j] / norm : 0;
    }
  };
  orthonormalise(v);
  for (int it = 0; it < 500; ++it) {
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < k; ++j) {
        double s = 0;
        for (int64_t p = 0; p < d; ++p) s += c[i * d + p] * v[p * k + j];
        w[i * k + j] = s;
      }
    orthonormalise(w);
    double change = 0;
    for (size_t i = 0; i < v.size(); ++i)
      change = std::max(change, std::abs(std::abs(w[i]) - std::abs(v[i])));
    v.swap(w);
    if (change < 1e-12) break;
  }
  // Rayleigh-Ritz: order (and separate) the directions within the subspace by their variance,
  // with Jacobi rotations on the k x k projected covariance
  std::vector<double> h(k * k, 0.0), r(k * k, 0.0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      double s = 0;
      for (int64_t i = 0; i < d; ++i)
        for (int64_t p = 0; p < d; ++p) s += v[i * k + a] * c[i * d + p] * v[p * k + b];
      h[a * k + b] = s;
    }
  for (int64_t a = 0; a < k; ++a) r[a * k + a] = 1;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0;
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = a + 1; b < k; ++b) off += h[a * k + b] * h[a * k + b];
    if (off < 1e-30) break;
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = a + 1; b < k; ++b) {
        if (std::abs(h[a * k + b]) < 1e-300) continue;
        const double theta = (h[b * k + b] - h[a * k + a]) / (2 * h[a * k + b]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int64_t q = 0; q < k; ++q) {  // columns a, b of h and r
          const double ha = h[q * k + a], hb = h[q * k + b];
          h[q * k + a] = cs * ha - sn * hb;
          h[q * k + b] = sn * ha + cs * hb;
          const double ra = r[q * k + a], rb = r[q * k + b];
          r[q * k + a] = cs * ra - sn * rb;
          r[q * k + b] = sn * ra + cs * rb;
        }
        for (int64_t q = 0; q < k; ++q) {  // rows a, b of h
          const double ha = h[a * k + q], hb = h[b * k + q];
          h[a * k + q] = cs * ha - sn * hb;
          h[b * k + q] = sn * ha + cs * hb;
        }
      }
  }
  std::vector<int64_t> order(k);
  for (int64_t j = 0; j < k; ++j) order[j] = j;
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return h[a * k + a] > h[b * k + b]; });
  std::vector<double> dirs(d * k, 0.0);  // [D, k], column j = component j
  Pca out;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t o = order[j];
    for (int64_t i = 0; i < d; ++i) {
      double s = 0;
      for (int64_t q = 0; q < k; ++q) s += v[i * k + q] * r[q * k + o];
      dirs[i * k + j] = s;
    }
    int64_t big = 0;
    for (int64_t i = 1; i < d; ++i)
      if (std::abs(dirs[i * k + j]) > std::abs(dirs[big * k + j])) big = i;
    if (dirs[big * k + j] < 0)
      for (int64_t i = 0; i < d; ++i) dirs[i * k + j] = -dirs[i * k + j];
    out.explained.push_back(trace > 0 ? std::max(0.0, h[o * k + o]) / trace : 0.0);
  }
  out.scores = matmul(xc, tensor(dirs, Shape{d, k}, {.dtype = kFloat64}));
  return out;
}

}  // namespace sn::train
