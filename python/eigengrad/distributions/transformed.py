"""TransformedDistribution (a base distribution pushed through invertible maps: log p_Y(y) = log p_X(x) -
log |det dy/dx|), its transforms (Exp, Affine, Sigmoid, Tanh), LogNormal (exp of a Normal) and Independent
(batch dims reinterpreted as event dims: log_prob summed over them)."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution, as_value, broadcast_all, sum_rightmost
from eigengrad.distributions.normal import Normal
from eigengrad.tensor import Tensor


class Transform:
    """An invertible map y = f(x) with log |dy/dx| (``domain``/``codomain``: where x and y live; their
    ``event_dim``s are the dims a log-det sums over, and ``event_dim`` is theirs when they agree, as PyTorch's).

    ``cache_size=1`` (PyTorch's): the last (x, y) pair is kept, so that inverting the y just computed gives
    back its x exactly (a squashed Gaussian policy's log-probability of its own tanh'd sample: atanh of a
    y rounded to 1 would be inf)."""

    bijective = True
    domain = constraints.real
    codomain = constraints.real  # where y lives (a TransformedDistribution's support, as PyTorch's)
    _cache_size = 0

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached_x_y = (None, None)

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    def __call__(self, x: Tensor) -> Tensor:
        return self._through_cache(x, 0, self._call)

    def _inv_call(self, y: Tensor) -> Tensor:
        return self._through_cache(y, 1, self._inverse)

    def _through_cache(self, given: Tensor, side: int, compute) -> Tensor:
        """compute(given), or the other member of the cached (x, y) pair when ``given`` is its member ``side``
        (0: x, 1: y); with a cache, the new pair is kept."""
        if not self._cache_size:
            return compute(given)
        if given is self._cached_x_y[side]:
            return self._cached_x_y[1 - side]
        result = compute(given)
        self._cached_x_y = (given, result) if side == 0 else (result, given)
        return result

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"a Transform subclass defines _call(x); {type(self).__name__} does not")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"a Transform subclass defines _inverse(y); {type(self).__name__} does not")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    @property
    def sign(self):
        """+1 for a monotone increasing map, -1 for a decreasing one (a tensor when it varies by element)."""
        return 1

    def forward_shape(self, shape: tuple) -> tuple:
        """The shape of f(x) for x of ``shape`` (a transform with parameters broadcasts them)."""
        return tuple(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        """The shape of the preimage of y of ``shape``."""
        return tuple(shape)

    def with_cache(self, cache_size: int = 1) -> "Transform":
        """This transform with a cache of ``cache_size`` (itself when it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    @property
    def inv(self) -> "Transform":
        """The inverse transform (one object per transform: ``t.inv.inv is t``)."""
        inv = self.__dict__.get("_inv")
        if inv is None:
            inv = _Inverse(self)
            self._inv = inv
        return inv

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    __hash__ = object.__hash__

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_inv", None)  # (a cycle through the inverse, rebuilt on use)
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Inverse(Transform):
    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self) -> bool:
        return self._inv.bijective

    def __call__(self, x):
        return self._inv._inv_call(x)

    def _call(self, x):
        return self._inv._inv_call(x)

    def _inverse(self, y):
        return self._inv(y)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    @property
    def sign(self):
        return self._inv.sign

    def forward_shape(self, shape: tuple) -> tuple:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        return self._inv.forward_shape(shape)

    @property
    def inv(self) -> Transform:
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv.with_cache(cache_size).inv

    def __getstate__(self):
        return self.__dict__.copy()  # (here _inv is the transform inverted, not a cache)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Inverse) and self._inv == other._inv

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"_InverseTransform({self._inv!r})"


class ExpTransform(Transform):
    """y = e^x; log |dy/dx| = x."""

    codomain = constraints.positive

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class AffineTransform(Transform):
    """y = loc + scale x; log |dy/dx| = log |scale| (summed over ``event_dim`` trailing dims)."""

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    def with_cache(self, cache_size: int = 1) -> "AffineTransform":
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, self.event_dim) if self.event_dim else constraints.real

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    @property
    def codomain(self):
        return constraints.independent(constraints.real, self.event_dim) if self.event_dim else constraints.real

    def log_abs_det_jacobian(self, x, y):
        scale = self.scale
        if isinstance(scale, Tensor):
            result = scale.abs().log().expand(*x.shape) if tuple(scale.shape) != tuple(x.shape) else scale.abs().log()
        else:
            result = x * 0.0 + math.log(abs(scale))
        return sum_rightmost(result, self.event_dim)

    @property
    def sign(self):
        if isinstance(self.scale, Tensor):
            return self.scale.sign()
        return 1 if self.scale > 0 else -1 if self.scale < 0 else 0

    def forward_shape(self, shape: tuple) -> tuple:
        return tuple(np.broadcast_shapes(tuple(shape), *(tuple(v.shape) for v in (self.loc, self.scale)
                                                         if isinstance(v, Tensor))))

    inverse_shape = forward_shape

    def __eq__(self, other) -> bool:
        if not isinstance(other, AffineTransform):
            return False

        def same(a, b):
            if isinstance(a, Tensor) or isinstance(b, Tensor):
                return a is b or (isinstance(a, Tensor) and isinstance(b, Tensor) and tuple(a.shape) == tuple(b.shape)
                                  and bool((a == b).all()))
            return a == b
        return same(self.loc, other.loc) and same(self.scale, other.scale)

    __hash__ = object.__hash__


class SigmoidTransform(Transform):
    """y = 1 / (1 + e^-x); log |dy/dx| = -softplus(-x) - softplus(x)."""

    codomain = constraints.unit_interval

    def _call(self, x):
        finfo = np.finfo(x._data.dtype)
        return x.sigmoid().clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))

    def _inverse(self, y):
        finfo = np.finfo(y._data.dtype)
        y = y.clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        from eigengrad.nn.functional import softplus

        return -softplus(-x) - softplus(x)


