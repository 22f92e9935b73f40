"""LowRankMultivariateNormal(loc, cov_factor, cov_diag): the Gaussian of mean ``loc`` and covariance
W W^T + D, W = cov_factor (k x r), D = diag(cov_diag) (PyTorch's, for r << k: nothing k x k is formed for
log_prob, entropy or sampling).

With the capacitance C = I_r + W^T D^-1 W = L_C L_C^T (Woodbury and the matrix determinant lemma):
    log det(W W^T + D) = 2 sum log diag L_C + sum log D,
    (x - loc)^T (W W^T + D)^-1 (x - loc) = |D^-1/2 (x - loc)|^2 - |L_C^-1 W^T D^-1 (x - loc)|^2,
    rsample = loc + W eps_r + D^1/2 eps_k, eps ~ N(0, I).
"""
from __future__ import annotations

import functools

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution, LocatedAtLoc, as_param
from eigengrad.distributions.multivariate_normal import GaussianDensity
from eigengrad.tensor import Tensor


class LowRankMultivariateNormal(GaussianDensity, LocatedAtLoc, Distribution):
    """A batch of k-dimensional Gaussians with covariance cov_factor cov_factor^T + diag(cov_diag)."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    _param_event_dims = {"loc": 1, "cov_factor": 2, "cov_diag": 1, "_capacitance_tril": 2,
                         "covariance_matrix": 2, "precision_matrix": 2, "scale_tril": 2}

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None) -> None:
        from eigengrad import eye, linalg

        loc, cov_factor = as_param(loc, "loc"), as_param(cov_factor, "cov_factor")
        cov_diag = as_param(cov_diag, "cov_diag")
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        k = loc.shape[-1]
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != (k,):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {k} x m")
        if tuple(cov_diag.shape[-1:]) != (k,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {(k,)}")
        try:
            batch_shape = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                              tuple(cov_diag.shape[:-1]))
        except ValueError:
            raise ValueError(f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from None
        r = cov_factor.shape[-1]
        self.loc = loc.expand(*batch_shape, k)
        self.cov_factor = cov_factor.expand(*batch_shape, k, r)
        self.cov_diag = cov_diag.expand(*batch_shape, k)
        super().__init__(batch_shape, (k,), validate_args)
        # L_C of the capacitance I + W^T D^-1 W, from the unexpanded parameters (as PyTorch's)
        wt_dinv = (cov_factor / cov_diag.unsqueeze(-1)).mT
        capacitance = wt_dinv @ cov_factor
        self._capacitance_tril = linalg.cholesky(capacitance + eye(r, dtype=capacitance.dtype))

    @property
    def variance(self) -> Tensor:
        return (self.cov_factor.pow(2).sum(-1) + self.cov_diag).expand(*self._batch_shape, *self._event_shape)

    @functools.cached_property
    def covariance_matrix(self) -> Tensor:
        W = self.cov_factor
        return W @ W.mT + self.cov_diag.diag_embed()

    @functools.cached_property
    def precision_matrix(self) -> Tensor:
        """D^-1 - D^-1 W C^-1 W^T D^-1 (Woodbury)."""
        from eigengrad import linalg

        Wt_Dinv = (self.cov_factor / self.cov_diag.unsqueeze(-1)).mT
        L_C = self._capacitance_tril
        A = linalg.solve_triangular(L_C.expand(*self._batch_shape, *L_C.shape[-2:]), Wt_Dinv, upper=False)
        return (1.0 / self.cov_diag).diag_embed() - A.mT @ A

    @functools.cached_property
    def scale_tril(self) -> Tensor:
        from eigengrad import linalg

        return linalg.cholesky(self.covariance_matrix)

    @property
    def _scale_tril(self) -> Tensor:  # what MultivariateNormal's KL divergence reads
        return self.scale_tril

    def _half_log_det(self) -> Tensor:
        """log det(W W^T + D) / 2 = sum log diag L_C + (sum log D) / 2."""
        lc = self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return lc + 0.5 * self.cov_diag.log().sum(-1)

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import randn

        shape = self._extended_shape(sample_shape)
        eps_w = randn(*shape[:-1], self.cov_factor.shape[-1], dtype=self.loc.dtype)
        eps_d = randn(*shape, dtype=self.loc.dtype)
        return self.loc + (self.cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1) + self.cov_diag.sqrt() * eps_d

    def _mahalanobis(self, diff: Tensor) -> Tensor:
        from eigengrad import linalg

        shape = np.broadcast_shapes(tuple(diff.shape[:-1]), tuple(self._batch_shape))
        k, r = self.cov_factor.shape[-2:]
        diff = diff.expand(*shape, k)
        Wt_Dinv_diff = (self.cov_factor.mT @ (diff / self.cov_diag).unsqueeze(-1))
        z = linalg.solve_triangular(self._capacitance_tril.expand(*shape, r, r),
                                    Wt_Dinv_diff.expand(*shape, r, 1), upper=False).squeeze(-1)
        return (diff.pow(2) / self.cov_diag).sum(-1) - z.pow(2).sum(-1)

    def __repr__(self) -> str:
        return (f"LowRankMultivariateNormal(loc: {tuple(self.loc.shape)}, cov_factor: {tuple(self.cov_factor.shape)}, "
                f"cov_diag: {tuple(self.cov_diag.shape)})")
