#!/usr/bin/python3
"""ONNX files exported by PyTorch 1.13.1 and their outputs, for sinapsis's ONNX import
(tests/onnx/import_test.cpp).

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_onnx.py
Writes tests/golden/onnx/<name>.onnx and tests/golden/onnx/onnx.json. Each model is small, built
with a fixed seed, put in eval mode and exported by torch.onnx.export with a dynamic batch
dimension "N"; the JSON holds, per model, the input (a batch of 4) and PyTorch's output on it,
and the op types of the exported graph (what import has to read). The ResNet is exported with
TrainingMode.PRESERVE so that its BatchNormalization nodes stay (EVAL would fold them into the
convolutions); its running statistics are made non-trivial first. No python onnx package is
needed: torch.onnx.export writes the protobuf itself.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc3(torch.tanh(self.fc2(F.relu(self.fc1(x)))))


class LeNet(nn.Module):
    """LeNet-5's shape on 16x16 images; x.view(x.size(0), -1) as the tutorials write it."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class LSTMNet(nn.Module):
    """An LSTM over [N, T, 6] and a linear head on the last step."""

    def __init__(self, cell=nn.LSTM):
        super().__init__()
        self.rnn = cell(6, 8, batch_first=True)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1, :])


class Encoder(nn.Module):
    """Two post-norm transformer encoder layers (GELU), mean over time, a linear head."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


def op_types(path):
    """The graph's node op types, read without the onnx package: torch's own export graph is
    gone by now, so the file's NodeProto op_type strings are found by a tiny protobuf walk."""

    def varint(b, i):
        v = s = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << s
            s += 7
            if c < 0x80:
                return v, i

    def fields(b):
        i = 0
        while i < len(b):
            key, i = varint(b, i)
            f, t = key >> 3, key & 7
            if t == 0:
                v, i = varint(b, i)
            elif t == 1:
                v, i = b[i:i + 8], i + 8
            elif t == 5:
                v, i = b[i:i + 4], i + 4
            elif t == 2:
                n, i = varint(b, i)
                v, i = b[i:i + n], i + n
            else:
                raise ValueError("wire type %d" % t)
            yield f, v

    data = open(path, "rb").read()
    ops = []
    for f, v in fields(data):
        if f == 7:  # ModelProto.graph
            for gf, gv in fields(v):
                if gf == 1:  # GraphProto.node
                    for nf, nv in fields(gv):
                        if nf == 4:  # NodeProto.op_type
                            ops.append(nv.decode())
    return ops


def export(name, model, x, opset, training=torch.onnx.TrainingMode.EVAL):
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=opset,
                      training=training, do_constant_folding=True)
    with torch.no_grad():
        y = model(x)
    ops = op_types(path)
    print("%-12s %6d bytes  %s" % (name, os.path.getsize(path), " ".join(ops)))
    return {
        "file": name + ".onnx",
        "opset": opset,
        "input_shape": list(x.shape),
        "input": [float(v) for v in x.reshape(-1).tolist()],
        "output_shape": list(y.shape),
        "output": [float(v) for v in y.reshape(-1).tolist()],
        "ops": sorted(set(ops)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    torch.manual_seed(0)
    cases["mlp"] = export("mlp", MLP(), torch.randn(4, 20), 13)
    torch.manual_seed(1)
    cases["lenet"] = export("lenet", LeNet(), torch.randn(4, 1, 16, 16), 13)
    torch.manual_seed(2)
    resnet = ResNet()
    # running statistics that are not 0 and 1, from a few batches in training mode
    resnet.train()
    with torch.no_grad():
        for _ in range(3):
            resnet(torch.randn(8, 3, 8, 8) * 2 + 0.5)
    cases["resnet"] = export("resnet", resnet, torch.randn(4, 3, 8, 8), 17,
                             torch.onnx.TrainingMode.PRESERVE)
    torch.manual_seed(3)
    cases["lstm"] = export("lstm", LSTMNet(), torch.randn(4, 5, 6), 17)
    torch.manual_seed(4)
    cases["gru"] = export("gru", LSTMNet(nn.GRU), torch.randn(4, 5, 6), 17)
    torch.manual_seed(5)
    cases["transformer"] = export("transformer", Encoder(), torch.randn(4, 5, 16), 17)
    with open(os.path.join(OUT, "onnx.json"), "w") as f:
        json.dump({"generator": "tests/golden/gen_onnx.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
