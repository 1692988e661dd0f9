#!/usr/bin/python3
"""Golden values for tests/transformer/, from PyTorch 1.13.1 (Debian's python3-torch).

For each case this builds a torch module (MultiheadAttention, TransformerEncoderLayer,
TransformerDecoderLayer, TransformerEncoder, TransformerDecoder) in float64, gives every parameter
random values (PyTorch's init leaves the biases at zero, which would hide bias bugs), runs it in
training mode with dropout 0 (so the fast paths are off and the result is deterministic) and
backpropagates loss = sum(y * gy) [+ sum(weights * gw)] to the inputs and every parameter.

Writes tests/golden/transformer.safetensors: per case "<case>/<state_dict key>" (the state_dict the
C++ side loads), "<case>/in/<name>" (inputs and masks), "<case>/out/<name>", "<case>/gout/<name>"
(the cotangents), "<case>/grad/in/<name>" and "<case>/grad/<state_dict key>". The metadata key
"cases" holds the list of cases with their module options as JSON.
Run: /usr/bin/python3 tests/golden/gen_transformer.py      (deterministic)
"""
import json
import os

import numpy as np
import torch
import torch.nn as tnn

from gen_safetensors import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1913)


def rnd(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float64) * scale)


def randomize(module):
    with torch.no_grad():
        for mod in module.modules():
            for name, p in mod.named_parameters(recurse=False):
                if isinstance(mod, tnn.LayerNorm):  # weight near 1, bias near 0
                    p.copy_((1.0 if name == "weight" else 0.0) + rnd(*p.shape, scale=0.2))
                else:
                    p.copy_(rnd(*p.shape, scale=0.4))


def bool_mask(shape, p, keep_rows_alive=True):
    """True = masked out (the module convention). Each row keeps its first allowed key, so no
    query is fully masked (PyTorch 1.13 would give NaN there)."""
    m = torch.rand(*shape) < p
    if keep_rows_alive:
        m[..., 0] = False
    return m


ENTRIES = []
CASES = []


def put(key, t):
    t = t.detach()
    if t.dtype == torch.bool:
        ENTRIES.append((key, "BOOL", tuple(t.shape), t.numpy().astype("u1").tobytes()))
    else:
        ENTRIES.append((key, "F64", tuple(t.shape),
                        np.ascontiguousarray(t.double().numpy(), dtype="<f8").tobytes()))


def run_case(name, config, module, inputs, call):
    """inputs: ordered dict name -> tensor (None = not given); call(module, inputs) -> dict of
    outputs (None entries skipped)."""
    module = module.double()
    randomize(module)
    module.train()
    for k, v in module.state_dict().items():
        put(f"{name}/{k}", v)
    leaves = {}
    for k, v in inputs.items():
        if v is None:
            continue
        put(f"{name}/in/{k}", v)
        if v.is_floating_point() and not k.endswith("mask"):
            v.requires_grad_(True)
            leaves[k] = v
    outs = call(module, inputs)
    loss = 0
    for k, y in outs.items():
        if y is None:
            continue
        gy = rnd(*y.shape)
        put(f"{name}/out/{k}", y)
        put(f"{name}/gout/{k}", gy)
        loss = loss + (y * gy).sum()
    loss.backward()
    for k, v in leaves.items():
        put(f"{name}/grad/in/{k}", v.grad)
    for k, p in module.named_parameters():
        put(f"{name}/grad/{k}", p.grad)
    CASES.append({"name": name, **config, "inputs": [k for k, v in inputs.items() if v is not None],
                  "outputs": [k for k, v in outs.items() if v is not None]})


