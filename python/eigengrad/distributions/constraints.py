"""``torch.distributions.constraints``' common members: the sets a parameter or a sample must lie in. ``check``
takes a tensor (or array) and gives a bool array (per batch element for the event constraints); ``repr`` is
PyTorch's, which the validation errors quote."""
from __future__ import annotations

import numpy as np


def _arr(value) -> np.ndarray:
    return np.asarray(value._data if hasattr(value, "_data") else value)


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value) -> np.ndarray:
        raise NotImplementedError(f"a Constraint subclass defines check(value); {type(self).__name__} does not")

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        v = _arr(value)
        return v == v  # False for NaN


class _Bound(Constraint):
    """A bound compared elementwise: ``op(value, bound)``."""

    def __init__(self, bound, name: str, op) -> None:
        self._bound, self._name, self._op = bound, name, op

    def check(self, value):
        return self._op(_arr(value), _arr(self._bound))

    def __repr__(self) -> str:
        bound = self._bound if not hasattr(self._bound, "_data") else self._bound
        return f"{type(self).__name__.lstrip('_')}({self._name}={bound})"


class _Lower(_Bound):
    """A bound from below: ``lower_bound`` (PyTorch's attribute name, read by the transform registries)."""

    @property
    def lower_bound(self):
        return self._bound


class _GreaterThan(_Lower):
    def __init__(self, lower_bound) -> None:
        super().__init__(lower_bound, "lower_bound", lambda v, b: b < v)


class _GreaterThanEq(_Lower):
    def __init__(self, lower_bound) -> None:
        super().__init__(lower_bound, "lower_bound", lambda v, b: b <= v)


class _LessThan(_Bound):
    def __init__(self, upper_bound) -> None:
        super().__init__(upper_bound, "upper_bound", lambda v, b: v < b)

    @property
    def upper_bound(self):
        return self._bound


