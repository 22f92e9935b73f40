"""Reverse-mode automatic differentiation: primitives, the engine, grad mode and gradient checking."""
from eigengrad.autograd.anomaly import (
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)
from eigengrad.autograd.function import Function
from eigengrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from eigengrad.autograd.gradcheck import GradcheckError, GradientCheckResult, gradcheck, gradient_relative_error


def backward(tensors, grad_tensors=None, retain_graph: bool = False) -> None:
    """Backpropagate from one tensor or several (``torch.autograd.backward``)."""
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    grads = grad_tensors if isinstance(grad_tensors, (list, tuple)) else [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grads):
        t.backward(g, retain_graph=retain_graph)


__all__ = [
    "Function", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "gradcheck",
    "gradient_relative_error", "GradcheckError", "GradientCheckResult", "backward", "detect_anomaly",
    "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]
