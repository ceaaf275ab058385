"""Utilities: ``pygrad.utils.data``."""
from . import data

__all__ = ["data"]
