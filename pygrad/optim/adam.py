"""Adam and AdamW (decoupled weight decay), with AMSGrad."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _params_with_grad, _step_tensor

__all__ = ["Adam", "AdamW"]


def _lerp_(dst: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray | None = None) -> None:
    """``dst.lerp_(end, weight)`` with PyTorch's two-sided formula (``scratch``: a buffer like
    ``dst`` to compute in)."""
    if abs(weight) < 0.5:
        step = np.subtract(end, dst, out=scratch, casting="same_kind")
        np.multiply(step, weight, out=step, casting="same_kind")
        np.add(dst, step, out=dst, casting="same_kind")
    else:
        np.copyto(dst, end - (end - dst) * (1 - weight), casting="same_kind")


def _check_adam_args(lr, betas, eps, weight_decay) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with ``amsgrad`` and L2 ``weight_decay``."""
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in _params_with_grad(group):
                x = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = Tensor._wrap(np.zeros_like(x))
                    state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(x))
                    if amsgrad:
                        state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(x))
                grad = p.grad._data
                if maximize:
                    grad = -grad
                step_t = state["step"]
                step_t._data += 1
                if weight_decay != 0:
                    if decoupled:
                        np.multiply(x, 1 - lr * weight_decay, out=x, casting="same_kind")
                    else:
                        grad = grad + weight_decay * x
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                # In place through two scratch arrays, each product in PyTorch's order (lerp_,
                # addcmul_ of (1 - beta2) * grad * grad, addcdiv_ of -step_size * exp_avg / denom).
                scratch, denom = np.empty_like(x), np.empty_like(x)
                _lerp_(exp_avg, grad, 1 - beta1, scratch)
                np.multiply(exp_avg_sq, beta2, out=exp_avg_sq, casting="same_kind")
                np.multiply(grad, 1 - beta2, out=scratch, casting="same_kind")
                np.multiply(scratch, grad, out=scratch, casting="same_kind")
                np.add(exp_avg_sq, scratch, out=exp_avg_sq, casting="same_kind")
                step = step_t._data.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                if amsgrad:
                    max_sq = state["max_exp_avg_sq"]._data
                    np.maximum(max_sq, exp_avg_sq, out=max_sq)
                    np.sqrt(max_sq, out=denom)
                else:
                    np.sqrt(exp_avg_sq, out=denom)
                np.divide(denom, bias_correction2_sqrt, out=denom, casting="same_kind")
                np.add(denom, eps, out=denom, casting="same_kind")
                np.multiply(exp_avg, -step_size, out=scratch, casting="same_kind")
                np.divide(scratch, denom, out=scratch)
                np.add(x, scratch, out=x, casting="same_kind")
                for key in state:
                    _bump(state[key])
                _bump(p)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019)."""
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
