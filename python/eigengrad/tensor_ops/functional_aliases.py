"""The nn.functional operations PyTorch also exposes at the top level (``torch.conv2d``, ``torch.dropout``,
``torch.layer_norm``, ...), with the top level's own signatures where they differ from ``F``'s (``train`` for
``training``, a ``cudnn_enable`` flag, ``adaptive_max_pool1d`` returning the indices too). The top-level losses
are left out: they take the reduction as an integer enum, an internal PyTorch detail."""
from __future__ import annotations


def _F():
    from eigengrad.nn import functional

    return functional


def _forward(name):
    """A top-level name whose signature is F's."""
    def fn(*args, **kwargs):
        return getattr(_F(), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}``: :func:`eigengrad.nn.functional.{name}`."
    return fn


SAME_AS_F = ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pixel_shuffle", "pixel_unshuffle", "prelu",
             "selu", "celu", "rrelu", "threshold", "hardshrink", "cosine_similarity", "pairwise_distance", "pdist",
             "bilinear", "max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d", "rms_norm", "celu_", "selu_",
             "rrelu_", "threshold_", "channel_shuffle", "native_channel_shuffle", "conv3d", "conv_transpose3d",
             "max_pool3d")
globals().update({name: _forward(name) for name in SAME_AS_F})


def dropout(input, p: float, train: bool):
    return _F().dropout(input, p, train)


def alpha_dropout(input, p: float, train: bool):
    return _F().alpha_dropout(input, p, train)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def adaptive_max_pool1d(input, output_size):
    """(values, indices), as the top-level function returns both."""
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


FUNCTIONS = SAME_AS_F + ("dropout", "alpha_dropout", "layer_norm", "group_norm", "adaptive_max_pool1d")
METHODS = ()