class TanhTransform(Transform):
    """y = tanh x; log |dy/dx| = 2 (log 2 - x - softplus(-2x)) (stable form of log(1 - tanh^2 x))."""

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return y.atanh()

    def log_abs_det_jacobian(self, x, y):
        from eigengrad.nn.functional import softplus

        return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))


class SoftplusTransform(Transform):
    """y = log(1 + e^x); x = y + log(-expm1(-y)); log |dy/dx| = -softplus(-x)."""

    codomain = constraints.positive

    def _call(self, x):
        from eigengrad.nn.functional import softplus

        return softplus(x)

    def _inverse(self, y):
        return y + (-(-y).expm1()).log()

    def log_abs_det_jacobian(self, x, y):
        from eigengrad.nn.functional import softplus

        return -softplus(-x)


class PowerTransform(Transform):
    """y = x^exponent on the positive reals; log |dy/dx| = log |exponent y / x|."""

    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def with_cache(self, cache_size: int = 1) -> "PowerTransform":
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    @property
    def sign(self):
        return self.exponent.sign()

    def forward_shape(self, shape: tuple) -> tuple:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(self.exponent.shape)))

    inverse_shape = forward_shape

    def __eq__(self, other) -> bool:
        return isinstance(other, PowerTransform) and bool(self.exponent.eq(other.exponent).all())

    __hash__ = object.__hash__


