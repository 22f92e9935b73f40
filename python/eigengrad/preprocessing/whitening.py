"""PCA and ZCA whitening fitted on training data."""
from __future__ import annotations

import numpy as np

from eigengrad.preprocessing.base import FittedTransform


class PCAWhitening(FittedTransform):
    r"""Decorrelate and scale the features so that the training covariance becomes the identity.

    With the training mean :math:`\mu` and covariance :math:`C = \frac{1}{n-1} \sum (x - \mu)(x - \mu)^T
    = U \Lambda U^T` (eigenvalues in decreasing order; the ``n - 1`` of ``np.cov`` and scikit-learn's
    ``PCA(whiten=True)``):

    .. math::
        \text{PCA: } z = (x - \mu) U_k (\Lambda_k + \epsilon)^{-1/2} \qquad
        \text{ZCA: } z = (x - \mu) U (\Lambda + \epsilon)^{-1/2} U^T

    PCA keeps the ``n_components`` leading components (all by default); ZCA (Bell & Sejnowski 1997)
    keeps every dimension and stays closest to the input in the least-squares sense. ``eps`` keeps
    directions of (near) zero variance from dividing by zero; features are flattened.
    """

    _state_keys = ("mean_", "components_", "explained_variance_", "eps_", "zca_")

    def __init__(self, n_components: int | None = None, eps: float = 1e-8, zca: bool = False) -> None:
        if n_components is not None and (not isinstance(n_components, (int, np.integer)) or n_components < 1):
            raise ValueError(f"n_components: expected a positive integer or None, got {n_components!r}")
        if zca and n_components is not None:
            raise ValueError("n_components: ZCA whitening keeps every dimension; pass n_components=None with zca=True")
        if not eps >= 0:
            raise ValueError(f"eps: expected a value >= 0, got {eps}")
        self.n_components, self.eps, self.zca = n_components, float(eps), bool(zca)

    def _fit(self, x: np.ndarray) -> None:
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[0] < 2:
            raise ValueError(f"X: expected at least 2 samples to estimate a covariance, got {flat.shape[0]}")
        k = self.n_components or flat.shape[1]
        if k > flat.shape[1]:
            raise ValueError(f"n_components: expected at most {flat.shape[1]} (the number of features), got {k}")
        self.mean_ = flat.mean(axis=0)
        cov = np.cov(flat - self.mean_, rowvar=False).reshape(flat.shape[1], flat.shape[1])
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1][:k]
        self.explained_variance_ = np.maximum(values[order], 0.0)
        self.components_ = vectors[:, order].T  # (k, features), rows = principal directions
        self.eps_, self.zca_ = np.array(self.eps), np.array(float(self.zca))
        self._feature_shape_ = x.shape[1:]

    def _scales(self) -> np.ndarray:
        return 1.0 / np.sqrt(self.explained_variance_ + self.eps_)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        flat = self._flatten(x)
        z = ((flat - self.mean_) @ self.components_.T) * self._scales()
        return z @ self.components_ if self.zca_ else z

    def _inverse(self, x: np.ndarray) -> np.ndarray:
        z = x.reshape(x.shape[0], -1)
        if self.zca_:
            z = z @ self.components_.T
        if z.shape[1] != self.components_.shape[0]:
            raise ValueError(f"X: expected {self.components_.shape[0]} whitened features, got {z.shape[1]}")
        flat = (z / self._scales()) @ self.components_ + self.mean_
        return flat.reshape((x.shape[0],) + tuple(self._feature_shape_))

    def _flatten(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X: expected samples with {self.mean_.shape[0]} features (as in fit), got "
                             f"{flat.shape[1]}")
        return flat

    def _after_load(self) -> None:
        self.eps_, self.zca_ = self.eps_.reshape(()), self.zca_.reshape(())  # files may store scalars as (1,)
        self.eps, self.zca = float(self.eps_), bool(self.zca_)
        self._feature_shape_ = self.mean_.shape
        super()._after_load()

    def _feature_shape(self) -> tuple:
        return self._feature_shape_
