"""The base class: shapes, ``sample_shape`` handling, ``expand`` and PyTorch's argument and sample checks
(``validate_args``: on by default, as PyTorch under ``__debug__``)."""
from __future__ import annotations

import functools
import numbers

import numpy as np

from eigengrad import _dtype, _trace
from eigengrad.autograd.ops import numpy_call
from eigengrad.distributions import constraints
from eigengrad.tensor import Size, Tensor


def values_checked() -> None:
    """A check of a distribution's argument or sample values (``validate_args``, on by default as PyTorch's):
    it reads them into Python, so a compiled step falls back (a replay would not check them)."""
    _trace.reject("a distribution checks its arguments' values (validate_args, on by default) inside the step: "
                  "pass validate_args=False, or call Distribution.set_default_validate_args(False), to compile it")


class Distribution:
    """A batch of distributions of ``batch_shape``, each over events of ``event_shape``.

    A subclass lists ``arg_constraints`` (parameter name -> constraint, checked at construction) and
    ``support`` (checked by ``log_prob``), and ``_param_event_dims`` (parameter name -> how many trailing
    dims it has beyond the batch shape) for ``expand``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _param_event_dims: dict = {}
    _validate_default = __debug__

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None) -> None:
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))
        self._validate_args = self._validate_default if validate_args is None else bool(validate_args)
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if name not in self.__dict__ and isinstance(getattr(type(self), name, None), functools.cached_property):
                    continue  # a parameter computed on first use from the one given (PyTorch's lazy_property)
                if constraints.is_dependent(constraint):
                    continue  # (it cannot be checked: PyTorch's validation skips it too)
                value = getattr(self, name)
                values_checked()
                if not bool(np.all(constraint.check(value))):
                    raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_default = value

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        if isinstance(sample_shape, numbers.Integral):
            raise TypeError(f"sample_shape: expected a tuple or torch.Size, got {type(sample_shape).__name__} "
                            "(write sample((n,)))")
        return tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def _value(self, value, like: Tensor) -> Tensor:
        """A log_prob/cdf argument as a tensor (:func:`as_value`). PyTorch's validation refuses a number or an
        array before converting anything, so the Tensor check comes first; unvalidated, numbers are converted."""
        self._require_tensor(value)
        return as_value(value, like)

    def _require_tensor(self, value) -> None:
        """PyTorch's first ``log_prob``/``cdf`` check (its message names log_prob for both)."""
        if self._validate_args and not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")

    def _validate_sample(self, value: Tensor) -> None:
        """PyTorch's checks of a ``log_prob`` argument: a Tensor, event shape, broadcastable, in the support."""
        if not self._validate_args:
            return
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event = tuple(self._event_shape)
        if tuple(value.shape[len(value.shape) - len(event):]) != event:
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs "
                             f"{self._event_shape}.")
        expected = tuple(self._batch_shape) + event
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {value.shape} vs "
                                 f"{Size(expected)}.")
        if self.support is None:
            return
        values_checked()
        if not bool(np.all(self.support.check(value))):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({self.support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None) -> "Distribution":
        """The same distribution broadcast to ``batch_shape`` (parameters expanded: no copy)."""
        batch_shape = tuple(batch_shape)
        new = object.__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        for name, event_dims in self._param_event_dims.items():
            value = self.__dict__.get(name)
            if value is not None:
                tail = tuple(value.shape[len(value.shape) - event_dims:]) if event_dims else ()
                setattr(new, name, value.expand(*batch_shape, *tail))
        new._batch_shape = Size(batch_shape)
        return new

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad.autograd import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler (rsample)")

    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"a Distribution subclass defines log_prob(value); {type(self).__name__} does not")

    def cdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"a Distribution subclass defines entropy(); {type(self).__name__} does not")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def __repr__(self) -> str:
        return self._repr(self.arg_constraints)

    def _repr(self, names) -> str:
        """PyTorch's: the parameters of ``names`` set on the instance, a one-element one by its value (so a
        validation error shows the bad value: ``Normal(loc: tensor([0.]), scale: tensor([-1.]))``), any other
        by its shape."""
        def shown(v):
            return v if not isinstance(v, Tensor) or v.numel() == 1 else tuple(v.shape)

        params = ", ".join(f"{k}: {shown(self.__dict__[k])}" for k in names if k in self.__dict__)
        return f"{type(self).__name__}({params})"


