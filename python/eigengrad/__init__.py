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
    MaxResult, Size, Tensor, bool_, default_float, get_default_dtype, set_default_dtype,
)
from eigengrad._dtype import (
    bfloat16, bool, cdouble, cfloat, complex64, complex128, double, dtype, finfo, float, float16, float32, float64, half,
    iinfo, int, int8, int16, int32, int64, long, short, uint8,
)
from eigengrad._device import device, get_default_device, set_default_device
from eigengrad.autograd import enable_grad, no_grad, set_grad_enabled, is_grad_enabled
from eigengrad.autograd import inference_mode, is_inference_mode_enabled
from eigengrad.autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled
from eigengrad import functions as _functions
from eigengrad import accelerator, cuda, linalg, return_types
from eigengrad import autograd, backends, data, nn, optim
from eigengrad.serialization import load, save
# eg.compile, the function (its package is eigengrad.compile.*); left out of __all__ so that a star import
# does not hide the builtin compile()
from eigengrad.compile import compile  # noqa: E402,A004
from eigengrad._flags import (
    are_deterministic_algorithms_enabled, get_float32_matmul_precision, get_num_interop_threads,
    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision, set_num_interop_threads,
    use_deterministic_algorithms,
)
from eigengrad._printing import set_printoptions

globals().update(_functions.FUNCTIONS)  # eg.exp, eg.cat, eg.einsum, eg.zeros, eg.LongTensor, ... (tensor_ops)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def promote_types(type1, type2):
    """The dtype PyTorch promotes two dtypes to (``torch.promote_types``)."""
    from eigengrad import _dtype

    return _dtype.of(_dtype.promote_types(_dtype.to_numpy(type1), _dtype.to_numpy(type2)))


def result_type(tensor1, tensor2):
    """The dtype of an operation on two tensors or numbers (``torch.result_type``)."""
    from eigengrad import _dtype
    from eigengrad.tensor_ops.arithmetic import result_dtype

    return _dtype.of(result_dtype(tensor1, tensor2))


__all__ = [
    "__version__", "Tensor", "Size", "dtype", "device", "finfo", "iinfo", "float16", "half", "float32", "float",
    "float64", "double", "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool", "bool_",
    "complex64", "complex128", "cfloat", "cdouble", "bfloat16", "get_default_dtype", "set_default_dtype", "get_default_device",
    "set_default_device", "is_tensor", "promote_types", "result_type", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "manual_seed", "seed", "initial_seed",
    "Generator", "default_generator", "get_rng_state", "set_rng_state", "set_num_threads", "get_num_threads",
    "show_config", "get_config", "autograd", "backends", "cuda", "accelerator", "linalg", "return_types",
    "distributed", "distributions", "special", "nn", "optim", "data", "datasets", "train", "diagnostics", "tune", "preprocessing", "save", "load",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
    "set_num_interop_threads", "get_num_interop_threads", "set_printoptions", "MaxResult",
] + sorted(_functions.FUNCTIONS)

# torch.pi, torch.e, torch.inf, torch.nan, torch.newaxis: the constants positional encodings and masks use
import math as _math  # noqa: E402

pi, e, inf, nan, newaxis = _math.pi, _math.e, _math.inf, _math.nan, None
__all__ += ["pi", "e", "inf", "nan", "newaxis"]

# Subpackages imported on first access (``eg.tune``, ``eg.sklearn``, ...), so that ``import eigengrad``
# stays fast and imports no optional dependency (scikit-learn, Optuna, Ray, matplotlib) until used.
# ``sklearn`` is left out of __all__: a star import must not need scikit-learn.
_LAZY_SUBPACKAGES = ("amp", "compat", "datasets", "diagnostics", "distributed", "distributions", "func", "jit", "onnx",
                     "preprocessing", "sklearn", "profiler", "special", "testing", "train", "tune", "version",
                     "multiprocessing", "compiler", "_dynamo", "_inductor", "cpu", "sparse", "xpu", "mps", "types")


_AMP_NAMES = ("autocast", "is_autocast_enabled", "get_autocast_dtype", "is_autocast_cpu_enabled",
              "get_autocast_cpu_dtype", "is_autocast_available", "GradScaler")


def get_device_module(device=None):
    from eigengrad._device import get_device_module as get

    return get(device)


def __getattr__(name: str):
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in _AMP_NAMES:  # torch.autocast and its queries (eigengrad.amp, imported on first use)
        from eigengrad import amp

        return getattr(amp, name)
    if name == "vmap":  # torch.vmap (eigengrad.func)
        from eigengrad.func import vmap

        return vmap
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES))
