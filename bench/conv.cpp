// The two LeNet convolutions of the CNN workload (../shared/reference/cnn_train.py), batch 64:
// conv1 1->6 5x5 pad 2 on 28x28 and conv2 6->16 5x5 on 14x14, each forward without recording
// and forward + backward (input, weight and bias gradients, a new output and new gradients each
// call); conv1 also without the input gradient, as the CNN trains it. Also cblas_sgemm at n = 1024
// through the OpenBLAS the library links: the GEMM peak the conv GFLOP/s are read against. The
// PyTorch side is bench/torch_ops.py --groups conv.
#include <cblas.h>

#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;

namespace {

struct ConvCase {
  const char* layer;
  int64_t n, c, o, k, h, w, pad;
};

// 2 FLOP per multiply-add; bias left out. Forward + backward is 3x: y, dx and dW each cost
// one forward's multiply-adds.
double conv_flop(const ConvCase& cc) {
  const int64_t oh = cc.h + 2 * cc.pad - cc.k + 1, ow = cc.w + 2 * cc.pad - cc.k + 1;
  return 2.0 * static_cast<double>(cc.n * cc.o * cc.c * cc.k * cc.k * oh * ow);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  return guarded_main(argv[0], [&] {
    sn::set_num_threads(args.threads);
    sn::manual_seed(0);
    const ConvCase cases[] = {{"conv1", 64, 1, 6, 5, 28, 28, 2},
                              {"conv2", 64, 6, 16, 5, 14, 14, 0}};
    for (const ConvCase& cc : cases) {
      sn::Tensor x = sn::randn({cc.n, cc.c, cc.h, cc.w}).requires_grad_(true);
      sn::Tensor w = sn::mul(sn::randn({cc.o, cc.c, cc.k, cc.k}), 0.1).requires_grad_(true);
      sn::Tensor b = sn::mul(sn::randn({cc.o}), 0.1).requires_grad_(true);
      const sn::ConvOptions opts{.padding = cc.pad};
      sn::Tensor grad_out;
      {
        sn::NoGradGuard ng;
        grad_out = sn::randn(sn::conv2d(x, w, b, opts).shape());
      }
      const double flop = conv_flop(cc);
      auto report = [&](const char* pass, double work, auto&& fn) {
        const std::string name = std::string(cc.layer) + " " + pass;
        if (!selected(args, name)) return;
        Timing t = measure(args, fn);
        Json()
            .s("bench", "conv")
            .s("layer", cc.layer)
            .s("pass", pass)
            .s("impl", "sinapsis")
            .n("threads", args.threads)
            .n("batch", cc.n)
            .n("in_channels", cc.c)
            .n("out_channels", cc.o)
            .n("kernel", cc.k)
            .n("height", cc.h)
            .n("width", cc.w)
            .n("padding", cc.pad)
            .timing(t)
            .n("gflops", work / t.median_s / 1e9)
            .print();
      };
      report("fwd", flop, [&] {
        sn::NoGradGuard ng;
        keep(sn::conv2d(x, w, b, opts));
      });
      report("fwd+bwd", 3 * flop, [&] {
        x.zero_grad();
        w.zero_grad();
        b.zero_grad();
        sn::conv2d(x, w, b, opts).backward(grad_out);
      });
      // conv1 as the CNN trains it: its input is the data, so no dx is computed
      if (cc.c == 1) {
        sn::Tensor x_data = x.detach();
        report("fwd+bwd no-dx", 2 * flop, [&] {
          w.zero_grad();
          b.zero_grad();
          sn::conv2d(x_data, w, b, opts).backward(grad_out);
        });
      }
    }
    if (selected(args, "sgemm")) {
      constexpr int n = 1024;
      sn::Tensor a = sn::randn({n, n}), bm = sn::randn({n, n}), c = sn::empty({n, n});
      const float *pa = a.data_ptr<float>(), *pb = bm.data_ptr<float>();
      float* pc = c.data_ptr<float>();
      Timing t = measure(args, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, pa, n, pb, n, 0.f, pc,
                    n);
      });
      Json()
          .s("bench", "peak")
          .s("impl", "cblas_sgemm")
          .n("threads", args.threads)
          .n("n", n)
          .timing(t)
          .n("gflops", 2.0 * n * n * n / t.median_s / 1e9)
          .print();
    }
    return 0;
  });
}
