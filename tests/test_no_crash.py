"""Nothing reachable from Python crashes the interpreter.

The compiled engine reads the fields of nodes and tensors as C members; any of them can be
rebound from Python (by a careless user, or a hook in the middle of a backward pass), so
the engine checks what it reads and raises on a malformed graph.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import pygrad
from pygrad import _backend

ROOT = Path(__file__).resolve().parents[1]
POKE = ROOT / "tests" / "scripts" / "poke_fields.py"


@pytest.mark.parametrize("name", _backend.available())
def test_wrong_values_in_every_writable_field_never_crash(name):
    env = {k: v for k, v in os.environ.items() if k != "PYGRAD_PURE"}
    env.update(PYTHONPATH=str(ROOT), PYGRAD_PURE="1" if name == "pure" else "0")
    proc = subprocess.run([sys.executable, str(POKE)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    last = lines[-1] if lines else "(no output)"
    if proc.returncode < 0:
        pytest.fail(f"the interpreter died on signal {signal.Signals(-proc.returncode).name} "
                    f"(exit status {proc.returncode}) after: {last}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    word, count = last.split()
    assert word == "done" and int(count) > 1000  # the poked fields were writable and were used


def _exp_node():
    x = pygrad.ones(3, requires_grad=True)
    return x, x.exp()


@pytest.mark.parametrize("value", [[], ((None, 0),) * 3, (1, 2), ((object(), 0),)])
def test_next_functions_is_read_only_as_in_torch(backend, torch, value):
    x, y = _exp_node()
    edges = y.grad_fn.next_functions
    with pytest.raises(AttributeError) as ours:
        y.grad_fn.next_functions = value
    with pytest.raises(AttributeError) as theirs:
        torch.ones(3, requires_grad=True).exp().grad_fn.next_functions = value
    assert str(ours.value) == str(theirs.value) == \
        "attribute 'next_functions' of 'ExpBackward0' objects is not writable"
    with pytest.raises(AttributeError, match="not writable"):
        del y.grad_fn.next_functions
    assert y.grad_fn.next_functions == edges
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx([2.718281828] * 3)


def test_an_edge_to_a_missing_output_raises(backend):
    x, y = _exp_node()
    y._output_nr = 10 ** 9
    with pytest.raises(RuntimeError, match="output 1000000000 of ExpBackward0, which has no such output"):
        y.sum().backward()
    y._output_nr = -1
    with pytest.raises(RuntimeError, match="output -1 of ExpBackward0"):
        y.sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("field,value", [("_input_meta", (1, 2)), ("_input_meta", ()),
                                         ("_output_meta", object()), ("_next_functions", [1])])
def test_malformed_node_fields_raise(backend, field, value):
    x, y = _exp_node()
    setattr(y.grad_fn, field, value)
    with pytest.raises((TypeError, IndexError)):
        y.sum().backward()


def test_a_grad_fn_that_is_not_a_node_raises(backend):
    x, y = _exp_node()
    y._grad_fn = object()
    with pytest.raises((TypeError, AttributeError)):
        y.sum().backward()
