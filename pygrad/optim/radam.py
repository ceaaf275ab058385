"""RAdam: Adam with the variance of the adaptive rate rectified in the first steps (Liu et al. 2019)."""
from __future__ import annotations

import numpy as np

from .adam import _check_adam_args, _lerp_
from .optimizer import Optimizer, _bump_all, _decayed_grad, _init_state, _params_with_grad

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Rectified Adam (Liu et al., 2020)."""
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                _init_state(state, x, "exp_avg", "exp_avg_sq")
                state["step"]._data += 1
                step = state["step"]._data.item()
                grad = _decayed_grad(p, group)
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                _lerp_(exp_avg, grad, 1 - beta1)
                np.multiply(exp_avg_sq, beta2, out=exp_avg_sq, casting="same_kind")
                np.add(exp_avg_sq, (1 - beta2) * grad * grad, out=exp_avg_sq, casting="same_kind")
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                corrected = exp_avg / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    adaptive = (bias_correction2 ** 0.5) / (np.sqrt(exp_avg_sq) + eps)
                    update = corrected * lr * adaptive * rect
                else:
                    update = corrected * lr
                np.subtract(x, update, out=x, casting="same_kind")
                _bump_all(p, state)
        return loss
