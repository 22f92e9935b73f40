"""PyTorch's ``torch._foreach_*`` list operations (EMA helpers, custom optimizers): each applies the tensor
operation of its name to every tensor of a list, with a scalar, a list of scalars, a list of tensors or one
tensor as the other operand; the ``_`` forms work in place. A loop over the tensor operations (PyTorch's
fused multi-tensor kernels are a CUDA launch saving; on the CPU the loop is the same work)."""
from __future__ import annotations

from collections.abc import Sequence


def _per_tensor(tensors, other, name: str) -> list:
    """``other`` for each of ``tensors``: a list (of its length) as it is, anything else repeated."""
    tensors = list(tensors)
    if isinstance(other, Sequence) and not isinstance(other, str):
        other = list(other)
        if len(other) != len(tensors):
            raise ValueError(f"{name}: Tensor lists must have the same number of tensors, got {len(tensors)} and "
                             f"{len(other)}")
        return other
    return [other] * len(tensors)


_MISSING = object()
_OPERAND_NAMES = ("scalar", "scalars", "other", "exponent")  # PyTorch's overloads name the operand these ways


def _operand(other, kwargs: dict, method: str):
    """The second operand, given by position or by one of PyTorch's keyword names (``scalar=`` in timm's EMA)."""
    named = [k for k in _OPERAND_NAMES if k in kwargs]
    if other is _MISSING and len(named) == 1:
        return kwargs.pop(named[0])
    if other is _MISSING or named:
        raise TypeError(f"_foreach_{method}: expected one operand (by position or as one of "
                        f"{', '.join(_OPERAND_NAMES)}), got {'none' if other is _MISSING and not named else 'two'}")
    return other


def _binary(method: str):
    def out_of_place(self, other=_MISSING, **kwargs):
        other = _operand(other, kwargs, method)
        return [getattr(t, method)(o, **kwargs) for t, o in zip(self, _per_tensor(self, other, method))]

    def in_place(self, other=_MISSING, **kwargs):
        other = _operand(other, kwargs, method)
        for t, o in zip(self, _per_tensor(self, other, method)):
            if hasattr(t, method + "_"):
                getattr(t, method + "_")(o, **kwargs)
            else:  # maximum, minimum: no in-place tensor method (PyTorch's has none either), the result copied in
                t.copy_(getattr(t, method)(o, **kwargs))
        return self  # PyTorch 2.x returns the list it updated

    return out_of_place, in_place


def _unary(method: str):
    def out_of_place(self):
        return [getattr(t, method)() for t in self]

    def in_place(self):
        for t in self:
            getattr(t, method + "_")()
        return self

    return out_of_place, in_place


def _ternary(method: str):
    def out_of_place(self, tensor1, tensor2, value=1):
        values = _per_tensor(self, value, method)
        return [getattr(t, method)(a, b, value=v) for t, a, b, v in zip(self, tensor1, tensor2, values)]

    def in_place(self, tensor1, tensor2, value=1):
        for t, a, b, v in zip(self, tensor1, tensor2, _per_tensor(self, value, method)):
            getattr(t, method + "_")(a, b, value=v)
        return self

    return out_of_place, in_place


def _foreach_lerp(self, tensors1, weight):
    return [t.lerp(e, w) for t, e, w in zip(self, tensors1, _per_tensor(self, weight, "lerp"))]


def _foreach_lerp_(self, tensors1, weight):
    for t, e, w in zip(self, tensors1, _per_tensor(self, weight, "lerp")):
        t.lerp_(e, w)
    return self


def _foreach_zero_(self):
    for t in self:
        t.zero_()
    return self


def _foreach_copy_(self, src, non_blocking: bool = False):
    for t, s in zip(self, src):
        t.copy_(s)
    return self


def _foreach_norm(self, ord=2, dtype=None):
    return [t.norm(ord) for t in self]


def _foreach_clone(self):
    return [t.clone() for t in self]


def _foreach_max(self):
    """The largest element of each tensor (0-d tensors)."""
    return [t.max() for t in self]


FUNCTIONS = ("_foreach_lerp", "_foreach_lerp_", "_foreach_zero_", "_foreach_copy_", "_foreach_norm", "_foreach_clone",
             "_foreach_max")
for _name in ("add", "sub", "mul", "div", "maximum", "minimum", "pow", "clamp_min", "clamp_max"):
    _forms = _binary(_name)
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _forms
    FUNCTIONS += (f"_foreach_{_name}", f"_foreach_{_name}_")
for _name in ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
              "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign",
              "sin", "sinh", "sqrt", "tan", "tanh", "trunc"):
    _forms = _unary(_name)
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _forms
    FUNCTIONS += (f"_foreach_{_name}", f"_foreach_{_name}_")
for _name in ("addcmul", "addcdiv"):
    _forms = _ternary(_name)
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _forms
    FUNCTIONS += (f"_foreach_{_name}", f"_foreach_{_name}_")
METHODS: tuple = ()
