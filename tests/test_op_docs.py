"""The op table's docstrings: every public op's function, method and in-place variant has one,
with an example that runs as a doctest and prints what PyTorch printed for the same code
(recorded in pygrad/ops/_op_examples.py by tests/scripts/make_op_examples.py)."""
from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path

import pytest

import pygrad
from pygrad.ops import _opdocs, optable
from pygrad.ops._op_examples import EXAMPLES

CALLABLES = [(op, kind) for op in _opdocs.public_ops(optable.ALL_OPS) for kind in _opdocs.kinds(op)]
IDS = [f"{op.name}:{kind}" for op, kind in CALLABLES]
NO_TORCH_METHOD = {"gelu:method"}  # Tensor.gelu is a pygrad extra: PyTorch has no output to record


@pytest.mark.parametrize("op,kind", CALLABLES, ids=IDS)
def test_every_op_callable_has_a_docstring_with_its_example(op, kind):
    obj = _opdocs._callable(op, kind, optable.FUNCTIONS, optable.FUNCTIONAL)
    assert obj is not None and obj.__doc__, f"{op.name}:{kind}"
    assert obj.__doc__.startswith(_opdocs.DESCRIPTIONS[op.name].split(":")[0][:20]) or kind.startswith("inplace")
    if f"{op.name}:{kind}" not in NO_TORCH_METHOD:
        assert "Examples:\n    >>> " in obj.__doc__


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_example_runs_and_prints_what_torch_printed(key):
    """On the active backend (the suite runs on both)."""
    pygrad.manual_seed(0)
    test = doctest.DocTestParser().get_doctest(EXAMPLES[key], {"torch": pygrad, "F": pygrad.nn.functional},
                                               key, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_examples_are_the_code_the_docs_module_makes():
    """The recorded examples run the statements ``_opdocs.example_lines`` makes today."""
    expected = {f"{op.name}:{kind}": _opdocs.example_lines(op, kind) for op, kind in CALLABLES
                if f"{op.name}:{kind}" not in NO_TORCH_METHOD}
    recorded = {key: [line[4:] for line in text.splitlines() if line.startswith(">>> ")]
                for key, text in EXAMPLES.items()}
    assert recorded == expected, "run python tests/scripts/make_op_examples.py"


def test_recorded_outputs_are_torchs():
    pytest.importorskip("torch")
    path = Path(__file__).parent / "scripts" / "make_op_examples.py"
    spec = importlib.util.spec_from_file_location("make_op_examples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.examples() == EXAMPLES, "run python tests/scripts/make_op_examples.py"


def test_every_public_op_has_a_description():
    names = {op.name for op in _opdocs.public_ops(optable.ALL_OPS)}
    assert names <= set(_opdocs.DESCRIPTIONS), sorted(names - set(_opdocs.DESCRIPTIONS))


def test_ops_table_lists_every_public_op_with_its_columns():
    table = _opdocs.ops_table_markdown(optable.ALL_OPS)
    forward = "yes" if importlib.util.find_spec("pygrad.autograd.forward_ad") else "no"
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in table.splitlines()[2:]}
    assert rows["`sin`"] == ["`torch.sin`, `Tensor.sin`, `Tensor.sin_`, `torch.sin_`", "yes (`SinBackward0`)", forward,
                             "NumPy ufunc", "d/dself"]
    assert rows["`mul`, `multiply`"][1:] == ["yes (`MulBackward0`)", forward, "compiled loop",
                                                 "d/dself, d/dother"]
    assert rows["`bitwise_and`"][1] == "no"
    assert rows["`sum`"][1] == "yes (`SumBackward1`)" and rows["`sum`"][3] == "hand-written"
    assert rows["`expm1`"][3] == "NumPy"  # both backends call the NumPy kernel
    assert len(rows) == len({op.name for op in _opdocs.public_ops(optable.ALL_OPS)})
    assert rows["`softmax`"][0] == "`torch.softmax`, `F.softmax`"