class ScalarEvents(Distribution):
    """A distribution of scalar events whose parameters (``_param_event_dims``' names, in order) broadcast
    together to the batch shape."""

    def _init_params(self, values, validate_args) -> None:
        for name, tensor in zip(self._param_event_dims, broadcast_all(*values)):
            setattr(self, name, tensor)
        Distribution.__init__(self, tensor.shape, (), validate_args)


class LocScale(ScalarEvents):
    """A location-scale family on the real line: ``loc`` (real) and ``scale`` (> 0) broadcast together,
    reparameterised samples (Normal, Laplace, Cauchy, Gumbel)."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _param_event_dims = {"loc": 0, "scale": 0}

    def __init__(self, loc, scale, validate_args=None) -> None:
        self._init_params((loc, scale), validate_args)


class LocatedAtLoc:
    """mean and mode ``loc`` (Normal, Laplace, MultivariateNormal)."""

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc


def as_param(value, name: str) -> Tensor:
    """A float tensor from a tensor, a number or an array (a number becomes the default float dtype)."""
    from eigengrad.tensor import default_float

    if isinstance(value, Tensor):
        return value if value._data.dtype.kind == "f" else value.to(default_float())
    if isinstance(value, (numbers.Real, np.ndarray, list, tuple)) and not isinstance(value, bool):
        # Python numbers (frozen, as every Python value a compiled step reads) through numpy_call: eg.compile
        # makes the array at every replay instead of one it cannot see
        dtype = value.dtype if isinstance(value, np.ndarray) and value.dtype.kind == "f" else np.dtype(default_float())
        if isinstance(value, np.ndarray):
            return Tensor._wrap(numpy_call(_param_array, value, dtype))
        return Tensor._wrap(numpy_call(_param_array, value if isinstance(value, numbers.Real) else tuple(value),
                                       dtype))
    raise TypeError(f"{name}: expected a Tensor or a number, got {type(value).__name__}")


def broadcast_all(*values) -> tuple:
    """The parameters as tensors of one dtype (a tensor's, else the default float) expanded to one shape."""
    out = [v if isinstance(v, Tensor) else as_param(v, "value") for v in values]
    typed = [t for v, t in zip(values, out) if isinstance(v, (Tensor, np.ndarray))]  # numbers take their dtype
    dtype = typed[0].dtype if typed else None
    if dtype is not None:
        out = [v if v.dtype == dtype else v.to(dtype) for v in out]
    shape = np.broadcast_shapes(*(tuple(v.shape) for v in out))
    return tuple(v.expand(*shape) for v in out)


def as_value(value, like: Tensor) -> Tensor:
    """A log_prob/cdf argument as a tensor of the parameters' dtype, or of a wider float dtype the value has
    (PyTorch's type promotion: float64 values against float32 parameters give float64 log-probs)."""
    if isinstance(value, Tensor):
        dtype = like._data.dtype
        if value._data.dtype.kind == "f":  # integer and bool values take the parameters' float dtype
            dtype = np.promote_types(dtype, value._data.dtype)
        return value if value._data.dtype == dtype else value.to(_dtype.of(dtype))
    return Tensor._wrap(numpy_call(_param_array, value, like._data.dtype))


def _param_array(value, dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    return np.ascontiguousarray(arr) if arr.ndim else arr


def numpy_rng() -> np.random.Generator:
    """A NumPy generator seeded from eigengrad's default generator (its seed and a fresh offset): the
    samplers NumPy has and eigengrad's kernels do not (gamma, Poisson, binomial) follow ``manual_seed``."""
    from eigengrad.random import default_generator

    return np.random.default_rng([default_generator.initial_seed(), default_generator._advance(1)])


def sum_rightmost(value: Tensor, dims: int) -> Tensor:
    """value summed over its ``dims`` rightmost dims."""
    return value.sum(tuple(range(-dims, 0))) if dims > 0 else value
