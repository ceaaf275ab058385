"""RMSprop, with momentum and the centered variant."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .adam import _lerp_
from .optimizer import Optimizer, _bump, _params_with_grad, _step_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), with momentum and ``centered`` options."""
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = Tensor._wrap(np.zeros_like(x))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._wrap(np.zeros_like(x))
                    if centered:
                        state["grad_avg"] = Tensor._wrap(np.zeros_like(x))
                grad = p.grad._data
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * x
                square_avg = state["square_avg"]._data
                np.multiply(square_avg, alpha, out=square_avg, casting="same_kind")
                np.add(square_avg, (1 - alpha) * grad * grad, out=square_avg, casting="same_kind")
                if centered:
                    grad_avg = state["grad_avg"]._data
                    _lerp_(grad_avg, grad, 1 - alpha)
                    avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)
                else:
                    avg = np.sqrt(square_avg)
                avg = avg + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    np.multiply(buf, momentum, out=buf, casting="same_kind")
                    np.add(buf, grad / avg, out=buf, casting="same_kind")
                    np.add(x, -lr * buf, out=x, casting="same_kind")
                else:
                    np.add(x, -lr * grad / avg, out=x, casting="same_kind")
                for key in state:
                    _bump(state[key])
                _bump(p)
        return loss
