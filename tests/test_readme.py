"""Every ```python block of the README runs, and prints what the README says it prints.

Blocks run in order in one namespace, as in a notebook: a block may use what an earlier one
defined.  Two kinds of expected output are checked:

- ``print(expr)  # text``: that line must print ``text``;
- an unlabelled ``` block right after a python block: the block's whole output.

A block that is not meant to run is preceded by ``<!-- not run: the reason -->``.
"""
from __future__ import annotations

import contextlib
import io
import re
import shutil
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_NOT_RUN = re.compile(r"<!--\s*not run:.*?-->\s*$", re.S)
_PRINT_WITH_OUTPUT = re.compile(r"^(?P<indent>\s*)print\((?P<expr>.*)\)\s+#\s(?P<expected>.*)$")


class Block:
    def __init__(self, code: str, line: int, output: str | None, run: bool):
        self.code, self.line, self.output, self.run = code, line, output, run

    def __repr__(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks(text: str) -> list[Block]:
    """The python blocks of ``text``, each with the output block that follows it, if any."""
    fences = list(_FENCE.finditer(text))
    blocks = []
    for i, m in enumerate(fences):
        if m.group("lang") != "python":
            continue
        output = None
        following = fences[i + 1] if i + 1 < len(fences) else None
        if (following is not None and following.group("lang") == ""
                and not text[m.end():following.start()].strip()):
            output = textwrap.dedent(following.group("body"))
        run = not _NOT_RUN.search(text[:m.start()].rstrip() + "\n")
        line = text.count("\n", 0, m.start()) + 1
        blocks.append(Block(textwrap.dedent(m.group("body")), line, output, run))
    return blocks


def checked(code: str) -> str:
    """``code`` with each ``print(expr)  # text`` line also asserting that it printed ``text``."""
    lines = []
    for line in code.splitlines():
        m = _PRINT_WITH_OUTPUT.match(line)
        if m:
            line = f"{m.group('indent')}_readme_check({m.group('expr')}, {m.group('expected')!r})"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _check(value, expected: str) -> None:
    print(value)
    assert str(value) == expected, f"printed {str(value)!r}, the README says {expected!r}"


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks_and_few_are_skipped():
    assert len(BLOCKS) >= 4
    assert sum(not b.run for b in BLOCKS) <= 1, [b for b in BLOCKS if not b.run]


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[repr(b) for b in BLOCKS])
def test_readme_block_runs(index, tmp_path, monkeypatch):
    block = BLOCKS[index]
    if not block.run:
        pytest.skip("marked <!-- not run --> in the README")
    needed = BLOCKS[:index + 1]
    if any(".render(" in b.code for b in needed if b.run) and shutil.which("dot") is None:
        pytest.skip("the block renders a picture: needs the Graphviz dot program")
    monkeypatch.chdir(tmp_path)  # pictures and checkpoints the blocks write land here
    scope = {"__name__": "__readme__", "_readme_check": _check}
    for earlier in needed[:-1]:
        if earlier.run:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(earlier.code, f"README.md:{earlier.line}", "exec"), scope)
    run_block(block, scope, f"README.md:{block.line}")


def run_block(block: Block, scope: dict, where: str) -> None:
    """Run ``block`` in ``scope`` and check what it prints (its ``# text`` lines, its output block)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(checked(block.code), where, "exec"), scope)
    if block.output is not None:
        assert out.getvalue().rstrip() == block.output.rstrip()


def test_block_parsing():
    text = ("x\n```python\nprint(1)  # 1\n```\n\n```\n1\n```\n<!-- not run: needs a GPU -->\n"
            "```python\nimport cuda\n```\n- item\n\n  ```python\n  y = 2\n  ```\n")
    blocks = readme_blocks(text)
    assert [(b.code, b.output, b.run, b.line) for b in blocks] == [
        ("print(1)  # 1\n", "1\n", True, 2), ("import cuda\n", None, False, 10), ("y = 2\n", None, True, 15)]
    assert checked(blocks[0].code) == "_readme_check(1, '1')\n"
    with pytest.raises(AssertionError, match="the README says"):
        exec(checked("print(2)  # 3"), {"_readme_check": _check})
