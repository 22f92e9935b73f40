"""Fashion-MNIST with an MLP, data parallel over MPI ranks: DistributedDataParallel, DistributedSampler,
optionally SyncBatchNorm; the recipe of fashion_mnist_mlp.py (BatchNorm, dropout, AdamW with a one-cycle
schedule, label smoothing). Rank 0 prints the test accuracy and the throughput after every epoch.

    pip install "eigengrad[mpi]"                                  # mpi4py and Open MPI from PyPI
    mpiexec -n 2 python examples/fashion_mnist_ddp.py --epochs 10  # 2 ranks, a core and a thread each
    python examples/fashion_mnist_ddp.py --epochs 10 --threads 2   # the same training in one process

``--batch-size`` is the global batch (each rank takes its share), so both commands train the same model
up to rounding (the ranks' batch statistics and dropout masks aside; ``--sync-bn`` makes BatchNorm use
the whole batch's statistics). Open MPI as root needs ``--allow-run-as-root``; more ranks than cores
need ``--oversubscribe``. Needs the Fashion-MNIST IDX files (Debian: apt-get install dataset-fashion-mnist;
or set EIGENGRAD_DATA, see eg.datasets.fashion_mnist).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_mnist_mlp import arguments, build_model  # noqa: E402  the recipe: options and model

MPI_LAUNCH = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")  # set by Open MPI's and MPICH's mpiexec


def parse_args(argv=None):
    p = arguments(__doc__.splitlines()[0])  # fashion_mnist_mlp.py's options; --batch-size is the global batch here
    p.add_argument("--sync-bn", action="store_true", help="BatchNorm statistics over the global batch")
    p.add_argument("--threads", type=int, default=None, help="kernel threads per process (default: its cores)")
    return p.parse_args(argv)


def load(train_subset: int | None):
    """Standardised pixels (statistics of the training images), the same on every rank."""
    (x_train, y_train), (x_test, y_test) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
    if train_subset:
        x_train, y_train = x_train[:train_subset], y_train[:train_subset]
    x_train = x_train.reshape(len(x_train), -1).astype(np.float32) / 255
    x_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255
    scaler = eg.preprocessing.StandardScaler().fit(x_train)
    return (scaler.transform(x_train), y_train), (scaler.transform(x_test), y_test)


def main(argv=None) -> float:
    args = parse_args(argv)
    if args.threads is not None:
        eg.set_num_threads(args.threads)
    if any(v in os.environ for v in MPI_LAUNCH) and not dist.is_initialized():
        dist.init_process_group("mpi")  # rank and size from mpiexec; threads from the cores each rank owns
    rank, ranks = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    say = print if rank == 0 else (lambda *a, **k: None)
    if args.batch_size % ranks:
        raise SystemExit(f"--batch-size: {args.batch_size} does not split evenly over {ranks} ranks")
    eg.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.train_subset)

    model = build_model([784, *args.hidden, 10], args.dropout)
    if args.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = nn.parallel.DistributedDataParallel(model) if ranks > 1 else model  # copies rank 0's weights to all
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, args.weight_decay), lr=args.lr)
    train_set = eg.data.TensorDataset(x_train, y_train)
    sampler = (eg.data.DistributedSampler(train_set, ranks, rank, seed=args.seed, drop_last=True) if ranks > 1
               else eg.data.RandomSampler(train_set, generator=eg.Generator(args.seed)))
    loader = eg.data.DataLoader(train_set, batch_size=args.batch_size // ranks, sampler=sampler, drop_last=True)
    sched = OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    say(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test; MLP {[784, *args.hidden, 10]}; {ranks} rank(s) x "
        f"{eg.get_num_threads()} thread(s), global batch {args.batch_size}{', SyncBatchNorm' if args.sync_bn else ''}")
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        if ranks > 1:
            sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        model.train()
        start, total = time.perf_counter(), np.zeros(2)
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()  # returns with the gradients averaged over the ranks
            opt.step()
            sched.step()
            total += (loss.item() * len(yb), len(yb))
        seconds = time.perf_counter() - start
        if ranks > 1:
            dist.all_reduce(total)  # the epoch's loss over every rank's samples
        acc = float((eg.train.predict(model, x_test, batch_size=2000).argmax(1) == y_test).mean())
        say(f"epoch {epoch:2d}  loss {total[0] / total[1]:.4f}  test accuracy {acc:.4f}  ({seconds:.2f} s, "
            f"throughput {total[1] / seconds:,.0f} samples/s)", flush=True)
    return acc


if __name__ == "__main__":
    main()
