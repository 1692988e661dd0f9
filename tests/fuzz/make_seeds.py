#!/usr/bin/python3
# Writes the seed inputs of tests/fuzz/corpus/ (small valid files of each format and a few
# near-misses). Crashing inputs the fuzzers find are added next to them by hand, named crash-*.
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def st(entries, meta=None):
    header, body, off = {}, b"", 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        body += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body


put("safetensors", "f32", st([("w", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))], {"a": "b"}))
put("safetensors", "mixed", st([("a", "F64", [1], struct.pack("<d", 0.5)),
                                ("b", "I64", [2], struct.pack("<2q", -1, 7)),
                                ("c", "BOOL", [3], b"\x01\x00\x01"),
                                ("d", "F16", [2], struct.pack("<2H", 0x3c00, 0x8001)),
                                ("e", "BF16", [1], struct.pack("<H", 0x3f80)),
                                ("f", "U8", [2], b"\x05\xff"),
                                ("g", "I32", [1], struct.pack("<i", -9)),
                                ("h", "I16", [1], struct.pack("<h", -3)),
                                ("i", "I8", [1], b"\x80"),
                                ("s", "F32", [], struct.pack("<f", 1)),
                                ("z", "F32", [0, 4], b"")]))
put("safetensors", "overlap", st([("a", "F32", [1], b"\0" * 4)])[:-4] + b"\0" * 8)
put("safetensors", "empty", st([]))

def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


put("idx", "u8", idx(0x08, [2, 2, 3], bytes(range(12))))
put("idx", "u8.gz", gzip.compress(idx(0x08, [3, 2], bytes(range(6)))))
put("idx", "i8", idx(0x09, [3], b"\x80\x00\x7f"))
put("idx", "i16", idx(0x0B, [2], struct.pack(">2h", -2, 300)))
put("idx", "i32", idx(0x0C, [1, 2], struct.pack(">2i", -5, 1 << 20)))
put("idx", "f32", idx(0x0D, [2], struct.pack(">2f", 1.5, -0.25)))
put("idx", "f64.gz", gzip.compress(idx(0x0E, [1], struct.pack(">d", 2.0))))
put("idx", "truncated", idx(0x08, [10, 10], b"\0" * 5))

put("csv", "classes", b"a,b,label\n1,2,x\n3.5,-1e3,y\n0,0,x\n")
put("csv", "quoted", b"\xef\xbb\xbf\"a\",b,label\r\n\"1\",2,\"q \"\"x\"\"\"\r\n")
put("csv", "ints", b"label,f\n10,1\n3,2\n")
put("csv", "bad", b"a,label\n1,x\nnan,y\n")

# model specs (fuzz_spec): the presets' shapes, every block kind, and a few near-misses
def spec(name, obj):
    put("spec", name, json.dumps(obj).encode())


spec("mlp", {"name": "m", "input": [1, 4, 4], "layers": [
    {"type": "Flatten"}, {"type": "Linear", "out": 8, "name": "fc"}, {"type": "ReLU"},
    {"type": "Dropout", "p": 0.1}, {"type": "Linear", "out": 3, "bias": False}]})
spec("conv", {"input": [2, 8, 8], "layers": [
    {"type": "Conv2d", "out": 4, "kernel": 3, "padding": 1, "stride": [1, 1]},
    {"type": "BatchNorm2d"}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel": 2},
    {"type": "ResNetBlock", "out": 4}, {"type": "GroupNorm", "groups": 2},
    {"type": "AvgPool2d", "kernel": 2}, {"type": "AdaptiveAvgPool2d", "output": 1},
    {"type": "Flatten"}, {"type": "Linear", "out": 2}]})
spec("blocks", {"input": [6], "layers": [
    {"type": "Residual", "body": [{"type": "Linear", "out": 6}, {"type": "Tanh"}],
     "shortcut": [{"type": "Identity"}]},
    {"type": "Parallel", "dim": 1, "branches": [[{"type": "Linear", "out": 2}],
                                                [{"type": "Sequential", "layers": [
                                                    {"type": "Linear", "out": 3},
                                                    {"type": "GELU", "approximate": "tanh"}]}]]},
    {"type": "LayerNorm"}, {"type": "Softmax", "dim": -1}]})
spec("seq", {"input": [5, 4], "layers": [
    {"type": "LSTM", "hidden_size": 3, "num_layers": 1},
    {"type": "GRU", "hidden_size": 4, "bidirectional": True},
    {"type": "RNN", "hidden_size": 4, "nonlinearity": "relu"},
    {"type": "MultiheadAttention", "num_heads": 2, "causal": True},
    {"type": "TransformerEncoder", "nhead": 2, "num_layers": 1, "dim_feedforward": 8,
     "dropout": 0.0, "norm": True}]})
spec("tokens", {"input": [6], "input_dtype": "int64", "layers": [
    {"type": "GPT", "vocab_size": 7, "n_layer": 1, "n_head": 2, "n_embd": 8, "block_size": 8}]})
spec("embed", {"input": [3], "input_dtype": "int64", "layers": [
    {"type": "Embedding", "num_embeddings": 5, "embedding_dim": 4},
    {"type": "Conv1d", "out": 2, "kernel": 1}, {"type": "MaxPool1d", "kernel": 1}]})
spec("unknown-key", {"input": [2], "layers": [{"type": "Linear", "otu": 3}]})
spec("huge", {"input": [2], "layers": [{"type": "Linear", "out": 2147483647}]})
put("spec", "deep", b'{"input": [2], "layers": ' + b"[" * 200 + b"]" * 200 + b"}")
put("spec", "truncated", b'{"input": [2], "layers": [{"type": "Linear", "out": 3}')
