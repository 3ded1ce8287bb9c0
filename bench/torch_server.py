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

  {"op": "setup_graph", "model": "lenet" | "resnet8" | "transformer", "rows", "classes",
   "data": raw float64 file of x (rows × the model's input) then one-hot y, "onnx": path to write}
      -> {"loss0", "dim", "threads", "torch", "blas"}: the model built in float64 from
         torch.manual_seed(0) and exported to "onnx" (bench/graph.ts reads its weights from there);
         BatchNorm in training mode is exported as such (TrainingMode.TRAINING, no constant folding).
         "step" and "hvp" then time the gradient and the HVP of this model over all rows.

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

# torchvision's BasicBlock, as the graph fixtures build it (scripts/fixtures/torch_graph.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "fixtures"))
from torch_graph import BasicBlock  # noqa: E402

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


class LeNet5(torch.nn.Sequential):
    """LeNet-5 on 1×28×28: Conv 1→6 k5 pad 2, ReLU, MaxPool 2, Conv 6→16 k5, ReLU, MaxPool 2, 400→120→84→10."""

    def __init__(self):
        nn = torch.nn
        super().__init__(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class ResNet8(torch.nn.Module):
    """CIFAR-style ResNet-8 of width 16 on 3×32×32: stem conv 3→16, blocks 16, 32 (stride 2), 64 (stride 2)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layers(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class EncoderLayer(torch.nn.Module):
    """A pre-LN encoder layer: d, heads, MLP 4d with exact GELU."""

    def __init__(self, d, heads):
        super().__init__()
        nn = torch.nn
        self.heads, self.dh = heads, d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, D = x.shape
        h = self.ln1(x)
        split = lambda t: t.view(B, T, self.heads, self.dh).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        a = torch.softmax(q @ k.transpose(-2, -1) / self.dh ** 0.5, dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


class Encoder(torch.nn.Module):
    """Two pre-LN encoder layers (d = 64, 4 heads) on sequences of 32, mean over the sequence, 64→10."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(EncoderLayer(64, 4), EncoderLayer(64, 4))
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.layers(x).mean(dim=1))


GRAPHS = {"lenet": (LeNet5, [1, 28, 28]), "resnet8": (ResNet8, [3, 32, 32]), "transformer": (Encoder, [32, 64])}


def setup_graph(req):
    build, shape = GRAPHS[req["model"]]
    rows, classes = req["rows"], req["classes"]
    torch.manual_seed(0)
    net = build().to(torch.float64)
    # Norm layers' affine parameters drawn (not PyTorch's ones and zeros, which the exporter would
    # fold into one shared initializer, tying parameters the module keeps apart).
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, dtype=torch.float64))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, dtype=torch.float64))
    width = int(np.prod(shape))
    raw = np.fromfile(req["data"], dtype="<f8")
    x = torch.tensor(raw[: rows * width].reshape(rows, *shape), dtype=torch.float64)
    labels = torch.tensor(raw[rows * width:].reshape(rows, classes).argmax(axis=1))
    bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    net.train(bn)
    kwargs = {"training": torch.onnx.TrainingMode.TRAINING, "do_constant_folding": False} if bn else {}
    torch.onnx.export(net, x[:1], req["onnx"], input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
    net.train(bn)
    params = [p for p in net.parameters()]
    loss_fn = lambda: torch.nn.functional.cross_entropy(net(x), labels)
    g = torch.Generator().manual_seed(1)
    v = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]

    def step():
        for p in params:
            p.grad = None
        loss_fn().backward()

    def hvp():
        grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
        dot = sum((gi * vi).sum() for gi, vi in zip(grads, v))
        torch.autograd.grad(dot, params)

    # Nominal forward multiply-adds ×2: every convolution and linear layer (forward hooks), and
    # attention's two products per layer, 2·B·T·T·d each.
    flops = [0]

    def count(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            flops[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            flops[0] += 2 * out.numel() * m.in_features

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        loss0 = float(loss_fn())
    for h in hooks:
        h.remove()
    for m in net.modules():
        if isinstance(m, EncoderLayer):
            flops[0] += 2 * 2 * rows * shape[0] * shape[0] * shape[1]
    state.update(step=step, hvp=hvp)
    return {"loss0": loss0, "flops": flops[0], "dim": sum(p.numel() for p in params), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "blas": blas()}


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
    out = {"setup": setup, "setup_graph": setup_graph, "time": timed, "gemm": gemm}[req["op"]](req)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
