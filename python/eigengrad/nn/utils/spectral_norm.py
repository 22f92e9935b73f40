"""The legacy ``torch.nn.utils.spectral_norm`` / ``remove_spectral_norm`` (Miyato et al., "Spectral
normalization for generative adversarial networks", ICLR 2018), hook-based as PyTorch's, with its
state_dict keys: the parameter ``<name>_orig`` and the buffers ``<name>_u`` and ``<name>_v``.

Before every forward, ``<name>`` = W / sigma, sigma = u^T W v the largest singular value of W as a
matrix (``dim`` first: 1 for a transposed convolution, else 0), estimated in training mode by
``n_power_iterations`` steps of the power method from the stored u and v:

    v <- normalize(W^T u),  u <- normalize(W v)

(no steps in eval mode: the stored u and v are used). ``parametrizations.spectral_norm`` is the newer form.
"""
from __future__ import annotations

from typing import TypeVar

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.modules.module import Module
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor

M = TypeVar("M", bound=Module)


def _normalize(x: Tensor, eps: float) -> Tensor:
    """x / max(||x||, eps) (F.normalize of a vector)."""
    return x / x.norm().clamp(min=eps)


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_orig``, ``<name>_u``, ``<name>_v``."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(weight_mat.t().mv(u), self.eps))
                    u.copy_(_normalize(weight_mat.mv(v), self.eps))
        u, v = u.clone(), v.clone()  # the buffers change in place at the next step; the graph keeps these
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight._data.copy()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> "SpectralNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter named {name!r}")
        if weight.ndim == 0:
            raise ValueError(f"spectral_norm: parameter {name!r} is 0-d; expected at least one dimension")
        fn = SpectralNorm(name, n_power_iterations, dim % weight.ndim, eps)
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = _normalize(weight.new_empty(h).normal_(0, 1), eps)
            v = _normalize(weight.new_empty(w).normal_(0, 1), eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())  # a plain attribute until the first forward, as PyTorch's
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: M, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> M:
    """Divide ``module.<name>`` by its spectral norm before every forward (see the module's doc); ``dim``
    defaults to 1 for a transposed convolution (its output channels), else 0. Returns the module.

    Example::

        d = nn.utils.spectral_norm(nn.Conv2d(3, 64, 4, 2, 1))
        sorted(d.state_dict())  # ['bias', 'weight_orig', 'weight_u', 'weight_v']
    """
    if dim is None:
        from eigengrad.nn.modules import conv

        transposed = tuple(getattr(conv, n) for n in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                           if hasattr(conv, n))
        dim = 1 if transposed and isinstance(module, transposed) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: M, name: str = "weight") -> M:
    """Undo :func:`spectral_norm`: ``<name>`` becomes a plain parameter holding the normalised weight."""
    from eigengrad.nn.utils.weight_norm import remove_reparametrization

    return remove_reparametrization(module, SpectralNorm, name, "spectral_norm")
