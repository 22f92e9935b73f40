"""Neural-network layers with PyTorch's names (``eigengrad.nn``)."""
from eigengrad.nn import attention, functional, init, parallel, utils
from eigengrad.nn.modules import *  # noqa: F401,F403
from eigengrad.nn.modules import __all__ as _modules_all
from eigengrad.nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from eigengrad.nn.mc_dropout import mc_dropout_predict
from eigengrad.nn.parallel import DataParallel

__all__ = ["Parameter", "Buffer", "attention", "functional", "init", "parallel", "utils", *_modules_all]
__all__ += ["mc_dropout_predict", "DataParallel"]
__all__ += ["UninitializedParameter", "UninitializedBuffer"]
