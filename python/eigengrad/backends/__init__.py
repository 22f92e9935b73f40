"""Backend queries, as ``torch.backends``: ``eigengrad.backends.cpu.get_cpu_capability()``,
``eigengrad.backends.openmp.is_available()``; ``mps``, ``cuda``, ``cudnn`` and ``mkldnn`` answer as on a machine
without them (eigengrad runs on the CPU with its own kernels), their flags settable and inert, as are ``mha``'s
fast-path switch and ``opt_einsum``'s."""
from eigengrad.backends import cpu, cuda, cudnn, mha, mkldnn, mps, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mha", "mkldnn", "mps", "openmp", "opt_einsum"]
