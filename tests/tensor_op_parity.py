"""The side-by-side harness of the tensor-operation parity tests: one table entry is a function written once
for both libraries (``fn(L, *args)`` with L = eigengrad or torch) and a maker of random inputs; the harness
runs both on the same values (float64 inputs that require grad, int64/bool ones as they are, some cases with
non-contiguous eigengrad inputs), compares every output (values to 1e-10 relative, dtypes and shapes exactly,
integer and bool outputs bitwise), then the gradients of a random projection of the float outputs. The same
cases run again with the float inputs in float32, compared loosely (1e-4 relative)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import eigengrad as eg
from torch_parity import as_float64

torch = pytest.importorskip("torch", reason="the tensor-operation parity tests compare with PyTorch")
torch.set_default_dtype(torch.float32)

RTOL = 1e-10
RTOL_FLOAT32 = 2e-6  # float32 outputs (integer inputs of floating functions): rounding of either library
RTOL_FLOAT32_RUN = 1e-4  # the float32 run (float inputs cast to float32): both libraries round in float32
CASES_PER_OP = 6


@dataclass
class Op:
    name: str
    fn: Callable  # fn(L, *args): L is eigengrad or torch; args are tensors of L (or plain values)
    make: Callable  # rng -> tuple of args: numpy arrays become tensors; anything else is passed as it is
    grad: bool = True  # differentiable (float64 inputs require grad; gradients compared and gradchecked)
    cases: int = CASES_PER_OP
    strided: bool = True  # also run with non-contiguous eigengrad inputs (odd cases)
    gradcheck: bool = True
    gradgradcheck: bool = True  # second order too (every differentiable op here is twice differentiable)
    tags: tuple = field(default_factory=tuple)
    raises: bool = False  # PyTorch refuses every case: eigengrad must refuse it too (see Raises)

    @property
    def id(self) -> str:
        return self.name


def Raises(name: str, fn: Callable, make: Callable, **options) -> Op:
    """An entry whose every case PyTorch refuses (a bad shape, index, dtype or in-place use): eigengrad must
    raise the same kind of error; nothing to gradcheck."""
    return Op(name, fn, make, raises=True, gradcheck=False, **options)


# --- random inputs ------------------------------------------------------------------------------------------

def size(rng, zero: bool = True) -> int:
    """A dim size: 1 often, 0 sometimes (zero-size batches), else small."""
    r = rng.random()
    if zero and r < 0.12:
        return 0
    if r < 0.35:
        return 1
    return int(rng.integers(2, 6))


def shape(rng, ndim: int, zero: bool = True) -> tuple:
    return tuple(size(rng, zero) for _ in range(ndim))


def ndim(rng, low: int = 1, high: int = 4) -> int:
    return int(rng.integers(low, high + 1))


def normal(rng, shp):
    return rng.standard_normal(shp)


def positive(rng, shp, low=0.3, high=2.0):
    return rng.uniform(low, high, shp)


def away(rng, shp):
    return rng.choice([-1.0, 1.0], shp) * rng.uniform(0.2, 1.5, shp)


def distinct(rng, shp):
    """Values without ties (sort, max, topk: the indices are then unique)."""
    n = int(np.prod(shp))
    return (rng.permutation(n) * 0.37 - n * 0.1 + rng.uniform(0, 0.01)).reshape(shp)


def ints(rng, shp, low=-5, high=6):
    return rng.integers(low, high, shp).astype(np.int64)


def bools(rng, shp):
    return rng.random(shp) < 0.5


# --- running both sides ----------------------------------------------------------------------------------

def _strided_array(a: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a wider array along the last dim)."""
    if a.ndim == 0 or a.size == 0:
        return a
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


def _eg_arg(a, grad: bool, strided: bool):
    if not isinstance(a, np.ndarray):
        return a
    if strided and a.dtype.kind == "f":
        t = eg.from_numpy(_strided_array(a))
    else:
        t = eg.tensor(a)
    return t.requires_grad_() if grad and a.dtype.kind == "f" else t


def _torch_arg(a, grad: bool):
    if not isinstance(a, np.ndarray):
        return a
    t = torch.tensor(a)
    return t.requires_grad_() if grad and a.dtype.kind == "f" else t


