"""Reverse-mode automatic differentiation: primitives, the engine, grad mode and gradient checking."""
from eigengrad.autograd.anomaly import (
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)
from eigengrad.autograd.custom_function import Function, FunctionCtx, once_differentiable
from eigengrad.autograd.grad_mode import (
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from eigengrad.autograd.differentiate import backward, grad
from eigengrad.autograd.variable import Variable
from eigengrad.autograd.gradcheck import (
    GradcheckError, GradientCheckResult, gradcheck, gradgradcheck, gradient_relative_error,
)


__all__ = [
    "Function", "FunctionCtx", "once_differentiable", "inference_mode", "is_inference_mode_enabled", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "gradcheck", "gradgradcheck",
    "gradient_relative_error", "GradcheckError", "GradientCheckResult", "backward", "grad", "detect_anomaly",
    "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "Variable",
]


def __getattr__(name: str):
    if name in ("functional", "profiler", "graph"):  # torch.autograd.functional (jacobian, ...): on first use
        import importlib

        return importlib.import_module(f"eigengrad.autograd.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
