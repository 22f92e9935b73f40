"""``torch.nn.utils.parametrize``: a module's parameter (or buffer) computed by a function of other tensors.

``register_parametrization(module, "weight", p)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (the same Parameter object, so an optimizer built before keeps
it; ``original0``, ``original1``, ... when ``p.right_inverse`` splits it) and makes ``module.weight`` a
property that returns ``p(original)`` through autograd at every access (once per ``cached()`` block).
Assigning ``module.weight = w`` stores ``right_inverse(w)`` (every parametrization of it must have one, or
PyTorch's RuntimeError; registration takes a missing one as the identity). The state_dict keys, the class renaming
(``ParametrizedLinear``) and the errors are PyTorch's.
"""
from __future__ import annotations

import contextlib
import copy

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.modules.container import ModuleList
from eigengrad.nn.modules.container_dict import ModuleDict
from eigengrad.nn.modules.module import Module
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache_enabled = 0
_cache: dict = {}


@contextlib.contextmanager
def cached():
    """Within the block, each parametrized tensor is computed once (at its first access) and reused."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original tensor(s) they read."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:  # PyTorch: registration then keeps the tensor as it is
                        pass
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            with no_grad():
                if new is not original:  # the same Parameter object keeps its place in any optimizer
                    original.copy_(new)
            _register(self, "original", original)
        else:
            self.is_tensor, self.ntensors = False, len(new)
            for i, value in enumerate(new):
                if not isinstance(value, Tensor):
                    raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                     f"Got element {i} of the sequence with type {type(value).__name__}.")
                value = value.detach().clone()
                if isinstance(original, Parameter):
                    value = Parameter(value, original.requires_grad)
                _register(self, f"original{i}", value)
        if not unsafe:
            self._check_consistent(original_shape, original_dtype)

    def _check_consistent(self, shape: tuple, dtype) -> None:
        """PyTorch's checks: forward(right_inverse(original)) keeps the tensor's dtype and shape."""
        with no_grad():
            z = self()
        if not isinstance(z, Tensor):
            raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
        if z.dtype != dtype:
            raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless `unsafe` "
                             f"flag is enabled.\nunparametrized dtype: {dtype}\nparametrized dtype: {z.dtype}")
        if tuple(z.shape) != shape:
            raise ValueError("Registering a parametrization may not change the shape of the tensor, unless `unsafe` "
                             f"flag is enabled.\nunparametrized shape: {shape}\nparametrized shape: {tuple(z.shape)}")

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` as the originals, through the parametrizations' right inverses (each must have one:
        unlike registration, which takes a missing one as the identity, assignment raises PyTorch's error)."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement right_inverse.")
                value = m.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} "
                                     f"while `original` has dtype {self.original.dtype}")
                self.original.copy_(value)
            else:
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                     f"Got a sequence of length {len(value)}.")
                for i, v in enumerate(value):
                    original_i = getattr(self, f"original{i}")
                    if not isinstance(v, Tensor):
                        raise ValueError(f"'right_inverse' must return a sequence of tensors or reference-type "
                                         f"opaques. Got element {i} of type {type(v).__name__}.")
                    if v.dtype != original_i.dtype:
                        raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {v.dtype} "
                                         f"while `original{i}` has dtype {original_i.dtype}")
                    original_i.copy_(v)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in list(self)[1:]:
            x = m(x)
        return x


def _parametrized_class(module: Module) -> None:
    """Give ``module`` its own subclass (PyTorch's ``Parametrized<Name>``), where the properties live."""
    cls = module.__class__

    def __setattr__(self, name, value):
        if name in self.__dict__.get("_parametrized_names", ()):
            object.__setattr__(self, name, value)  # the property's setter: right_inverse
        else:
            cls.__setattr__(self, name, value)

    def __getstate__(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(). See:\n"
                           "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
                           "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")

    def __deepcopy__(self, memo):  # (PyTorch's: a copy of the module, sharing the parametrized class)
        replica = memo.get(id(self))
        if replica is None:
            replica = self.__class__.__new__(self.__class__)
            memo[id(self)] = replica
            object.__setattr__(replica, "__dict__", copy.deepcopy(self.__dict__, memo))
        return replica

    param_cls = type(f"Parametrized{cls.__name__}", (cls,), {"__setattr__": __setattr__, "__getstate__": __getstate__,
                                                              "__deepcopy__": __deepcopy__, "_original_class": cls})
    object.__setattr__(module, "__class__", param_cls)
    object.__setattr__(module, "_parametrized_names", set())


def _inject_property(module: Module, name: str) -> None:
    def get_parametrized(self):
        parametrization = self.parametrizations[name]
        if _cache_enabled:
            key = (id(self), name)
            tensor = _cache.get(key)
            if tensor is None:
                tensor = _cache[key] = parametrization()
            return tensor
        return parametrization()

    def set_original(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(module.__class__, name, property(get_parametrized, set_original))
    module._parametrized_names.add(name)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` be ``parametrization(original)`` (see the module's doc); returns module."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            with no_grad():
                y = getattr(module, tensor_name)
                x = parametrization(y)
            if not isinstance(x, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
            if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
                raise ValueError("Registering a parametrization may not change the shape or dtype of the tensor, "
                                 "unless the `unsafe` flag is enabled.\n"
                                 f"unparametrized dtype: {y.dtype}\nparametrized dtype: {x.dtype}\n"
                                 f"unparametrized shape: {tuple(y.shape)}\nparametrized shape: {tuple(x.shape)}")
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _parametrized_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    """The module's class before parametrizations renamed it."""
    return getattr(type(module), "_original_class", type(module)) if is_parametrized(module) else type(module)


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` for ``tensor_name``: the tensor becomes a plain parameter (or
    buffer) again, holding its parametrized value (``leave_parametrized``) or its original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            with no_grad():
                if tuple(t.shape) == tuple(original.shape) and t.dtype == original.dtype:
                    original.copy_(t)
                else:
                    original = Parameter(t.detach(), original.requires_grad) if isinstance(original, Parameter) \
                        else t.detach()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized "
                             "in terms of a sequence of tensors.")
        with no_grad():
            t = getattr(module, tensor_name)
        requires = parametrizations.original0.requires_grad
        original = Parameter(t.detach().clone(), requires) if isinstance(parametrizations.original0, Parameter) \
            else t.detach().clone()
    delattr(module.__class__, tensor_name)
    module._parametrized_names.discard(tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", type(module)._original_class)
        del module.__dict__["_parametrized_names"]
    return module
