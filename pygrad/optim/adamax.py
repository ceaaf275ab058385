"""Adamax: Adam with the infinity norm of past gradients in place of the second moment."""
from __future__ import annotations

import numpy as np

from .adam import _check_adam_args, _lerp_
from .optimizer import Optimizer, _bump_all, _decayed_grad, _init_state, _params_with_grad

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, Adam's infinity-norm variant."""
    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                _init_state(state, x, "exp_avg", "exp_inf")
                state["step"]._data += 1
                grad = _decayed_grad(p, group)
                exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
                _lerp_(exp_avg, grad, 1 - beta1)
                np.multiply(exp_inf, beta2, out=exp_inf, casting="same_kind")
                np.maximum(exp_inf, np.abs(grad) + eps, out=exp_inf, casting="same_kind")
                clr = lr / (1 - beta1 ** state["step"]._data.item())
                np.add(x, -clr * exp_avg / exp_inf, out=x, casting="same_kind")
                _bump_all(p, state)
        return loss
