"""The base class: shapes, ``sample_shape`` handling and argument checks shared by the distributions."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad.tensor import Size, Tensor


class Distribution:
    """A batch of distributions of ``batch_shape``, each over events of ``event_shape``."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None) -> None:
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))

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

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad.autograd import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler (rsample)")

    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"a Distribution subclass defines log_prob(value); {type(self).__name__} does not")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"a Distribution subclass defines entropy(); {type(self).__name__} does not")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def as_param(value, name: str) -> Tensor:
    """A float tensor from a tensor, a number or an array (a number becomes the default float dtype)."""
    from eigengrad.tensor import default_float

    if isinstance(value, Tensor):
        return value if value._data.dtype.kind == "f" else value.to(default_float())
    if isinstance(value, (numbers.Real, np.ndarray, list, tuple)) and not isinstance(value, bool):
        arr = np.asarray(value)
        if arr.dtype.kind != "f":
            arr = arr.astype(default_float())
        return Tensor._wrap(np.ascontiguousarray(arr) if arr.ndim else arr)
    raise TypeError(f"{name}: expected a Tensor or a number, got {type(value).__name__}")
