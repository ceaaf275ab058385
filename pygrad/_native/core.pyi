# Type stub of the compiled core (core.pyx): the field layout of tensors and graph nodes.
# The fields mirror core.pxd; pygrad._pure.core declares the same ones as plain Python.
from typing import Any, Callable

import numpy as np

class Version:
    value: int
    def __init__(self) -> None: ...

class GraphObject:
    """The base of tensors and nodes: whether the cyclic collector sees it (no public fields)."""

class TensorBase:
    _data: np.ndarray[Any, Any]
    _requires_grad: bool
    _grad_fn: Any
    _output_nr: int
    _grad: Any
    _version: Version
    _hooks: Any
    _accumulator: Any
    _retains_grad: bool
    _view: Any
    _grad_lock: Any

class NodeBase:
    _seq: int
    _next_functions: tuple[tuple[Any, int], ...]
    needs_input_grad: tuple[bool, ...]
    _to_save: Any
    _saved: Any
    _freed: bool
    _input_meta: Any
    _output_meta: Any
    _pre_hooks: Any
    _retain_hooks: Any
    _post_hooks: Any
    _non_differentiable: Any
    _dirty: Any
    _edge_args: Any
    _anomaly_trace: Any
    materialize_grads: bool
    def __init__(self) -> None: ...
    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]: ...
    @property
    def saved_tensors(self) -> tuple[Any, ...]: ...

class SavedTensorBase:
    tensor: Any
    data: Any
    version: Version
    saved_version: int
    output_nr: int
    requires_grad: bool
    def __init__(self, tensor: TensorBase, is_output: bool) -> None: ...
    def _rebuild(self, node: Any) -> Any: ...

def tensor_factory(cls: type[Any]) -> Callable[[Any], Any]: ...
def wrap(array: Any) -> Any: ...
def fast_operands(binary: Callable[..., Any], same: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]: ...
def binary_operands(a: Any, b: Any) -> Any: ...
def same_dtype_arrays(a: Any, b: Any, result: Any = ...) -> Any: ...
def set_fusion_limit(n: int) -> None: ...
def fusion_gate(x: Any) -> bool: ...
