// GEMM and linear-layer throughput: sn::matmul on square float32 matrices (n = 64 ... 2048),
// the same product through cblas_sgemm directly (the ceiling sn::matmul is held to), and
// sn::linear(1024 -> 1024) on a batch of 256, forward and forward + backward.
// Shapes and timed regions follow ../shared/reference/matmul.py; no PyTorch here.
#include <cblas.h>

#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {64, 128, 256, 512, 1024, 2048});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::manual_seed(0);

  for (int64_t n : args.sizes) {
    const double flop = 2.0 * n * n * n;
    sn::Tensor a = sn::randn({n, n}), b = sn::randn({n, n});
    if (selected(args, "matmul")) {
      // the result is allocated by each call, as in user code
      Timing t = measure(args, [&] { keep(sn::matmul(a, b)); });
      Json()
          .s("bench", "matmul")
          .s("impl", "sinapsis")
          .n("threads", args.threads)
          .n("n", n)
          .timing(t)
          .n("gflops", flop / t.median_s / 1e9)
          .print();
    }
    if (selected(args, "sgemm")) {
      sn::Tensor c = sn::empty({n, n});
      const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
      float* pc = c.data_ptr<float>();
      const int ni = static_cast<int>(n);
      Timing t = measure(args, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.f, pa, ni, pb, ni, 0.f,
                    pc, ni);
      });
      Json()
          .s("bench", "matmul")
          .s("impl", "cblas_sgemm")
          .n("threads", args.threads)
          .n("n", n)
          .timing(t)
          .n("gflops", flop / t.median_s / 1e9)
          .print();
    }
  }

  const int64_t batch = 256, d_in = 1024, d_out = 1024;
  const double mm = 2.0 * batch * d_in * d_out;
  sn::Tensor w = sn::mul(sn::randn({d_out, d_in}), 0.03).requires_grad_(true);
  sn::Tensor bias = sn::mul(sn::randn({d_out}), 0.03).requires_grad_(true);
  sn::Tensor x = sn::randn({batch, d_in});
  sn::Tensor x_req = x.clone().requires_grad_(true);
  sn::Tensor grad_out = sn::randn({batch, d_out});
  if (selected(args, "linear_forward")) {
    Timing t = measure(args, [&] {
      sn::NoGradGuard ng;
      keep(sn::linear(x, w, bias));
    });
    Json()
        .s("bench", "linear_forward")
        .s("impl", "sinapsis")
        .n("threads", args.threads)
        .n("batch", batch)
        .n("in", d_in)
        .n("out", d_out)
        .timing(t)
        .n("gflops", mm / t.median_s / 1e9)
        .print();
  }
  if (selected(args, "linear_forward_backward")) {
    Timing t = measure(args, [&] {
      x_req.zero_grad();
      w.zero_grad();
      bias.zero_grad();
      sn::linear(x_req, w, bias).backward(grad_out);
    });
    Json()
        .s("bench", "linear_forward_backward")
        .s("impl", "sinapsis")
        .n("threads", args.threads)
        .n("batch", batch)
        .n("in", d_in)
        .n("out", d_out)
        .timing(t)
        .n("gflops", 3 * mm / t.median_s / 1e9)
        .print();
  }
  return 0;
}
