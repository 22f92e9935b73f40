"""A data-parallel fit in which rank 1 fails in the third batch of its first epoch, as ``argv[1]`` says:
``kill`` (SIGKILL: the process dies), ``raise`` (an uncaught exception) or ``hang`` (it stops taking part).
Launched by tests/test_distributed.py, which checks that the whole job ends with an error naming the rank
in bounded time. ``argv[2]``: the process group's timeout in seconds."""
import os
import signal
import sys
import time

import numpy as np

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.data import DataLoader, TensorDataset
from eigengrad.train import LambdaCallback, fit


def fail(trainer, batch):
    if dist.get_rank() != 1 or trainer.epoch != 0 or batch != 2:
        return
    print(f"rank 1: failing ({mode}) in batch {batch} of epoch 1", flush=True)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "raise":
        raise RuntimeError("rank 1 failed on purpose")
    time.sleep(3600)


mode = sys.argv[1]
dist.init_process_group("mpi", timeout=float(sys.argv[2]))
rng = np.random.default_rng(0)
X, y = rng.standard_normal((512, 20)).astype(np.float32), rng.integers(0, 4, 512)
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.1),
    DataLoader(TensorDataset(X, y), batch_size=16), epochs=2, progress=False,
    callbacks=[LambdaCallback(on_batch_begin=fail)])
print(f"rank {dist.get_rank()}: finished", flush=True)
