"""IEEE results without NumPy's floating-point warnings (eigengrad/_fp_quiet.py): log(0) = -inf, sqrt(-1) =
NaN, 1/0 = inf, inf - inf = NaN, forward and backward, silently as in PyTorch; the user's own NumPy state
(np.errstate, warning filters) is as it was outside eigengrad's calls."""
import warnings

import numpy as np
import pytest

import eigengrad as eg

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -0.5, np.inf, -np.inf, np.nan])
OTHER = np.array([0.0, 0.0, 1.0, np.inf, -1.0, 0.0, np.inf, np.inf, 1.0])

UNARY = {"log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "sqrt": np.sqrt,
         "rsqrt": lambda x: 1 / np.sqrt(x), "reciprocal": np.reciprocal, "atanh": np.arctanh, "acos": np.arccos,
         "asin": np.arcsin, "acosh": np.arccosh, "tan": np.tan, "exp": np.exp, "sinh": np.sinh}
BINARY = {"div": np.divide, "sub": np.subtract, "add": np.add, "mul": np.multiply, "fmod": np.fmod,
          "remainder": lambda a, b: np.subtract(a, np.multiply(np.floor(np.divide(a, b)), b))}


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_edge_values_are_ieee_and_silent(name, warnings_are_errors):
    x = eg.tensor(EDGES, requires_grad=True)
    y = getattr(eg, name)(x)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(y.detach().numpy(), UNARY[name](EDGES))
    y.sum().backward()  # 1/x, 1/sqrt(1 - x^2), ... at the domain's edges: inf and NaN, no warning
    (g,) = eg.autograd.grad(getattr(eg, name)(x).sum(), x, create_graph=True)
    g.sum().backward()  # accumulating into x.grad: inf + -inf
    assert x.grad.shape == EDGES.shape


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_edge_values_are_ieee_and_silent(name, warnings_are_errors):
    a, b = eg.tensor(EDGES, requires_grad=True), eg.tensor(OTHER, requires_grad=True)
    out = getattr(eg, name)(a, b)
    if name != "remainder":  # (PyTorch's remainder of infinities is its own; its finite values are tested elsewhere)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(out.detach().numpy(), BINARY[name](EDGES, OTHER))
    out.sum().backward()


def test_reductions_and_composites_are_silent(warnings_are_errors):
    x = eg.tensor(EDGES)
    for y in (eg.cumprod(x, 0), eg.logit(x), eg.xlogy(x, x), eg.special.xlog1py(x, x), eg.sinc(x), eg.frac(x),
              eg.log_softmax(x, 0), eg.logsumexp(x, 0)):
        assert y.shape in ((9,), ())
    np.testing.assert_array_equal(eg.cumprod(eg.tensor([0.0, np.inf, 1.0]), 0).numpy(), [0.0, np.nan, np.nan])


def test_the_users_numpy_state_is_untouched():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eg.log(eg.zeros(2))
        with pytest.raises(RuntimeWarning, match="divide by zero"):  # the user's NumPy still warns
            np.log(np.zeros(1))
        with np.errstate(divide="raise"):
            x = eg.zeros(2, requires_grad=True)
            eg.log(x).sum().backward()
            with pytest.raises(FloatingPointError):  # and their errstate holds after eigengrad's calls
                np.log(np.zeros(1))
        assert np.geterr()["divide"] == "warn"


def test_a_compiled_step_replays_silently(warnings_are_errors):
    w = eg.nn.Parameter(eg.tensor(np.array([1.0, 0.0, -1.0])))
    opt = eg.optim.SGD([w], lr=0.1)

    @eg.compile
    def step(x):
        opt.zero_grad()
        loss = (eg.log(w * x) * 0.0 + (w * x) ** 2).nan_to_num().sum()  # log(0) = -inf, log(-1) = NaN
        loss.backward()
        opt.step()
        return loss

    x = eg.tensor(np.array([1.0, 1.0, 1.0]))
    for _ in range(4):  # trace, verify, replays
        step(x)
    assert step.fallback_reason is None


def test_the_public_fallback_when_numpys_internals_move():
    """Without NumPy 2's private context variable (and NumPy 1's errobj), the switch is np.errstate."""
    import types

    import eigengrad._fp_quiet as fq

    source = open(fq.__file__).read()
    private = "from numpy._core._ufunc_config import _extobj_contextvar as _STATE"
    assert private in source
    module = types.ModuleType("fp_quiet_fallback")
    exec(source.replace(private, "raise ImportError").replace('hasattr(np, "geterrobj")', "False"), module.__dict__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = module.enter()
        np.testing.assert_array_equal(np.log(np.zeros(1)), [-np.inf])
        module.leave(token)
        with pytest.raises(RuntimeWarning):
            np.log(np.zeros(1))
