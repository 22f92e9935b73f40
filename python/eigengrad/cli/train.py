"""``python -m eigengrad train``: train an MLP on the embedded 8x8 digits or Fashion-MNIST with the fit
loop (optimizer, schedule, regularisation, early stopping, checkpoint/resume) and print a report."""
from __future__ import annotations

import argparse
import sys
import time

import eigengrad as eg
from eigengrad import nn
from eigengrad.cli.train_setup import SCHEDULES, build_scheduler, check_fractions
from eigengrad.train import Callback, CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint, Trainer, presets


def add_arguments(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits",
                      help="the embedded 8x8 digits (default) or Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    data.add_argument("--test-fraction", type=float, default=0.2, help="digits: held-out test share (default: 0.2)")
    data.add_argument("--val-fraction", type=float, default=0.1,
                      help="share of the training data held out for validation (default: 0.1; 0: none)")
    model = p.add_argument_group("model")
    model.add_argument("--hidden", type=int, nargs="*", default=[128, 64], help="hidden layer sizes (default: 128 64)")
    model.add_argument("--activation", choices=sorted(presets.ACTIVATIONS), default="relu")
    model.add_argument("--batch-norm", action="store_true", help="BatchNorm1d after each hidden Linear")
    model.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden activation")
    opt = p.add_argument_group("optimization")
    opt.add_argument("--optimizer", choices=sorted(presets.OPTIMIZERS), default="sgd")
    opt.add_argument("--lr", type=float, default=0.05, help="learning rate (peak rate for onecycle; default: 0.05)")
    opt.add_argument("--momentum", type=float, default=0.9, help="sgd and rmsprop (default: 0.9)")
    opt.add_argument("--weight-decay", type=float, default=0.0, help="not applied to biases and norm parameters")
    opt.add_argument("--schedule", choices=SCHEDULES, default="none", help="learning-rate schedule (default: none)")
    opt.add_argument("--label-smoothing", type=float, default=0.0)
    opt.add_argument("--grad-clip", type=float, default=None, help="clip the global gradient norm to this")
    opt.add_argument("--epochs", type=int, default=30)
    opt.add_argument("--batch-size", type=int, default=32)
    opt.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                     help="stop when val_loss has not improved for PATIENCE epochs; keep the best weights")
    run = p.add_argument_group("run")
    run.add_argument("--checkpoint", default=None, metavar="PATH", help="write the training state here every epoch")
    run.add_argument("--resume", default=None, metavar="PATH", help="continue the run saved in this checkpoint (same options as that run; --epochs counts "
                          "all epochs, so a schedule's length stays as it was)")
    run.add_argument("--history", default=None, metavar="PATH", help="write the per-epoch history (.csv or .json)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=int, default=None, help="kernel threads (default: OpenMP's; with --distributed, the "
                     "cores each rank owns)")
    run.add_argument("--distributed", action="store_true",
                     help="data parallel over the ranks of an MPI launch (mpiexec -n N python -m eigengrad train "
                          "--distributed); --batch-size stays the global batch, split over the ranks")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")
    run.add_argument("--compile", action="store_true",
                     help="run each training step as one eg.compile'd plan (same numbers; see docs/compile.md)")


def run(args: argparse.Namespace) -> float:
    """Train as the options say, print the report, return the test accuracy."""
    if args.threads is not None:
        eg.set_num_threads(args.threads)
    ranks = _join_ranks(args) if args.distributed else 1
    eg.manual_seed(args.seed)
    gen = eg.Generator().manual_seed(args.seed)
    check_fractions(args)
    (Xtr, ytr), val, (Xte, yte) = presets.classification_data(args.dataset, gen, test_fraction=args.test_fraction,
                                                               val_fraction=args.val_fraction)
    sizes = [Xtr.shape[1], *args.hidden, 10]
    model = presets.mlp(sizes, args.activation, batch_norm=args.batch_norm, dropout=args.dropout)
    optimizer = presets.optimizer(args.optimizer, model, lr=args.lr, momentum=args.momentum,
                                  weight_decay=args.weight_decay)
    loader = eg.data.DataLoader(eg.data.TensorDataset(Xtr, ytr), batch_size=args.batch_size // ranks, shuffle=True,
                                generator=gen)
    val_loader = eg.data.DataLoader(eg.data.TensorDataset(*val), batch_size=1024) if val is not None else None
    main = eg.distributed.is_main_process()
    say = print if main and not args.quiet else (lambda *a: None)
    trainer = Trainer(model, nn.CrossEntropyLoss(label_smoothing=args.label_smoothing), optimizer,
                      scheduler=build_scheduler(args, optimizer, len(loader)),
                      callbacks=[*_callbacks(args, val), _EpochPrinter(say)], grad_clip=args.grad_clip,
                      progress=False if args.quiet or not main else None, compile=args.compile)
    say(f"{args.dataset}: {len(Xtr)} train / {len(val[0]) if val else 0} val / {len(Xte)} test, MLP {sizes} "
        f"{args.activation}, {args.optimizer} lr={args.lr} schedule={args.schedule}, {eg.get_num_threads()} threads"
        + (f" x {ranks} ranks (batch {args.batch_size // ranks} each)" if args.distributed else ""))
    start = time.perf_counter()
    trainer.fit(loader, epochs=args.epochs, val_loader=val_loader, resume_from=args.resume)
    seconds = time.perf_counter() - start
    test = trainer.evaluate(eg.data.DataLoader(eg.data.TensorDataset(Xte, yte), batch_size=1024), prefix="test_")
    if main:
        _report(trainer, test, seconds, len(Xte))
    return test["test_accuracy"]


def _join_ranks(args: argparse.Namespace) -> int:
    """Join the MPI launch's process group (once); the number of ranks, which must divide the batch."""
    import eigengrad.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("mpi")
    ranks = dist.get_world_size()
    if args.batch_size % ranks:
        raise SystemExit(f"--batch-size: the global batch {args.batch_size} must split evenly over {ranks} ranks")
    return ranks


def _callbacks(args: argparse.Namespace, val) -> list:
    callbacks = []
    if args.early_stopping is not None:
        callbacks.append(EarlyStopping("val_loss" if val is not None else "loss", patience=args.early_stopping))
    if args.checkpoint:
        callbacks.append(ModelCheckpoint(args.checkpoint))
    if args.history:
        callbacks.append((JSONLogger if args.history.endswith(".json") else CSVLogger)(args.history))
    return callbacks


class _EpochPrinter(Callback):
    """One line per epoch on stdout (the command line's output, not the library's)."""

    order = 200  # after early stopping and checkpoints

    def __init__(self, say) -> None:
        self.say = say

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self.say(f"epoch {epoch:3d}  " + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()))


def _report(trainer: Trainer, test: dict, seconds: float, n_test: int) -> None:
    h = trainer.history
    lines = [f"test accuracy: {test['test_accuracy']:.4f} ({n_test} images, {seconds:.1f} s of training)",
             f"test loss: {test['test_loss']:.4f}; epochs run: {trainer.epoch}"]
    if "val_loss" in h:
        best_epoch, best = h.best("val_loss", "min")
        lines.append(f"best val_loss {best:.4f} at epoch {best_epoch}"
                     + (f" (val_accuracy {h['val_accuracy'][h.epochs.index(best_epoch)]:.4f})"
                        if "val_accuracy" in h else ""))
    for cb in trainer.callbacks.callbacks:
        if isinstance(cb, EarlyStopping) and cb.stopped_epoch:
            lines.append(f"stopped early at epoch {cb.stopped_epoch}; weights of epoch {cb.best_epoch} restored")
        if isinstance(cb, ModelCheckpoint) and cb.last_path:
            lines.append(f"checkpoint: {cb.last_path} (resume with --resume {cb.last_path})")
    print("\n".join(lines))
    sys.stdout.flush()

