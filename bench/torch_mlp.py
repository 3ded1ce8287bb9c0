#!/usr/bin/python3
"""PyTorch CPU reference timings for bench/network.ts (run by it when python3-torch is installed).

Usage: torch_mlp.py SPEC.json — SPEC names the layer sizes, activation, loss, thread count and a
raw little-endian float64 file of inputs and targets; prints JSON with ms per full-batch gradient
step and per Hessian-vector product (double backward), in float64 and float32.
"""
import json
import sys
import time

import numpy as np
import torch

spec = json.load(open(sys.argv[1]))
torch.set_num_threads(spec["threads"])
sizes, rows = spec["sizes"], spec["rows"]
raw = np.fromfile(spec["data"], dtype="<f8")
x_np = raw[: rows * sizes[0]].reshape(rows, sizes[0])
y_np = raw[rows * sizes[0]:].reshape(rows, sizes[-1])
act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[spec["activation"]]


def build(dtype):
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]).to(dtype))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def loss_fn(out, y):
    if spec["loss"] == "half-mse":
        return 0.5 * ((out - y) ** 2).mean()
    return torch.nn.functional.cross_entropy(out, y.argmax(dim=1))


def timed(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best * 1000


result = {"torch": torch.__version__, "threads": spec["threads"]}
for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
    net = build(dtype)
    x = torch.tensor(x_np, dtype=dtype)
    y = torch.tensor(y_np, dtype=dtype)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, foreach=False)
    params = list(net.parameters())

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    v = [torch.randn_like(p) for p in params]

    def hvp():
        grads = torch.autograd.grad(loss_fn(net(x), y), params, create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(grads, v))
        torch.autograd.grad(dot, params)

    result[name] = {"stepMs": timed(step, spec["repeats"]), "hvpMs": timed(hvp, spec["repeats"])}
json.dump(result, sys.stdout)
