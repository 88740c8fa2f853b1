#!/usr/bin/env python3
"""Independent PyTorch definition of the SPConvLab model zoo.

This is a reference implementation of the zoo contract used by the Swift
toolkit (vanilla and SPConv variants of CIFAR ResNet-20/56/110, CIFAR VGG-16,
ImageNet-layout ResNet-18/50). It was written from the zoo spec, with the
authors' SPConv_3x3 ("Split to Be Slim", Zhang et al., IJCAI 2020) used only as
a behavioural reference.

Usage:
    from torch_zoo import build
    m = build("resnet20", "spconv", ratio=0.5, groups=2)

CLI:
    python3 tools/torch_zoo.py params     # parameter-count table
"""
from __future__ import annotations

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = ("resnet20", "resnet56", "resnet110", "vgg16", "resnet18", "resnet50")
CIFAR_MODELS = ("resnet20", "resnet56", "resnet110", "vgg16")
VARIANTS = ("vanilla", "spconv")


# --------------------------------------------------------------------------
# SPConv
# --------------------------------------------------------------------------
class SPConv(nn.Module):
    """Split-based 3x3 convolution replacement.

    Representative part (first c_rep = int(C_in * ratio) channels):
        U_rep = bn1(gwc(x_rep) + pwc(avgpool2(x_rep) if stride 2 else x_rep))
    Redundant part (remaining channels):
        U_red = bn2(conv1x1(avgpool2(x_red) if stride 2 else x_red))
    Fusion: per (sample, channel) softmax over (GAP(U_rep), GAP(U_red)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 ratio: float = 0.5, groups: int = 2):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"SPConv supports stride 1 or 2, got {stride}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.ratio = ratio
        self.groups = groups
        self.c_rep = int(in_channels * ratio)
        self.c_red = in_channels - self.c_rep
        if self.c_rep <= 0 or self.c_red <= 0:
            raise ValueError(f"ratio {ratio} leaves an empty split of {in_channels} channels")
        self.gwc = nn.Conv2d(self.c_rep, out_channels, 3, stride=stride, padding=1,
                             groups=groups, bias=False)
        self.pwc = nn.Conv2d(self.c_rep, out_channels, 1, bias=False)
        self.conv1x1 = nn.Conv2d(self.c_red, out_channels, 1, bias=True)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_rep = x[:, : self.c_rep]
        x_red = x[:, self.c_rep:]
        if self.stride == 2:
            p_rep = F.avg_pool2d(x_rep, 2, 2)
            x_red = F.avg_pool2d(x_red, 2, 2)
        else:
            p_rep = x_rep
        u_rep = self.bn1(self.gwc(x_rep) + self.pwc(p_rep))
        u_red = self.bn2(self.conv1x1(x_red))
        s = torch.stack((u_rep.mean(dim=(2, 3)), u_red.mean(dim=(2, 3))), dim=0)
        w = torch.softmax(s, dim=0)  # (2, N, C)
        return w[0][:, :, None, None] * u_rep + w[1][:, :, None, None] * u_red


def conv3x3(cin, cout, stride, variant, ratio, groups):
    if variant == "spconv":
        return SPConv(cin, cout, stride, ratio, groups)
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


# --------------------------------------------------------------------------
# Blocks (shared by CIFAR and ImageNet ResNets)
# --------------------------------------------------------------------------
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, variant, ratio, groups):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride, variant, ratio, groups)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, 1, variant, ratio, groups)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, variant, ratio, groups):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride, variant, ratio, groups)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------
class CifarResNet(nn.Module):
    def __init__(self, n, variant, ratio, groups, in_channels, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin = 16
        for i, (planes, stride) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, planes, stride if j == 0 else 1,
                                         variant, ratio, groups))
                cin = planes
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ImageNetResNet(nn.Module):
    def __init__(self, block, layers, variant, ratio, groups, in_channels, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
            stride = 1 if i == 1 else 2
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, stride if j == 0 else 1,
                                    variant, ratio, groups))
                cin = planes * block.expansion
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
             512, 512, 512, "M", 512, 512, 512, "M")


class VGG(nn.Module):
    def __init__(self, cfg, variant, ratio, groups, in_channels, classes):
        super().__init__()
        layers = []
        cin = in_channels
        first = True
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            if variant == "spconv" and not first:
                layers.append(SPConv(cin, v, 1, ratio, groups))
            else:
                layers.append(nn.Conv2d(cin, v, 3, padding=1, bias=True))
            layers += [nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            cin = v
            first = False
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def build(model: str, variant: str = "vanilla", ratio: float = 0.5, groups: int = 2,
          in_channels: int = 3, classes: int | None = None) -> nn.Module:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    if classes is None:
        classes = 10 if model in CIFAR_MODELS else 1000
    cifar_n = {"resnet20": 3, "resnet56": 9, "resnet110": 18}
    if model in cifar_n:
        return CifarResNet(cifar_n[model], variant, ratio, groups, in_channels, classes)
    if model == "vgg16":
        return VGG(VGG16_CFG, variant, ratio, groups, in_channels, classes)
    if model == "resnet18":
        return ImageNetResNet(BasicBlock, (2, 2, 2, 2), variant, ratio, groups, in_channels, classes)
    if model == "resnet50":
        return ImageNetResNet(Bottleneck, (3, 4, 6, 3), variant, ratio, groups, in_channels, classes)
    raise ValueError(f"unknown model {model!r}")


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def count_macs(m: nn.Module, input_size: int, in_channels: int = 3) -> dict:
    """Multiply-accumulates per image, counted by forward hooks on Conv2d and Linear only.

    conv:   out_elems * (C_in / groups) * kh * kw   (out_elems = C_out * H_out * W_out)
    linear: in_features * out_features
    Pools, BN, ReLU, the SPConv fusion (GAP/softmax/weighted sum) and additions are not counted.
    """
    tot = {"conv": 0, "linear": 0}

    def conv_hook(mod, inp, out):
        kh, kw = mod.kernel_size
        tot["conv"] += out[0].numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod, inp, out):
        tot["linear"] += mod.in_features * mod.out_features

    hooks = []
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    was_training = m.training
    m.eval()
    try:
        with torch.no_grad():
            m(torch.zeros(1, in_channels, input_size, input_size))
    finally:
        for h in hooks:
            h.remove()
        m.train(was_training)
    tot["total"] = tot["conv"] + tot["linear"]
    return tot


def default_input_size(model: str) -> int:
    return 32 if model in CIFAR_MODELS else 224


def param_rows():
    """(section, model, variant, ratio, groups, params): default options, then the paper checks."""
    rows = []
    for model in MODELS:
        rows.append(("default", model, "vanilla", None, None, count_params(build(model, "vanilla"))))
        rows.append(("default", model, "spconv", 0.5, 2, count_params(build(model, "spconv"))))
    for r in (0.5, 0.25, 0.125):
        rows.append(("paper", "resnet50", "spconv", r, 2,
                     count_params(build("resnet50", "spconv", r, 2))))
    rows.append(("paper", "resnet20", "vanilla", None, None, count_params(build("resnet20"))))
    rows.append(("paper", "resnet20", "spconv", 0.5, 2,
                 count_params(build("resnet20", "spconv", 0.5, 2))))
    return rows


# Values quoted in the paper (millions), for side-by-side display only.
PAPER_M = {("resnet50", 0.5): 18.34, ("resnet50", 0.25): 16.93, ("resnet50", 0.125): 16.22,
           ("resnet20", None): 0.27, ("resnet20", 0.5): 0.10}


def _main(argv):
    if len(argv) < 2 or argv[1] != "params":
        print(__doc__)
        return 2
    hdr = f"{'model':<10} {'variant':<8} {'ratio':>6} {'groups':>6} {'params':>12} {'M':>8}"
    section = None
    for sec, model, variant, r, g, n in param_rows():
        if sec != section:
            section = sec
            if sec == "default":
                print("# every model x variant, default options (CIFAR: 10 classes, ImageNet: 1000)")
                print(hdr)
            else:
                print("\n# paper checks (groups 2)")
                print(hdr + f" {'paper M':>8}")
        rs = "-" if r is None else f"1/{round(1 / r)}"
        gs = "-" if g is None else str(g)
        line = f"{model:<10} {variant:<8} {rs:>6} {gs:>6} {n:>12,} {n / 1e6:>8.3f}"
        if sec == "paper":
            line += f" {PAPER_M[(model, r)]:>8.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
