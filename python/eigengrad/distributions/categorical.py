"""Categorical over ``K`` categories given by ``probs`` (normalised along the last dim) or ``logits``
(log-probabilities up to a constant): P(X = k) = p_k."""
from __future__ import annotations

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution, as_param
from eigengrad.tensor import Tensor


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None)``; samples are int64 indices in [0, K)."""

    _param_event_dims = {"probs": 1, "logits": 1}  # expand() keeps the categories' dimension
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}  # (after normalising)

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = as_param(probs, "probs")
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._given = "probs"
            eps = float(np.finfo(self.probs._data.dtype).eps)
            self.logits = self.probs.clamp(min=eps, max=1 - eps).log()
        else:
            logits = as_param(logits, "logits")
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._given = "logits"
            self.probs = self.logits.softmax(-1)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self) -> Tensor:
        return self.probs.new_full(tuple(self.batch_shape), float("nan"))

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    @property
    def variance(self) -> Tensor:
        return self.probs.new_full(tuple(self.batch_shape), float("nan"))

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = int(np.prod(sample_shape, dtype=np.int64)) if len(tuple(sample_shape)) else 1
        flat = self.probs.detach().reshape(-1, self._num_events)
        draws = flat.multinomial(n, replacement=True).t()  # (n, batch)
        return draws.reshape(*shape) if shape else draws.reshape(())

    def log_prob(self, value) -> Tensor:
        self._require_tensor(value)  # before the conversion below, which would make any number a Tensor
        value = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value, dtype=np.int64))
        self._validate_sample(value)  # in the support: 0 <= value < K
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.batch_shape))
        logits = self.logits.expand(*shape, self._num_events)
        index = value.expand(*shape).unsqueeze(-1)
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        min_real = float(np.finfo(self.logits._data.dtype).min)
        return -(self.probs * self.logits.clamp(min=min_real)).sum(-1)

    has_enumerate_support = True

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0, 1, ..., K - 1 (int64) along a new first dim, expanded over the batch (PyTorch's)."""
        values = Tensor._wrap(np.arange(self._num_events, dtype=np.int64).reshape((-1,) + (1,) * len(self.batch_shape)))
        return values.expand(-1, *self.batch_shape) if expand else values

    def __repr__(self) -> str:
        """PyTorch's: the parameter the distribution was built from (``Categorical(logits: ...)`` for logits)."""
        return self._repr([getattr(self, "_given", "probs")])
