// Two CNNs for 1×28×28 images built from the C++ API: a LeNet-5-style network (conv, batch norm,
// ReLU, max-pool, then a fully connected head) and a small modern one (a ResNet basic block and
// an inception block, global average pooling). For each: the PyTorch-style repr, the Keras-style
// summary, one forward pass on a random batch and one training step on it, with the loss
// before and after. No data set: shapes and mechanics only. Exits 1 on a wrong shape or a
// training step that does not lower the loss on its own batch.
#include <sinapsis/sinapsis.h>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

namespace nn = sn::nn;

namespace {

std::string shape_str(const sn::Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

// Prints the model and its summary, runs a forward pass and one SGD step on a random batch.
// Returns whether the output shape is [batch, classes] and the step lowered the loss.
bool show(const char* title, nn::Module& model, const sn::Tensor& x, const sn::Tensor& y,
          int64_t classes) {
  std::printf("==== %s ====\n\n%s\n\n", title, model.to_string().c_str());
  std::printf("%s\n", model.summary({1, 1, 28, 28}).c_str());

  model.train();
  const sn::Tensor logits = model(x);
  const sn::Shape want{x.shape()[0], classes};
  std::printf("forward: input %s -> output %s\n", shape_str(x.shape()).c_str(),
              shape_str(logits.shape()).c_str());
  bool ok = logits.shape() == want;
  if (!ok) std::printf("  FAILED: expected output %s\n", shape_str(want).c_str());

  // One step of plain SGD. A small lr keeps the step inside the region where the first-order
  // decrease (−lr·|grad|²) dominates, so the loss on the same batch must go down.
  sn::optim::SGD opt(model.parameters(), {.lr = 0.01});
  const sn::optim::Closure closure = [&] {
    opt.zero_grad();
    sn::Tensor loss = sn::loss::cross_entropy(model(x), y);
    loss.backward();
    return loss;
  };
  const double before = opt.step(closure).item();
  double grad_sq = 0;
  for (const sn::Tensor& p : model.parameters()) grad_sq += sn::square(p.grad()).sum().item();
  const double after = sn::loss::cross_entropy(model(x), y).item();
  std::printf("train step (SGD lr 0.01, batch %lld): loss %.6f -> %.6f, |grad| = %.4f\n\n",
              static_cast<long long>(x.shape()[0]), before, after, std::sqrt(grad_sq));
  if (!std::isfinite(before) || !(after < before)) {
    std::printf("  FAILED: the step did not lower the loss on its batch\n");
    ok = false;
  }
  return ok;
}

}  // namespace

int main() {
  sn::manual_seed(0);
  const int64_t batch = 8, classes = 10;
  const sn::Tensor x = sn::randn({batch, 1, 28, 28});     // [N, 1, 28, 28]
  const sn::Tensor y = sn::randint(0, classes, {batch});  // [N] class indices

  // LeNet-5 (LeCun et al., 1998) with ReLU, max-pooling and batch norm: "same" padding on the
  // first conv keeps 28×28 so the second conv sees 14×14, as the original's 32×32 input did.
  nn::Sequential lenet({{"conv1", nn::Conv2d(1, 6, 5, {.padding = 2})},  // [N, 6, 28, 28]
                        {"bn1", nn::BatchNorm2d(6)},
                        {"relu1", nn::ReLU()},
                        {"pool1", nn::MaxPool2d(2)},      // [N, 6, 14, 14]
                        {"conv2", nn::Conv2d(6, 16, 5)},  // [N, 16, 10, 10]
                        {"bn2", nn::BatchNorm2d(16)},
                        {"relu2", nn::ReLU()},
                        {"pool2", nn::MaxPool2d(2)},  // [N, 16, 5, 5]
                        {"flatten", nn::Flatten()},   // [N, 400]
                        {"fc1", nn::Linear(16 * 5 * 5, 120)},
                        {"relu3", nn::ReLU()},
                        {"fc2", nn::Linear(120, 84)},
                        {"relu4", nn::ReLU()},
                        {"fc3", nn::Linear(84, classes)}});  // [N, 10]

  // A stem conv, a ResNet block that halves the resolution and doubles the channels (so its
  // shortcut is a 1×1 projection), an inception block (four branches, channels concatenated),
  // then global average pooling instead of a large fully connected layer.
  const nn::InceptionOptions inc{};  // 16 + 24 + 8 + 8 = 56 output channels
  nn::Sequential modern({{"stem", nn::Conv2d(1, 16, 3, {.padding = 1, .bias = false})},
                         {"bn", nn::BatchNorm2d(16)},
                         {"relu", nn::ReLU()},                            // [N, 16, 28, 28]
                         {"res", nn::ResNetBlock(16, 32, /*stride=*/2)},  // [N, 32, 14, 14]
                         {"inception", nn::Inception(32, inc)},           // [N, 56, 14, 14]
                         {"gap", nn::AdaptiveAvgPool2d(1)},               // [N, 56, 1, 1]
                         {"flatten", nn::Flatten()},                      // [N, 56]
                         {"fc", nn::Linear(inc.c1 + inc.c3 + inc.c5 + inc.pool_proj, classes)}});

  bool ok = show("LeNet-5 style CNN", lenet, x, y, classes);
  // the summary's total against the textbook count: conv k·k·C_in·C_out + C_out, BN 2·C,
  // linear in·out + out
  const int64_t lenet_params = (5 * 5 * 1 * 6 + 6) + 2 * 6 + (5 * 5 * 6 * 16 + 16) + 2 * 16 +
                               (400 * 120 + 120) + (120 * 84 + 84) + (84 * classes + classes);
  if (lenet.num_parameters() != lenet_params) {
    std::printf("  FAILED: LeNet has %lld parameters, expected %lld\n",
                static_cast<long long>(lenet.num_parameters()),
                static_cast<long long>(lenet_params));
    ok = false;
  }
  ok = show("ResNet block + inception block", modern, x, y, classes) && ok;
  std::printf("%s\n", ok ? "all checks passed" : "some checks FAILED");
  return ok ? 0 : 1;
}
