#!/usr/bin/env python3
"""Golden training fixtures (forward + backward + SGD) for the Swift tests, from PyTorch.

HOW TO RERUN
    cd /work/main
    python3 tools/make_training_fixtures.py      # a few seconds, ~1.3 MB in total

OUTPUT (Tests/SPConvLabTests/Fixtures/training/), every tensor F32 and contiguous.
Labels are stored as F32 values of the class indices (0.0 .. 9.0).

  spconv_block_s1.safetensors   torch_zoo.SPConv(16, 16, stride 1, ratio 0.5, groups 2),
                                input 4x16x8x8, train() mode (batch statistics).
  spconv_block_s2.safetensors   torch_zoo.SPConv(16, 32, stride 2, ratio 0.5, groups 2),
                                input 4x16x8x8 -> output 4x32x4x4. An odd 9x9 input is NOT
                                usable: the 3x3/s2/p1 gwc gives 5x5 while avg_pool2d(2)
                                (floor mode) + pwc gives 4x4, and the torch module fails
                                on the addition. So the input is 8x8.
      keys: input, grad_output, output (forward), grad_input (d<output, grad_output>/d input),
            param.<name>  every state_dict entry before the forward (gwc.weight, pwc.weight,
                          conv1x1.weight, conv1x1.bias, bn{1,2}.{weight,bias,running_mean,
                          running_var}); num_batches_tracked is skipped everywhere,
            grad.<name>   every named_parameter's gradient,
            after.<name>  bn{1,2}.running_mean / running_var after the single forward
                          (momentum 0.1, running_var updated with the UNBIASED batch variance
                          n/(n-1), n = N*H*W; normalisation itself uses the biased variance).
      Weights: conv weights randn*0.2, conv1x1 bias randn*0.1, BN weight U(0.5,1.5),
      BN bias randn*0.1, running_mean randn*0.1, running_var U(0.5,1.5); eps 1e-5.

  resnet20_spconv_step.safetensors
      torch_zoo.build("resnet20", "spconv", ratio=0.5, groups=2, in_channels=1, classes=10),
      torch.manual_seed(0) default init, then every BN's weight/bias/running stats perturbed
      as above. train() mode. Two steps of
          torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4)   (dampening 0, no Nesterov)
          loss = F.cross_entropy(logits, labels, label_smoothing=0.1)   (mean over the batch)
      on (input, labels) then (input2, labels2); inputs 8x1x28x28 randn, labels 8 ints 0..9.
      PyTorch SGD: g = grad + wd*p (wd on ALL params, BN and biases included);
      step 1: buf = g; later: buf = 0.9*buf + g; p -= lr*buf.
      keys: param.* (state_dict before step 1), input, labels, input2, labels2,
            logits (step-1 forward, 8x10), loss (shape [1], step 1),
            grad.* (parameter gradients of step 1, without weight decay),
            after.* (full state_dict after step 2: parameters and BN running stats),
            loss2 (shape [1], step-2 loss, computed with the weights after step 1).

  cross_entropy.safetensors
      logits 6x10 (randn*3), labels (6), loss_ls0 / grad_ls0 (label_smoothing 0),
      loss_ls1 / grad_ls1 (label_smoothing 0.1); mean reduction; grad = d loss / d logits;
      losses have shape [1].

PRECISION
  Every random tensor is drawn in float32 (so the stored F32 values are the exact inputs),
  then modules and inputs are converted to float64 and everything is computed in float64;
  results are rounded to float32 only when saved.
Seeded throughout (torch.manual_seed / torch.Generator), torch.set_num_threads(1).
"""
from __future__ import annotations

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

import torch_zoo  # this folder: Python puts a script's own folder first on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "SPConvLabTests", "Fixtures", "training")


def f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous().clone()


