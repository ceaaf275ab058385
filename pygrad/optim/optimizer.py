"""``Optimizer``: parameter groups, per-parameter state and PyTorch's state_dict layout.

Updates run in place on the parameters' storage, outside the graph, with PyTorch's
formulas in its order of operations (single-tensor CPU code path), so a float32
trajectory follows PyTorch's to rounding.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from .. import _errstate, fusion as _fusion
from ..autograd import grad_mode
from ..fusion._state import pending as _fusion_pending
from ..nn.utils.grads import zero_grads
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return f"torch.{obj.dtype._tensor_type}"
    return type(obj).__module__ + "." + type(obj).__qualname__ if type(obj).__module__ != "builtins" \
        else type(obj).__qualname__


class Optimizer:
    """Base class: subclasses pass their defaults and implement ``step``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _after_pending(cls.__dict__["step"])

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or "
                            f"dicts, but got {_typename(params)}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(p))
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if existing & set(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients (to None by default)."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters from their gradients (``closure`` re-evaluates the loss when the algorithm
        needs it)."""
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # -- state dict ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as in PyTorch."""
        index: dict[int, int] = {}
        next_index = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = next_index
                    next_index += 1
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state ``state_dict()`` returned."""
        state_dict = dict(state_dict)
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = {saved: p for g, s in zip(groups, saved_groups) for saved, p in zip(s["params"], g["params"])}
        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {k: self._cast_state(param, k, v) for k, v in value.items()}
            else:
                state[key] = value
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(param: Tensor, key: str, value):
        if not isinstance(value, Tensor):
            return copy.deepcopy(value)
        if key == "step":  # step stays float32, whatever the parameter's dtype
            return Tensor._wrap(np.array(value._data, copy=True))
        dt = param._data.dtype if value.dtype.is_floating_point else value._data.dtype
        return Tensor._wrap(np.array(value._data, dtype=dt, copy=True))

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n"
            text += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _step_tensor() -> Tensor:
    return Tensor._wrap(np.zeros((), np.float32))


def _params_with_grad(group) -> list[Tensor]:
    """The group's parameters that have a gradient (a leaf's is read without the property's frame;
    after this, ``p._grad`` is ``p.grad``)."""
    return [p for p in group["params"] if (p._grad if p._grad_fn is None else p.grad) is not None]


def _after_pending(step):
    """``step`` preceded by the computation of pending fused results: it writes parameters in
    place, which a pending result may read (pygrad/fusion).  It computes quietly, as PyTorch (an inf
    or nan gradient gives inf and nan), the program's closure in the program's own error state."""
    import functools

    @functools.wraps(step)
    def run(self, *args, **kwargs):
        if _fusion_pending:
            _fusion.flush()
        if args and callable(args[0]):
            args = (_errstate.in_state_of_caller(args[0]),) + args[1:]
        elif callable(kwargs.get("closure")):
            kwargs["closure"] = _errstate.in_state_of_caller(kwargs["closure"])
        token = _errstate.quiet()
        try:
            return step(self, *args, **kwargs)
        finally:
            _errstate.restore(token)
    return run


def _bump(t: Tensor) -> None:
    t._version.value += 1


def _init_state(state: dict, x: np.ndarray, *buffers: str) -> None:
    """On a parameter's first step: PyTorch's float32 ``step`` counter, then zero buffers like ``x``."""
    if not state:
        state["step"] = _step_tensor()
        for name in buffers:
            state[name] = Tensor._wrap(np.zeros_like(x))


def _decayed_grad(p: Tensor, group: dict) -> np.ndarray:
    """The gradient the update uses: negated under ``maximize``, plus ``weight_decay * p`` (L2), or,
    with ``decoupled_weight_decay``, the parameter shrunk in place instead."""
    grad = p.grad._data
    if group["maximize"]:
        grad = -grad
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if group.get("decoupled_weight_decay"):
            np.multiply(p._data, 1 - group["lr"] * weight_decay, out=p._data, casting="same_kind")
        else:
            grad = grad + weight_decay * p._data
    return grad


def _bump_all(p: Tensor, state: dict) -> None:
    """The parameter and its state tensors were written in place: bump their version counters."""
    for value in state.values():
        if isinstance(value, Tensor):
            _bump(value)
    _bump(p)
