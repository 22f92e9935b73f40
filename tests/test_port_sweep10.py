"""What two sweeps of realistic PyTorch scripts (training recipes; scientific and autograd idioms), run with
only the import changed, found missing or different: each as PyTorch has it."""
import copy
import warnings

import numpy as np
import pytest

import eigengrad as eg


def test_deepcopy_of_a_compiled_model_is_an_independent_compiled_copy():
    """``model = torch.compile(model); ema = copy.deepcopy(model)`` (and AveragedModel of it) recursed forever."""
    eg.manual_seed(0)
    model = eg.compile(eg.nn.Sequential(eg.nn.Linear(4, 3), eg.nn.ReLU(), eg.nn.Linear(3, 2)))
    x = eg.randn(5, 4)
    with eg.no_grad():
        want = model(x).numpy().copy()
    ema = copy.deepcopy(model)
    assert type(ema) is type(model) and ema._orig_mod is not model._orig_mod
    assert list(ema.state_dict()) == list(model.state_dict())  # ('_orig_mod.0.weight', ...)
    with eg.no_grad():
        for _ in range(5):  # traced, verified, then replayed
            np.testing.assert_array_equal(ema(x).numpy(), want)
        assert ema.replays >= 1 and ema.fallback_reason is None  # its own compiled forward
        ema._orig_mod[0].weight.mul_(0.5)
        np.testing.assert_array_equal(model(x).numpy(), want)  # the original is untouched
        assert not np.array_equal(ema(x).numpy(), want)
    avg = eg.optim.swa_utils.AveragedModel(model)
    assert list(avg.state_dict())[:2] == ["n_averaged", "module._orig_mod.0.weight"]
    avg.update_parameters(model)


@pytest.mark.parametrize("call, want", [
    (lambda x, y: x.clone().add_(0.1, y), [1.0, 1.1, 1.2]),
    (lambda x, y: x.clone().sub_(0.1, y), [1.0, 0.9, 0.8]),
    (lambda x, y: x.add(0.1, y), [1.0, 1.1, 1.2]),
    (lambda x, y: eg.sub(x, 0.1, y), [1.0, 0.9, 0.8]),
    (lambda x, y: x.clone().addcmul_(0.5, y, y), [1.0, 1.5, 3.0]),
    (lambda x, y: eg.addcmul(x, 0.5, y, y), [1.0, 1.5, 3.0]),
    (lambda x, y: x.clone().addcdiv_(0.5, y, y + 1), [1.0, 1.25, 4 / 3]),
    (lambda x, y: eg.addcdiv(x, 0.5, y, y + 1), [1.0, 1.25, 4 / 3]),
])
def test_number_first_overloads_with_pytorchs_warning(call, want):
    """Pre-2021 optimizers' ``exp_avg_sq.mul_(b2).addcmul_(1 - b2, g, g)`` and ``p.data.add_(-lr, d_p)``."""
    x, y = eg.ones(3), eg.arange(3.0)
    with pytest.warns(UserWarning, match=r"This overload of \w+ is deprecated"):
        out = call(x, y)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_number_first_overloads_reject_other_combinations():
    x, y = eg.ones(3), eg.arange(3.0)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.add(y, y)  # no number first
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.add_(0.1, y, alpha=2)  # alpha twice
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        eg.addcmul(x, 0.5, y, y, value=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(x.add(y, alpha=2).numpy(), [1, 3, 5])  # today's form: no warning
