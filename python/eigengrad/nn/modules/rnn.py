"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` with PyTorch's arguments, parameter names, shapes, gate order,
initialisation and return values.

Each layer-direction is one primitive (``autograd.ops_rnn.RecurrentLayer``): forward and backward through time
run in C++. Stacked layers feed each other in Python (with dropout between layers in training mode); the two
directions of a bidirectional layer are concatenated along the feature dimension. Equations:
``eigengrad.reference.rnn`` (LSTM: Hochreiter & Schmidhuber 1997; GRU: Cho et al. 2014).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eigengrad import _kernels as K
from eigengrad import functions
from eigengrad.autograd.ops_rnn import RecurrentLayer
from eigengrad.nn import functional as F
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeMismatchError


def gate_count(mode: str) -> int:
    """Gate blocks in a layer's weights: 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n)."""
    return K.RNN_MODES[mode][0]


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < minimum:
        raise ArgumentError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


class RNNBase(Module):
    """The stack of ``num_layers`` layers (times 2 directions when ``bidirectional``) of one cell type.

    Parameters per layer k and direction (suffix '' or '_reverse'), G = 1 (RNN), 4 (LSTM), 3 (GRU):
    ``weight_ih_l{k}`` (G hidden, layer input), ``weight_hh_l{k}`` (G hidden, hidden), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (G hidden,) when ``bias``; the layer input is ``input_size`` for k = 0, else
    ``hidden_size * num_directions``. All initialised from U(-1/sqrt(hidden), 1/sqrt(hidden)) (PyTorch).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        if mode not in K.RNN_MODES:
            raise ArgumentError(f"mode: expected one of {sorted(K.RNN_MODES)}, got {mode!r}")
        self.mode = mode
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.num_layers = _positive_int(num_layers, "num_layers")
        if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ArgumentError(f"dropout: expected a number in [0, 1] (the probability of an element to be zeroed), "
                             f"got {dropout!r}")
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(f"dropout={dropout} and num_layers=1: dropout is applied between layers, so it has no "
                          "effect with a single layer", stacklevel=2)
        proj_size = _positive_int(proj_size, "proj_size", 0)
        if proj_size and mode != "LSTM":
            raise ArgumentError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= self.hidden_size:
            raise ArgumentError("proj_size has to be smaller than hidden_size")
        check_device(device)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), proj_size
        dtype = factory_dtype(dtype)
        gh = gate_count(mode) * self.hidden_size
        out = self._out_size
        self._flat_names = []
        for layer in range(self.num_layers):
            fan_in = self.input_size if layer == 0 else out * self.num_directions
            for suffix in self._suffixes():
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gh, fan_in), (gh, out)]
                if self.bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gh,), (gh,)]
                if proj_size:  # the LSTM's output projection h = W_hr (o * tanh(c)) (Sak et al. 2014)
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, self.hidden_size))
                for name, shape in zip(names, shapes):
                    self.register_parameter(name, Parameter(np.empty(shape, dtype=dtype)))
                self._flat_names.append(names)
        self.reset_parameters()

    @property
    def _out_size(self) -> int:
        """The size of h (and of each direction's output): proj_size when the LSTM projects, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self) -> tuple:
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch compacts the weights into one cuDNN buffer here; eigengrad's kernels read
        each weight where it is. Kept so that scripts calling it run unchanged."""

    @property
    def all_weights(self) -> list:
        """Per layer-direction [weight_ih, weight_hh(, bias_ih, bias_hh)] (PyTorch's ``all_weights``)."""
        return [[getattr(self, n) for n in names] for names in self._flat_names]

    @property
    def _flat_weights_names(self) -> list:
        """The weights' names in PyTorch's order (layer by layer, each direction's ih, hh, biases, projection)."""
        return [n for names in self._flat_names for n in names]

    @property
    def _flat_weights(self) -> list:
        """The weights by ``_flat_weights_names`` (what weight-dropping code such as AWD-LSTM's WeightDrop reads
        and sets: forward reads every weight by its name, so a weight set on the module is the one used)."""
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @_flat_weights.setter
    def _flat_weights(self, weights) -> None:
        for n, w in zip(self._flat_weights_names, weights):
            setattr(self, n, w)

    # --- input checks ----------------------------------------------------------------------------------

    def _dtype(self) -> np.dtype:
        return getattr(self, self._flat_names[0][0])._data.dtype

    def _check_input(self, input) -> bool:
        """Whether ``input`` is batched; raises on a wrong type, ndim, feature size or dtype."""
        if not isinstance(input, Tensor):
            raise TypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ArgumentError(f"input: {type(self).__name__} expects a 3-D (batched) or 2-D (unbatched) input, "
                             f"got shape {input.shape}")
        if input.shape[0 if input.ndim == 2 or not self.batch_first else 1] == 0:
            raise ArgumentError(f"input: expected a sequence length > 0, got shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise ArgumentError(f"input: expected input_size={self.input_size} features in the last dimension, "
                             f"got shape {input.shape}")
        if input.dtype != self._dtype():
            raise DtypeMismatchError(f"input: expected dtype {self._dtype()} (the parameters' dtype), got {input.dtype}")
        return input.ndim == 3

    def _state(self, hx, name: str, batch: int, batched: bool, size: int | None = None):
        """hx as a (layers * directions, batch, size) tensor (size: hidden_size); zeros when None."""
        shape = (self.num_layers * self.num_directions, batch, size or self.hidden_size)
        if hx is None:
            return Tensor._wrap(K.zeros(shape, self._dtype()))
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}: expected an eigengrad Tensor or None, got {type(hx).__name__}")
        want = shape if batched else (shape[0], shape[2])
        if hx.shape != want:
            kind = "batched" if batched else "unbatched"
            raise ArgumentError(f"{name}: expected hidden state of shape {want} for {kind} input, got {hx.shape}")
        if hx.dtype != self._dtype():
            raise DtypeMismatchError(f"{name}: expected dtype {self._dtype()} (the parameters' dtype), got {hx.dtype}")
        return hx if batched else hx.unsqueeze(1)

    def _initial_states(self, hx, batch: int, batched: bool):
        if self.mode == "LSTM":
            if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                # PyTorch raises RuntimeError here (a lone tensor fails its 3-D check): both classes at once
                raise ArgumentTypeError(f"hx: LSTM expects a tuple (h_0, c_0) or None, got {type(hx).__name__}")
            h0, c0 = (None, None) if hx is None else hx
            return self._state(h0, "h_0", batch, batched, self._out_size), self._state(c0, "c_0", batch, batched)
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"hx: {type(self).__name__} expects a tensor h_0 or None, got a {type(hx).__name__}")
        return self._state(hx, "hx", batch, batched), None

    # --- forward -------------------------------------------------------------------------------------

    def forward(self, input: Tensor, hx=None):
        from eigengrad.nn.utils.rnn import PackedSequence

        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(1)
        if self.batch_first and batched:
            x = x.transpose(0, 1)  # (N, T, I) -> (T, N, I): a view; the kernel makes it contiguous
        h0, c0 = self._initial_states(hx, x.shape[1], batched)
        output, h, c = self._run(x, h0, c0)
        lstm = self.mode == "LSTM"
        if self.batch_first and batched:
            output = output.transpose(0, 1)
        if not batched:
            output, h = output.squeeze(1), h.squeeze(1)
            c = c.squeeze(1) if lstm else None
        return (output, (h, c)) if lstm else (output, h)

    def _run(self, x: Tensor, h0: Tensor, c0):
        """All layers over the time-major input x (T, N, I): (output (T, N, D H), h_n, c_n or None)."""
        steps = x.shape[0]
        lstm = self.mode == "LSTM"
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True)
            outputs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                w = [getattr(self, n) for n in self._flat_names[k]]
                b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
                if self.proj_size:
                    stacked = _projected_lstm(x, h0[k], c0[k], w[0], w[1], b_ih, b_hh, w[-1], reverse=d == 1)
                else:
                    stacked = RecurrentLayer.apply(x, h0[k], c0[k] if lstm else None, w[0], w[1], b_ih, b_hh,
                                                   mode=self.mode, reverse=d == 1)
                outputs.append(stacked[:steps])
                h_n.append(stacked[steps])
                if lstm:
                    c_n.append(stacked[steps + 1])
            x = outputs[0] if len(outputs) == 1 else functions.cat(outputs, dim=2)
        return x, functions.stack(h_n, dim=0), (functions.stack(c_n, dim=0) if lstm else None)

    def _forward_packed(self, packed, hx):
        """A PackedSequence input: the sequences of each length run as one batch of exactly that length
        (so a reverse direction starts at each sequence's own end, as PyTorch's), the outputs are packed
        like the input; h_0/h_n are in the original batch order (PyTorch's rule)."""
        from eigengrad.nn.utils.rnn import _pack, pad_packed_sequence

        padded, lengths = pad_packed_sequence(packed)  # (T, B, I), original order
        self._check_input(padded)
        batch, lens = padded.shape[1], lengths._data
        h0, c0 = self._initial_states(hx, batch, True)
        lstm = self.mode == "LSTM"
        order, outs, hs, cs = [], [], [], []
        for n in sorted(set(lens.tolist()), reverse=True):
            idx = np.flatnonzero(lens == n)
            pick = Tensor._wrap(idx.astype(np.int64))
            out, h, c = self._run(padded[:n].index_select(1, pick), h0.index_select(1, pick),
                                  c0.index_select(1, pick) if lstm else None)
            gap = padded.shape[0] - n
            if gap:
                out = functions.cat([out, out.new_zeros((gap,) + tuple(out.shape[1:]))])
            order.append(idx), outs.append(out), hs.append(h), cs.append(c)
        back = Tensor._wrap(np.argsort(np.concatenate(order), kind="stable").astype(np.int64))
        output = functions.cat(outs, dim=1).index_select(1, back)  # (T, B, D H), original order
        h = functions.cat(hs, dim=1).index_select(1, back)
        c = functions.cat(cs, dim=1).index_select(1, back) if lstm else None
        if packed.sorted_indices is not None:
            output = output.index_select(1, packed.sorted_indices)
        data, _ = _pack(output, np.sort(lens)[::-1])
        result = packed._replace(data=data)
        return (result, (h, c)) if lstm else (result, h)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


