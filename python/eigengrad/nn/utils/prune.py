"""``torch.nn.utils.prune``: masks on a module's parameters, PyTorch's mechanism and names.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig``, adds a buffer ``<name>_mask`` (1 keeps an
entry, 0 prunes it) and a forward pre-hook that sets the plain attribute ``<name> = <name>_orig * <name>_mask``
before every call, so the optimizer keeps training ``<name>_orig`` while the pruned entries stay zero in the
forward (and get zero gradient through the product). Pruning again combines the masks (a
``PruningContainer``: the new method sees only what is still unpruned); ``remove`` makes the pruning
permanent (``<name>`` a parameter again, holding ``orig * mask``).

``amount``: an int prunes that many entries (or slices, for the structured methods), a float in [0, 1] that
fraction of them, rounded as PyTorch (``round(amount * n)``). L1 pruning removes the entries of smallest
magnitude (``importance_scores`` replaces the magnitudes); Ln-structured pruning the slices along ``dim``
of smallest Ln norm; random pruning draws from eigengrad's generator.
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

import numpy as np

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


def _validate_amount(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _count(amount, n: int) -> int:
    """How many of n entries (or slices) ``amount`` prunes."""
    if isinstance(amount, numbers.Integral):
        if amount > n:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={n}")
        return int(amount)
    return int(round(amount * n))


def _smallest(scores: np.ndarray, k: int) -> np.ndarray:
    """The flat indices of the k smallest scores (ties by position, as a stable sort)."""
    return np.argsort(scores.reshape(-1), kind="stable")[:k]


class BasePruningMethod(ABC):
    """A pruning method: ``compute_mask(t, default_mask)`` gives the new mask of tensor ``t``; the method is
    also the forward pre-hook that re-applies the mask."""

    _tensor_name: str
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        ...

    def apply_mask(self, module) -> Tensor:
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return orig * mask.to(dtype=orig.dtype)

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new instance ``cls(*args, **kwargs)``; returns the method (or the
        container holding it when the tensor was pruned before)."""
        old = _hook_for(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            if container is not old:
                _replace_hook(module, name, old, container)
            method_for_mask = container
        else:
            method_for_mask = method
        orig = getattr(module, name)
        if importance_scores is not None and tuple(importance_scores.shape) != tuple(orig.shape):
            raise ValueError(f"importance_scores should have the same shape as parameter {name} of {module}")
        if old is None:  # first pruning of this tensor: the parameter becomes <name>_orig
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = Tensor._wrap(np.ones(orig.shape, dtype=orig._data.dtype))
        else:
            orig = getattr(module, name + "_orig")
            default_mask = getattr(module, name + "_mask").detach().clone()
        scores = importance_scores if importance_scores is not None else orig
        with no_grad():
            mask = method_for_mask.compute_mask(scores.detach(), default_mask=default_mask)
        if old is None:
            module.register_buffer(name + "_mask", mask)
        else:
            getattr(module, name + "_mask").copy_(mask)
        setattr(module, name, method_for_mask.apply_mask(module))
        if old is None:
            module.register_forward_pre_hook(method_for_mask)
        return method_for_mask

    def prune(self, t: Tensor, default_mask=None, importance_scores=None) -> Tensor:
        """``t`` with this method's mask applied (no module involved)."""
        scores = importance_scores if importance_scores is not None else t
        default = default_mask if default_mask is not None else Tensor._wrap(np.ones(t.shape, dtype=t._data.dtype))
        return t * self.compute_mask(scores, default_mask=default)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a parameter holding orig * mask."""
        name = self._tensor_name
        weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        with no_grad():
            orig.copy_(weight)
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """Successive pruning methods of one tensor: each new one prunes only the entries (or slices) still kept."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1 and not isinstance(args[0], (list, tuple)):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in (args[0] if len(args) == 1 else args):
                self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        mask = default_mask._data.copy()
        keep = mask == 1
        if method.PRUNING_TYPE == "unstructured":
            partial = method.compute_mask(Tensor._wrap(t._data[keep]), Tensor._wrap(np.ones(int(keep.sum()),
                                                                                           mask.dtype)))
            mask[keep] = partial._data
        elif method.PRUNING_TYPE == "structured":
            dim = method.dim if method.dim >= 0 else t.ndim + method.dim
            axes = tuple(d for d in range(t.ndim) if d != dim)
            kept = np.flatnonzero(mask.sum(axis=axes) != 0)  # slices not pruned yet
            sub = np.take(t._data, kept, axis=dim)
            partial = method.compute_mask(Tensor._wrap(sub), Tensor._wrap(np.ones(sub.shape, mask.dtype)))._data
            index = [slice(None)] * t.ndim
            index[dim] = kept
            mask[tuple(index)] = mask[tuple(index)] * partial
        else:  # global: the method's mask as it is
            mask = mask * method.compute_mask(t, default_mask)._data
        return Tensor._wrap(mask)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (pruning's bookkeeping without pruning)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _ByScore(BasePruningMethod):
    """Unstructured pruning of the ``amount`` entries of lowest score (``_scores``)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_amount(amount)
        self.amount = amount

    @abstractmethod
    def _scores(self, t: Tensor) -> np.ndarray:
        """One score per entry of t (the lowest are pruned)."""

    def compute_mask(self, t, default_mask):
        k = _count(self.amount, t.numel())
        mask = default_mask._data.copy()
        if k:
            mask.reshape(-1)[_smallest(self._scores(t), k)] = 0
        return Tensor._wrap(mask)


class RandomUnstructured(_ByScore):
    """Prunes ``amount`` entries chosen at random (the lowest of uniform draws from eigengrad's generator)."""

    def _scores(self, t):
        from eigengrad import rand

        return rand(*t.shape)._data

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_ByScore):
    """Prunes the ``amount`` entries of smallest absolute value."""

    def _scores(self, t):
        return np.abs(t._data)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _structured_mask(t, default_mask, dim: int, keep: np.ndarray) -> Tensor:
    """default_mask with the slices along ``dim`` not in ``keep`` set to 0."""
    mask = np.zeros(t.shape, dtype=default_mask._data.dtype)
    index = [slice(None)] * t.ndim
    index[dim] = keep
    mask[tuple(index)] = 1
    return Tensor._wrap(mask * default_mask._data)


class _SlicesByScore(BasePruningMethod):
    """Structured pruning of the ``amount`` slices along ``dim`` of lowest score (``_scores``: one per slice)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _validate_amount(amount)
        self.amount, self.dim = amount, dim

    @abstractmethod
    def _scores(self, t: Tensor, dim: int) -> np.ndarray:
        """One score per slice of t along dim (the highest are kept)."""

    def compute_mask(self, t, default_mask):
        if t.ndim < 1:
            raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                             f"Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
        dim = self.dim if self.dim >= 0 else t.ndim + self.dim
        n_slices = t.shape[dim]
        k = _count(self.amount, n_slices)
        if k == 0:
            return default_mask
        keep = np.sort(np.argsort(-self._scores(t, dim), kind="stable")[:n_slices - k])  # the highest stay
        return _structured_mask(t, default_mask, dim, keep)


class RandomStructured(_SlicesByScore):
    """Prunes ``amount`` whole slices along ``dim`` chosen at random."""

    def _scores(self, t, dim):
        from eigengrad import rand

        return rand(t.shape[dim])._data

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_SlicesByScore):
    """Prunes the ``amount`` slices along ``dim`` of smallest Ln norm (``n`` as ``torch.norm``'s ``p``)."""

    def __init__(self, amount, n, dim: int = -1) -> None:
        super().__init__(amount, dim)
        self.n = n

    def _scores(self, t, dim):
        axes = tuple(d for d in range(t.ndim) if d != dim)
        a = np.abs(t._data.astype(np.float64))
        if self.n in (float("inf"), "inf"):
            return a.max(axis=axes) if axes else a
        if self.n in ("fro", 2):
            return np.sqrt((a * a).sum(axis=axes))
        if self.n == 1:
            return a.sum(axis=axes)
        return (a ** float(self.n)).sum(axis=axes) ** (1.0 / float(self.n))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given mask is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask) -> None:
        self.mask = mask

    def compute_mask(self, t, default_mask):
        mask = self.mask._data if isinstance(self.mask, Tensor) else np.asarray(self.mask)
        if mask.shape != tuple(default_mask.shape):
            raise ValueError(f"mask: expected shape {tuple(default_mask.shape)}, got {mask.shape}")
        return Tensor._wrap(default_mask._data * mask.astype(default_mask._data.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the (module, name) pairs of ``parameters`` together: the method (e.g. ``L1Unstructured``,
    ``amount=...``) ranks all their entries at once, so layers lose different fractions."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("parameters: expected a non-empty iterable of (module, name) pairs")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    if getattr(pruning_method, "PRUNING_TYPE", None) != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {getattr(pruning_method, 'PRUNING_TYPE', None)}")
    scores, defaults = [], []
    for module, name in parameters:
        scores.append(importance_scores.get((module, name), getattr(module, name))._data.reshape(-1))
        mask = getattr(module, name + "_mask", None)
        defaults.append(np.ones(scores[-1].shape, scores[-1].dtype) if mask is None else mask._data.reshape(-1))
    flat_scores, flat_default = np.concatenate(scores), np.concatenate(defaults)
    container = PruningContainer(())
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    container.add_pruning_method(method)
    final = container.compute_mask(Tensor._wrap(flat_scores), Tensor._wrap(flat_default))._data
    start = 0
    for (module, name), s in zip(parameters, scores):
        piece = final[start:start + s.size].reshape(getattr(module, name).shape)
        custom_from_mask(module, name, Tensor._wrap(piece))
        start += s.size


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent (and remove its re-parametrisation)."""
    hook = _hook_for(module, name)
    if hook is None:
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
    hook.remove(module)
    for key, h in list(module._forward_pre_hooks.items()):
        if h is hook:
            del module._forward_pre_hooks[key]
    return module


def is_pruned(module) -> bool:
    """Whether a submodule of ``module`` has a pruning hook."""
    return any(isinstance(h, BasePruningMethod) for m in module.modules() for h in m._forward_pre_hooks.values())


def _hook_for(module, name):
    for h in module._forward_pre_hooks.values():
        if isinstance(h, BasePruningMethod) and h._tensor_name == name:
            return h
    return None


def _replace_hook(module, name, old, new) -> None:
    for key, h in list(module._forward_pre_hooks.items()):
        if h is old:
            module._forward_pre_hooks[key] = new
