"""The data layout of tensors and graph nodes: the fields, with no behaviour.

``pygrad.tensor.Tensor`` and ``pygrad.autograd.function.Node`` derive from these bases and
hold all the behaviour.  The compiled twin (``pygrad._native.core``) declares the same
fields as C members so that the compiled engine reads them without dictionary lookups;
the base is chosen once, when pygrad is imported.
"""
from __future__ import annotations

import itertools
import sys

import numpy as np

from .._errors import not_writable

_sequence = itertools.count()


class Version:
    """The in-place version counter, shared by tensors that share storage."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class TensorBase:
    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_grad", "_version",
                 "_hooks", "_accumulator", "_retains_grad", "_view", "_grad_lock", "__weakref__")


_storage = TensorBase.__dict__["_data"].__get__


class NodeBase:
    """Every node gets a creation sequence number; the other fields are class defaults
    (all immutable), so creating a node sets one attribute."""

    _next_functions = ()  # the edges: (node or None, input number of that node) per input
    needs_input_grad = ()
    _to_save = None
    _saved = None
    _freed = False
    _input_meta = ()
    _output_meta = ()
    _pre_hooks = None  # {output_nr: {key: fn}}: hooks of the tensors this node made
    _retain_hooks = None  # {output_nr: fn}: retain_grad(), run after the other hooks
    _post_hooks = None
    _non_differentiable = ()
    _dirty = ()
    _edge_args = None  # positions of the tensor arguments (which have edges) when some are not tensors
    _anomaly_trace = None  # the forward call's stack, recorded in anomaly mode
    materialize_grads = True

    def __init__(self):
        self._seq = next(_sequence)

    @property
    def saved_tensors(self) -> tuple:
        return self._unpack_saved()

    @property
    def next_functions(self) -> tuple:
        return self._next_functions

    @next_functions.setter
    def next_functions(self, value):
        raise AttributeError(not_writable("next_functions", self))

    @next_functions.deleter
    def next_functions(self):
        raise AttributeError(not_writable("next_functions", self))


class SavedTensorBase:
    """What a node keeps of a saved tensor (unpacking is ``autograd.function.SavedTensor``'s)."""

    __slots__ = ("tensor", "data", "version", "saved_version", "output_nr", "requires_grad")

    def __init__(self, tensor, is_output: bool):
        self.version = tensor._version
        self.saved_version = tensor._version.value
        self.output_nr = tensor._output_nr
        self.requires_grad = tensor._requires_grad
        if is_output:  # an output of the saving node: keep no reference to it or to the node
            # its storage slot as the compiled core reads it (a pending fused result stays pending)
            self.tensor, self.data = None, _storage(tensor)
        else:
            self.tensor, self.data = tensor, None

    def _rebuild(self, node):
        """A saved output as a tensor again: its array, version counter and place in the graph."""
        t = wrap(self.data)
        t._version = self.version
        if self.requires_grad:
            t._requires_grad = True
            t._grad_fn = node
            t._output_nr = self.output_nr
        return t


wrap = None  # bound by tensor_factory(Tensor)


def tensor_factory(cls):
    """``wrap(array)``: a new leaf ``cls`` around ``array`` (no copy); also bound as ``core.wrap``."""
    global wrap
    new, ndarray, asarray = object.__new__, np.ndarray, np.asarray

    def _wrap(array):
        t = new(cls)
        if type(array) is not ndarray:
            array = asarray(array)
        t._data = array
        t._requires_grad = False
        t._grad_fn = None
        t._output_nr = 0
        t._grad = None
        t._version = Version()
        t._hooks = None
        t._accumulator = None
        t._grad_lock = None
        t._retains_grad = False
        t._view = None
        return t
    wrap = _wrap
    return _wrap


def fast_operands(binary, same):
    """The compiled core puts C fast paths in front of these two; here they are the definitions."""
    return binary, same


def settle(obj):
    """The compiled core hides graph objects from the cyclic collector; this layout does not."""


def closed_objects():
    return []


# The size test in front of every fusible op (pygrad/fusion).
_fusion_limit = sys.maxsize


def set_fusion_limit(n: int) -> None:
    """Operands of at least ``n`` elements go to fusion (``sys.maxsize``: fusion is off)."""
    global _fusion_limit
    _fusion_limit = n


def fusion_gate(x) -> bool:
    """Whether an elementwise op (given its first operand) or a backward (given its gradient)
    asks fusion first: ``x``'s storage slot has at least the limit's elements (a pending
    result's placeholder has its full size)."""
    if not isinstance(x, TensorBase):
        return False
    a = _storage(x)
    return isinstance(a, np.ndarray) and a.size >= _fusion_limit
