"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (Dozat 2016)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .adam import _check_adam_args, _lerp_
from .optimizer import Optimizer, _bump_all, _decayed_grad, _params_with_grad, _step_tensor

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat, 2016)."""
    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            momentum_decay = group["momentum_decay"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["mu_product"] = Tensor._wrap(np.ones((), np.float32))
                    state["exp_avg"] = Tensor._wrap(np.zeros_like(x))
                    state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(x))
                state["step"]._data += 1
                step = state["step"]._data.item()
                bias_correction2 = 1 - beta2 ** step
                grad = _decayed_grad(p, group)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product = state["mu_product"]._data
                np.multiply(mu_product, mu, out=mu_product, casting="same_kind")  # a float32 scalar, as in PyTorch
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                _lerp_(exp_avg, grad, 1 - beta1)
                np.multiply(exp_avg_sq, beta2, out=exp_avg_sq, casting="same_kind")
                np.add(exp_avg_sq, (1 - beta2) * grad * grad, out=exp_avg_sq, casting="same_kind")
                denom = np.sqrt(exp_avg_sq / bias_correction2) + eps
                product = mu_product.item()
                product_next = product * mu_next
                np.add(x, (-lr * (1.0 - mu) / (1.0 - product)) * grad / denom, out=x, casting="same_kind")
                np.add(x, (-lr * mu_next / (1.0 - product_next)) * exp_avg / denom, out=x, casting="same_kind")
                _bump_all(p, state)
        return loss
