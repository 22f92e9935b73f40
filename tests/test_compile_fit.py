"""fit(..., compile=True) and the CLI's --compile: the same training, bit for bit, as the eager loop;
what the compiled step cannot take trains eagerly with one warning naming the reason."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.__main__ import main
from eigengrad.optim import lr_scheduler
from eigengrad.train import Callback, Trainer
from compile_cases import mlp, same


def _loaders(seed: int = 5):
    rng = np.random.default_rng(seed)
    x = eg.from_numpy(rng.standard_normal((150, 20)).astype(np.float32))
    y = eg.from_numpy(rng.integers(0, 10, 150).astype(np.int64))
    gen = eg.Generator().manual_seed(3)
    # 150 rows in batches of 32: four full batches and a last one of 22 (a second signature)
    return eg.data.DataLoader(eg.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen)


def _fit(compile: bool, callbacks=(), epochs: int = 3):
    model = mlp(0)
    opt = eg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    loader = _loaders()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=epochs * len(loader))
    trainer = Trainer(model, nn.CrossEntropyLoss(label_smoothing=0.1), opt, scheduler=sched, grad_clip=1.0,
                      callbacks=callbacks, progress=False, compile=compile)
    history = trainer.fit(loader, epochs=epochs)
    state = [p._data.copy() for p in model.parameters()] + [b._data.copy() for _, b in model.named_buffers()]
    return history, state, trainer


def test_fit_compiled_equals_fit_eager():
    eager_hist, eager_state, _ = _fit(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        hist, state, trainer = _fit(True)
    assert trainer._compiled.fallback_reason is None
    # 15 batches: the full-batch signature traces twice and is checked once, the last batch's likewise
    assert trainer._compiled.replays >= 15 - 2 * 3 - 1
    assert hist.history == eager_hist.history  # losses, accuracies: the same floats
    same(state, eager_state)


class _AfterBackward(Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_after_backward(self, trainer) -> None:
        self.calls += 1


def test_fit_compile_with_on_after_backward_trains_eagerly_with_a_warning():
    eager_hist, eager_state, _ = _fit(False, epochs=1)
    cb = _AfterBackward()
    with pytest.warns(UserWarning, match=r"trains eagerly: a callback \(_AfterBackward\) runs on_after_backward"):
        hist, state, trainer = _fit(True, callbacks=[cb], epochs=1)
    assert trainer._compiled is None and cb.calls == 5
    assert hist.history == eager_hist.history
    same(state, eager_state)


def test_cli_compile_flag_trains_thesame(capsys, tmp_path):
    common = ["train", "--threads", "1", "--epochs", "2", "--batch-norm", "--dropout", "0.2", "--optimizer", "adamw",
              "--lr", "0.003", "--label-smoothing", "0.1", "--grad-clip", "1.0", "--quiet"]
    assert main([*common, "--history", str(tmp_path / "eager.json")]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert main([*common, "--compile", "--history", str(tmp_path / "compiled.json")]) == 0
    capsys.readouterr()
    assert (tmp_path / "eager.json").read_text() == (tmp_path / "compiled.json").read_text()
