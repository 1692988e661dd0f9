// A program built against the installed library: fits XOR with a 2-8-1 network (matmul through
// BLAS or the library's kernels, autograd, an optimizer), exits 0 when it learned it.
#include <cstdio>

#include <sinapsis/sinapsis.h>

int main() {
  sn::manual_seed(0);
  const sn::Tensor x = sn::tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}});
  const sn::Tensor y = sn::tensor(std::vector<double>{0, 1, 1, 0}, {4, 1});
  auto model = sn::nn::Sequential({sn::nn::Linear(2, 8), sn::nn::Tanh(), sn::nn::Linear(8, 1)});
  sn::optim::Adam opt(model.parameters(), {.lr = 0.05});
  double loss = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    sn::Tensor l = sn::loss::binary_cross_entropy_with_logits(model(x), y);
    l.backward();
    opt.step();
    loss = l.item();
  }
  sn::NoGradGuard no_grad;
  const sn::Tensor p = sn::sigmoid(model(x));
  int correct = 0;
  for (int i = 0; i < 4; ++i) correct += (p.at({i, 0}) > 0.5) == (y.at({i, 0}) > 0.5);
  std::printf("consumer: loss %.4f, %d/4 correct\n", loss, correct);
  return correct == 4 ? 0 : 1;
}
