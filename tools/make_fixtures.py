#!/usr/bin/env python3
"""Golden fixtures for the Swift tests, generated with PyTorch.

HOW TO RERUN
    cd /work/main
    pip install safetensors            # if missing (torch, numpy already needed)
    python3 tools/make_fixtures.py            # committed set (~1.5 MB)
    python3 tools/make_fixtures.py --large    # + vgg16/resnet18/resnet50 whole-net cases
                                              #   (~46 MB in Fixtures/torch/large/, git-ignored)

Everything is seeded (torch.manual_seed / numpy default_rng per case) and runs with
torch.set_num_threads(1), so reruns are bit-for-bit reproducible on the same torch build.

OUTPUT (Tests/SPConvLabTests/Fixtures/torch/)
  <case>.safetensors   state_dict of the module (keys exactly as PyTorch names them, e.g.
                       layer1.0.conv1.gwc.weight; block cases are a bare SPConv so keys are
                       gwc.weight, pwc.weight, conv1x1.weight, conv1x1.bias, bn1.*, bn2.*).
                       Float tensors are F32, or F16 when the F32 file would exceed 1 MB
                       (see fixtures.json "weights_dtype"). BN num_batches_tracked entries are
                       kept as I64 scalars (shape []), exactly as PyTorch saves them.
  <case>.input.npy     float32 NCHW input.
  <case>.output.npy    float32 model.eval() output.
  fixtures.json        per case: model, variant, ratio, groups, in_channels, classes, shapes,
                       weights_dtype, ordered state_dict keys with dtype/shape, and the max
                       |float32 forward - reference| seen in PyTorch as a tolerance hint.
  ops.safetensors      per-op cases, all F32, tensors named "<case>.<role>" with roles
                       input, weight, bias, running_mean, running_var, output.
  ops.json             per op case: op name + hyper-parameters + shapes.
  params.json          PyTorch parameter counts and hook-counted MACs for every zoo model.

HOW EXPECTED OUTPUTS ARE COMPUTED
  Weights are first rounded to their stored dtype (F32 or F16), the input is drawn in
  float32; then the module is converted to float64 and run in float64 on exactly those
  stored values; the float64 result is rounded to float32 for the .npy file. Same for the
  per-op cases (inputs/weights are stored F32; the op is evaluated in float64).

BN STATISTICS
  BN weight ~ U(0.6, 1.4), bias ~ N(0, 0.3). Running statistics are calibrated with a few
  train-mode passes on unrelated random data (cumulative average, so num_batches_tracked
  becomes 3) and then perturbed (mean += 0.05*std*N(0,1), var *= U(0.85, 1.2)), so the eval
  output depends on all four BN tensors while activations stay O(1) through deep nets.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

import torch_zoo  # this folder: Python puts a script's own folder first on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "SPConvLabTests", "Fixtures", "torch")
F16_THRESHOLD_BYTES = 1_000_000

# name, builder kwargs, input shape, committed (small) or --large only
CASES = [
    ("spconv_block_s1", dict(block=(16, 16, 1, 0.5, 2)), (2, 16, 9, 9), True),
    ("spconv_block_s2", dict(block=(16, 32, 2, 0.5, 2)), (2, 16, 8, 8), True),
    ("spconv_block_r025_g4", dict(block=(32, 32, 1, 0.25, 4)), (1, 32, 6, 6), True),
    ("resnet20_spconv", dict(model="resnet20", variant="spconv", ratio=0.5, groups=2,
                             in_channels=3, classes=10), (2, 3, 32, 32), True),
    ("resnet20_vanilla", dict(model="resnet20", variant="vanilla", in_channels=3, classes=10),
     (2, 3, 32, 32), True),
    ("resnet20_spconv_fmnist", dict(model="resnet20", variant="spconv", ratio=0.5, groups=2,
                                    in_channels=1, classes=10), (2, 1, 28, 28), True),
    ("vgg16_spconv", dict(model="vgg16", variant="spconv", ratio=0.5, groups=2,
                          in_channels=3, classes=10), (1, 3, 32, 32), False),
    ("resnet18_spconv_small", dict(model="resnet18", variant="spconv", ratio=0.25, groups=2,
                                   in_channels=3, classes=10), (1, 3, 64, 64), False),
    ("resnet50_spconv_small", dict(model="resnet50", variant="spconv", ratio=0.5, groups=4,
                                   in_channels=3, classes=10), (1, 3, 64, 64), False),
]


def make_module(spec):
    if "block" in spec:
        cin, cout, s, r, g = spec["block"]
        return torch_zoo.SPConv(cin, cout, s, r, g)
    return torch_zoo.build(**spec)


def randomize_bn(model: nn.Module, input_shape, gen: torch.Generator):
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) * 0.8 + 0.6)
            bn.bias.copy_(torch.randn(bn.bias.shape, generator=gen) * 0.3)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average during calibration
        model.train()
        calib_shape = (max(4, input_shape[0]),) + tuple(input_shape[1:])
        for _ in range(3):
            model(torch.randn(calib_shape, generator=gen))
        model.eval()
        for bn in bns:
            bn.momentum = 0.1
            std = bn.running_var.sqrt()
            bn.running_mean.add_(0.05 * std * torch.randn(std.shape, generator=gen))
            bn.running_var.mul_(torch.rand(std.shape, generator=gen) * 0.35 + 0.85)


def state_dict_bytes(sd, float_bytes):
    return sum(v.numel() * (float_bytes if v.is_floating_point() else v.element_size())
               for v in sd.values())


def gen_case(name, spec, input_shape, out_dir, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = make_module(spec)
    randomize_bn(model, input_shape, gen)
    model.eval()

    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    use_f16 = state_dict_bytes(sd, 4) > F16_THRESHOLD_BYTES
    store_dt = torch.float16 if use_f16 else torch.float32
    stored = {k: (v.to(store_dt) if v.is_floating_point() else v) for k, v in sd.items()}
    save_file(stored, os.path.join(out_dir, f"{name}.safetensors"))

    x = torch.randn(input_shape, generator=gen, dtype=torch.float32)
    np.save(os.path.join(out_dir, f"{name}.input.npy"), x.numpy())

    # reference: exact stored values, evaluated in float64
    ref_model = make_module(spec).double().eval()
    ref_model.load_state_dict({k: (v.double() if v.is_floating_point() else v)
                               for k, v in stored.items()})
    with torch.no_grad():
        y64 = ref_model(x.double())
    y = y64.float()
    np.save(os.path.join(out_dir, f"{name}.output.npy"), y.numpy())

    # float32 forward with the same stored values, to hint at a sensible tolerance
    f32_model = make_module(spec).eval()
    f32_model.load_state_dict({k: (v.float() if v.is_floating_point() else v)
                               for k, v in stored.items()})
    with torch.no_grad():
        y32 = f32_model(x)
    err32 = (y32.double() - y64).abs().max().item()

    meta = {k: v for k, v in spec.items() if k != "block"}
    if "block" in spec:
        cin, cout, s, r, g = spec["block"]
        meta = dict(module="SPConv", in_channels=cin, out_channels=cout, stride=s,
                    ratio=r, groups=g, c_rep=int(cin * r), c_red=cin - int(cin * r))
    else:
        meta["module"] = "zoo"
    meta.update(
        input_shape=list(input_shape),
        output_shape=list(y.shape),
        weights_dtype="F16" if use_f16 else "F32",
        seed=seed,
        output_abs_max=float(y.abs().max()),
        output_std=float(y.std()),
        max_abs_err_torch_f32_vs_ref=err32,
        num_params=sum(p.numel() for p in model.parameters()),
        keys=[[k, str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in stored.items()],
    )
    return meta


# --------------------------------------------------------------------------
# per-op fixtures
# --------------------------------------------------------------------------
def dump_json(obj, path):
    """json with indent, but innermost lists (shapes, key triples) kept on one line."""
    text = json.dumps(obj, indent=1)
    flat = re.compile(r"\[\s*((?:[^\[\]{}]|\[[^\[\]{}\n]*\])*?)\s*\]", re.S)

    def collapse(m):
        one = "[" + " ".join(m.group(1).split()) + "]"
        return one if len(one) <= 100 else m.group(0)

    while True:
        new = flat.sub(collapse, text)
        if new == text:
            break
        text = new
    with open(path, "w") as f:
        f.write(text + "\n")


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


CONV_CASES = [
    # name, N, C_in, H, W, C_out, k, stride, padding, dilation, groups, bias
    ("conv_g1", 2, 4, 7, 7, 6, 3, 1, 1, 1, 1, True),
    ("conv_g1_nobias_pad0", 1, 3, 5, 7, 4, 3, 1, 0, 1, 1, False),
    ("conv_g2_s2", 2, 8, 9, 9, 8, 3, 2, 1, 1, 2, True),
    ("conv_g2_s2_even", 1, 8, 8, 8, 12, 3, 2, 1, 1, 2, False),
    ("conv_g4", 2, 8, 6, 5, 12, 3, 1, 1, 1, 4, False),
    ("conv_g4_bias", 1, 16, 7, 7, 8, 3, 1, 1, 1, 4, True),
    ("conv_dw", 1, 6, 8, 8, 6, 3, 1, 1, 1, 6, True),
    ("conv_dw_s2", 2, 5, 9, 9, 5, 3, 2, 1, 1, 5, False),
    ("conv_dil2", 1, 3, 10, 10, 5, 3, 1, 2, 2, 1, True),
    ("conv_dil2_g2_s2", 1, 4, 11, 11, 6, 3, 2, 2, 2, 2, False),
    ("conv_1x1", 2, 5, 4, 4, 7, 1, 1, 0, 1, 1, False),
    ("conv_1x1_bias", 1, 6, 5, 3, 4, 1, 1, 0, 1, 1, True),
    ("conv_1x1_s2", 2, 4, 7, 7, 8, 1, 2, 0, 1, 1, False),
    ("conv_1x1_g2", 1, 8, 5, 5, 6, 1, 1, 0, 1, 2, False),
    ("conv_7x7_s2_p3", 1, 3, 16, 16, 8, 7, 2, 3, 1, 1, False),
    ("conv_5x5_p2_odd", 1, 3, 9, 7, 4, 5, 1, 2, 1, 1, True),
    ("conv_batch1_big", 1, 16, 12, 12, 16, 3, 1, 1, 1, 1, False),
]

POOL_CASES = [
    # name, op, N, C, H, W, kernel, stride, padding
    ("maxpool_k3_s2_p1", "max_pool2d", 2, 3, 9, 9, 3, 2, 1),
    ("maxpool_k3_s2_p1_even", "max_pool2d", 1, 4, 8, 8, 3, 2, 1),
    ("maxpool_k2_s2", "max_pool2d", 1, 4, 8, 8, 2, 2, 0),
    ("maxpool_k2_s2_odd", "max_pool2d", 2, 3, 7, 7, 2, 2, 0),
    ("avgpool_k2_s2", "avg_pool2d", 2, 3, 8, 8, 2, 2, 0),
    ("avgpool_k2_s2_odd", "avg_pool2d", 1, 3, 7, 9, 2, 2, 0),
    ("avgpool_k3_s2_p1", "avg_pool2d", 1, 3, 9, 9, 3, 2, 1),
    ("avgpool_k3_s2_p1_even", "avg_pool2d", 2, 2, 8, 8, 3, 2, 1),
]


def make_ops(out_dir, seed):
    tensors, meta = {}, {}
    rng = np.random.default_rng(seed)

    def rnd(*shape, scale=1.0):
        return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))

    def put(case, **kw):
        for role, t in kw.items():
            if t is not None:
                tensors[f"{case}.{role}"] = t.float().contiguous()

    for (name, n, cin, h, w, cout, k, s, p, d, g, has_bias) in CONV_CASES:
        x = rnd(n, cin, h, w)
        wt = rnd(cout, cin // g, k, k, scale=1.0 / np.sqrt(cin // g * k * k))
        b = rnd(cout) if has_bias else None
        y = F.conv2d(x.double(), wt.double(), None if b is None else b.double(),
                     stride=s, padding=p, dilation=d, groups=g)
        put(name, input=x, weight=wt, bias=b, output=y)
        meta[name] = dict(op="conv2d", kernel=_pair(k), stride=_pair(s), padding=_pair(p),
                          dilation=_pair(d), groups=g, bias=has_bias,
                          input_shape=list(x.shape), weight_shape=list(wt.shape),
                          output_shape=list(y.shape))

    for (name, op, n, c, h, w, k, s, p) in POOL_CASES:
        x = rnd(n, c, h, w)
        if op == "max_pool2d":
            y = F.max_pool2d(x.double(), k, s, p)
            extra = dict(ceil_mode=False, dilation=[1, 1])
        else:
            y = F.avg_pool2d(x.double(), k, s, p)  # count_include_pad=True (PyTorch default)
            extra = dict(ceil_mode=False, count_include_pad=True)
        put(name, input=x, output=y)
        meta[name] = dict(op=op, kernel=_pair(k), stride=_pair(s), padding=_pair(p), **extra,
                          input_shape=list(x.shape), output_shape=list(y.shape))

    for name, shape in (("adaptive_avgpool_1", (2, 5, 7, 7)), ("adaptive_avgpool_1_b1", (1, 8, 4, 6))):
        x = rnd(*shape)
        y = F.adaptive_avg_pool2d(x.double(), 1)
        put(name, input=x, output=y)
        meta[name] = dict(op="adaptive_avg_pool2d", output_size=[1, 1],
                          input_shape=list(x.shape), output_shape=list(y.shape))

    for name, shape in (("batchnorm_eval", (2, 6, 5, 5)), ("batchnorm_eval_b1", (1, 3, 4, 7))):
        c = shape[1]
        x = rnd(*shape)
        wt = torch.from_numpy(rng.uniform(0.5, 1.5, c).astype(np.float32))
        b = rnd(c, scale=0.5)
        rm = rnd(c, scale=0.5)
        rv = torch.from_numpy(rng.uniform(0.3, 2.0, c).astype(np.float32))
        y = F.batch_norm(x.double(), rm.double(), rv.double(), wt.double(), b.double(),
                         training=False, eps=1e-5)
        put(name, input=x, weight=wt, bias=b, running_mean=rm, running_var=rv, output=y)
        meta[name] = dict(op="batch_norm_eval", eps=1e-5, num_features=c,
                          input_shape=list(x.shape), output_shape=list(y.shape))

    for name, n, fin, fout, has_bias in (("linear", 3, 20, 7, True), ("linear_b1_nobias", 1, 64, 10, False)):
        x = rnd(n, fin)
        wt = rnd(fout, fin, scale=1.0 / np.sqrt(fin))
        b = rnd(fout) if has_bias else None
        y = F.linear(x.double(), wt.double(), None if b is None else b.double())
        put(name, input=x, weight=wt, bias=b, output=y)
        meta[name] = dict(op="linear", in_features=fin, out_features=fout, bias=has_bias,
                          input_shape=list(x.shape), weight_shape=list(wt.shape),
                          output_shape=list(y.shape))

    for name, shape, scale in (("softmax_dim1", (4, 5), 2.0), ("softmax_dim1_4d", (2, 3, 4, 5), 3.0),
                               ("softmax_dim1_large", (2, 6), 40.0)):
        x = rnd(*shape, scale=scale)
        y = torch.softmax(x.double(), dim=1)
        put(name, input=x, output=y)
        meta[name] = dict(op="softmax", dim=1, input_shape=list(x.shape), output_shape=list(y.shape))

    x = rnd(2, 3, 4, 4)
    put("relu", input=x, output=F.relu(x.double()))
    meta["relu"] = dict(op="relu", input_shape=list(x.shape), output_shape=list(x.shape))

    save_file(tensors, os.path.join(out_dir, "ops.safetensors"))
    doc = {
        "_convention": (
            "Tensors in ops.safetensors are F32 and named '<case>.<role>' with role in "
            "input, weight, bias, running_mean, running_var, output (bias absent when the "
            "case has bias=false). Layouts are PyTorch's: activations NCHW (or N x features "
            "for linear/softmax), conv weight [C_out, C_in/groups, kh, kw], linear weight "
            "[out, in]. Hyper-parameters kernel/stride/padding/dilation are [h, w]. Outputs "
            "were computed in float64 from the stored F32 values and rounded to F32."),
        "cases": meta,
    }
    dump_json(doc, os.path.join(out_dir, "ops.json"))
    return len(meta)


# --------------------------------------------------------------------------
# params / MACs
# --------------------------------------------------------------------------
def make_params(out_dir):
    rows = []
    for model in torch_zoo.MODELS:
        size = torch_zoo.default_input_size(model)
        configs = [("vanilla", None, None, True), ("spconv", 0.5, 2, True),
                   ("spconv", 0.25, 2, False), ("spconv", 0.125, 2, False)]
        for variant, ratio, groups, is_default in configs:
            kw = {} if variant == "vanilla" else dict(ratio=ratio, groups=groups)
            m = torch_zoo.build(model, variant, **kw)
            macs = torch_zoo.count_macs(m, size, 3)
            rows.append(dict(
                model=model, variant=variant, ratio=ratio, groups=groups,
                default_options=is_default, in_channels=3,
                classes=10 if model in torch_zoo.CIFAR_MODELS else 1000,
                params=torch_zoo.count_params(m),
                input_size=size, macs_per_image=macs["total"],
                conv_macs_per_image=macs["conv"], linear_macs_per_image=macs["linear"]))
    doc = {
        "_convention": (
            "params = sum(p.numel() for p in model.parameters()) (BN running stats excluded). "
            "MACs per image via forward hooks: Conv2d out_elems*(C_in/groups)*kh*kw, "
            "Linear in*out; pools/BN/ReLU/residual adds/SPConv fusion not counted. Input "
            "3 x input_size x input_size. Default options: ratio 0.5, groups 2, classes 10 for "
            "CIFAR models and 1000 for resnet18/50."),
        "models": rows,
    }
    dump_json(doc, os.path.join(out_dir, "params.json"))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true",
                    help="also write vgg16/resnet18/resnet50 cases into Fixtures/torch/large/")
    ap.add_argument("--out", default=OUT_DIR)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    n_ops = make_ops(args.out, seed=1234)
    print(f"ops: {n_ops} cases")
    make_params(args.out)
    print("params.json written")

    manifest_path = os.path.join(args.out, "fixtures.json")
    manifest = {"cases": {}}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    large_dir = os.path.join(args.out, "large")
    for i, (name, spec, shape, small) in enumerate(CASES):
        if not small and not args.large:
            continue
        d = args.out if small else large_dir
        os.makedirs(d, exist_ok=True)
        if not small:
            with open(os.path.join(d, ".gitignore"), "w") as f:
                f.write("# generated by tools/make_fixtures.py --large; too big to commit\n*\n")
        meta = gen_case(name, spec, shape, d, seed=100 + 10 * i)
        meta["path"] = name if small else f"large/{name}"
        meta["committed"] = small
        manifest["cases"][name] = meta
        print(f"{name}: weights {meta['weights_dtype']} out {meta['output_shape']} "
              f"|y|max {meta['output_abs_max']:.3g} f32err {meta['max_abs_err_torch_f32_vs_ref']:.2e}")
    manifest["_convention"] = (
        "Each case: <path>.safetensors (state_dict; float tensors in weights_dtype; "
        "num_batches_tracked kept as I64 scalars), <path>.input.npy (float32 NCHW), "
        "<path>.output.npy (float32, model.eval() output computed in float64 from the stored "
        "weights and input). Block cases are a bare SPConv (keys without prefix). Cases with "
        "committed=false are only present after `make_fixtures.py --large`.")
    manifest["cases"] = dict(sorted(manifest["cases"].items(),
                                    key=lambda kv: [c[0] for c in CASES].index(kv[0])))
    dump_json(manifest, manifest_path)


if __name__ == "__main__":
    main()
