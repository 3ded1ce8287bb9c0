#!/usr/bin/python3
"""PyTorch CPU float64 on one thread, as the other side of bench/network.ts's interleaved rounds.

Started once by the bench with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 in its
environment (OpenBLAS reads them when it loads: torch.set_num_threads alone leaves its threads,
which spin-wait on a busy machine) and torch.set_num_threads(1) here. Reads one JSON request a
line on stdin, answers one JSON line on stdout:

  {"op": "setup", "sizes", "activation", "loss", "rows", "data": raw float64 file of x then y,
   "theta": the same flat parameters as ours (per layer W row-major, then b), "v": HVP direction}
      -> {"loss0": loss at theta, "threads": torch.get_num_threads(), "torch": version,
          "blas": the library torch's dgemm_ resolves and OpenBLAS's kernel}
  {"op": "time", "what": "step" | "hvp", "reps": n}  -> {"ms": ms per call over n calls}
  {"op": "gemm", "n": n, "reps": r}                  -> {"gflops": one-thread float64 n×n×n GEMM}

A step is what the bench's own side does: zero the gradients, forward, the loss, backward, one SGD
update (torch.optim.SGD, foreach=False). An HVP is the double-backward Hessian-vector product.
"""
import json
import os
import sys
import time

import numpy as np
import torch

from torch_blas import dgemm_kernel

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    if os.environ.get(var) != "1":
        sys.exit(f"torch_server.py: {var}=1 must be set in the environment (it is {os.environ.get(var)!r})")
torch.set_num_threads(1)
torch.set_grad_enabled(True)

ACT = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU}
state = {}


def setup(req):
    sizes, rows = req["sizes"], req["rows"]
    raw = np.fromfile(req["data"], dtype="<f8")
    x = torch.tensor(raw[: rows * sizes[0]].reshape(rows, sizes[0]), dtype=torch.float64)
    y = torch.tensor(raw[rows * sizes[0]:].reshape(rows, sizes[-1]), dtype=torch.float64)
    theta = np.asarray(req["theta"], dtype=np.float64)
    layers, k = [], 0
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1]).to(torch.float64)
        n_w = sizes[i] * sizes[i + 1]
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(theta[k:k + n_w].reshape(sizes[i + 1], sizes[i])))
            k += n_w
            lin.bias.copy_(torch.tensor(theta[k:k + sizes[i + 1]]))
            k += sizes[i + 1]
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(ACT[req["activation"]]())
    net = torch.nn.Sequential(*layers)
    params = list(net.parameters())
    loss = req["loss"]
    labels = y.argmax(dim=1)

    def loss_fn(out):
        if loss == "half-mse":
            return 0.5 * ((out - y) ** 2).mean()
        if loss == "mse":
            return ((out - y) ** 2).mean()
        return torch.nn.functional.cross_entropy(out, labels)

    opt = torch.optim.SGD(params, lr=req.get("lr", 1e-3), foreach=False)
    vflat = torch.tensor(np.asarray(req["v"], dtype=np.float64))
    v, k = [], 0
    for p in params:
        v.append(vflat[k:k + p.numel()].reshape(p.shape))
        k += p.numel()

    def step():
        opt.zero_grad()
        loss_fn(net(x)).backward()
        opt.step()

    def hvp():
        grads = torch.autograd.grad(loss_fn(net(x)), params, create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(grads, v))
        torch.autograd.grad(dot, params)

    with torch.no_grad():
        loss0 = float(loss_fn(net(x)))
    state.update(step=step, hvp=hvp)
    return {"loss0": loss0, "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": blas()}


def blas():
    """What this process's dgemm_ runs on (torch_blas.py): the library, and OpenBLAS's kernel."""
    return dgemm_kernel(torch)


def timed(req):
    fn = state[req["what"]]
    t0 = time.perf_counter()
    for _ in range(req["reps"]):
        fn()
    return {"ms": (time.perf_counter() - t0) / req["reps"] * 1000}


def gemm(req):
    n = req["n"]
    a = torch.randn(n, n, dtype=torch.float64)
    b = torch.randn(n, n, dtype=torch.float64)
    a @ b
    t0 = time.perf_counter()
    for _ in range(req["reps"]):
        a @ b
    return {"gflops": 2 * n**3 * req["reps"] / (time.perf_counter() - t0) / 1e9}


for line in sys.stdin:
    req = json.loads(line)
    out = {"setup": setup, "time": timed, "gemm": gemm}[req["op"]](req)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
