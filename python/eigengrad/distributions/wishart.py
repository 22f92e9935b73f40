"""Wishart(df, covariance_matrix | precision_matrix | scale_tril) and LKJCholesky(dim, concentration), as
PyTorch's.

Wishart: the distribution of sum_{i<=df} x_i x_i^T, x_i ~ N(0, Sigma) (any real df > p - 1 by the density),
log p(X) = -nu (p log 2 / 2 + log det L) - log Gamma_p(nu / 2) + (nu - p - 1) / 2 log det X - tr(Sigma^-1 X) / 2
(Sigma = L L^T; Anderson 2003, *An Introduction to Multivariate Statistical Analysis*, 3rd ed.); an
exponential family with natural parameters (-Sigma^-1 / 2, (nu - p - 1) / 2) (its KL is the Bregman one).
``rsample`` by the Bartlett decomposition (Bartlett 1933; Odell & Feiveson 1966, "A numerical procedure to
generate a sample covariance matrix", JASA 61(313)): X = (L A)(L A)^T with A lower triangular, A_ii =
sqrt(chi^2_(nu - i + 1)) (i = 1..p, reparameterised through the gamma draws) and A_ij ~ N(0, 1) below the
diagonal. A draw that is not positive definite (possible for p - 1 < nu < p) is drawn again, up to
``max_try_correction`` times, with the warning "Singular sample detected." (PyTorch warns on every draw: its
singularity test is inverted; here only a singular draw warns).

LKJCholesky: Cholesky factors L of correlation matrices with density proportional to det(L L^T)^(eta - 1)
(Lewandowski, Kurowicka & Joe 2009, "Generating random correlation matrices based on vines and extended onion
method", J. Multivariate Analysis 100); log p(L) = sum_{i=2}^{d} (2 (eta - 1) + d - i) log L_ii - log Z,
log Z = (d - 1)/2 log pi + log Gamma_(d-1)(eta + (d - 2)/2) - (d - 1) lgamma(eta + (d - 1)/2). ``sample`` by
the onion method (their section 3.2, in PyTorch's / NumPyro's vectorised form): row i = 1..d-1 (from 0) is
sqrt(y_i) u_i left of the diagonal, u_i uniform on the unit sphere of R^i and y_i ~ Beta(i / 2,
eta + (d - 2)/2 - (i - 1)/2), and sqrt(1 - y_i) on the diagonal. PyTorch 2.13 draws y_i ~ Beta(i - 1/2, ...)
(its offset not halved in the first concentration, unlike NumPyro's): equal for i = 1 only, so its draws beyond
the second row do not follow its own density (e.g. d = 3, eta = 1: correlations of variance 0.30, not 1/4);
here they do. No rsample (as PyTorch)."""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution, as_param
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.distributions.gamma import Beta, Chi2
from eigengrad.distributions.structured_transforms import vec_to_tril_matrix
from eigengrad.tensor import Tensor

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma: sum_{i<p} digamma(x - i / 2)."""
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    offsets = Tensor._wrap(np.arange(p, dtype=x._data.dtype) / 2)
    return (x.unsqueeze(-1) - offsets).digamma().sum(-1)


def _precision_to_scale_tril(P: Tensor) -> Tensor:
    """The Cholesky factor of P^-1 without inverting P (PyTorch's): the factor of P with rows and columns
    reversed, flipped back and transposed, is L^-1."""
    from eigengrad import eye, flip, linalg

    Lf = linalg.cholesky(flip(P, (-2, -1)))
    L_inv = flip(Lf, (-2, -1)).transpose(-2, -1)
    identity = eye(P.shape[-1], dtype=P.dtype).expand(*L_inv.shape)
    return linalg.solve_triangular(L_inv, identity, upper=False)


class Wishart(ExponentialFamily):
    """The Wishart distribution over p x p positive definite matrices (the module's docstring)."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict:
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        if sum(v is not None for v in given.values()) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, param = next((k, as_param(v, k)) for k, v in given.items() if v is not None)
        if param.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Tensor):
            batch_shape = tuple(np.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(*batch_shape)
        else:
            batch_shape = tuple(param.shape[:-2])
            self.df = Tensor._wrap(np.asarray(df, dtype=param._data.dtype))
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        self.__dict__[name] = param.expand(*batch_shape, -1, -1)
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            from eigengrad import linalg

            self._unbroadcasted_scale_tril = linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._dist_chi2 = self._chi2()

    def _chi2(self) -> Chi2:
        """Chi2 of df - i, i = 0..p-1 (the squared diagonal of the Bartlett factor)."""
        p = self._event_shape[-1]
        offsets = Tensor._wrap(np.arange(p, dtype=self._unbroadcasted_scale_tril._data.dtype))
        return Chi2(self.df.unsqueeze(-1) - offsets.expand(*self._batch_shape, -1))

    def expand(self, batch_shape, _instance=None) -> "Wishart":
        batch_shape = tuple(batch_shape)
        new = object.__new__(type(self))
        cov_shape = batch_shape + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(*cov_shape)
        new.df = self.df.expand(*batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*cov_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        new._dist_chi2 = new._chi2()
        return new

    @functools.cached_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape)

    @functools.cached_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-2, -1)).expand(*self._batch_shape, *self._event_shape)

    @functools.cached_property
    def precision_matrix(self) -> Tensor:
        from eigengrad import cholesky_solve, eye

        L = self._unbroadcasted_scale_tril
        identity = eye(self._event_shape[-1], dtype=L.dtype).expand(*L.shape)
        return cholesky_solve(identity, L).expand(*self._batch_shape, *self._event_shape)

    def _df_matrix(self) -> Tensor:
        return self.df.reshape(*self._batch_shape, 1, 1)

    @property
    def mean(self) -> Tensor:
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        from eigengrad import where

        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        diag = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (V.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape) -> Tensor:
        from eigengrad import randn

        p = self._event_shape[-1]
        eps = float(np.finfo(self._unbroadcasted_scale_tril._data.dtype).eps)
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        below = randn(*sample_shape, *self._batch_shape, p * (p - 1) // 2, dtype=diag.dtype)
        noise = diag.diag_embed() + vec_to_tril_matrix(below, diag=-1)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.transpose(-2, -1)

    def _singular(self, sample: Tensor) -> np.ndarray:
        """Per sample index: whether any matrix of the batch is not positive definite."""
        bad = ~np.asarray(self.support.check(sample))
        nb = len(self._batch_shape)
        return bad.reshape(bad.shape[:bad.ndim - nb] + (-1,)).any(-1) if nb else bad

    def rsample(self, sample_shape=(), max_try_correction=None) -> Tensor:
        from eigengrad import where

        sample_shape = tuple(sample_shape)
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if singular.any():
            warnings.warn("Singular sample detected.", stacklevel=2)
            tail = (1,) * (len(self._batch_shape) + 2)
            for _ in range(max_try_correction):
                mask = Tensor._wrap(singular.reshape(singular.shape + tail))
                sample = where(mask, self._bartlett_sampling(sample_shape), sample)
                singular = self._singular(sample)
                if not singular.any():
                    break
        return sample

    def log_prob(self, value) -> Tensor:
        from eigengrad import cholesky_solve, linalg, mvlgamma

        value = self._value(value, self.df)
        self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        shape = tuple(np.broadcast_shapes(tuple(value.shape[:-2]), tuple(L.shape[:-2])))
        solved = cholesky_solve(value.expand(*shape, p, p), L.expand(*shape, p, p))
        return (-nu * (p * _LOG_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1)) - mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet
                - solved.diagonal(dim1=-2, dim2=-1).sum(-1) / 2)

    def entropy(self) -> Tensor:
        from eigengrad import mvlgamma

        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return ((p + 1) * (p * _LOG_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1)) + mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self) -> tuple:
        nu, p = self.df, self._event_shape[-1]
        return -self.precision_matrix / 2, (nu - p - 1) / 2

    def _log_normalizer(self, x, y):
        from eigengrad import linalg, mvlgamma

        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) + mvlgamma(y + (p + 1) / 2, p)

    def __repr__(self) -> str:
        return self._repr(["covariance_matrix", "precision_matrix", "scale_tril", "df"])


