#!/usr/bin/python3
"""Golden values for the recurrent layers (tests/rnn/), from PyTorch 1.13.1.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_rnn.py
Writes tests/golden/rnn.json. Each case holds the module's options, its state_dict (PyTorch's
names), the inputs, the outputs and the gradients of
    E = sum(y * gy) + sum(h_n * gh) [+ sum(c_n * gc)]
with respect to the input, the initial states and every parameter, all computed in float64.
Variable lengths go through pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence
(total_length=T), so y is zero past each sequence's end.
"""
import json
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(1234)


def rnd(*shape):
    return torch.randn(*shape).float().double()


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def layer_case(name, cls, I, H, T, B, opts, with_state=True, lengths=None):
    m = cls(I, H, **opts).double()
    L = opts.get("num_layers", 1)
    D = 2 if opts.get("bidirectional", False) else 1
    P = opts.get("proj_size", 0) or H
    bf = opts.get("batch_first", False)
    is_lstm = cls is torch.nn.LSTM
    x = rnd(B, T, I) if bf else rnd(T, B, I)
    x.requires_grad_(True)
    h0 = rnd(L * D, B, P).requires_grad_(True) if with_state else None
    c0 = rnd(L * D, B, H).requires_grad_(True) if (with_state and is_lstm) else None
    state = None
    if with_state:
        state = (h0, c0) if is_lstm else h0
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=bf,
                                      enforce_sorted=False)
        out, st = m(packed, state)
        y, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
    else:
        y, st = m(x, state)
    h_n, c_n = (st if is_lstm else (st, None))
    gy, gh = rnd(*y.shape), rnd(*h_n.shape)
    E = (y * gy).sum() + (h_n * gh).sum()
    gc = None
    if is_lstm:
        gc = rnd(*c_n.shape)
        E = E + (c_n * gc).sum()
    E.backward()
    c = {"name": name, "type": cls.__name__, "input_size": I, "hidden_size": H,
         "options": opts, "x": enc(x), "y": enc(y), "h_n": enc(h_n), "gy": enc(gy),
         "gh": enc(gh), "dx": enc(x.grad)}
    c["params"] = {k: enc(v) for k, v in m.state_dict().items()}
    c["param_order"] = list(m.state_dict().keys())
    c["grads"] = {k: enc(p.grad) for k, p in m.named_parameters()}
    if lengths is not None:
        c["lengths"] = lengths
    if with_state:
        c["h0"], c["dh0"] = enc(h0), enc(h0.grad)
    if is_lstm:
        c["c_n"], c["gc"] = enc(c_n), enc(gc)
        if with_state:
            c["c0"], c["dc0"] = enc(c0), enc(c0.grad)
    return c


def cell_case(name, cls, I, H, B, opts):
    m = cls(I, H, **opts).double()
    is_lstm = cls is torch.nn.LSTMCell
    x = rnd(B, I).requires_grad_(True)
    h = rnd(B, H).requires_grad_(True)
    cs = rnd(B, H).requires_grad_(True) if is_lstm else None
    out = m(x, (h, cs)) if is_lstm else m(x, h)
    h1, c1 = out if is_lstm else (out, None)
    gh = rnd(*h1.shape)
    E = (h1 * gh).sum()
    gc = None
    if is_lstm:
        gc = rnd(*c1.shape)
        E = E + (c1 * gc).sum()
    E.backward()
    c = {"name": name, "type": cls.__name__, "input_size": I, "hidden_size": H,
         "options": opts, "x": enc(x), "h0": enc(h), "h_n": enc(h1), "gh": enc(gh),
         "dx": enc(x.grad), "dh0": enc(h.grad)}
    c["params"] = {k: enc(v) for k, v in m.state_dict().items()}
    c["param_order"] = list(m.state_dict().keys())
    c["grads"] = {k: enc(p.grad) for k, p in m.named_parameters()}
    if is_lstm:
        c.update({"c0": enc(cs), "c_n": enc(c1), "gc": enc(gc), "dc0": enc(cs.grad)})
    return c


nn = torch.nn
cases = [
    layer_case("rnn_tanh_2layers", nn.RNN, 5, 4, 6, 3, {"num_layers": 2}),
    layer_case("rnn_relu_bidir_batch_first", nn.RNN, 5, 4, 5, 2,
               {"nonlinearity": "relu", "bidirectional": True, "batch_first": True}),
    layer_case("rnn_nobias_nostate", nn.RNN, 3, 4, 4, 2, {"bias": False}, with_state=False),
    layer_case("lstm_1layer", nn.LSTM, 5, 4, 6, 3, {}),
    layer_case("lstm_2layers", nn.LSTM, 5, 4, 6, 3, {"num_layers": 2}),
    layer_case("lstm_bidir_batch_first", nn.LSTM, 5, 4, 5, 2,
               {"bidirectional": True, "batch_first": True}),
    layer_case("lstm_proj", nn.LSTM, 5, 6, 5, 3, {"proj_size": 3}),
    layer_case("lstm_proj_2layers_bidir", nn.LSTM, 4, 5, 4, 2,
               {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
    layer_case("lstm_nostate", nn.LSTM, 3, 4, 4, 2, {}, with_state=False),
    layer_case("lstm_lengths", nn.LSTM, 4, 3, 6, 4, {"num_layers": 2}, lengths=[6, 2, 4, 1]),
    layer_case("lstm_lengths_bidir_proj", nn.LSTM, 4, 5, 5, 3,
               {"bidirectional": True, "proj_size": 2, "batch_first": True},
               lengths=[3, 5, 1]),
    layer_case("gru_1layer", nn.GRU, 5, 4, 6, 3, {}),
    layer_case("gru_2layers_bidir", nn.GRU, 5, 4, 5, 2,
               {"num_layers": 2, "bidirectional": True}),
    layer_case("gru_nobias_batch_first", nn.GRU, 3, 4, 4, 2,
               {"bias": False, "batch_first": True}),
    layer_case("gru_lengths_bidir", nn.GRU, 4, 3, 5, 3, {"bidirectional": True},
               lengths=[2, 5, 3]),
    layer_case("rnn_lengths", nn.RNN, 4, 3, 5, 3, {"num_layers": 2}, lengths=[5, 1, 3]),
    cell_case("lstm_cell", nn.LSTMCell, 5, 4, 3, {}),
    cell_case("gru_cell", nn.GRUCell, 5, 4, 3, {}),
    cell_case("rnn_cell_tanh", nn.RNNCell, 5, 4, 3, {}),
    cell_case("rnn_cell_relu_nobias", nn.RNNCell, 5, 4, 3, {"nonlinearity": "relu", "bias": False}),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn.json")
with open(out, "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
print(f"wrote {out}: {len(cases)} cases")
