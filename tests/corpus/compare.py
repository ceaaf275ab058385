"""Compare a program's output with PyTorch's: the same text, or the same numbers to rounding."""
from __future__ import annotations

import re

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?\b(?:nan|inf)\b")


def _tokens(text: str):
    """(the text with every number replaced by a marker and runs of spaces collapsed, the numbers)."""
    numbers = NUMBER.findall(text)
    skeleton = re.sub(r"[ \t]+", " ", NUMBER.sub("#", text))
    return skeleton, numbers


def _decimals(token: str) -> int:
    mantissa = re.split(r"[eE]", token)[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _close(a: str, b: str, rtol: float, atol: float = 1e-6) -> bool:
    x, y = float(a), float(b)
    if x != x or y != y:
        return x != x and y != y
    if x == y:
        return True
    exponent = int(re.split(r"[eE]", b)[1]) if re.search(r"[eE]", b) else 0
    last_place = 10.0 ** (exponent - max(_decimals(a), _decimals(b)))
    return abs(x - y) <= max(1.5 * last_place, atol) + rtol * abs(y)


ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def classify(ours: str, expected: str, rtol: float = 1e-4) -> tuple[str, str]:
    """("exact" | "close" | "different", a short reason).  Object addresses (``<... at 0x7f...>``)
    differ from run to run and are not compared."""
    ours, expected = ADDRESS.sub(" at 0x?", ours), ADDRESS.sub(" at 0x?", expected)
    if ours == expected:
        return "exact", ""
    skel_a, nums_a = _tokens(ours)
    skel_b, nums_b = _tokens(expected)
    if skel_a != skel_b or len(nums_a) != len(nums_b):
        for i, (la, lb) in enumerate(zip(ours.splitlines(), expected.splitlines())):
            if _tokens(la)[0] != _tokens(lb)[0]:
                return "different", f"line {i + 1}: {la!r} != {lb!r}"
        return "different", f"{len(ours.splitlines())} lines != {len(expected.splitlines())} lines"
    for a, b in zip(nums_a, nums_b):
        if not _close(a, b, rtol):
            return "different", f"{a} != {b}"
    return "close", ""