class LKJCholesky(Distribution):
    """``LKJCholesky(dim, concentration=1.)``: event shape (dim, dim), batch shape the concentration's."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None) -> None:
        from eigengrad import cat

        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        self.concentration = as_param(concentration, "concentration")
        marginal_conc = self.concentration + 0.5 * (dim - 2)
        offset = Tensor._wrap(np.arange(dim - 1, dtype=self.concentration._data.dtype))
        offset = cat([offset.new_zeros((1,)), offset])  # row i (i >= 1) of the factor: offset i - 1
        # the onion method's y_i ~ Beta(i / 2, eta + (d - 2) / 2 - (i - 1) / 2) (LKJ 2009, section 3.2; NumPyro's);
        # PyTorch's first concentration is offset + 1/2 = i - 1/2, which is i / 2 only for i = 1: its draws'
        # correlations beyond the first row are too spread (variance 0.30 instead of 1/4 for d = 3, eta = 1)
        self._beta = Beta(0.5 * offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.shape, (dim, dim), validate_args)

    def expand(self, batch_shape, _instance=None) -> "LKJCholesky":
        batch_shape = tuple(batch_shape)
        new = object.__new__(type(self))
        new.dim = self.dim
        new.concentration = self.concentration.expand(*batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()) -> Tensor:
        """The onion method (the module's docstring)."""
        from eigengrad import randn

        y = self._beta.sample(sample_shape).numpy()[..., None]
        shape = self._extended_shape(sample_shape)
        u_normal = np.tril(randn(*shape, dtype=self.concentration.dtype).numpy(), -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            u_hypersphere = u_normal / np.linalg.norm(u_normal, axis=-1, keepdims=True)
        u_hypersphere[..., 0, :] = 0.0
        w = np.sqrt(y) * u_hypersphere
        tiny = np.finfo(w.dtype).tiny
        diag = np.sqrt(np.clip(1 - np.sum(w ** 2, axis=-1), tiny, None))
        idx = np.arange(self.dim)
        w[..., idx, idx] += diag
        return Tensor._wrap(np.ascontiguousarray(w.astype(self.concentration._data.dtype)))

    def log_prob(self, value) -> Tensor:
        from eigengrad import mvlgamma

        value = self._value(value, self.concentration)
        self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = Tensor._wrap(np.arange(2, self.dim + 1, dtype=self.concentration._data.dtype))
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize = 0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, dm1) - alpha.lgamma() * dm1
        return unnormalized - normalize
