"""Every python code block the documentation site shows runs in the test suite.

The pages (docs/*.md) include the README's sections, the seed tutorial and the project files
with MkDocs' snippets (``--8<--``).  Here each page is expanded as the site build does, and each
python block on it must be one that ``tests/test_readme.py`` runs and checks (a README block) or
``tests/test_seed.py`` runs and compares with its printed output (a tutorial block); a block of
a page's own is run here, in order, in one namespace per page."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from seed_blocks import seed_blocks
from test_readme import BLOCKS as README_BLOCKS
from test_readme import _check, readme_blocks, run_block

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_SNIPPET = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<a>[\w-]+)(?::(?P<b>\d+))?)?"\s*$', re.M)


def expand(text: str) -> str:
    """``text`` with its snippet lines replaced by what they include (whole files, line ranges
    ``file:start:end`` and named sections ``file:name``)."""
    def include(m: re.Match) -> str:
        source = (ROOT / m.group("path")).read_text(encoding="utf-8")
        a, b = m.group("a"), m.group("b")
        if a is None:
            return source
        if b is not None:
            return "\n".join(source.splitlines()[int(a) - 1:int(b)])
        section = re.search(rf"--8<-- \[start:{a}\].*?\n(.*?)\n[^\n]*--8<-- \[end:{a}\]", source, re.S)
        assert section, f"no section {a!r} in {m.group('path')}"
        return section.group(1)
    return _SNIPPET.sub(include, text)


def _normal(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


PAGES = sorted(p for p in DOCS.rglob("*.md") if p.name != "README.md")
RUN_ELSEWHERE = ({_normal(b.code) for b in README_BLOCKS if b.run}
                 | {_normal(code) for code, _ in seed_blocks()})


def _python_blocks(page: Path) -> list[str]:
    text = expand(page.read_text(encoding="utf-8"))
    return [m.group(1) for m in re.finditer(r"^ *```python\n(.*?)^ *```", text, re.M | re.S)]


def test_pages_show_python_blocks():
    assert sum(len(_python_blocks(p)) for p in PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_python_block_of_the_page_runs(page, tmp_path, monkeypatch):
    own = [code for code in _python_blocks(page) if _normal(textwrap.dedent(code)) not in RUN_ELSEWHERE]
    if not own:
        return  # all of them are README or tutorial blocks, run by their own tests
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "__docs__", "_readme_check": _check}
    blocks = readme_blocks(expand(page.read_text(encoding="utf-8")))
    for block in blocks:
        if block.run:
            run_block(block, scope, f"{page.name}:{block.line}")


def test_expand_resolves_sections_and_line_ranges():
    text = expand('--8<-- "README.md:differences"\n')
    assert "Differences" not in text.splitlines()[0] and "Tensors live on the CPU" in text
    assert "--8<--" not in expand((DOCS / "tutorial.md").read_text(encoding="utf-8"))
