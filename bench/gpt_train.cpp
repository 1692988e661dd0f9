// Tiny character-level GPT training step, the workload of ../shared/reference/gpt_train.py:
// vocab 96, context 64, 4 pre-norm blocks (4 heads, d_model 128, causal attention, 4x MLP with
// exact GELU), learned positions, final LayerNorm and an own (untied) head, biases everywhere;
// cross-entropy over all positions; AdamW lr 3e-4, weight decay 0.01; batch 16 x 64 tokens,
// cycling through 8 random batches. The model is the library's nn::GPT (fused attention) set to
// that configuration, with the reference's init (every weight N(0, 0.02), biases 0).
#include <cmath>
#include <ctime>

#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

namespace {

constexpr int64_t kVocab = 96, kContext = 64, kLayers = 4, kHeads = 4, kDModel = 128, kBatch = 16;

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::manual_seed(0);
  nn::GPT model({.vocab_size = kVocab,
                 .n_layer = kLayers,
                 .n_head = kHeads,
                 .n_embd = kDModel,
                 .block_size = kContext,
                 .bias = true,
                 .tie_weights = false});
  for (auto& [name, p] : model.named_parameters()) {
    if (p.dim() == 2)
      nn::init::normal_(p, 0.0, 0.02);
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      nn::init::zeros_(p);
  }
  const sn::Device dev(args.device);  // --device (embedding has no GPU kernel yet: an error)
  model.to(dev);
  sn::optim::AdamW opt(model.parameters(), {.lr = 3e-4, .weight_decay = 0.01});
  std::vector<sn::Tensor> pool;
  for (int i = 0; i < 8; ++i)
    pool.push_back(sn::randint(0, kVocab, {kBatch, kContext + 1}).to(dev));
  size_t i = 0;
  sn::Tensor loss;
  double first_loss = -1;
  // CPU time of the timed steps too: on a shared machine it is the steadier number
  const std::clock_t cpu0 = std::clock();
  StepTiming t = time_steps(args, 10, 100, [&] {
    const sn::Tensor& seq = pool[i++ % pool.size()];
    sn::Tensor x = seq.narrow(1, 0, kContext), y = seq.narrow(1, 1, kContext);
    opt.zero_grad(true);
    sn::Tensor logits = model(x);
    loss = sn::loss::cross_entropy(logits.reshape({-1, kVocab}), y.reshape({-1}));
    loss.backward();
    opt.step();
    if (first_loss < 0) first_loss = loss.item();
  });
  const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  Json()
      .s("bench", "gpt_train")
      .s("case", "gpt train step 16x64")
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("params", static_cast<double>(model.num_parameters()))
      .n("tokens_per_step", kBatch * kContext)
      .steps(t)
      .n("tokens_per_s", kBatch * kContext / t.median_s)
      .n("cpu_ms_per_step", 1e3 * cpu_s / (t.steps + 10))
      .n("first_loss", first_loss)
      .n("final_loss", loss.item())
      .print();
  return 0;
}
