"""Adadelta: per-coordinate step sizes from running averages of squared gradients and updates."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _bump_all, _decayed_grad, _init_state, _params_with_grad

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012)."""
    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                _init_state(state, x, "square_avg", "acc_delta")
                state["step"]._data += 1
                grad = _decayed_grad(p, group)
                square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
                np.multiply(square_avg, rho, out=square_avg, casting="same_kind")
                np.add(square_avg, (1 - rho) * grad * grad, out=square_avg, casting="same_kind")
                std = np.sqrt(square_avg + eps)
                delta = np.sqrt(acc_delta + eps) / std * grad
                np.multiply(acc_delta, rho, out=acc_delta, casting="same_kind")
                np.add(acc_delta, (1 - rho) * delta * delta, out=acc_delta, casting="same_kind")
                np.add(x, -lr * delta, out=x, casting="same_kind")
                _bump_all(p, state)
        return loss
