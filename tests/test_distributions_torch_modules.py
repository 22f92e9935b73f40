"""``torch.distributions``'s submodules: ``torch.distributions.beta.Beta(a, a)`` (mixup),
``from torch.distributions.uniform import Uniform``, ``torch.distributions.utils``, also through
eigengrad.compat's alias."""
import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributions as D
from eigengrad.distributions import _torch_modules, utils


def test_each_submodule_holds_its_classes():
    for name, names in _torch_modules.SUBMODULES.items():
        module = importlib.import_module(f"eigengrad.distributions.{name}")
        assert getattr(D, name) is module and module.__all__ == names
        for n in names:
            assert getattr(module, n) is getattr(D, n)
    lam = D.beta.Beta(eg.tensor([0.4]), eg.tensor([0.4])).sample().item()
    assert 0 <= lam <= 1


def test_every_torch_submodule_and_name_exists():
    pytest.importorskip("torch", reason="lists PyTorch's torch.distributions submodules")
    import torch.distributions as TD

    for info in pkgutil.iter_modules(TD.__path__):
        theirs = importlib.import_module(f"torch.distributions.{info.name}")
        ours = importlib.import_module(f"eigengrad.distributions.{info.name}")
        missing = [n for n in getattr(theirs, "__all__", []) if not hasattr(ours, n)]
        assert not missing, f"eigengrad.distributions.{info.name} lacks {missing}"


def test_utils_match_torch():
    torch = pytest.importorskip("torch", reason="compares with torch.distributions.utils")
    from torch.distributions import utils as tu

    p = np.array([[0.0, 0.2, 0.8], [1.0, 0.5, 1e-9]], np.float32)
    logits = np.array([[-3.0, 0.5, 2.0], [0.0, 10.0, -1.0]], np.float64)
    for binary in (False, True):
        np.testing.assert_allclose(utils.probs_to_logits(eg.tensor(p), binary).numpy(),
                                   tu.probs_to_logits(torch.tensor(p), binary).numpy(), rtol=1e-6)
        np.testing.assert_allclose(utils.logits_to_probs(eg.tensor(logits), binary).numpy(),
                                   tu.logits_to_probs(torch.tensor(logits), binary).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(utils.clamp_probs(eg.tensor(p)).numpy(), tu.clamp_probs(torch.tensor(p)).numpy())
    a, b = utils.broadcast_all(eg.tensor([1.0, 2.0]), 3.0)
    assert a.shape == b.shape == (2,) and b.tolist() == [3.0, 3.0]
    v = eg.tensor(np.arange(6.0))
    np.testing.assert_array_equal(utils.vec_to_tril_matrix(v).numpy(), tu.vec_to_tril_matrix(torch.arange(6.0)).numpy())


def test_lazy_property_computes_once():
    calls = []

    class Thing:
        @utils.lazy_property
        def value(self):
            calls.append(1)
            return eg.tensor([2.0])

    t = Thing()
    assert t.value.tolist() == [2.0] and t.value.tolist() == [2.0] and len(calls) == 1
    assert isinstance(Thing.__dict__["value"], utils.lazy_property)


def test_imports_under_the_torch_alias():
    code = ("from eigengrad.compat import torch_alias\n"
            "with torch_alias():\n"
            "    import torch\n"
            "    from torch.distributions.uniform import Uniform\n"
            "    from torch.distributions.utils import probs_to_logits\n"
            "    import torch.distributions.relaxed_categorical as rc\n"
            "    assert Uniform(0.0, 1.0).sample((3,)).shape == (3,)\n"
            "    assert rc.RelaxedOneHotCategorical.__name__ == 'RelaxedOneHotCategorical'\n"
            "    print(torch.distributions.beta.Beta.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("eigengrad.distributions")


def test_the_remaining_constraints():
    C = D.constraints
    m = np.array([[[1.0, 0], [2, 3]], [[1, 2], [2, 1]], [[1, 2], [0, 1]]])
    assert C.lower_triangular.check(eg.tensor(m)).tolist() == [True, False, False]
    assert C.square.check(eg.tensor(m)).tolist() == [True] * 3
    assert C.square.check(np.zeros((2, 2, 3))).tolist() == [False, False]
    assert C.symmetric.check(eg.tensor(m)).tolist() == [False, True, False]
    assert C.positive_integer.check(eg.tensor([0.0, 1.0, 2.5, 3.0])).tolist() == [False, True, False, True]
    assert repr(C.positive_integer) == "IntegerGreaterThan(lower_bound=1)" and repr(C.square) == "Square()"
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(eg.zeros(2))
    with pytest.raises(NotImplementedError, match="cannot be determined statically"):
        C.dependent.event_dim
    assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1


def test_a_users_distribution_with_dependent_constraints():
    """PyTorch's way of writing a distribution whose support depends on its parameters: validation skips
    the dependent constraints."""
    C = D.constraints

    class Shifted(D.Distribution):
        arg_constraints = {"low": C.real, "width": C.dependent}

        def __init__(self, low, width):
            self.low, self.width = eg.as_tensor(low), eg.as_tensor(width)
            super().__init__(validate_args=True)

        @C.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return C.interval(self.low, self.low + self.width)

    d = Shifted(1.0, 2.0)
    assert repr(d.support).startswith("Interval") and type(d).support.event_dim == 0
    assert C.is_dependent(type(d).support)
