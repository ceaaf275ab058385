"""Adagrad: steps scaled by the root of each element's summed squared gradients."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _params_with_grad, _step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011)."""
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch creates the state up front
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _step_tensor()
                state["sum"] = Tensor._wrap(np.full_like(p._data, initial_accumulator_value))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps, weight_decay = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                grad = p.grad._data
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                step = float(state["step"]._data)
                if weight_decay != 0:
                    grad = grad + weight_decay * x
                clr = lr / (1 + (step - 1) * lr_decay)
                total = state["sum"]._data
                np.add(total, grad * grad, out=total, casting="same_kind")
                std = np.sqrt(total) + np.asarray(eps, total.dtype)
                np.add(x, -clr * (grad / std), out=x, casting="same_kind")
                for key in state:
                    _bump(state[key])
                _bump(p)
        return loss
