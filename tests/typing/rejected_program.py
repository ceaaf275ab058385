"""Mistakes a type checker must catch in code using pygrad: each line marked ``# E: code``
must get that mypy error code (tests/test_typing.py checks it)."""
from __future__ import annotations

import pygrad as torch


class SomeOtherClass:
    pass


a: SomeOtherClass = torch.zeros(3)  # E: assignment
b: torch.Tensor = torch.zeros(3)
b.no_such_attribute  # E: attr-defined
n: str = b.shape[0]  # E: assignment
flag: int = b.requires_grad
torch.no_such_function(b)  # E: attr-defined
torch.nn.Linear("2", 3)  # E: arg-type