def _projected_lstm(x: Tensor, h0: Tensor, c0: Tensor, w_ih, w_hh, b_ih, b_hh, w_hr, reverse: bool) -> Tensor:
    """One direction of an LSTM with an output projection (PyTorch's proj_size), as tensor operations over
    the time steps: gates = x_t W_ih^T + b_ih + h W_hh^T + b_hh (i, f, g, o), c = f c + i g,
    h = (o tanh(c)) W_hr^T (the C++ layer has no projection). Returns (outputs (T, N, P), h_n, c_n), indexed
    as the C++ layer's stacked result (h and c differ in size here, so they cannot be stacked)."""
    steps = x.shape[0]
    xw = x @ w_ih.mT  # every step's input part in one product
    if b_ih is not None:
        xw = xw + (b_ih + b_hh)
    h, c = h0, c0
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        i, f, g, o = (xw[t] + h @ w_hh.mT).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = (o.sigmoid() * c.tanh()) @ w_hr.mT
        outputs[t] = h
    return _Projected(functions.stack(outputs, dim=0), h, c)


class _Projected(tuple):
    """(outputs, h_n, c_n) of a projected LSTM direction, indexed as the C++ layer's stacked result:
    ``[:steps]`` the outputs, ``[steps]`` h_n, ``[steps + 1]`` c_n."""

    def __new__(cls, outputs, h, c):
        return super().__new__(cls, (outputs, h, c))

    def __getitem__(self, key):
        outputs, h, c = tuple.__getitem__(self, 0), tuple.__getitem__(self, 1), tuple.__getitem__(self, 2)
        steps = outputs.shape[0]
        if isinstance(key, slice):
            return outputs[key]
        return h if key == steps else c


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu (``nonlinearity``).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, hx=None) -> (output, h_n)`` with input (T, N, I)
    ((N, T, I) when batch_first, or unbatched (T, I)), output (T, N, D H), h_n (num_layers D, N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, proj_size: int = 0) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        # proj_size is accepted (as PyTorch's RNN, which passes it on to RNNBase) only to raise its ValueError
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, proj_size, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), PyTorch's gate order i, f, g, o:

        i, f, o = sigmoid(x W_i^T + b_i + h W_h^T + b_h) (their rows), g = tanh(...),
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t).

    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``; shapes as ``RNN``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al. 2014), PyTorch's gate order r, z, n:

        r, z = sigmoid(x W_i^T + b_i + h W_h^T + b_h) (their rows),
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h_t = (1 - z) n + z h_{t-1}.

    ``forward(input, h_0=None) -> (output, h_n)``; shapes as ``RNN``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)


# PyTorch's module path for the cells (torch.nn.modules.rnn.LSTMCell, ...); they are defined in rnn_cell.py
from eigengrad.nn.modules.rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase  # noqa: E402,F401
