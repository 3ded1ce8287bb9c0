#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyHessian's stochastic Lanczos quadrature (hessian(...).density) on one of our MLPs, for the bench.

  PYHESSIAN_DIR=/path/to/PyHessian OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      /usr/bin/python3 bench/pyhessian_density.py < spec.json > out.json

PyHessian (github.com/amirgholami/PyHessian) is not part of this project: PYHESSIAN_DIR names a
checkout of it, which is imported as it is (none of its files is changed). Spec on stdin:
  {"sizes": [2, 20, 20, 1], "activation": "tanh"|"relu"|"gelu"|"sigmoid",
   "loss": "mse"|"half-mse"|"cross-entropy"|"bce", "theta": per layer W (out×in, row-major) then b,
   "x": rows×in, "y": rows×out (one-hot for cross-entropy), "rows": N,
   "iter": 100, "n_v": 1, "seed": 0, "rounds": 5, "float64_T": true}
The loss is ours, which is torch's: nn.MSELoss() and nn.BCEWithLogitsLoss() (means over rows and
outputs; half-mse is ½·MSELoss), nn.CrossEntropyLoss() on the one-hot's argmax (mean over rows).
density() builds its tridiagonal T with torch.zeros(iter, iter), in the default dtype (float32);
"float64_T": true (the default) sets torch's default dtype to float64 around the call, so T and its
eigendecomposition are float64 like everything else. Output on stdout:
  {"eigen": [[nodes] per probe], "weight": [[weights] per probe], "hvps": per density() call,
   "seconds": [per timed round, hessian(...) construction + density()], "torch", "pyhessian_commit"}
One untimed warm-up round comes first; every round reseeds torch with "seed", so all draw the same probes.
"""
import json
import os
import subprocess
import sys
import time
import warnings

import torch

NOT_FOUND = "PyHessian not found: set PYHESSIAN_DIR to a checkout of github.com/amirgholami/PyHessian"
ACT = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "sigmoid": torch.nn.Sigmoid}


def load_pyhessian():
    root = os.environ.get("PYHESSIAN_DIR")
    if not root:
        sys.exit(print(NOT_FOUND, file=sys.stderr) or 3)
    sys.path.insert(0, root)
    try:
        from pyhessian import hessian
    except Exception as e:  # ImportError, or a broken checkout
        sys.exit(print(f"{NOT_FOUND} ({root}: {e!r})", file=sys.stderr) or 3)
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = ""
    return hessian, rev or "unknown"


def build(spec):
    sizes, rows, f64 = spec["sizes"], spec["rows"], torch.float64
    theta = torch.tensor(spec["theta"], dtype=f64)
    layers, k = [], 0
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1]).to(f64)
        with torch.no_grad():
            lin.weight.copy_(theta[k:k + sizes[i] * sizes[i + 1]].reshape(sizes[i + 1], sizes[i]))
            k += sizes[i] * sizes[i + 1]
            lin.bias.copy_(theta[k:k + sizes[i + 1]])
            k += sizes[i + 1]
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(ACT[spec["activation"]]())
    assert k == theta.numel(), f"theta has {theta.numel()} numbers, sizes {sizes} need {k}"
    x = torch.tensor(spec["x"], dtype=f64).reshape(rows, sizes[0])
    y = torch.tensor(spec["y"], dtype=f64).reshape(rows, sizes[-1])
    loss = spec["loss"]
    if loss == "cross-entropy":
        return torch.nn.Sequential(*layers), torch.nn.CrossEntropyLoss(), x, y.argmax(dim=1)
    base = {"mse": torch.nn.MSELoss(), "half-mse": torch.nn.MSELoss(), "bce": torch.nn.BCEWithLogitsLoss()}[loss]
    c = 0.5 if loss == "half-mse" else 1.0
    criterion = base if c == 1.0 else (lambda o, t: c * base(o, t))
    return torch.nn.Sequential(*layers), criterion, x, y


def main():
    hessian, rev = load_pyhessian()
    spec = json.load(sys.stdin)
    torch.set_num_threads(1)
    # PyHessian's constructor calls loss.backward(create_graph=True); torch warns about the cycle.
    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    model, criterion, x, y = build(spec)
    it, n_v, seed = spec.get("iter", 100), spec.get("n_v", 1), spec.get("seed", 0)
    float64_T = spec.get("float64_T", True)

    # Count HVPs: PyHessian's every Hessian-vector product (utils.hessian_vector_product for one
    # batch, hessian.dataloader_hv_product for a loader) is one torch.autograd.grad call, and it
    # calls torch.autograd.grad for nothing else (its gradient is loss.backward in the constructor).
    real_grad, calls = torch.autograd.grad, [0]

    def counting_grad(*a, **kw):
        calls[0] += 1
        return real_grad(*a, **kw)

    def one_round():
        torch.manual_seed(seed)
        model.zero_grad(set_to_none=True)  # backward() accumulates into .grad
        old = torch.get_default_dtype()
        if float64_T:
            torch.set_default_dtype(torch.float64)
        torch.autograd.grad, calls[0] = counting_grad, 0
        try:
            t0 = time.perf_counter()
            eig, wts = hessian(model, criterion, data=(x, y), cuda=False).density(iter=it, n_v=n_v)
            dt = time.perf_counter() - t0
        finally:
            torch.autograd.grad = real_grad
            torch.set_default_dtype(old)
        return eig, wts, calls[0], dt

    one_round()  # warm-up
    seconds, hvps = [], set()
    for _ in range(spec.get("rounds", 5)):
        eig, wts, n, dt = one_round()
        seconds.append(dt)
        hvps.add(n)
    assert len(hvps) == 1, f"HVP count varied between rounds: {sorted(hvps)}"
    # eigen: real parts of torch.linalg.eig's (complex) eigenvalues; weight: its complex
    # eigenvectors[0, :]**2, whose imaginary parts are 0 for T real symmetric. Sorted by node.
    eigen, weight = [], []
    for e, w in zip(eig, wts):
        pairs = sorted((float(a.real), float(b.real)) for a, b in zip(e, w))
        eigen.append([a for a, _ in pairs])
        weight.append([b for _, b in pairs])
    json.dump({"eigen": eigen, "weight": weight, "hvps": hvps.pop(), "seconds": seconds, "iter": it, "n_v": n_v,
               "float64_T": float64_T, "torch": torch.__version__, "pyhessian_commit": rev}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
