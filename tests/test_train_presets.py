"""eigengrad.train.presets: one meaning per name for the CLI, the estimators and the tuning objectives."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler
from eigengrad.train import presets


def test_mlp_layers_in_order():
    model = presets.mlp([8, 6, 4, 3], "tanh", batch_norm=True, dropout=0.5, dtype=np.float64)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 2 + ["Linear"]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)] == [(8, 6), (6, 4), (4, 3)]
    assert model[0].weight.dtype == np.float64
    assert [type(m).__name__ for m in presets.mlp([2, 3], "relu")] == ["Linear"]


def test_classification_data_splits():
    (tr, va, te) = presets.classification_data("digits", eg.Generator(0), test_fraction=0.2, val_fraction=0.25)
    assert len(te[0]) == round(1797 * 0.2) and len(va[0]) == round((1797 - len(te[0])) * 0.25)
    assert len(tr[0]) + len(va[0]) + len(te[0]) == 1797 and tr[0].dtype == np.float32 and tr[0].max() <= 1.0
    again = presets.classification_data("digits", eg.Generator(0), test_fraction=0.2, val_fraction=0.25)
    assert np.array_equal(again[0][0], tr[0])
    assert presets.classification_data("digits", eg.Generator(0))[1] is None


def test_optimizer_keeps_decay_off_biases_and_schedules_default_arguments():
    model = presets.mlp([4, 5, 2], "relu", batch_norm=True)
    opt = presets.optimizer("sgd", model, lr=0.1, momentum=0.9, weight_decay=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-3, 0.0]
    assert len(opt.param_groups[0]["params"]) == 2 and opt.param_groups[0]["momentum"] == 0.9
    step = presets.schedule("step", opt, epochs=9, steps_per_epoch=5, max_lr=0.1)
    assert isinstance(step, lr_scheduler.StepLR) and (step.step_size, step.gamma) == (3, 0.1)
    one = presets.schedule("onecycle", opt, epochs=2, steps_per_epoch=5, max_lr=0.3, pct_start=0.5)
    assert one.total_steps == 10 and one.steps_per_batch


@pytest.mark.parametrize("call, match", [
    (lambda: presets.mlp([2, 2], "swish"), "activation"),
    (lambda: presets.optimizer("lbfgs", presets.mlp([2, 2]), lr=0.1), "optimizer"),
    (lambda: presets.schedule("linear", None, epochs=1, steps_per_epoch=1, max_lr=0.1), "schedule"),
    (lambda: presets.classification_data("cifar", eg.Generator(0)), "dataset"),
    (lambda: presets.classification_data("digits", eg.Generator(0), val_fraction=1.0), "val_fraction"),
])
def test_unknown_names_and_bad_fractions_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