def mha_case(name, E, H, L, S, N, *, kdim=None, vdim=None, bias=True, add_bias_kv=False,
             add_zero_attn=False, batch_first=False, self_attn=False, unbatched=False,
             attn_mask=None, kpm=None, need_weights=True, average=True):
    m = tnn.MultiheadAttention(E, H, dropout=0.0, bias=bias, add_bias_kv=add_bias_kv,
                               add_zero_attn=add_zero_attn, kdim=kdim, vdim=vdim,
                               batch_first=batch_first)

    def shape(T, F):
        if unbatched:
            return (T, F)
        return (N, T, F) if batch_first else (T, N, F)

    q = rnd(*shape(L, E))
    k = q if self_attn else rnd(*shape(S, kdim or E))
    v = q if self_attn else rnd(*shape(S, vdim or E))
    am = None
    if attn_mask == "bool2d":
        am = bool_mask((L, S), 0.3)
    elif attn_mask == "float2d":
        am = rnd(L, S)
    elif attn_mask == "float3d":
        am = rnd(N * H, L, S)
        am[:, 1, 2] = float("-inf")
    elif attn_mask == "bool3d":
        am = bool_mask((N * H, L, S), 0.3)
    kp = None
    if kpm == "bool":
        kp = bool_mask((S,) if unbatched else (N, S), 0.3)
    inputs = {"query": q} if self_attn else {"query": q, "key": k, "value": v}
    inputs.update({"key_padding_mask": kp, "attn_mask": am})

    def call(mod, ins):
        qq = ins["query"]
        kk = qq if self_attn else ins["key"]
        vv = qq if self_attn else ins["value"]
        y, w = mod(qq, kk, vv, key_padding_mask=ins["key_padding_mask"], need_weights=need_weights,
                   attn_mask=ins["attn_mask"], average_attn_weights=average)
        return {"y": y, "weights": w}

    cfg = {"type": "MultiheadAttention", "embed_dim": E, "num_heads": H, "kdim": kdim or E,
           "vdim": vdim or E, "bias": bias, "add_bias_kv": add_bias_kv,
           "add_zero_attn": add_zero_attn, "batch_first": batch_first, "self_attn": self_attn,
           "need_weights": need_weights, "average_attn_weights": average}
    run_case(name, cfg, m, inputs, call)


def seq(T, N, F, batch_first):
    return rnd(N, T, F) if batch_first else rnd(T, N, F)


def causal_float(T):
    return torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)


def causal_bool(T):
    return torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)


def layer_cfg(kind, d, H, ff, act, bf, nf):
    return {"type": kind, "d_model": d, "nhead": H, "dim_feedforward": ff, "activation": act,
            "batch_first": bf, "norm_first": nf, "layer_norm_eps": 1e-5}


def encoder_layer(d, H, ff, act, bf, nf):
    return tnn.TransformerEncoderLayer(d, H, dim_feedforward=ff, dropout=0.0, activation=act,
                                       batch_first=bf, norm_first=nf)


def decoder_layer(d, H, ff, act, bf, nf):
    return tnn.TransformerDecoderLayer(d, H, dim_feedforward=ff, dropout=0.0, activation=act,
                                       batch_first=bf, norm_first=nf)


def enc_case(name, d, H, ff, T, N, act, bf, nf, src_mask, kpm, num_layers=0):
    layer = encoder_layer(d, H, ff, act, bf, nf)
    cfg = layer_cfg("TransformerEncoderLayer", d, H, ff, act, bf, nf)
    m = layer
    if num_layers:
        m = tnn.TransformerEncoder(layer, num_layers, norm=tnn.LayerNorm(d),
                                   enable_nested_tensor=False)
        cfg.update({"type": "TransformerEncoder", "num_layers": num_layers, "final_norm": True})
    inputs = {"src": seq(T, N, d, bf), "src_mask": src_mask,
              "src_key_padding_mask": bool_mask((N, T), 0.3) if kpm else None}

    def call(mod, ins):
        if num_layers:
            return {"y": mod(ins["src"], mask=ins["src_mask"],
                             src_key_padding_mask=ins["src_key_padding_mask"])}
        return {"y": mod(ins["src"], src_mask=ins["src_mask"],
                         src_key_padding_mask=ins["src_key_padding_mask"])}

    run_case(name, cfg, m, inputs, call)


