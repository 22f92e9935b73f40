"""One time step of a recurrent layer: ``RNNCell``, ``LSTMCell``, ``GRUCell`` with PyTorch's arguments,
parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), gate order and initialisation.

A cell is the layer primitive (``autograd.ops_rnn.RecurrentLayer``) run over a sequence of one step, so the
step's two GEMMs and its gate math are fused in C++ as in the layers. Equations: ``eigengrad.reference.rnn``.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.ops_rnn import RecurrentLayer
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad._errors import DtypeMismatchError
from eigengrad.nn.modules.rnn import _positive_int, gate_count
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


class RNNCellBase(Module):
    """Parameters weight_ih (G hidden, input), weight_hh (G hidden, hidden), bias_ih, bias_hh (G hidden,)
    when ``bias``; all from U(-1/sqrt(hidden), 1/sqrt(hidden)) (PyTorch)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        self.mode = mode
        self.input_size = _positive_int(input_size, "input_size", 0)
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.bias = bool(bias)
        dtype = factory_dtype(dtype)
        gh = gate_count(mode) * self.hidden_size
        self.weight_ih = Parameter(np.empty((gh, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gh, self.hidden_size), dtype=dtype))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, Parameter(np.empty(gh, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _check_input(self, input) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ArgumentError(f"input: {type(self).__name__} expects a 2-D (batch, {self.input_size}) or 1-D "
                             f"({self.input_size},) input, got shape {input.shape}")
        if input.dtype != self.weight_ih.dtype:
            raise DtypeMismatchError(f"input: expected dtype {self.weight_ih.dtype} (the parameters' dtype), "
                                  f"got {input.dtype}")
        return input.ndim == 2

    def _state(self, h, name: str, batch: int, batched: bool) -> Tensor:
        if h is None:
            return Tensor._wrap(K.zeros((batch, self.hidden_size), self.weight_ih.dtype))
        if not isinstance(h, Tensor):
            raise TypeError(f"{name}: expected an eigengrad Tensor or None, got {type(h).__name__}")
        want = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if h.shape != want:
            raise ArgumentError(f"{name}: expected shape {want}, got {h.shape}")
        if h.dtype != self.weight_ih.dtype:
            raise DtypeMismatchError(f"{name}: expected dtype {self.weight_ih.dtype} (the parameters' dtype), "
                                  f"got {h.dtype}")
        return h if batched else h.unsqueeze(0)

    def _step(self, input: Tensor, h: Tensor, c: Tensor | None) -> Tensor:
        """[y; h'; (c')] of one step of the (batch, input) rows: a sequence of length 1."""
        return RecurrentLayer.apply(input.unsqueeze(0), h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                                    self.bias_hh, mode=self.mode)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        return s


class _SingleStateCell(RNNCellBase):
    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        h = self._step(x, self._state(hx, "hx", x.shape[0], batched), None)[1]
        return h if batched else h.squeeze(0)


class RNNCell(_SingleStateCell):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu (``nonlinearity``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity


class GRUCell(_SingleStateCell):
    """One GRU step (Cho et al. 2014), gate order r, z, n: h' = (1 - z) n + z h."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    """One LSTM step (Hochreiter & Schmidhuber 1997), gate order i, f, g, o: ``forward(input, (h, c)=None)
    -> (h', c')`` with c' = f c + i g, h' = o tanh(c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx=None):
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"hx: LSTMCell expects a tuple (h, c) or None, got {type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        n = x.shape[0]
        stacked = self._step(x, self._state(h, "h", n, batched), self._state(c, "c", n, batched))
        h, c = stacked[1], stacked[2]
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))
