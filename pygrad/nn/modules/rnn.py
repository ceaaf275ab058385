"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells, composed from ``linear``,
``sigmoid``/``tanh`` and elementwise ops (so autograd differentiates them with no new formula).

Parameter names, shapes, initialisation, ``repr``, argument checks and the cell arithmetic
follow PyTorch's CPU implementation (``aten/src/ATen/native/RNN.cpp``), so a PyTorch
``state_dict`` loads and the outputs agree to rounding.  The input projections of a whole
sequence are computed with one matrix product before the time loop.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ...ops import shape as _shape
from ...ops.optable import FUNCTIONS as _TABLE
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import _empty
from .module import Module

_relu, sigmoid, tanh = _TABLE["relu"], _TABLE["sigmoid"], _TABLE["tanh"]

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _zeros_like_state(x: Tensor, *shape) -> Tensor:
    from ... import creation
    return creation.zeros(*shape, dtype=x.dtype)


def _reset_uniform(module) -> None:
    """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), PyTorch's default."""
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -stdv, stdv)


# -- one step of each cell (PyTorch's formulas, in its order of operations) ---------------------

def _rnn_step(activation, gi: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    return activation(F.linear(h, w_hh, b_hh) + gi)


def _lstm_step(gi: Tensor, state, w_hh, b_hh):
    h, c = state
    gates = F.linear(h, w_hh, b_hh) + gi
    i, f, g, o = gates.chunk(4, -1)
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    c = f * c + i * g
    return o * tanh(c), c


def _gru_step(gi: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    gh = F.linear(h, w_hh, b_hh)
    ir, iz, in_ = gi.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    reset = sigmoid(hr + ir)
    update = sigmoid(hz + iz)
    new = tanh(in_ + hn * reset)
    return (h - new) * update + new


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrence shared by ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size != 0:
            raise NotImplementedError("pygrad's LSTM has no proj_size")
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every weight uniformly in +-1/sqrt(hidden_size)."""
        _reset_uniform(self)

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The weights of each layer and direction, as lists."""
        per = 4 if self.bias else 2
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- argument checks ------------------------------------------------------------------------
    def _check_input(self, input: Tensor) -> bool:
        """True for unbatched (L, H_in) input."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.ndim not in (2, 3):
            what = "tensor instead" if name == "RNN" else "instead"  # PyTorch's texts differ here
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D {what}")
        weight = self.weight_ih_l0
        if input.dtype is not weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or convert model: "
                             f"model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        return input.ndim == 2

    def _check_hidden(self, hx: Tensor, batch: int, which: str = "hidden") -> None:
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {which} size {expected}, got {list(hx.shape)}")

    # -- the recurrence ---------------------------------------------------------------------------
    def _step(self, gi, state, w_hh, b_hh):
        raise NotImplementedError

    def _run_direction(self, x: Tensor, state, prefix: str, reverse: bool):
        """One direction of one layer over a (L, N, H) sequence: the (L, N, H_out) outputs and the
        final state."""
        w_ih, w_hh = getattr(self, "weight_ih_" + prefix), getattr(self, "weight_hh_" + prefix)
        b_ih = getattr(self, "bias_ih_" + prefix) if self.bias else None
        b_hh = getattr(self, "bias_hh_" + prefix) if self.bias else None
        projected = F.linear(x, w_ih, b_ih)  # the input half of every gate, for all steps at once
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            state = self._step(projected[t], state, w_hh, b_hh)
            outputs[t] = state[0] if isinstance(state, tuple) else state
        return _shape.stack(outputs, 0), state

    def _recur(self, x: Tensor, states: list):
        """Run all layers; ``states[k]`` is the initial state of layer/direction k."""
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                prefix = f"l{layer}" + ("_reverse" if direction else "")
                out, final = self._run_direction(x, states[k], prefix, reverse=direction == 1)
                outs.append(out)
                finals.append(final)
            x = outs[0] if directions == 1 else _shape.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, finals


def _batch_major(output: Tensor, batch_first: bool, unbatched: bool) -> Tensor:
    if unbatched:
        return output.squeeze(1)
    return output.transpose(0, 1) if batch_first else output


class _SingleStateRNN(RNNBase):
    """``RNN`` and ``GRU``: one hidden state tensor."""

    def forward(self, input: Tensor, hx: Tensor | None = None):
        unbatched = self._check_input(input)
        directions = 2 if self.bidirectional else 1
        if unbatched:
            if hx is not None and hx.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.ndim}-D tensor")
            x = input.unsqueeze(1)
            hx = hx.unsqueeze(1) if hx is not None else None
        else:
            if hx is not None and hx.ndim != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.ndim}-D tensor")
            x = input.transpose(0, 1) if self.batch_first else input
        batch = x.shape[1]
        if hx is None:
            hx = _zeros_like_state(x, self.num_layers * directions, batch, self.hidden_size)
        self._check_hidden(hx, batch)
        output, finals = self._recur(x, list(hx.unbind(0)))
        h_n = _shape.stack(finals, 0)
        return _batch_major(output, self.batch_first, unbatched), (h_n.squeeze(1) if unbatched else h_n)


class RNN(_SingleStateRNN):
    """Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nonlinearity

    def _step(self, gi, h, w_hh, b_hh):
        return _rnn_step(tanh if self.nonlinearity == "tanh" else _relu, gi, h, w_hh, b_hh)


class GRU(_SingleStateRNN):
    """Gated recurrent unit (PyTorch's gate order r, z, n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def _step(self, gi, h, w_hh, b_hh):
        return _gru_step(gi, h, w_hh, b_hh)


class LSTM(RNNBase):
    """Long short-term memory (PyTorch's gate order i, f, g, o); returns ``(output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def _step(self, gi, state, w_hh, b_hh):
        return _lstm_step(gi, state, w_hh, b_hh)

    def forward(self, input: Tensor, hx=None):
        unbatched = self._check_input(input)
        directions = 2 if self.bidirectional else 1
        if unbatched:
            if hx is not None and (hx[0].ndim != 2 or hx[1].ndim != 2):
                raise RuntimeError(f"For unbatched 2-D input, hx and cx should also be 2-D but got "
                                   f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
            x = input.unsqueeze(1)
            hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if hx is not None else None
        else:
            if hx is not None and (hx[0].ndim != 3 or hx[1].ndim != 3):
                raise RuntimeError(f"For batched 3-D input, hx and cx should also be 3-D but got "
                                   f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
            x = input.transpose(0, 1) if self.batch_first else input
        batch = x.shape[1]
        if hx is None:
            zeros = _zeros_like_state(x, self.num_layers * directions, batch, self.hidden_size)
            hx = (zeros, zeros)
        self._check_hidden(hx[0], batch, "hidden[0]")
        self._check_hidden(hx[1], batch, "hidden[1]")
        output, finals = self._recur(x, list(zip(hx[0].unbind(0), hx[1].unbind(0))))
        h_n = _shape.stack([h for h, _ in finals], 0)
        c_n = _shape.stack([c for _, c in finals], 0)
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return _batch_major(output, self.batch_first, unbatched), (h_n, c_n)


# -- cells --------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """What the recurrent cells share: their weights and ``reset_parameters``."""
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(_empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every weight uniformly in +-1/sqrt(hidden_size)."""
        _reset_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx, zeros: int):
        """Batched input and states (zeros where not given); whether to squeeze the result."""
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            zero = _zeros_like_state(x, x.shape[0], self.hidden_size)
            states = (zero,) * zeros
        else:
            states = tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
            for s in states:
                if s.ndim != input.ndim:
                    raise ValueError(f"{type(self).__name__}: Expected hidden to be "
                                     f"{'1D' if unbatched else '2D'}, got {s.ndim}D instead")
            if unbatched:
                states = tuple(s.unsqueeze(0) for s in states)
        return x, states, unbatched

    def _input_gates(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN (tanh or relu)."""
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx, 1)
        if self.nonlinearity == "tanh":
            activation = tanh
        elif self.nonlinearity == "relu":
            activation = _relu
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        out = _rnn_step(activation, self._input_gates(x), h, self.weight_hh, self.bias_hh)
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    """One step of a long short-term memory cell."""
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        x, (h, c), unbatched = self._prepare(input, hx, 2)
        h, c = _lstm_step(self._input_gates(x), (h, c), self.weight_hh, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One step of a gated recurrent unit."""
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx, 1)
        out = _gru_step(self._input_gates(x), h, self.weight_hh, self.bias_hh)
        return out.squeeze(0) if unbatched else out
