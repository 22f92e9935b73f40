"""The transforms of ``torch.distributions.transforms`` beyond the elementwise ones (transformed.py holds the
``Transform`` base): those over event dims (Independent, Reshape, Softmax, StickBreaking, LowerCholesky,
PositiveDefinite, CorrCholesky), those made of others along a dim (Cat, Stack), and a distribution's cdf
(CumulativeDistribution). Domains, codomains, shapes, signs and log-dets as PyTorch's; ``sign`` raises where
PyTorch's does (a map that is not monotone elementwise), as does ``log_abs_det_jacobian`` where it has none.

Stick breaking (Softmax's bijective cousin): z_i = sigmoid(x_i - log(K - i)), y_i = z_i prod_{j<i} (1 - z_j),
y_K = prod_j (1 - z_j); the offset makes x = 0 the simplex's centre. CorrCholesky (Lewandowski, Kurowicka &
Joe 2009, "Generating random correlation matrices based on vines and extended onion method", the
stick-breaking form of Stan's reference manual, "Cholesky factors of correlation matrices"): the D (D - 1) / 2
unconstrained values go through tanh to partial correlations r_ij in (-1, 1), and row i of the factor is
r_ij sqrt(1 - sum_{k<j} y_ik^2) (then sqrt of the rest on the diagonal), so that every row has unit norm."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import sum_rightmost
from eigengrad.distributions.transformed import Transform
from eigengrad.tensor import Tensor


class _NoSign:
    """A transform that is not monotone elementwise: no ``sign`` (PyTorch's base raises too)."""

    @property
    def sign(self):
        raise NotImplementedError(f"{type(self).__name__} has no sign: it is not monotone elementwise")


def _needs_dims(shape, n: int) -> None:
    if len(shape) < n:
        raise ValueError("Too few dimensions on input")


def _tril_positions(n: int, diag: int) -> np.ndarray:
    """Flat (row-major) positions in an n x n matrix of the entries on or below diagonal ``diag``, in order."""
    idx = np.arange(n)
    return np.flatnonzero(idx[None, :] < idx[:, None] + (diag + 1))


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of ``mat`` (..., n, n) on or below diagonal ``diag``, row by row (PyTorch's helper)."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    flat = mat.reshape(*mat.shape[:-2], n * n)
    return flat.index_select(-1, Tensor._wrap(_tril_positions(n, diag).astype(np.int64)))


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of :func:`tril_matrix_to_vec`: an (..., n, n) matrix, zero above diagonal ``diag``."""
    from eigengrad import cat

    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > float(np.finfo(vec._data.dtype).eps):
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the lower triangular part "
                         f"of a square D x D matrix.")
    n = round(n)
    source = np.zeros(n * n, dtype=np.int64)  # 0: the zero put in front of vec below
    source[_tril_positions(n, diag)] = np.arange(1, m + 1)
    padded = cat([vec.new_zeros((*vec.shape[:-1], 1)), vec], -1)
    return padded.index_select(-1, Tensor._wrap(source)).reshape(*vec.shape[:-1], n, n)


def _clipped_sigmoid(x: Tensor) -> Tensor:
    finfo = np.finfo(x._data.dtype)
    return x.sigmoid().clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dims taken as event dims: the
    same map, its log-det summed over those dims."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> "IndependentTransform":
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.ndim < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.ndim < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __eq__(self, other) -> bool:  # PyTorch compares identity here
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


class ReshapeTransform(_NoSign, Transform):
    """The rightmost dims of shape ``in_shape`` reshaped to ``out_shape`` (same number of elements); log-det 0."""

    def __init__(self, in_shape, out_shape, cache_size: int = 0) -> None:
        from eigengrad.tensor import Size

        self.in_shape, self.out_shape = Size(tuple(in_shape)), Size(tuple(out_shape))
        if int(np.prod(self.in_shape, dtype=np.int64)) != int(np.prod(self.out_shape, dtype=np.int64)):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> "ReshapeTransform":
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        return x.reshape(*x.shape[:x.ndim - len(self.in_shape)], *self.out_shape)

    def _inverse(self, y):
        return y.reshape(*y.shape[:y.ndim - len(self.out_shape)], *self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(tuple(x.shape[:x.ndim - len(self.in_shape)]))

    def forward_shape(self, shape):
        return self._reshaped(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._reshaped(shape, self.out_shape, self.in_shape)

    @staticmethod
    def _reshaped(shape, given, wanted) -> tuple:
        shape = tuple(shape)
        _needs_dims(shape, len(given))
        cut = len(shape) - len(given)
        if shape[cut:] != tuple(given):
            from eigengrad.tensor import Size

            raise ValueError(f"Shape mismatch: expected {Size(shape[cut:])} but got {given}")
        return shape[:cut] + tuple(wanted)

    def __eq__(self, other) -> bool:  # PyTorch compares identity here
        return self is other

    __hash__ = object.__hash__


class SoftmaxTransform(_NoSign, Transform):
    """x -> softmax(x) over the last dim, onto the simplex (not bijective: the inverse is log y, one preimage)."""

    bijective = False
    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = (x - x.max(-1, True)[0]).exp()
        return probs / probs.sum(-1, True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        _needs_dims(shape, 1)
        return tuple(shape)

    inverse_shape = forward_shape


class StickBreakingTransform(_NoSign, Transform):
    """R^(K-1) -> the K-simplex by stick breaking (the module's docstring); log |det J| =
    sum_i (-x'_i + logsigmoid(x'_i) + log y_i), x'_i = x_i - log(K - i)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    @staticmethod
    def _offset(n: int, like: Tensor) -> Tensor:
        """log(n + 1 - i), i = 1..n (as PyTorch's: n + 1 - cumsum of ones)."""
        return Tensor._wrap(np.log(np.arange(n, 0, -1, dtype=like._data.dtype)))

    def _call(self, x):
        from eigengrad.nn.functional import pad

        z = _clipped_sigmoid(x - self._offset(x.shape[-1], x))
        z_cumprod = (1 - z).cumprod(-1)
        return pad(z, [0, 1], value=1.0) * pad(z_cumprod, [1, 0], value=1.0)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = self._offset(y_crop.shape[-1], y)
        sf = (1 - y_crop.cumsum(-1)).clamp(min=float(np.finfo(y._data.dtype).tiny))
        return y_crop.log() - sf.log() + offset

    def log_abs_det_jacobian(self, x, y):
        from eigengrad.nn.functional import logsigmoid

        x = x - self._offset(x.shape[-1], x)
        return (-x + logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        _needs_dims(shape, 1)
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        _needs_dims(shape, 1)
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(_NoSign, Transform):
    """A square matrix -> a lower triangular one with a positive diagonal: the strict lower triangle kept,
    the diagonal exponentiated (no log-det, as PyTorch's)."""

    bijective = False  # (PyTorch's: not declared bijective)
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(_NoSign, Transform):
    """A square matrix -> L L^T, L its LowerCholeskyTransform; the inverse through the Cholesky factor."""

    bijective = False  # (PyTorch's: not declared bijective)
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        x = LowerCholeskyTransform()(x)
        return x @ x.mT

    def _inverse(self, y):
        from eigengrad import linalg

        return LowerCholeskyTransform().inv(linalg.cholesky(y))


class CorrCholeskyTransform(_NoSign, Transform):
    """R^(D(D-1)/2) -> Cholesky factors of D x D correlation matrices (the module's docstring). log |det J| =
    sum_{i>j} log(1 - tanh(x_ij)^2) + 1/2 sum_{i>j+1} log(1 - sum_{k<=j} y_ik^2): the tanh part and the
    stick-breaking part (PyTorch's). Equality is identity, as PyTorch's (it defines no ``__eq__``)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def _call(self, x):
        from eigengrad import eye
        from eigengrad.nn.functional import pad

        x = x.tanh()
        eps = float(np.finfo(x._data.dtype).eps)
        x = x.clamp(min=-1 + eps, max=1 - eps)
        r = vec_to_tril_matrix(x, diag=-1)
        z1m_cumprod_sqrt = (1 - r.pow(2)).sqrt().cumprod(-1)
        r = r + eye(r.shape[-1], dtype=r.dtype)
        return r * pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1.0)

    def _inverse(self, y):
        from eigengrad.nn.functional import pad

        y_cumsum = 1 - (y * y).cumsum(-1)
        y_cumsum_shifted = pad(y_cumsum[..., :-1], [1, 0], value=1.0)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(y_cumsum_shifted, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def __eq__(self, other) -> bool:
        return self is other

    __hash__ = object.__hash__

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        from eigengrad.nn.functional import softplus

        y1m_cumsum = 1 - (y * y).cumsum(-1)
        stick_breaking_logdet = 0.5 * tril_matrix_to_vec(y1m_cumsum, diag=-2).log().sum(-1)
        tanh_logdet = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        _needs_dims(shape, 1)
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape):
        _needs_dims(shape, 2)
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)


def _check_dim(t: Tensor, dim: int, size: int, what: str, name: str) -> None:
    if not -t.ndim <= dim < t.ndim:
        raise AssertionError(f"dim {dim} out of range for {name} with {t.ndim} dimensions")
    if t.shape[dim] != size:
        raise AssertionError(f"{what[0]}.size({dim}) = {t.shape[dim]} must equal {what[1]} {size}")


class CatTransform(_NoSign, Transform):
    """``tseq[i]`` applied to the i-th block (``lengths[i]`` entries, default 1) of dim ``dim``, the results
    concatenated (as ``torch.cat``); log-dets likewise (summed where ``dim`` is inside the event dims)."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> "CatTransform":
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _blocks(self, t: Tensor):
        start = 0
        for length in self.lengths:
            yield t.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        from eigengrad import cat

        _check_dim(x, self.dim, self.length, ("x", "length"), "tensor")
        return cat([t(b) for t, b in zip(self.transforms, self._blocks(x))], self.dim)

    def _inverse(self, y):
        from eigengrad import cat

        _check_dim(y, self.dim, self.length, ("y", "length"), "tensor")
        return cat([t.inv(b) for t, b in zip(self.transforms, self._blocks(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        from eigengrad import cat

        _check_dim(x, self.dim, self.length, ("x", "length"), "x")
        _check_dim(y, self.dim, self.length, ("y", "length"), "y")
        terms = []
        for t, xb, yb in zip(self.transforms, self._blocks(x), self._blocks(y)):
            term = t.log_abs_det_jacobian(xb, yb)
            if t.event_dim < self.event_dim:
                term = sum_rightmost(term, self.event_dim - t.event_dim)
            terms.append(term)
        dim = self.dim - x.ndim if self.dim >= 0 else self.dim
        dim += self.event_dim
        return cat(terms, dim) if dim < 0 else sum(terms)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def __eq__(self, other) -> bool:  # PyTorch compares identity here
        return self is other

    __hash__ = object.__hash__


class StackTransform(_NoSign, Transform):
    """``tseq[i]`` applied to the i-th slice along dim ``dim``, the results stacked (as ``torch.stack``)."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> "StackTransform":
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z: Tensor) -> list:
        return [z.select(self.dim, i) for i in range(z.shape[self.dim])]

    def _call(self, x):
        from eigengrad import stack

        _check_dim(x, self.dim, len(self.transforms), ("x", "len(transforms)"), "tensor")
        return stack([t(s) for s, t in zip(self._slice(x), self.transforms)], self.dim)

    def _inverse(self, y):
        from eigengrad import stack

        _check_dim(y, self.dim, len(self.transforms), ("y", "len(transforms)"), "tensor")
        return stack([t.inv(s) for s, t in zip(self._slice(y), self.transforms)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        from eigengrad import stack

        _check_dim(x, self.dim, len(self.transforms), ("x", "len(transforms)"), "x")
        _check_dim(y, self.dim, len(self.transforms), ("y", "len(transforms)"), "y")
        return stack([t.log_abs_det_jacobian(xs, ys) for xs, ys, t in
                      zip(self._slice(x), self._slice(y), self.transforms)], self.dim)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)

    def __eq__(self, other) -> bool:  # PyTorch compares identity here
        return self is other

    __hash__ = object.__hash__


class CumulativeDistributionTransform(Transform):
    """x -> distribution.cdf(x), onto the unit interval (increasing); log |dy/dx| = log p(x); the inverse is
    the distribution's icdf (a copula's building block)."""

    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size: int = 1) -> "CumulativeDistributionTransform":
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def __eq__(self, other) -> bool:  # PyTorch compares identity here
        return self is other

    __hash__ = object.__hash__
