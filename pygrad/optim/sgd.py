"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _backend
from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _params_with_grad

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in _params_with_grad(group):
                x = p._data
                grad = p._grad._data
                if maximize:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + weight_decay * x
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = Tensor._wrap(np.array(grad, copy=True))
                        state["momentum_buffer"] = buf
                    else:
                        b = buf._data
                        np.multiply(b, momentum, out=b, casting="same_kind")
                        np.add(b, (1 - dampening) * grad, out=b, casting="same_kind")
                        _bump(buf)
                    grad = grad + momentum * buf._data if nesterov else buf._data
                _backend.kernels.add_scaled_(x, grad, -lr)
                p._version.value += 1
        return loss
