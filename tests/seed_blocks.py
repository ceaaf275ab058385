"""The code blocks of the seed tutorial and the output printed under each."""
from __future__ import annotations

import re
from pathlib import Path

SEED = Path(__file__).parent / "data" / "seed_tutorial.md"

_BLOCK = re.compile(r"```python\n(.*?)```(?:\s*\*\*Output:\*\*\s*```\n(.*?)```)?", re.S)


def seed_blocks() -> list[tuple[str, str | None]]:
    """(code, expected output or None) for every python block, in order."""
    text = SEED.read_text()
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]


def as_pygrad(code: str) -> str:
    return code.replace("import torch", "import pygrad as torch")
