"""Exact resume: a run stopped after epoch 3 and resumed from its checkpoint ends bitwise identical
(weights, optimizer state, history) to an uninterrupted 6-epoch run; a checkpoint write killed midway
leaves the previous checkpoint loadable."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler
from eigengrad.train import CSVLogger, EarlyStopping, LearningRateMonitor, ModelCheckpoint, Trainer
from train_helpers import assert_same_weights, loaders, mlp


def _trainer(opt_name, sched_name, restore, ckpt=None, csv=None, num_workers=0):
    model = mlp(seed=0, dropout=0.3)
    opt = {"adamw": lambda: eg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05),
           "sgd": lambda: eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)}[opt_name]()
    sched = {"onecycle": lambda: lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=6 * 19),
             "plateau": lambda: lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.7),
             "cosine": lambda: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)}[sched_name]()
    callbacks = [EarlyStopping("val_loss", patience=50, restore_best_weights=restore), LearningRateMonitor()]
    callbacks += [ModelCheckpoint(ckpt)] if ckpt else []
    callbacks += [CSVLogger(csv)] if csv else []
    eg.manual_seed(123)  # the default generator (dropout) is part of the saved state
    trainer = Trainer(model, nn.CrossEntropyLoss(label_smoothing=0.1), opt, scheduler=sched, callbacks=callbacks,
                      progress=False)
    return trainer, loaders(seed=7, num_workers=num_workers)


@pytest.mark.parametrize("opt_name,sched_name,restore,num_workers", [
    ("adamw", "onecycle", False, 0), ("sgd", "plateau", True, 0), ("adamw", "cosine", False, 1),
])
def test_stop_after_3_and_resume_equals_6_uninterrupted(tmp_path, opt_name, sched_name, restore, num_workers):
    full, (train, val) = _trainer(opt_name, sched_name, restore, num_workers=num_workers)
    full.fit(train, epochs=6, val_loader=val)

    ckpt, csv = tmp_path / "last.safetensors", tmp_path / "h.csv"
    first, (train, val) = _trainer(opt_name, sched_name, restore, ckpt=ckpt, csv=csv, num_workers=num_workers)
    first.fit(train, epochs=3, val_loader=val)
    eg.manual_seed(999)  # a fresh process would start from other generator states: the checkpoint restores them
    resumed, (train, val) = _trainer(opt_name, sched_name, restore, ckpt=ckpt, csv=csv, num_workers=num_workers)
    eg.manual_seed(999)
    resumed.fit(train, epochs=6, val_loader=val, resume_from=ckpt)

    assert_same_weights(full.model, resumed.model)
    assert resumed.history.epochs == [1, 2, 3, 4, 5, 6]
    assert resumed.history.history == full.history.history  # bitwise: float equality of every value
    a, b = full.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i in a["state"]:
        for k, v in a["state"][i].items():
            assert np.array_equal(v, b["state"][i][k]), (i, k)
    assert full.optimizer.param_groups[0]["lr"] == resumed.optimizer.param_groups[0]["lr"]
    assert full.global_step == resumed.global_step == 6 * 19
    assert csv.read_text() == full.history.to_csv()


def test_resume_refuses_a_mismatched_trainer(tmp_path):
    trainer, (train, val) = _trainer("sgd", "cosine", False, ckpt=tmp_path / "c.safetensors")
    trainer.fit(train, epochs=1, val_loader=val)
    model = mlp()
    other = Trainer(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), momentum=0.9), progress=False)
    with pytest.raises(ValueError, match="scheduler"):
        other.fit(train, epochs=2, resume_from=tmp_path / "c.safetensors")
    eg.save(model.state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(ValueError, match="not an eigengrad training-state"):
        other.fit(train, epochs=2, resume_from=tmp_path / "weights.safetensors")


_KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import eigengrad.serialization as ser
    from test_train_resume import _trainer

    real_fdopen, writes = os.fdopen, []

    class HalfThenKill:
        # the second checkpoint: half the bytes reach the disk, then the process is killed
        def __init__(self, f): self.f = f
        def __enter__(self): return self
        def __exit__(self, *a): return self.f.__exit__(*a)
        def write(self, data):
            self.f.write(data[: len(data) // 2]); self.f.flush(); os.fsync(self.f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        def __getattr__(self, name): return getattr(self.f, name)

    def fdopen(fd, mode="r", *a, **k):
        f = real_fdopen(fd, mode, *a, **k)
        writes.append(1)
        return HalfThenKill(f) if len(writes) == 2 else f

    ser.os.fdopen = fdopen
    trainer, (train, val) = _trainer("adamw", "onecycle", False, ckpt={ckpt!r})
    trainer.fit(train, epochs=2, val_loader=val)
""")


def test_a_checkpoint_write_killed_midway_leaves_the_previous_one_loadable(tmp_path):
    ckpt = tmp_path / "last.safetensors"
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER.format(tests=tests, ckpt=str(ckpt))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # SIGKILL during the second write
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != ckpt.name]
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-")  # the half-written temporary file

    full, (train, val) = _trainer("adamw", "onecycle", False)
    full.fit(train, epochs=2, val_loader=val)
    resumed, (train, val) = _trainer("adamw", "onecycle", False)
    resumed.fit(train, epochs=2, val_loader=val, resume_from=ckpt)  # the epoch-1 checkpoint, intact
    assert resumed.history.epochs == [1, 2]
    assert_same_weights(full.model, resumed.model)
