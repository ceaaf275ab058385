"""Utilities: ``pygrad.utils.data``."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