class _IntegerGreaterThan(_Lower):
    is_discrete = True

    def __init__(self, lower_bound) -> None:
        super().__init__(lower_bound, "lower_bound", lambda v, b: (v % 1 == 0) & (v >= b))


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound, closed_upper: bool = True) -> None:
        self.lower_bound, self.upper_bound, self._closed = lower_bound, upper_bound, closed_upper

    def check(self, value):
        v, lo, hi = _arr(value), _arr(self.lower_bound), _arr(self.upper_bound)
        return (lo <= v) & ((v <= hi) if self._closed else (v < hi))

    def __repr__(self) -> str:
        name = "Interval" if self._closed else "HalfOpenInterval"
        return f"{name}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _arr(value)
        return np.all(v >= 0, axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _arr(value)
        return (v == 0) | (v == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        v = _arr(value)
        return np.all((v == 0) | (v == 1), axis=-1) & (v.sum(-1) == 1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _arr(value)
        lower = np.all(np.triu(v, 1) == 0, axis=(-2, -1))
        return lower & np.all(np.diagonal(v, axis1=-2, axis2=-1) > 0, axis=-1)


class _SymmetricEigenvalues(Constraint):
    """Symmetric matrices whose eigenvalues are > 0 (``_strict``) or >= 0."""

    event_dim = 2
    _strict = True

    def check(self, value):
        v = _arr(value)
        sym = np.all(np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6), axis=(-2, -1))
        with np.errstate(invalid="ignore"):
            eig = np.linalg.eigvalsh(v) if v.size else np.ones(v.shape[:-1])
        return sym & np.all(eig > 0 if self._strict else eig >= 0, axis=-1)


class _PositiveDefinite(_SymmetricEigenvalues):
    pass


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: lower triangular, positive diagonal, rows of unit norm
    (to 10 eps n, PyTorch's tolerance)."""

    event_dim = 2

    def check(self, value):
        v = _arr(value)
        tol = np.finfo(v.dtype if v.dtype.kind == "f" else np.float64).eps * v.shape[-1] * 10
        unit_rows = np.all(np.abs(np.linalg.norm(v, axis=-1) - 1.0) <= tol, axis=-1)
        return _LowerCholesky().check(v) & unit_rows


class _PositiveSemidefinite(_SymmetricEigenvalues):
    _strict = False


class _Cat(Constraint):
    """``cseq[i]`` on the i-th block (of ``lengths[i]`` entries) of dim ``dim`` (PyTorch's constraints.cat)."""

    def __init__(self, cseq, dim: int = 0, lengths=None) -> None:
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})")
        self.dim = dim

    @property
    def is_discrete(self) -> bool:
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        v = _arr(value)
        bounds = np.cumsum([0] + self.lengths)
        parts = [np.asarray(c.check(np.take(v, np.arange(a, b), axis=self.dim)))
                 for c, a, b in zip(self.cseq, bounds[:-1], bounds[1:])]
        return np.concatenate(parts, axis=self.dim)


class _Stack(Constraint):
    """``cseq[i]`` on the i-th slice along ``dim`` (PyTorch's constraints.stack)."""

    def __init__(self, cseq, dim: int = 0) -> None:
        self.cseq, self.dim = list(cseq), dim

    @property
    def is_discrete(self) -> bool:
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def check(self, value):
        v = _arr(value)
        return np.stack([np.asarray(c.check(np.take(v, i, axis=self.dim))) for i, c in enumerate(self.cseq)],
                        axis=self.dim)


class _Independent(Constraint):
    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.base_constraint = base  # (PyTorch's name)
        self.event_dim = base.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete

    def check(self, value):
        ok = self.base.check(value)
        return np.all(ok, axis=tuple(range(-self.reinterpreted_batch_ndims, 0))) if ok.ndim else ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


class _Dependent(Constraint):
    """A support or parameter set that depends on other variables (a Binomial's support on its total_count):
    it cannot be checked, and validation skips it (PyTorch's ``constraints.dependent``). Called with keywords,
    it makes one whose ``is_discrete`` / ``event_dim`` are known."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> None:
        self._is_discrete, self._event_dim = is_discrete, event_dim

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        return _Dependent(is_discrete=self._is_discrete if is_discrete is NotImplemented else is_discrete,
                          event_dim=self._event_dim if event_dim is NotImplemented else event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    """Whether ``constraint`` is ``dependent`` (or a ``dependent_property``): validation skips it."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is also ``dependent``: ``@constraints.dependent_property(is_discrete=..., event_dim=...)``
    on a distribution's ``support`` whose value depends on its parameters."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> None:
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        v = _arr(value)
        return np.all(np.tril(v) == v, axis=(-2, -1))


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        v = _arr(value)
        return np.full(v.shape[:-2], v.shape[-2] == v.shape[-1], dtype=bool)


class _Symmetric(_Square):
    def check(self, value):
        v = _arr(value)
        square = super().check(v)
        if not square.all():
            return square
        return np.all(np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6), axis=(-2, -1))


dependent = _Dependent()
dependent_property = _DependentProperty
lower_triangular = _LowerTriangular()
square = _Square()
symmetric = _Symmetric()
real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
one_hot = _OneHot()
boolean = _Boolean()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
positive_semidefinite = _PositiveSemidefinite()
corr_cholesky = _CorrCholesky()
cat, stack = _Cat, _Stack
greater_than, greater_than_eq, less_than, interval = _GreaterThan, _GreaterThanEq, _LessThan, _Interval
independent = _Independent


def half_open_interval(lower_bound, upper_bound) -> Constraint:
    return _Interval(lower_bound, upper_bound, closed_upper=False)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _arr(value)
        return (v % 1 == 0) & (self.lower_bound <= v) & (v <= _arr(self.upper_bound))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


integer_interval = _IntegerInterval


class _Multinomial(Constraint):
    """Count vectors of a Multinomial: non-negative with a sum of at most ``upper_bound`` (PyTorch's check)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound) -> None:
        self.upper_bound = upper_bound

    def check(self, value):
        v = _arr(value)
        return np.all(v >= 0, axis=-1) & (v.sum(-1) <= self.upper_bound)


multinomial = _Multinomial


class MixtureSameFamilyConstraint(Constraint):
    """A MixtureSameFamily's support: its components' support, checked on a value without the component dim."""

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise AssertionError(f"base_constraint must be a Constraint, got {type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:
        return self.base_constraint.event_dim

    def check(self, value):
        v = _arr(value)
        if v.ndim < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {v.ndim}")
        ok = np.asarray(self.base_constraint.check(np.expand_dims(v, -1 - self.event_dim)))
        keep = v.ndim - self.event_dim
        return ok.reshape(ok.shape[:keep] + (-1,)).all(-1)

    def __repr__(self) -> str:
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"
