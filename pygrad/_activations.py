"""The activations PyTorch also has at the top level (``torch.selu``, ``torch.threshold_`` ...),
with its signatures there: no ``inplace`` argument (an in-place twin ends in ``_``); the work is
``nn.functional``'s."""
from __future__ import annotations

from .nn import functional as F
from .tensor import Tensor

__all__ = ["celu", "celu_", "prelu", "rrelu", "rrelu_", "selu", "selu_", "threshold", "threshold_"]


def selu(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    return F.selu_(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return F.celu_(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return F.threshold_(input, threshold, value)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    return F.prelu(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
          generator=None) -> Tensor:
    _default_generator_only(generator)
    return F.rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
           generator=None) -> Tensor:
    _default_generator_only(generator)
    return F.rrelu_(input, lower, upper, training)


def _default_generator_only(generator) -> None:
    if generator is not None:
        raise NotImplementedError("rrelu draws from pygrad's default generator (pygrad.manual_seed); "
                                  "a generator argument is not supported")
