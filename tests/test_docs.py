"""The documentation site builds with warnings as errors, and its API reference covers every
public name.  Skips when MkDocs, Material and mkdocstrings are not installed
(``pip install -e ".[docs]"``)."""
from __future__ import annotations

import functools
import importlib
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_MODULES = ["pygrad", "pygrad.utils", "pygrad.nn", "pygrad.nn.functional", "pygrad.nn.init", "pygrad.nn.utils",
               "pygrad.optim", "pygrad.optim.lr_scheduler", "pygrad.autograd", "pygrad.autograd.functional",
               "pygrad.autograd.forward_ad", "pygrad.func",
               "pygrad.utils.data", "pygrad.viz", "pygrad.return_types", "pygrad.cuda", "pygrad.linalg",
               "pygrad.profiler", "pygrad.distributed", "pygrad.nn.parallel", "pygrad.utils.checkpoint"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for plugin in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(plugin, reason="the docs extra is not installed: pip install -e \".[docs]\"")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _module(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:  # pygrad.cuda is made at run time: reach it as an attribute
        return functools.reduce(getattr, name.split(".")[1:], importlib.import_module("pygrad"))


def _page(site: Path, name: str) -> str:
    return (site / "api" / name / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("module_name", API_MODULES)
def test_api_reference_covers_every_public_name(site, module_name):
    module = _module(module_name)
    html = _page(site, module_name)
    ids = set(re.findall(r'id="([\w.]+)"', html))
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    missing = []
    for name in names:
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            if not (site / "api" / value.__name__ / "index.html").is_file():
                missing.append(f"{name} (module {value.__name__} has no page)")
        elif f"{module_name}.{name}" not in ids and not any(i.endswith(f".{name}") for i in ids):
            missing.append(name)
    assert not missing, f"docs/api/{module_name}.md does not document: {missing}"


def test_pages_include_the_readme_and_the_tutorial(site):
    autograd = (site / "autograd" / "index.html").read_text(encoding="utf-8")
    assert "The arrows point the way the forward pass went" in autograd
    assert 'src="../seed_graph.svg"' in autograd and 'src="../seed_graph_annotated.svg"' in autograd
    assert (site / "seed_graph_annotated.svg").is_file()
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "Understanding requires_grad" in tutorial and "layout: single" not in tutorial
    for page in site.rglob("*.html"):
        assert "<p>--8&lt;--" not in page.read_text(encoding="utf-8"), page  # every include resolved
    assert not (site / "README").exists()  # docs/README.md is for people building the site


def test_ops_page_has_the_table_generated_from_the_op_table(site):
    page = (site / "api" / "ops" / "index.html").read_text(encoding="utf-8")
    assert "<!-- ops-table -->" not in page
    from pygrad.ops import _opdocs, optable
    for op in _opdocs.public_ops(optable.ALL_OPS):
        assert f"<code>{op.name}</code>" in page, op.name
    assert "SinBackward0" in page and "fused backward" in page
    assert not (site / "ops_table_hook.py").exists()
