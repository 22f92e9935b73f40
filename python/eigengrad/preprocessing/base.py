"""The fitted-transform protocol shared by the scalers: fit on training data, reuse unchanged on test data.

Statistics are computed over axis 0 (samples) in float64, one per feature, where a feature is any
trailing index (an image batch N x H x W has H x W features). ``transform`` returns the kind of
input it got (NumPy array or eigengrad Tensor) in its floating dtype (integers become float32).
``state_dict`` holds only arrays, so ``eg.save(scaler.state_dict(), path)`` stores it beside a model.
"""
from __future__ import annotations

import numpy as np

from eigengrad.tensor import Tensor


class FittedTransform:
    """Base: subclasses set ``_state_keys`` and implement ``_fit``, ``_transform``, ``_inverse``."""

    _state_keys: tuple = ()

    def fit(self, X) -> "FittedTransform":
        x = _as_float64(X, "X")
        if x.shape[0] < 1:
            raise ValueError(f"X: expected at least one sample to fit, got shape {x.shape}")
        self._fit(x)
        self.n_features_in_shape_ = x.shape[1:]
        return self

    def transform(self, X):
        return self._apply(X, self._transform)

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        return self._apply(X, self._inverse)

    def _apply(self, X, fn):
        if not hasattr(self, "n_features_in_shape_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(X_train) first")
        out_dtype = _float_dtype(X)
        x = _as_float64(X, "X")
        y = fn(x).astype(out_dtype, copy=False)
        return Tensor._wrap(y) if isinstance(X, Tensor) else y

    def _check_features(self, x: np.ndarray, expected: tuple) -> None:
        if x.shape[1:] != tuple(expected):
            raise ValueError(f"X: expected samples of shape {tuple(expected)} (as in fit), got {x.shape[1:]}")

    def state_dict(self) -> dict:
        """The fitted statistics and settings as arrays (safetensors-ready)."""
        if not hasattr(self, "n_features_in_shape_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: nothing to save")
        return {k: np.array(getattr(self, k), copy=True) for k in self._state_keys}

    def load_state_dict(self, state: dict) -> "FittedTransform":
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise ValueError(f"state: missing keys {missing} for {type(self).__name__}")
        for k in self._state_keys:
            v = state[k]
            setattr(self, k, np.array(v._data if isinstance(v, Tensor) else v, dtype=np.float64, copy=True))
        self._after_load()
        return self

    def _after_load(self) -> None:
        self.n_features_in_shape_ = self._feature_shape()


def _as_float64(X, name: str) -> np.ndarray:
    a = X._data if isinstance(X, Tensor) else X
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array or Tensor, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{name}: expected an array of shape (n_samples, n_features, ...), got shape {a.shape}")
    return a.astype(np.float64, copy=False)


def _float_dtype(X) -> np.dtype:
    a = X._data if isinstance(X, Tensor) else np.asarray(X)
    return a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
