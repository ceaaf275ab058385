"""Differentiable operations: one ``Function`` per op, forward and backward side by side.

The layers point one way: ``tensor`` (the class, its fields and printing) -> ``autograd``
(nodes, Function, engine) -> the op modules here -> the Tensor methods.  The op modules import
``tensor``; ``tensor`` imports none of them: the op table (``optable``) installs its methods on
``Tensor``, and the hand-written methods of tensor.py find their op modules bound below.
"""
import sys

from .. import creation
from ..tensor import Tensor
from . import optable  # installs the table's functions and methods (first: activation reads its ops)
from . import _util, activation, arith, index, inplace, linalg, logic, reduce, shape, sorting, unary

_tensor = sys.modules[Tensor.__module__]  # (the name ``pygrad.tensor`` is the creation function)
for _name, _module in (("creation", creation), ("arith", arith), ("index", index), ("linalg", linalg),
                       ("logic", logic), ("activation", activation), ("inplace", inplace), ("reduce", reduce),
                       ("shape", shape), ("sorting", sorting), ("optable", optable), ("unary", unary),
                       ("util", _util)):
    setattr(_tensor, "_" + _name, _module)
