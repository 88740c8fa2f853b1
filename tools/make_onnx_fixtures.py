"""ONNX fixtures for the ONNX import tests (Tests/SPConvLabTests/Fixtures/onnx/).

Exports small CNNs with torch.onnx.export (TorchScript exporter, opset 17) and writes, beside
each `<name>.onnx`, `<name>.json` with what PyTorch itself says about the model, counted here
independently of our code: parameters (`sum(p.numel())`), MACs of every convolution and linear
layer from forward hooks (the conventions of docs/COST.md), the input shape and the output shape.
It also writes what ONNX Runtime computes on a fixed input: `<name>.input.npy`,
`<name>.output.npy`, and for the value named in the json's `probe` (a node's output) its ORT
value `<name>.probe.npy` and, from that value in NumPy, the toolkit's per-image cosine summary:
the mean |off-diagonal| of the image-averaged channel cosine matrix (`probe_mean_abs_cosine`).

Models: `mixed` (every kind of block, tiny), `ops` (the rest of the op set: pad, split, slice,
average pooling without the padding counted, hard activations, softmax), `resnet18` (torchvision's layout at a quarter of
its widths: 16-32-64-128 channels) and `mobilenet_v2` (torchvision's layout at width 0.25), both
written out here so no torchvision is needed, on 32x32 inputs.

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


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's modules and names, widths divided by 4."""

    def __init__(self, classes=10, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [width, width * 2, width * 4, width * 8]
        cin = width
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, c, stride), BasicBlock(c, c, 1)))
            cin = c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_relu6(cin, cout, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers = [] if expand == 1 else [conv_bn_relu6(cin, hidden, 1, 1)]
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision.models.mobilenet_v2's layout (t, c, n, s table) at width multiplier 0.25."""

    def __init__(self, classes=10, width=0.25):
        super().__init__()
        def ch(c):
            return max(8, int(c * width + 4) // 8 * 8)
        table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        cin = ch(32)
        features = [conv_bn_relu6(3, cin, 3, 2)]
        for t, c, n, s in table:
            for i in range(n):
                features.append(InvertedResidual(cin, ch(c), s if i == 0 else 1, t))
                cin = ch(c)
        features.append(conv_bn_relu6(cin, 1280 // 4, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280 // 4, classes))

    def forward(self, x):
        x = torch.nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class Ops(nn.Module):
    """The rest of the supported op set: Pad (asymmetric), Split, Slice with a step, AveragePool
    without the padding counted, HardSwish, HardSigmoid, LeakyRelu, Sub, Div, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3)
        self.mix = nn.Conv2d(8, 8, 1)
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.nn.functional.pad(x, (1, 2, 0, 1))
        x = self.conv(x)
        a, b, c = torch.split(x, [4, 4, 4], dim=1)
        y = torch.cat([torch.nn.functional.hardswish(a) - c, torch.nn.functional.leaky_relu(b, 0.1) / 2], 1)
        y = self.pool(torch.nn.functional.hardsigmoid(self.mix(y[:, :, 1::2, :])))
        y = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1)
        return torch.softmax(self.fc(y), dim=1)


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


def ort_fixtures(path, name, x, probe):
    """ORT's output on x, ORT's value of `probe`, and NumPy's mean |cosine| of its channel maps."""
    import onnxruntime as ort
    proto = onnx.load(path)
    proto.graph.output.append(onnx.helper.make_tensor_value_info(probe, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    output, value = session.run(["logits", probe], {"image": x.numpy()})
    np.save(os.path.join(OUT, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + ".output.npy"), output.astype(np.float32))
    np.save(os.path.join(OUT, name + ".probe.npy"), value.astype(np.float32))
    # The toolkit's `per-image` cosine (docs/REDUNDANCY.md): each image's cosine matrix of its
    # flattened channel maps (a zero channel has similarity 0 with the others), averaged over the
    # images; then the mean |off-diagonal| entry.
    mats = []
    for image in value.astype(np.float64):
        flat = image.reshape(image.shape[0], -1)
        norms = np.linalg.norm(flat, axis=1)
        unit = flat / np.where(norms == 0, 1, norms)[:, None]
        mats.append(unit @ unit.T)
    mean = np.mean(mats, axis=0)
    c = mean.shape[0]
    off = np.abs(mean[~np.eye(c, dtype=bool)])
    return float(off.mean()), list(value.shape)


def export(name, model, shape, probe):
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
    import onnxruntime
    info["probe"] = probe
    info["probe_mean_abs_cosine"], info["probe_shape"] = ort_fixtures(path, name, x, probe)
    info["onnxruntime"] = onnxruntime.__version__
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {info}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    export("mixed", Mixed(), (2, 3, 16, 16), "/se/Mul_output_0")
    torch.manual_seed(1)
    export("resnet18", ResNet18(), (2, 3, 32, 32), "/layer1/layer1.1/relu_1/Relu_output_0")
    torch.manual_seed(2)
    export("mobilenet_v2", MobileNetV2(), (2, 3, 32, 32), "/features/features.3/conv/conv.0/conv.0.2/Clip_output_0")
    torch.manual_seed(3)
    export("ops", Ops(), (2, 3, 15, 13), "/Concat_1_output_0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
