"""The seed tutorial: every code block, with `import torch` replaced by `import pygrad as torch`,
prints exactly the output printed under it."""
import contextlib
import io
import subprocess
import sys

import pytest

from seed_blocks import as_pygrad, seed_blocks

BLOCKS = seed_blocks()
WITH_OUTPUT = [(code, out) for code, out in BLOCKS if out is not None]


def test_the_seed_has_its_blocks():
    assert len(BLOCKS) == 13
    assert len(WITH_OUTPUT) == 12


@pytest.mark.parametrize("code,expected", WITH_OUTPUT, ids=[f"block{i}" for i in range(len(WITH_OUTPUT))])
def test_seed_block_prints_the_seed_output(code, expected):
    namespace = {}
    exec("import pygrad as torch", namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(as_pygrad(code), namespace)
    assert printed.getvalue() == expected


def test_seed_blocks_run_in_sequence_as_one_script():
    # The tutorial is read top to bottom; the blocks must also work as one program.
    script = "import pygrad as torch\n" + "".join(as_pygrad(code) for code, out in WITH_OUTPUT)
    expected = "".join(out for _, out in WITH_OUTPUT)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == expected


def test_seed_blocks_match_torch(torch):
    namespace = {}
    exec("import torch", namespace)
    for code, expected in WITH_OUTPUT:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        assert printed.getvalue() == expected


def test_demo_tutorial_examples_print_the_seed_output():
    from pygrad.demo.tutorial import EXAMPLES, run_example
    outputs = [run_example(code) for _, code in EXAMPLES]
    assert outputs == [out for _, out in WITH_OUTPUT]