class AbsTransform(Transform):
    """y = |x| (not bijective: the inverse gives the non-negative preimage, y itself)."""

    bijective = False
    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class ComposeTransform(Transform):
    """``parts`` applied in order, y = f_n(...f_1(x)); log |dy/dx| the sum of the parts' (each summed over
    the event dims of the composition beyond its own domain's), the inverse the parts' inverses in reverse.
    With no parts it is the identity (PyTorch's ``identity_transform``)."""

    def __init__(self, parts, cache_size: int = 0) -> None:
        parts = list(parts)
        if not all(isinstance(t, Transform) for t in parts):
            raise ValueError(f"parts: expected a list of Transforms, got {parts!r}")
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size)
        self.parts = parts

    @property
    def domain(self):
        """The first part's domain, over the most event dims any part needs (PyTorch's rule)."""
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        return constraints.independent(domain, event_dim - domain.event_dim) if event_dim > domain.event_dim \
            else domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        return constraints.independent(codomain, event_dim - codomain.event_dim) \
            if event_dim > codomain.event_dim else codomain

    @property
    def bijective(self) -> bool:
        return all(p.bijective for p in self.parts)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def _call(self, x):
        return self(x)

    def _inverse(self, y):
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return x * 0.0
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        result = 0.0
        event_dim = self.domain.event_dim
        for part, xi, yi in zip(self.parts, xs[:-1], xs[1:]):
            result = result + sum_rightmost(part.log_abs_det_jacobian(xi, yi), event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return result

    @property
    def sign(self):
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    def forward_shape(self, shape: tuple) -> tuple:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return tuple(shape)

    @property
    def inv(self) -> Transform:
        inv = self.__dict__.get("_inv")
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv, inv._inv = inv, self
        return inv

    def with_cache(self, cache_size: int = 1) -> "ComposeTransform":
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "ComposeTransform(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class TransformedDistribution(Distribution):
    """``base`` pushed through ``transforms`` in order (elementwise or with their own event dims)."""

    def __init__(self, base_distribution: Distribution, transforms, validate_args=None) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not isinstance(transforms, (list, tuple)) or not all(isinstance(t, Transform) for t in transforms):
            raise ValueError(f"transforms must be a Transform or a list of Transforms, but was {transforms}")
        self.transforms = list(transforms)
        # PyTorch's shapes: the base is expanded to the shape the transforms' parameters broadcast it to, and
        # its batch dims that a transform takes as event dims (event_dim) are reinterpreted as event dims
        base_event = len(base_distribution.event_shape)
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        compose = ComposeTransform(self.transforms)
        domain_dim, codomain_dim = compose.domain.event_dim, compose.codomain.event_dim
        if len(base_shape) < domain_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least {domain_dim}, but "
                             f"got {base_shape}.")
        shape = compose.forward_shape(base_shape)
        expanded_base_shape = compose.inverse_shape(shape)
        if expanded_base_shape != base_shape:
            base_distribution = base_distribution.expand(expanded_base_shape[:len(expanded_base_shape) - base_event])
        if domain_dim > base_event:
            base_distribution = Independent(base_distribution, domain_dim - base_event)
        self.base_dist = base_distribution
        cut = len(shape) - max(codomain_dim, base_event + codomain_dim - domain_dim)
        super().__init__(shape[:cut], shape[cut:], validate_args)

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def support(self):
        """The last transform's codomain, over the event dims (PyTorch's): checked by a validating log_prob."""
        if not self.transforms:
            return self.base_dist.support
        codomain = self.transforms[-1].codomain
        extra = len(self._event_shape) - codomain.event_dim
        return constraints.independent(codomain, extra) if extra > 0 else codomain

    def expand(self, batch_shape, _instance=None) -> "TransformedDistribution":
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(batch_shape)
        new._batch_shape = new.base_dist.batch_shape
        return new

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad.autograd import no_grad

        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value) -> Tensor:
        y = self._value(value, _first_param(self.base_dist))
        self._validate_sample(y)
        event_dim = len(self._event_shape)
        log_prob = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """A decreasing composition reverses the order: the cdf of y is 1 - the base's cdf (PyTorch's rule)."""
        sign = ComposeTransform(self.transforms).sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value) -> Tensor:
        """Through monotone transforms (Exp, Sigmoid, Tanh, Affine of either sign)."""
        y = as_value(value, _first_param(self.base_dist))
        for t in reversed(self.transforms):
            y = t.inv(y)
        return self._monotonize_cdf(self.base_dist.cdf(y))

    def icdf(self, value) -> Tensor:
        x = self.base_dist.icdf(self._monotonize_cdf(as_value(value, _first_param(self.base_dist))))
        for t in self.transforms:
            x = t(x)
        return x


def _first_param(dist: Distribution) -> Tensor:
    """A parameter tensor of ``dist`` (its dtype is the one values are cast to)."""
    for value in dist.__dict__.values():
        if isinstance(value, Tensor) and value._data.dtype.kind == "f":
            return value
    if isinstance(dist, TransformedDistribution):
        return _first_param(dist.base_dist)
    if hasattr(dist, "base_dist"):
        return _first_param(dist.base_dist)
    raise TypeError(f"{type(dist).__name__} has no floating parameter")


class LogNormal(TransformedDistribution):
    """exp(X) for X ~ Normal(loc, scale)."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive

    def __init__(self, loc, scale, validate_args=None) -> None:
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args)

    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return super().log_prob(value)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc

    def __repr__(self) -> str:
        return f"LogNormal(loc: {tuple(self.loc.shape)}, scale: {tuple(self.scale.shape)})"


class Independent(Distribution):
    """``base_distribution`` with its rightmost ``reinterpreted_batch_ndims`` batch dims taken as event dims."""

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int, validate_args=None) -> None:
        n = int(reinterpreted_batch_ndims)
        batch = tuple(base_distribution.batch_shape)
        if n > len(batch):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                             f"actual {n} vs {len(batch)}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        split = len(batch) - n
        super().__init__(batch[:split], batch[split:] + tuple(base_distribution.event_shape), validate_args)

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def support(self):
        base = self.base_dist.support
        return None if base is None else constraints.independent(base, self.reinterpreted_batch_ndims)

    def expand(self, batch_shape, _instance=None) -> "Independent":
        batch_shape = tuple(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        extra = tuple(self._event_shape[:self.reinterpreted_batch_ndims])
        new.base_dist = self.base_dist.expand(batch_shape + extra)
        new._batch_shape = type(self._batch_shape)(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def cdf(self, value) -> Tensor:
        raise NotImplementedError("Independent has no cdf (as PyTorch)")

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
