"""Utilities over modules' parameters (``torch.nn.utils``): gradient clipping, weight normalisation."""
from eigengrad.nn.utils.clip_grad import (
    clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm,
)
from eigengrad.nn.utils.weight_norm import remove_weight_norm, weight_norm
from eigengrad.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm", "weight_norm",
           "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]
from eigengrad.nn.utils.regularization import (  # noqa: E402
    decay_parameters, freeze, is_batchnorm, l1_penalty, l2_penalty, unfreeze,
)

__all__ += ["l1_penalty", "l2_penalty", "decay_parameters", "freeze", "unfreeze", "is_batchnorm"]
from eigengrad.nn.utils import rnn  # noqa: E402
from eigengrad.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: E402

__all__ += ["rnn", "parameters_to_vector", "vector_to_parameters"]
from eigengrad.nn.utils.fusion import (  # noqa: E402
    fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights,
)
from eigengrad.nn.utils.init import skip_init  # noqa: E402
from eigengrad.nn.utils.memory_format import (  # noqa: E402
    convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format,
)

__all__ += ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "skip_init",
            "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def __getattr__(name: str):
    if name in ("parametrize", "parametrizations", "stateless", "fusion"):  # imported when first used
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
