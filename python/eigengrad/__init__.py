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
from eigengrad.autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled
from eigengrad.functions import (
    abs, add, amax, amin, argmax, argmin, cat, div, exp, flatten, log, log_softmax, matmul, max, maximum, mean, min,
    mul, neg, permute, pow, relu, reshape, sigmoid, softmax, sqrt, squeeze, stack, sub, sum, tanh, transpose,
    unsqueeze, where,
)
from eigengrad import autograd, backends, data, datasets, diagnostics, nn, optim, preprocessing, train, tune
from eigengrad.serialization import load, save
# eg.compile, the function (its package is eigengrad.compile.*); left out of __all__ so that a star import
# does not hide the builtin compile()
from eigengrad.compile import compile  # noqa: E402,A004

float = float32  # torch.float
double = float64  # torch.double
long = int64  # torch.long

__all__ = [
    "__version__", "Tensor", "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "zeros_like", "ones_like",
    "arange", "rand", "randn", "randperm", "float32", "float64", "int32", "int64", "uint8", "bool_", "float", "double",
    "long", "get_default_dtype", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "manual_seed", "seed",
    "initial_seed", "Generator", "default_generator", "get_rng_state", "set_rng_state", "set_num_threads",
    "get_num_threads", "show_config", "get_config", "autograd", "backends", "nn", "optim", "data", "datasets", "train", "diagnostics", "tune",
    "preprocessing", "save", "load",
    "MaxResult", "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "div", "exp", "flatten", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "mul", "neg", "permute", "pow", "relu", "reshape",
    "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sub", "sum", "tanh", "transpose", "unsqueeze", "where",
]
