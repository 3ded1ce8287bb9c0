#!/usr/bin/python3
"""A PyTorch training loop that overshoot watch can follow and stop: the seed's setting.

A 2-8-1 net with linear hidden units on 392 cars (mpg from model year and acceleration, raw units,
as `overshoot demo network` has it), float32, SGD on
minibatches of 32, mean squared error. At lr 1e-4 it trains; at 1e-3 the loss goes from thousands to
a trillion to inf. The loop writes one JSON line a step and stops when the signal file appears:

    python3 examples/watch/train_torch.py --lr 1e-3 --log run.jsonl &
    npx overshoot watch run.jsonl --signal-file stop.json

--tensorboard DIR writes TensorBoard events too (PyTorch's SummaryWriter's records: tag
"Loss/train" as simple_value, "lr" and "grad_norm"), through scripts/fixtures/tensorboard_events.py's writer
(Python's protobuf with TensorBoard's schema compiled by protoc, and the TFRecord framing): Debian
has no python3-tensorboard.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pause", type=float, default=0.02, help="seconds a step also takes (a real step's time)")
    p.add_argument("--log", help="JSON lines log")
    p.add_argument("--tensorboard", help="TensorBoard log folder")
    p.add_argument("--signal", default="stop.json", help="stop when this file appears (overshoot watch --signal-file)")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    rows = list(csv.DictReader(open(os.path.join(ROOT, "examples", "cars.csv"))))
    x = torch.tensor([[float(r["year"]), float(r["acceleration"])] for r in rows])
    y = torch.tensor([[float(r["mpg"])] for r in rows])
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.MSELoss()

    if a.tensorboard:
        sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
        import tensorboard_events as tb  # noqa: E402

        os.makedirs(a.tensorboard, exist_ok=True)
        events = open(os.path.join(a.tensorboard, f"events.out.tfevents.{int(time.time())}.host.{os.getpid()}.0"), "ab")
        pb = tb.compiled()
        events.write(tb.record(pb.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString()))
        events.flush()

    log = open(a.log, "a") if a.log else None

    def write(step, loss, lr, grad_norm):
        if log:
            log.write(json.dumps({"step": step, "loss": loss, "lr": lr}) + "\n")
            log.flush()
        if a.tensorboard:
            ev = pb.Event(wall_time=time.time(), step=step)
            ev.summary.value.add(tag="Loss/train", simple_value=loss)
            ev.summary.value.add(tag="lr", simple_value=lr)
            ev.summary.value.add(tag="grad_norm", simple_value=grad_norm)
            events.write(tb.record(ev.SerializeToString()))
            events.flush()

    print(f"training at lr {a.lr:g}, logging to {a.log or a.tensorboard}; stops when {a.signal} appears", flush=True)
    g = torch.Generator().manual_seed(a.seed)
    step = 0
    while step < a.steps:
        for idx in torch.randperm(len(x), generator=g).split(a.batch_size):
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            # The gradient's norm (max_norm inf: measured, not clipped), for the TensorBoard log.
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")).item()
            opt.step()
            # The three lines a loop needs: log the step, and stop on the watcher's signal.
            write(step, loss.item(), opt.param_groups[0]["lr"], grad_norm)
            if os.path.exists(a.signal):
                print(f"stopped at step {step}: {json.load(open(a.signal))['reason']}")
                return
            step += 1
            time.sleep(a.pause)
            if step >= a.steps:
                break
    print(f"finished {step} steps, last loss {loss.item():.6g}")


if __name__ == "__main__":
    main()
