"""The layers of ``eigengrad.nn._functional_activation_composite`` and of the distances (PyTorch's names,
arguments and defaults): SiLU, Mish, ReLU6, Hardtanh, Hardsigmoid, Hardswish, Softsign, LogSigmoid,
Softmin, Tanhshrink, Threshold, GLU, CELU, Softshrink, Hardshrink, CosineSimilarity, PairwiseDistance,
TripletMarginLoss, MarginRankingLoss."""
from __future__ import annotations

from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class _Functional(Module):
    """A layer that calls ``fn`` with its constructor's arguments (kept as attributes, PyTorch's names)."""

    fn = None
    arg_names: tuple = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        defaults = dict(self.defaults)
        names = [n for n in defaults]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes at most {len(names)} arguments ({len(args)} given)")
        for name, value in zip(names, args):
            defaults[name] = value
        for name, value in kwargs.items():
            if name not in defaults:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument '{name}'")
            defaults[name] = value
        for name, value in defaults.items():
            setattr(self, name, value)

    def forward(self, *inputs: Tensor) -> Tensor:
        kwargs = {n: getattr(self, n) for n in self.defaults if n in self.call_args}
        return type(self).fn(*inputs, **kwargs)

    def extra_repr(self) -> str:
        return ", ".join(f"{n}={getattr(self, n)}" for n in self.defaults if n != "inplace" or self.inplace)


def _layer(name: str, fn, defaults: dict, call_args: tuple) -> type:
    return type(name, (_Functional,), {"fn": staticmethod(fn), "defaults": defaults, "call_args": call_args,
                                       "__doc__": f"{name}: ``F.{fn.__name__}`` as a layer.", "__module__": __name__})


_LAYERS = {
    "SiLU": (F.silu, {"inplace": False}, ()),
    "Mish": (F.mish, {"inplace": False}, ()),
    "ReLU6": (F.relu6, {"inplace": False}, ()),
    "Hardtanh": (F.hardtanh, {"min_val": -1.0, "max_val": 1.0, "inplace": False}, ("min_val", "max_val")),
    "Hardsigmoid": (F.hardsigmoid, {"inplace": False}, ()),
    "Hardswish": (F.hardswish, {"inplace": False}, ()),
    "Softsign": (F.softsign, {}, ()),
    "LogSigmoid": (F.logsigmoid, {}, ()),
    "Softmin": (F.softmin, {"dim": None}, ("dim",)),
    "Tanhshrink": (F.tanhshrink, {}, ()),
    "Threshold": (F.threshold, {"threshold": 0.0, "value": 0.0, "inplace": False}, ("threshold", "value")),
    "GLU": (F.glu, {"dim": -1}, ("dim",)),
    "CELU": (F.celu, {"alpha": 1.0, "inplace": False}, ("alpha",)),
    "Softshrink": (F.softshrink, {"lambd": 0.5}, ("lambd",)),
    "Hardshrink": (F.hardshrink, {"lambd": 0.5}, ("lambd",)),
    "CosineSimilarity": (F.cosine_similarity, {"dim": 1, "eps": 1e-8}, ("dim", "eps")),
    "PairwiseDistance": (F.pairwise_distance, {"p": 2.0, "eps": 1e-6, "keepdim": False}, ("p", "eps", "keepdim")),
    "TripletMarginLoss": (F.triplet_margin_loss, {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False,
                                                  "size_average": None, "reduce": None, "reduction": "mean"},
                          ("margin", "p", "eps", "swap", "reduction")),
    "MarginRankingLoss": (F.margin_ranking_loss, {"margin": 0.0, "size_average": None, "reduce": None,
                                                  "reduction": "mean"}, ("margin", "reduction")),
}
__all__ = list(_LAYERS)
for _name, (_fn, _defaults, _call) in _LAYERS.items():
    globals()[_name] = _layer(_name, _fn, _defaults, _call)