def dec_case(name, d, H, ff, T, S, N, act, bf, nf, tgt_mask, memory_mask, tgt_kpm, mem_kpm,
             num_layers=0):
    layer = decoder_layer(d, H, ff, act, bf, nf)
    cfg = layer_cfg("TransformerDecoderLayer", d, H, ff, act, bf, nf)
    m = layer
    if num_layers:
        m = tnn.TransformerDecoder(layer, num_layers, norm=tnn.LayerNorm(d))
        cfg.update({"type": "TransformerDecoder", "num_layers": num_layers, "final_norm": True})
    inputs = {"tgt": seq(T, N, d, bf), "memory": seq(S, N, d, bf), "tgt_mask": tgt_mask,
              "memory_mask": memory_mask,
              "tgt_key_padding_mask": bool_mask((N, T), 0.3) if tgt_kpm else None,
              "memory_key_padding_mask": bool_mask((N, S), 0.3) if mem_kpm else None}

    def call(mod, ins):
        return {"y": mod(ins["tgt"], ins["memory"], tgt_mask=ins["tgt_mask"],
                         memory_mask=ins["memory_mask"],
                         tgt_key_padding_mask=ins["tgt_key_padding_mask"],
                         memory_key_padding_mask=ins["memory_key_padding_mask"])}

    run_case(name, cfg, m, inputs, call)


def main():
    # MultiheadAttention
    mha_case("mha_self", 8, 2, 5, 5, 2, self_attn=True)
    mha_case("mha_cross_masks_per_head", 8, 2, 4, 5, 3, attn_mask="bool2d", kpm="bool",
             average=False)
    mha_case("mha_float3d_batch_first_no_weights", 8, 4, 4, 6, 2, batch_first=True,
             attn_mask="float3d", kpm="bool", need_weights=False)
    mha_case("mha_float2d_no_weights", 6, 3, 3, 4, 2, attn_mask="float2d", need_weights=False)
    mha_case("mha_kdim_vdim", 8, 2, 3, 5, 2, kdim=6, vdim=3, batch_first=True, kpm="bool")
    mha_case("mha_kdim_vdim_no_weights", 8, 2, 3, 5, 2, kdim=5, vdim=7, attn_mask="bool3d",
             need_weights=False)
    mha_case("mha_no_bias_unbatched", 6, 2, 4, 3, 1, bias=False, unbatched=True, kpm="bool",
             attn_mask="bool2d")
    mha_case("mha_bias_kv_zero_attn", 8, 2, 4, 5, 2, add_bias_kv=True, add_zero_attn=True,
             attn_mask="bool2d", kpm="bool")
    mha_case("mha_bias_kv_no_weights", 8, 2, 4, 5, 2, add_bias_kv=True, attn_mask="float2d",
             kpm="bool", need_weights=False)
    # encoder layers: post-norm/relu, pre-norm/gelu, both batch layouts
    enc_case("enc_post_relu", 8, 2, 16, 5, 2, "relu", False, False, causal_float(5), True)
    enc_case("enc_pre_gelu_batch_first", 8, 2, 16, 5, 3, "gelu", True, True, None, True)
    enc_case("enc_post_gelu_bool_mask", 8, 4, 12, 4, 2, "gelu", True, False, causal_bool(4), False)
    enc_case("enc_pre_relu_plain", 6, 2, 10, 4, 2, "relu", False, True, None, False)
    # decoder layers
    dec_case("dec_post_relu", 8, 2, 16, 4, 5, 2, "relu", False, False, causal_bool(4), None, False,
             True)
    dec_case("dec_pre_gelu_batch_first", 8, 2, 16, 4, 3, 2, "gelu", True, True, causal_float(4),
             bool_mask((4, 3), 0.3), True, False)
    # stacks (two layers with different weights, final LayerNorm)
    enc_case("encoder_stack", 8, 2, 16, 5, 2, "relu", False, False, causal_bool(5), True,
             num_layers=2)
    dec_case("decoder_stack", 8, 2, 12, 4, 5, 2, "gelu", True, True, causal_float(4), None, True,
             True, num_layers=2)
    write_safetensors(os.path.join(HERE, "transformer.safetensors"), ENTRIES,
                      {"generator": "tests/golden/gen_transformer.py", "torch": torch.__version__,
                       "cases": json.dumps(CASES)})


if __name__ == "__main__":
    main()
