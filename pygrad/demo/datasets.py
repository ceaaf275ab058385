"""Toy datasets made on the spot from a seed (no download)."""
from __future__ import annotations

import numpy as np


def spirals(n: int = 1000, turns: float = 1.75, noise: float = 0.04, seed: int = 0, rotation: float = 0.0):
    """Two interleaved spirals: ``(x, y)`` with x of shape (n, 2) float32 and y of shape (n,) int64.

    Arm k of a point is its label; points lie on r = t / (2*pi*turns) at angle t + k*pi,
    with t spread so the density along each arm is even, plus Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    t = np.sqrt(rng.uniform(0.02, 1.0, size=n)) * 2 * np.pi * turns
    r = t / (2 * np.pi * turns)
    angle = t + np.pi * y + rotation
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + rng.normal(0, noise, size=(n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2):
    """The first part for training and the rest for testing (the data is already shuffled)."""
    cut = int(len(x) * (1 - test_fraction))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
