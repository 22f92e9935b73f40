"""eigengrad: a CPU deep-learning training library with C++ (Eigen + OpenMP) kernels and PyTorch's names.

    import eigengrad as eg
    x = eg.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([[2., 4.]])
"""
from eigengrad._kernels import __version__
from eigengrad._config import get_config, get_num_threads, set_num_threads, show_config
from eigengrad.random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from eigengrad.tensor import (
    MaxResult, Tensor, arange, as_tensor, bool_, float32, float64, from_numpy, full, get_default_dtype, int32, int64,
    ones, ones_like, rand, randn, randperm, tensor, uint8, zeros, zeros_like,
)
from eigengrad.autograd import enable_grad, no_grad, set_grad_enabled, is_grad_enabled
from eigengrad.autograd import inference_mode, is_inference_mode_enabled
from eigengrad.autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled
from eigengrad.functions import (
    abs, add, amax, amin, argmax, argmin, cat, div, exp, flatten, log, log_softmax, matmul, max, maximum, mean, min,
    mul, neg, permute, pow, relu, reshape, sigmoid, softmax, sqrt, squeeze, stack, sub, sum, tanh, transpose,
    unsqueeze, where,
)
from eigengrad import autograd, backends, data, nn, optim
from eigengrad.serialization import load, save
from eigengrad._flags import (
    are_deterministic_algorithms_enabled, get_float32_matmul_precision, get_num_interop_threads,
    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision, set_num_interop_threads,
    use_deterministic_algorithms,
)
from eigengrad._printing import set_printoptions

float = float32  # torch.float
double = float64  # torch.double
long = int64  # torch.long

__all__ = [
    "__version__", "Tensor", "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "zeros_like", "ones_like",
    "arange", "rand", "randn", "randperm", "float32", "float64", "int32", "int64", "uint8", "bool_", "float", "double",
    "long", "get_default_dtype", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
    "is_inference_mode_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "manual_seed", "seed",
    "initial_seed", "Generator", "default_generator", "get_rng_state", "set_rng_state", "set_num_threads",
    "get_num_threads", "show_config", "get_config", "autograd", "backends", "distributed", "nn", "optim", "data",
    "datasets", "train",
    "diagnostics", "tune", "preprocessing", "save", "load",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
    "set_num_interop_threads", "get_num_interop_threads", "set_printoptions",
    "MaxResult", "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "div", "exp", "flatten", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "mul", "neg", "permute", "pow", "relu", "reshape",
    "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sub", "sum", "tanh", "transpose", "unsqueeze", "where",
]

# Subpackages imported on first access (``eg.tune``, ``eg.sklearn``, ...), so that ``import eigengrad``
# stays fast and imports no optional dependency (scikit-learn, Optuna, Ray, matplotlib) until used.
# ``sklearn`` is left out of __all__: a star import must not need scikit-learn.
_LAZY_SUBPACKAGES = ("compat", "datasets", "diagnostics", "distributed", "preprocessing", "sklearn", "train", "tune")


def __getattr__(name: str):
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES))