def _flatten(out) -> list:
    if isinstance(out, (list, tuple)) and not isinstance(out, torch.Size) and not isinstance(out, eg.Size):
        return [x for o in out for x in _flatten(o)]
    return [out]


def _dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def compare_outputs(e_out, t_out, what: str, rtol32: float = RTOL_FLOAT32) -> list:
    """Compares every output (float32 ones to ``rtol32``); returns the pairs of float outputs (eigengrad,
    torch) that carry gradients."""
    es, ts = _flatten(e_out), _flatten(t_out)
    assert len(es) == len(ts), f"{what}: {len(es)} outputs != {len(ts)}"
    pairs = []
    for k, (e, t) in enumerate(zip(es, ts)):
        label = f"{what} output {k}"
        if isinstance(t, torch.Tensor):
            assert isinstance(e, eg.Tensor), f"{label}: expected a Tensor, got {type(e).__name__}"
            assert tuple(e.shape) == tuple(t.shape), f"{label}: shape {tuple(e.shape)} != {tuple(t.shape)}"
            assert _dtype_name(e) == _dtype_name(t), f"{label}: dtype {_dtype_name(e)} != {_dtype_name(t)}"
            if t.dtype.is_floating_point:
                assert_rel(e.detach().numpy(), t.detach().numpy(), label, RTOL if t.dtype == torch.float64 else rtol32)
                if t.requires_grad and e.requires_grad:
                    pairs.append((e, t))
                else:
                    assert e.requires_grad == t.requires_grad, f"{label}: requires_grad {e.requires_grad} != " \
                                                               f"{t.requires_grad}"
            else:
                np.testing.assert_array_equal(e.numpy(), t.numpy(), err_msg=label)
        elif isinstance(t, (torch.Size, tuple, list)):
            assert tuple(e) == tuple(t), f"{label}: {e} != {t}"
        elif isinstance(t, float):
            assert isinstance(e, float), f"{label}: expected a float, got {type(e).__name__}"
            assert abs(e - t) <= RTOL * max(abs(t), 1e-30) or (np.isnan(e) and np.isnan(t)), f"{label}: {e} != {t}"
        else:
            assert type(e) is type(t) and e == t, f"{label}: {e!r} != {t!r}"
    return pairs


def assert_rel(actual: np.ndarray, expected: np.ndarray, what: str, rtol: float = RTOL) -> None:
    actual, expected = as_float64(actual), as_float64(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.size == 0:
        return
    nan_e, nan_a = np.isnan(expected), np.isnan(actual)
    np.testing.assert_array_equal(nan_a, nan_e, err_msg=f"{what}: NaN positions differ")
    inf_e = np.isinf(expected)
    np.testing.assert_array_equal(actual[inf_e], expected[inf_e], err_msg=f"{what}: infinities differ")
    keep = ~(nan_e | inf_e)
    if not keep.any():
        return
    ref = max(float(np.max(np.abs(expected[keep]))), 1e-30)
    err = float(np.max(np.abs(actual[keep] - expected[keep]))) / ref
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.0e}"


def _arrays(args) -> tuple:
    """The maker's args as a tuple, NumPy scalars (0-d draws) as 0-d arrays."""
    args = args if isinstance(args, tuple) else (args,)
    return tuple(np.asarray(a) if isinstance(a, np.generic) else a for a in args)


def case_rng(op: Op, case: int) -> np.random.Generator:
    """The case's generator: seeded from the op's name with a stable hash (str's hash() changes per process)."""
    return np.random.default_rng(1000 + case + 7919 * (zlib.crc32(op.name.encode()) % 1000))


