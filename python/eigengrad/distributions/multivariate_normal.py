"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the Gaussian of mean ``loc`` and
covariance L L^T, L = scale_tril lower triangular (the Cholesky factor of the covariance, or of the inverse of
the precision). log_prob = -(k log 2 pi + |L^-1 (x - loc)|^2) / 2 - sum log diag L; rsample = loc + L eps."""
from __future__ import annotations

import functools
import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution, LocatedAtLoc, as_param
from eigengrad.tensor import Tensor


def _mahalanobis(L: Tensor, diff: Tensor) -> Tensor:
    """|L^-1 diff|^2 over the last dim, L (..., k, k) lower triangular, broadcast against diff (..., k)."""
    from eigengrad import linalg

    shape = np.broadcast_shapes(tuple(L.shape[:-2]), tuple(diff.shape[:-1]))
    k = diff.shape[-1]
    z = linalg.solve_triangular(L.expand(*shape, k, k), diff.expand(*shape, k).unsqueeze(-1), upper=False)
    z = z.squeeze(-1)
    return (z * z).sum(-1)


class GaussianDensity:
    """log_prob and entropy of a k-dimensional Gaussian from its ``_mahalanobis(x - loc)`` and
    ``_half_log_det()`` (log det(Sigma) / 2), which each parametrisation computes its own way:
    log_prob = -(k log 2 pi + M) / 2 - log det(Sigma) / 2, entropy = k (1 + log 2 pi) / 2 + log det(Sigma) / 2."""

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc).to(self.loc.dtype)  # PyTorch's result keeps loc's dtype
        self._validate_sample(value)
        M = self._mahalanobis(value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h


class MultivariateNormal(GaussianDensity, LocatedAtLoc, Distribution):
    """A batch of k-dimensional Gaussians: batch_shape the broadcast of loc's and the matrix's leading dims."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    _param_event_dims = {"loc": 1, "_scale_tril": 2, "covariance_matrix": 2, "precision_matrix": 2, "scale_tril": 2}

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        from eigengrad import linalg

        loc = as_param(loc, "loc")
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        if sum(v is not None for v in given.values()) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, matrix = next((k, as_param(v, k)) for k, v in given.items() if v is not None)
        if matrix.ndim < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions"
                             if name == "scale_tril" else
                             f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        k = loc.shape[-1]
        self.loc = loc.expand(*batch_shape, k)
        self.__dict__[name] = matrix.expand(*batch_shape, *matrix.shape[-2:])  # over the cached property
        self.arg_constraints = {"loc": constraints.real_vector, name: type(self).arg_constraints[name]}
        super().__init__(batch_shape, (k,), validate_args)
        if name == "scale_tril":  # its upper triangle is not read (triangular solves): no gradient there
            self._scale_tril = self.scale_tril
        elif name == "covariance_matrix":
            self._scale_tril = linalg.cholesky(self.covariance_matrix)
        else:  # the Cholesky factor of the covariance, the inverse of the precision
            self._scale_tril = linalg.cholesky(linalg.inv(self.precision_matrix))

    # the two matrices not given, computed on first use (PyTorch's lazy_property)
    @functools.cached_property
    def scale_tril(self) -> Tensor:
        return self._scale_tril

    @functools.cached_property
    def covariance_matrix(self) -> Tensor:
        L = self._scale_tril
        return L @ L.mT

    @functools.cached_property
    def precision_matrix(self) -> Tensor:
        from eigengrad import linalg

        return linalg.inv(self.covariance_matrix)

    @property
    def variance(self) -> Tensor:
        return self._scale_tril.pow(2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import randn

        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + (self._scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return self._scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def _mahalanobis(self, diff: Tensor) -> Tensor:
        return _mahalanobis(self._scale_tril, diff)

    def __repr__(self) -> str:  # the matrix given and those computed so far, as PyTorch's lazy properties
        return self._repr(type(self).arg_constraints)
