// Tiny character-level GPT training step, the workload of ../shared/reference/gpt_train.py:
// vocab 96, context 64, 4 pre-norm blocks (4 heads, d_model 128, causal attention, 4x MLP with
// exact GELU), learned positions, final LayerNorm and head; cross-entropy over all positions;
// AdamW lr 3e-4, weight decay 0.01; batch 16 x 64 tokens, cycling through 8 random batches.
// The model is written out of public ops here (no fused attention), as a user would.
#include <cmath>

#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

namespace {

constexpr int64_t kVocab = 96, kContext = 64, kLayers = 4, kHeads = 4, kDModel = 128, kBatch = 16;

class CausalSelfAttention : public nn::Module {
 public:
  CausalSelfAttention() {
    qkv_ = register_module("qkv", nn::Linear(kDModel, 3 * kDModel));
    proj_ = register_module("proj", nn::Linear(kDModel, kDModel));
    // true above the diagonal: future positions
    sn::Tensor pos = sn::arange(kContext);
    mask_ = register_buffer("mask", sn::gt(pos.unsqueeze(0), pos.unsqueeze(1)));
  }
  sn::Tensor forward(const sn::Tensor& x) override {
    const int64_t b = x.size(0), t = x.size(1), c = x.size(2), hd = c / kHeads;
    std::vector<sn::Tensor> qkv = sn::split((*qkv_)(x), c, 2);
    auto heads = [&](const sn::Tensor& p) {  // (b, heads, t, hd)
      return p.view({b, t, kHeads, hd}).transpose(1, 2);
    };
    sn::Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
    sn::Tensor att = sn::mul(sn::matmul(q, k.transpose(-2, -1)), 1.0 / std::sqrt(double(hd)));
    att = sn::masked_fill(att, mask_.narrow(0, 0, t).narrow(1, 0, t), -INFINITY);
    att = sn::softmax(att, -1);
    sn::Tensor y = sn::matmul(att, v).transpose(1, 2).contiguous().view({b, t, c});
    return (*proj_)(y);
  }

 private:
  std::shared_ptr<nn::Linear> qkv_, proj_;
  sn::Tensor mask_;
};

class Block : public nn::Module {
 public:
  Block() {
    ln1_ = register_module("ln1", nn::LayerNorm(kDModel));
    attn_ = register_module("attn", CausalSelfAttention());
    ln2_ = register_module("ln2", nn::LayerNorm(kDModel));
    fc1_ = register_module("fc1", nn::Linear(kDModel, 4 * kDModel));
    fc2_ = register_module("fc2", nn::Linear(4 * kDModel, kDModel));
  }
  sn::Tensor forward(const sn::Tensor& x) override {
    sn::Tensor h = sn::add(x, (*attn_)((*ln1_)(x)));
    return sn::add(h, (*fc2_)(sn::gelu((*fc1_)((*ln2_)(h)))));
  }

 private:
  std::shared_ptr<nn::LayerNorm> ln1_, ln2_;
  std::shared_ptr<CausalSelfAttention> attn_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

class TinyGPT : public nn::Module {
 public:
  TinyGPT() {
    tok_ = register_module("tok_emb", nn::Embedding(kVocab, kDModel));
    pos_ = register_module("pos_emb", nn::Embedding(kContext, kDModel));
    for (int64_t i = 0; i < kLayers; ++i)
      blocks_.push_back(register_module("block" + std::to_string(i), Block()));
    ln_f_ = register_module("ln_f", nn::LayerNorm(kDModel));
    head_ = register_module("head", nn::Linear(kDModel, kVocab));
    // Linear/Embedding weights N(0, 0.02), Linear biases 0 (LayerNorm keeps ones/zeros)
    for (auto& [name, p] : named_parameters()) {
      const bool is_ln = name.find("ln") != std::string::npos;
      if (is_ln) continue;
      if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0)
        nn::init::normal_(p, 0.0, 0.02);
      else
        nn::init::zeros_(p);
    }
  }
  sn::Tensor forward(const sn::Tensor& idx) override {
    const int64_t t = idx.size(1);
    sn::Tensor x = sn::add((*tok_)(idx), (*pos_)(sn::arange(t, {.dtype = sn::kInt64})));
    for (auto& b : blocks_) x = (*b)(x);
    return (*head_)((*ln_f_)(x));
  }

 private:
  std::shared_ptr<nn::Embedding> tok_, pos_;
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<nn::LayerNorm> ln_f_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  sn::manual_seed(0);
  TinyGPT model;
  sn::optim::AdamW opt(model.parameters(), {.lr = 3e-4, .weight_decay = 0.01});
  std::vector<sn::Tensor> pool;
  for (int i = 0; i < 8; ++i) pool.push_back(sn::randint(0, kVocab, {kBatch, kContext + 1}));
  size_t i = 0;
  sn::Tensor loss;
  double first_loss = -1;
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
  Json()
      .s("bench", "gpt_train")
      .s("case", "gpt train step 16x64")
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("params", static_cast<double>(model.num_parameters()))
      .n("tokens_per_step", kBatch * kContext)
      .steps(t)
      .n("tokens_per_s", kBatch * kContext / t.median_s)
      .n("first_loss", first_loss)
      .n("final_loss", loss.item())
      .print();
  return 0;
}