def run_case(op: Op, case: int, float32: bool = False) -> None:
    """One random case side by side; ``float32``: the maker's float64 arrays cast to float32 (outputs and
    gradients compared to ``RTOL_FLOAT32_RUN``)."""
    rng = case_rng(op, case)
    args = _arrays(op.make(rng))
    if float32:
        args = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a
                     for a in args)
    rtol = RTOL_FLOAT32_RUN if float32 else RTOL
    strided = op.strided and case % 2 == 1
    e_args = [_eg_arg(a, op.grad, strided) for a in args]
    t_args = [_torch_arg(a, op.grad) for a in args]
    what = f"{op.name} case {case} (shapes {[np.shape(a) for a in args if isinstance(a, np.ndarray)]})"
    try:
        t_out = op.fn(torch, *t_args)
    except Exception as exc:  # PyTorch refuses these inputs: eigengrad must too
        with pytest.raises(type(exc) if isinstance(exc, (IndexError, TypeError)) else (RuntimeError, ValueError,
                                                                                       IndexError)):
            op.fn(eg, *e_args)
        return
    assert not op.raises, f"{what}: PyTorch accepted an input the table says it refuses: {t_out!r}"
    e_out = op.fn(eg, *e_args)
    pairs = compare_outputs(e_out, t_out, what, RTOL_FLOAT32_RUN if float32 else RTOL_FLOAT32)
    if not op.grad or not pairs:
        return
    weights = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    e_loss = sum((e * eg.tensor(w)).sum() for (e, _), w in zip(pairs, weights))
    t_loss = sum((t * torch.tensor(w)).sum() for (_, t), w in zip(pairs, weights))
    e_in = [a for a in e_args if isinstance(a, eg.Tensor) and a.requires_grad]
    t_in = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    e_grads = eg.autograd.grad(e_loss, e_in, allow_unused=True, materialize_grads=True)
    t_grads = torch.autograd.grad(t_loss, t_in, allow_unused=True, materialize_grads=True)
    for k, (g, tg) in enumerate(zip(e_grads, t_grads)):
        # (materialized: may require grad)
        assert_rel(g.detach().numpy(), tg.detach().numpy(), f"{what} gradient of input {k}", rtol)


def run_gradcheck(op: Op) -> None:
    """eigengrad's gradcheck and gradgradcheck (float64, central differences) on the op's first case with a
    non-empty float input that it accepts (none is a failure)."""
    for case in range(op.cases):
        rng = case_rng(op, case)
        args = _arrays(op.make(rng))
        floats = [a for a in args if isinstance(a, np.ndarray) and a.dtype == np.float64]
        if all(a.size == 0 for a in floats):
            continue
        e_args = [_eg_arg(a, True, False) for a in args]
        wrt = [i for i, a in enumerate(e_args) if isinstance(a, eg.Tensor) and a.requires_grad]
        if not wrt:
            continue

        def f(*xs):
            full = list(e_args)
            for i, x in zip(wrt, xs):
                full[i] = x
            return tuple(o for o in _flatten(op.fn(eg, *full)) if isinstance(o, eg.Tensor) and o.is_floating_point())

        try:
            f(*[e_args[i] for i in wrt])
        except Exception:  # inputs the op refuses (checked against PyTorch in the parity test)
            continue
        xs = tuple(e_args[i] for i in wrt)
        assert eg.autograd.gradcheck(f, xs, eps=1e-6, atol=1e-6, rtol=1e-5)
        if op.gradgradcheck:
            assert eg.autograd.gradgradcheck(f, xs, eps=1e-6, atol=1e-5, rtol=1e-4)
        return
    pytest.fail(f"{op.name}: no case with a non-empty float input that the op accepts (an op that only raises "
                "takes gradcheck=False)")


def make_tests(ops: list) -> tuple:
    """The tests of a table: every op against PyTorch (float64 inputs, then the same cases in float32), and
    gradcheck/gradgradcheck of the differentiable ones (a test module assigns them to module-level names, so pytest collects them)."""
    ids = [op.id for op in ops]
    assert len(set(ids)) == len(ids), "duplicate op ids"
    grad_ops = [op for op in ops if op.grad and op.gradcheck]

    @pytest.mark.parametrize("op", ops, ids=ids)
    def test_matches_torch(op):
        for case in range(op.cases):
            run_case(op, case)

    @pytest.mark.parametrize("op", ops, ids=ids)
    def test_matches_torch_float32(op):
        for case in range(op.cases):
            run_case(op, case, float32=True)

    @pytest.mark.parametrize("op", grad_ops, ids=[op.id for op in grad_ops])
    def test_gradcheck(op):
        run_gradcheck(op)

    return test_matches_torch, test_matches_torch_float32, test_gradcheck
