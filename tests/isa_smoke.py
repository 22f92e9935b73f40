"""A few training steps whose numbers the ISA tests compare between levels (and under qemu's CPUs).

Run as a script, it prints one JSON line: the level in use, the losses of 5 SGD steps of a small MLP with
BatchNorm, dropout and AdamW, and a GEMM checksum. Every number is float64 so that the comparison sees
the float32 computation's own rounding, not the printing.
"""
import json

import numpy as np

import eigengrad as eg
from eigengrad import nn


def run() -> dict:
    eg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 37)).astype(np.float32)
    y = rng.integers(0, 5, 64)
    model = nn.Sequential(nn.Linear(37, 48), nn.BatchNorm1d(48), nn.ReLU(), nn.Dropout(0.1), nn.Linear(48, 5))
    opt = eg.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(eg.from_numpy(x)), eg.from_numpy(y))
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    a = rng.standard_normal((67, 131)).astype(np.float32)
    b = rng.standard_normal((131, 45)).astype(np.float32)
    c = (eg.from_numpy(a) @ eg.from_numpy(b)).numpy()
    return {"level": eg.backends.cpu.get_cpu_capability(), "losses": losses,
            "gemm": c.astype(np.float64).ravel().tolist()}


if __name__ == "__main__":
    print(json.dumps(run()))
