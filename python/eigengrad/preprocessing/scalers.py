"""Feature scaling fitted on training data: z-scores and min-max ranges."""
from __future__ import annotations

import numpy as np

from eigengrad.preprocessing.base import FittedTransform


class StandardScaler(FittedTransform):
    r"""Z-score each feature with the training mean and (population) standard deviation:
    :math:`z = (x - \mu) / \sigma`, :math:`\sigma^2 = \frac1n \sum (x - \mu)^2` (scikit-learn's
    ``StandardScaler``). Constant features (:math:`\sigma = 0`) get scale 1: they map to 0, no division by 0.
    """

    _state_keys = ("mean_", "scale_")

    def __init__(self, *, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean, self.with_std = with_mean, with_std

    def _fit(self, x: np.ndarray) -> None:
        self.mean_ = x.mean(axis=0) if self.with_mean else np.zeros(x.shape[1:])
        std = x.std(axis=0) if self.with_std else np.ones(x.shape[1:])
        self.var_ = std ** 2
        self.scale_ = np.where(std > 0, std, 1.0)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        self._check_features(x, self.mean_.shape)
        return (x - self.mean_) / self.scale_

    def _inverse(self, x: np.ndarray) -> np.ndarray:
        self._check_features(x, self.mean_.shape)
        return x * self.scale_ + self.mean_

    def _feature_shape(self) -> tuple:
        return self.mean_.shape


class MinMaxScaler(FittedTransform):
    r"""Map each feature's training range :math:`[m, M]` onto ``feature_range`` :math:`[a, b]`:
    :math:`y = a + (x - m)(b - a) / (M - m)` (scikit-learn's ``MinMaxScaler``). Constant features
    (:math:`M = m`) map to :math:`a`. ``clip=True`` clips test data outside the training range.
    """

    _state_keys = ("data_min_", "data_max_", "feature_range_")

    def __init__(self, feature_range: tuple = (0.0, 1.0), *, clip: bool = False) -> None:
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"feature_range: expected (min, max) with min < max, got {feature_range!r}")
        self.feature_range, self.clip = (float(lo), float(hi)), clip
        self.feature_range_ = np.array(self.feature_range)

    def _fit(self, x: np.ndarray) -> None:
        self.data_min_, self.data_max_ = x.min(axis=0), x.max(axis=0)
        self.feature_range_ = np.array(self.feature_range)

    def _scale(self):
        lo, hi = self.feature_range_
        span = self.data_max_ - self.data_min_
        return (hi - lo) / np.where(span > 0, span, 1.0), lo

    def _transform(self, x: np.ndarray) -> np.ndarray:
        self._check_features(x, self.data_min_.shape)
        scale, lo = self._scale()
        y = (x - self.data_min_) * scale + lo
        return np.clip(y, *self.feature_range_) if self.clip else y

    def _inverse(self, x: np.ndarray) -> np.ndarray:
        self._check_features(x, self.data_min_.shape)
        scale, lo = self._scale()
        return (x - lo) / scale + self.data_min_

    def _after_load(self) -> None:
        self.feature_range = tuple(float(v) for v in self.feature_range_)
        super()._after_load()

    def _feature_shape(self) -> tuple:
        return self.data_min_.shape
