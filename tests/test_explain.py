"""autograd.explain: the chain rule node by node, with numbers equal to the real gradients."""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import explain
from pygrad.autograd.function import Function
from pygrad.autograd.node_info import derivative_rule
from pygrad.autograd.replay import describe, replay_backward


def _lines(text):
    return text.splitlines()


def _flat(text):
    """The text with line breaks and runs of spaces folded, to find values that wrapped."""
    return " ".join(text.split())


def test_seed_chain_rule_c_equals_x2_plus_1_squared():
    x = pygrad.tensor([1.], requires_grad=True)
    a = x**2
    b = a+1
    c = b**2
    text = str(explain(c))
    assert text.startswith("Backward pass of c\n")
    steps = [line for line in _lines(text) if line.startswith("[")]
    assert steps == ["[1] PowBackward0  ->  c", "[2] AddBackward0  ->  b", "[3] PowBackward0  ->  a"]
    assert "    rule:                    d(u**2)/du = 2*u" in text
    assert "    with:                    u = [2.]" in text          # b = x**2 + 1 = 2
    assert "    receives:                [1.]  (the start: dc/dc = 1)" in text
    assert "    to [2] AddBackward0 (b): [1.] * [4.] = [4.]" in text  # 2*(x**2 + 1) = 4
    assert "    to [3] PowBackward0 (a): [4.] * [1.] = [4.]" in text  # d(a + 1)/da = 1
    assert "    to x:     [4.] * [2.] = [8.]" in text                # 4 * 2x = 8
    assert "    x.grad: [8.] from [3] PowBackward0 (a)" in text
    assert x.grad is None


def test_accumulation_when_a_tensor_is_used_twice():
    x = pygrad.tensor([1.], requires_grad=True)
    y = 2*x
    z = 3+x
    r = y+z
    text = str(explain(r))
    # z was made after y, so its node is newer and runs first.
    steps = [line for line in _lines(text) if line.startswith("[")]
    assert steps == ["[1] AddBackward0  ->  r", "[2] AddBackward0  ->  z", "[3] MulBackward0  ->  y"]
    assert "    with:     v = 2." in text
    assert ("    x.grad: [1.] from [2] AddBackward0 (z) + [2.] from [3] MulBackward0 (y)\n"
            "            = [3.]  (used 2 times: the gradients add up)") in text


def test_product_rule_y_times_x_squared():
    x = pygrad.tensor([1.], requires_grad=True)
    y = pygrad.tensor([1.], requires_grad=True)
    z = y*x**2
    text = str(explain(z))
    assert "rule:" in text and "d(u * v)/du = v,  d(u * v)/dv = u" in text
    assert "    y.grad: [1.] from [1] MulBackward0 (z)" in text
    assert "    x.grad: [2.] from [2] PowBackward0" in text


def test_accumulation_inside_the_graph():
    x = pygrad.tensor([2.], requires_grad=True)
    h = x.exp()
    out = h * h.sin()
    text = str(explain(out))
    block = text[text.index("ExpBackward0"):]
    assert "(used 2 times: the gradients add up)" in block
    (expected,) = pygrad.autograd.grad(out, x, retain_graph=True)
    assert f"x.grad: {describe(expected._data)}" in text


def test_inputs_names_and_non_leaf_inputs():
    x = pygrad.tensor([1.], requires_grad=True)
    b = x**2 + 1
    c = b**2
    text = str(explain(c, inputs={"weight": x, "hidden": b}))
    assert "    weight.grad: [8.]" in text
    assert "    d/dhidden:   [4.]" in text


def test_markdown_format():
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    md = explain(c, format="markdown")
    assert str(md).startswith("### Backward pass of c\n")
    assert "**[1] PowBackward0  ->  c**" in str(md)
    assert "- rule: `d(u**2)/du = 2*u`" in str(md)
    assert "- to x: `[4.] * [2.] = [8.]`" in str(md)
    assert md._repr_markdown_() == str(md)
    assert explain(c)._repr_markdown_() is None
    with pytest.raises(ValueError, match="format"):
        explain(c, format="html")


def test_prints_only_when_asked(capsys):
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    shown = explain(c)
    assert capsys.readouterr().out == ""
    text = str(shown)
    assert text.startswith("Backward pass of c\n") and text.endswith("x.grad: [8.] from [3] PowBackward0")
    assert str(explain(c, print=True)) == text
    assert capsys.readouterr().out == text + "\n"
    print(shown)
    assert capsys.readouterr().out == text + "\n"


def test_repl_and_ipython_show_the_text_once():
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    shown = explain(c)
    text = str(shown)
    assert repr(shown) == text  # the REPL echoes repr(): the text itself, not a quoted string
    formatters = pytest.importorskip("IPython.core.formatters")
    bundle, _ = formatters.DisplayFormatter().format(shown)
    assert bundle == {"text/plain": text}  # IPython and Jupyter: plain text, once
    md = explain(c, format="markdown")
    bundle, _ = formatters.DisplayFormatter().format(md)
    assert bundle == {"text/plain": str(md), "text/markdown": str(md)}  # Jupyter renders the markdown