def state(module: nn.Module, prefix: str) -> dict:
    return {f"{prefix}.{k}": f32(v) for k, v in module.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def perturb_bn(module: nn.Module, gen: torch.Generator) -> None:
    """BN weight U(0.5,1.5), bias randn*0.1, running_mean randn*0.1, running_var U(0.5,1.5)."""
    with torch.no_grad():
        for bn in module.modules():
            if isinstance(bn, nn.BatchNorm2d):
                c = bn.num_features
                bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                bn.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def save(tensors: dict, name: str) -> None:
    path = os.path.join(OUT_DIR, name)
    save_file({k: f32(v) for k, v in tensors.items()}, path)
    print(f"{name:<36} {os.path.getsize(path):>9,} bytes  {len(tensors)} tensors")


def block_case(name, cin, cout, stride, input_shape, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = torch_zoo.SPConv(cin, cout, stride, 0.5, 2)
    with torch.no_grad():
        for conv in (m.gwc, m.pwc, m.conv1x1):
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.2)
        m.conv1x1.bias.copy_(torch.randn(m.conv1x1.bias.shape, generator=gen) * 0.1)
    perturb_bn(m, gen)
    x32 = torch.randn(input_shape, generator=gen)

    out = state(m, "param")
    m = m.double().train()
    x = x32.double().requires_grad_(True)
    y = m(x)
    go32 = torch.randn(y.shape, generator=gen)
    y.backward(go32.double())
    out.update(input=x32, grad_output=go32, output=y, grad_input=x.grad)
    out.update({f"grad.{k}": p.grad for k, p in m.named_parameters()})
    out.update({f"after.{k}": b for k, b in m.named_buffers()
                if not k.endswith("num_batches_tracked")})
    save(out, name)


def resnet_step_case(seed=0):
    torch.manual_seed(seed)
    m = torch_zoo.build("resnet20", "spconv", ratio=0.5, groups=2, in_channels=1, classes=10)
    gen = torch.Generator().manual_seed(seed + 100)
    perturb_bn(m, gen)
    x1 = torch.randn(8, 1, 28, 28, generator=gen)
    y1 = torch.randint(0, 10, (8,), generator=gen)
    x2 = torch.randn(8, 1, 28, 28, generator=gen)
    y2 = torch.randint(0, 10, (8,), generator=gen)

    out = state(m, "param")
    m = m.double().train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    opt.zero_grad()
    logits = m(x1.double())
    loss = F.cross_entropy(logits, y1, label_smoothing=0.1)
    loss.backward()
    out.update({f"grad.{k}": p.grad.clone() for k, p in m.named_parameters()})
    opt.step()

    opt.zero_grad()
    loss2 = F.cross_entropy(m(x2.double()), y2, label_smoothing=0.1)
    loss2.backward()
    opt.step()

    out.update(input=x1, labels=y1, input2=x2, labels2=y2, logits=logits,
               loss=loss.reshape(1), loss2=loss2.reshape(1))
    out.update(state(m, "after"))
    save(out, "resnet20_spconv_step.safetensors")


def cross_entropy_case(seed=7):
    gen = torch.Generator().manual_seed(seed)
    logits32 = torch.randn(6, 10, generator=gen) * 3
    labels = torch.randint(0, 10, (6,), generator=gen)
    out = dict(logits=logits32, labels=labels)
    for tag, ls in (("ls0", 0.0), ("ls1", 0.1)):
        z = logits32.double().requires_grad_(True)
        loss = F.cross_entropy(z, labels, label_smoothing=ls)
        loss.backward()
        out[f"loss_{tag}"] = loss.reshape(1)
        out[f"grad_{tag}"] = z.grad
    save(out, "cross_entropy.safetensors")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    block_case("spconv_block_s1.safetensors", 16, 16, 1, (4, 16, 8, 8), seed=11)
    block_case("spconv_block_s2.safetensors", 16, 32, 2, (4, 16, 8, 8), seed=12)
    resnet_step_case(seed=0)
    cross_entropy_case(seed=7)
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f"total {total:,} bytes in {os.path.relpath(OUT_DIR, ROOT)}")


if __name__ == "__main__":
    main()
