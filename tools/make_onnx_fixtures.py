"""ONNX fixtures for the ONNX import tests (Tests/SPConvLabTests/Fixtures/onnx/).

Exports small CNNs with torch.onnx.export (TorchScript exporter, opset 17) and writes, beside
each `<name>.onnx`, `<name>.json` with what PyTorch itself says about the model, counted here
independently of our code: parameters (`sum(p.numel())`), MACs of every convolution and linear
layer from forward hooks (the conventions of docs/COST.md), the input shape and the output shape.

    python3 tools/make_onnx_fixtures.py
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "SPConvLabTests", "Fixtures", "onnx")


class Shuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


class Mixed(nn.Module):
    """Every kind of block the issue names, narrow: a plain conv stem, a depthwise-separable
    block with ReLU6 (Clip), squeeze-excitation, a channel shuffle, a densenet-style concat,
    pooling and a linear classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU6(),
                                nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.se = SqueezeExcite(16, 4)
        self.shuffle = Shuffle(4)
        self.dense = nn.Conv2d(16, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.shuffle(self.se(self.dw(x)))
        x = torch.cat([x, torch.relu(self.dense(x))], 1)
        x = self.pool(x)
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def macs(model, x):
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        out = model(x)
    for h in handles:
        h.remove()
    return total, list(out.shape)


def export(name, model, shape):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(*shape)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, (x,), path, input_names=["image"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    m, out_shape = macs(model, x[:1])
    # The exporter folds each BatchNorm into the convolution before it, so the file's weights
    # differ from the module's parameters: count both (the file's with the onnx library).
    proto = onnx.load(path)
    file_parameters = sum(int(np.prod(t.dims)) for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    info = dict(input_shape=list(shape[1:]), output_shape=out_shape[1:],
                parameters=sum(p.numel() for p in model.parameters()), file_parameters=file_parameters,
                macs=m, nodes=[[n.name, n.op_type] for n in proto.graph.node if n.op_type != "Constant"],
                torch=torch.__version__, onnx=onnx.__version__)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {info}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    export("mixed", Mixed(), (2, 3, 16, 16))
    return 0


if __name__ == "__main__":
    sys.exit(main())