def _random_graph(rng, n_ops=25):
    leaves = [pygrad.tensor(rng.uniform(0.5, 1.5, size=shape), requires_grad=True)
              for shape in [(3,), (3,), (2, 3)]]
    pool = list(leaves)
    ops = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a / (b * b + 1),
           lambda a, b: a.tanh(), lambda a, b: a.exp() * 0.1, lambda a, b: a.sin(), lambda a, b: a ** 2,
           lambda a, b: a.sigmoid(), lambda a, b: a.sum(0) if a.ndim == 2 else a * 2,
           lambda a, b: (a * a + 1).sqrt(), lambda a, b: (a * a + 1).log(), lambda a, b: -a,
           lambda a, b: 2 ** a, lambda a, b: 3 - a, lambda a, b: a.mean() * b, lambda a, b: abs(a)]
    for _ in range(n_ops):
        a, b = (pool[int(i)] for i in rng.integers(len(pool), size=2))
        pool.append(ops[int(rng.integers(len(ops)))](a, b))
    return leaves, sum(t.sum() for t in pool[len(leaves):])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numbers_match_autograd_on_a_random_graph(seed):
    rng = np.random.default_rng(seed)
    leaves, out = _random_graph(rng)
    expected = pygrad.autograd.grad(out, leaves, retain_graph=True, allow_unused=True)

    trace = replay_backward([out])
    for leaf, g in zip(leaves, expected):
        got = trace.leaf_grad(leaf)
        if g is None:
            assert got is None
        else:
            np.testing.assert_allclose(got._data, g._data, rtol=1e-12)
    # every node runs after all the nodes that use its output, and receives their sum
    position = {s.node: s.index for s in trace.steps}
    for step in trace.steps:
        for nr, received in enumerate(step.grad_outputs):
            parts = trace.contributions(step.node, nr)
            assert all(sender is None or position[sender] < step.index for sender, _, _ in parts)
            if received is not None:
                np.testing.assert_allclose(sum(p[2]._data for p in parts), received._data, rtol=1e-12)

    named = {f"leaf{i}": t for i, t in enumerate(leaves)}
    text = str(explain(out, inputs=named))
    for i, g in enumerate(expected):
        line = next(line for line in _lines(text) if line.startswith(f"    leaf{i}.grad: "))
        if g is None:
            assert "None" in line
        else:
            start = text.index(line)
            following = text.find("\n    leaf", start + 1)
            assert _flat(describe(g._data)) in _flat(text[start:following if following > 0 else None])
    assert all(len(line) <= 80 for line in _lines(text)), max(_lines(text), key=len)
    assert all(t.grad is None for t in leaves)


def test_fits_80_columns_with_long_names_and_big_tensors():
    a_rather_long_variable_name = pygrad.randn(30, 40, requires_grad=True)
    another_quite_long_name = (a_rather_long_variable_name.tanh() * a_rather_long_variable_name).mean()
    text = str(explain(another_quite_long_name))
    assert all(len(line) <= 80 for line in _lines(text)), max(_lines(text), key=len)
    assert "(30, 40) min" in text


def test_grad_untouched_and_graph_still_usable():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    h = x * 3
    h.retain_grad()
    out = (h ** 2).sum()
    explain(out)
    assert x.grad is None and h._grad is None
    out.backward()  # the graph was retained: a real backward still works, once
    assert x.grad.tolist() == [18.0, 36.0]


def test_freed_graph_error():
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    c.backward()
    with pytest.raises(RuntimeError, match="explain\\(\\) needs the graph that backward\\(\\) already freed"):
        explain(c)
    with pytest.raises(RuntimeError, match="does not require grad"):
        explain(pygrad.tensor([1.]))


def test_unknown_node_shows_numbers_without_a_rule():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = pygrad.tensor([2.], requires_grad=True)
    y = Cube.apply(x)
    text = str(explain(y))
    assert "[1] CubeBackward  ->  y" in text
    assert "rule:     (no rule known for this node: numbers only)" in text
    assert "to x:     [12.]" in text


def test_non_scalar_output_starts_from_ones():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = x * x
    text = str(explain(y))
    assert "receives: [1., 1.]  (the start: dy/dy = ones)" in text
    assert "= [2., 4.] (used 2 times: the gradients add up)" in _flat(text)


def _op_node_classes():
    """Every backward node class of pygrad's own ops."""
    found, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if cls.__module__.startswith("pygrad.ops"):
            found.append(cls._backward_cls)
    return found


@pytest.mark.parametrize("node_cls", _op_node_classes(), ids=lambda c: c._forward_cls.__name__)
def test_every_op_has_a_derivative_rule(node_cls):
    node = node_cls()
    node.exponent, node.base = 2, 2.0  # what the pow nodes read
    assert derivative_rule(node), f"add a rule for {node_cls.__name__} to node_info._RULES"
