"""What ``python -m eigengrad train`` builds from its options beyond eigengrad.train.presets: the checks of
its fraction flags, and its schedules (presets' ones, plus none and plateau)."""
from __future__ import annotations

import argparse

from eigengrad.optim import lr_scheduler
from eigengrad.train import presets

SCHEDULES = ("none", *presets.SCHEDULES, "plateau")


def check_fractions(args: argparse.Namespace) -> None:
    """The fraction flags, as flag errors: a test set is always held out, a validation set may be (0)."""
    if not 0.0 < args.test_fraction < 1.0:
        raise SystemExit(f"--test-fraction: expected a value in (0, 1), got {args.test_fraction}")
    if not 0.0 <= args.val_fraction < 1.0:
        raise SystemExit(f"--val-fraction: expected a value in [0, 1), got {args.val_fraction}")


def build_scheduler(args: argparse.Namespace, optimizer, steps_per_epoch: int):
    """The learning-rate schedule over the run (``none`` gives None)."""
    if args.schedule == "none":
        return None
    if args.schedule == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    return presets.schedule(args.schedule, optimizer, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
                            max_lr=args.lr)
