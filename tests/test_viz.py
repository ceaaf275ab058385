"""make_dot: the DOT text torchviz writes, rendering, annotations, big graphs."""
import re
import shutil
import sys
import time

import numpy as np
import pytest

import pygrad
import pygrad.viz as viz
from pygrad.viz import GraphvizNotFoundError, make_dot
from seed_blocks import seed_blocks

# -- reading DOT text -------------------------------------------------------------------------

_STATEMENT = re.compile(r'\t(?P<a>\d+)(?: -> (?P<b>\d+))?(?: \[(?P<attrs>(?:[^\]"]|"(?:[^"\\]|\\.)*")*)\])?\n')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def canonical(source: str) -> str:
    """The DOT text with node ids renumbered in order of first appearance."""
    ids = {}
    return re.sub(r"(?m)(?<=\t)\d+|(?<=-> )\d+", lambda m: "N%d" % ids.setdefault(m.group(0), len(ids)),
                  source)


def parse(source: str):
    """``(nodes {id: attrs}, edges [(tail, head, attrs)])``; later node statements win, as in dot."""
    nodes, edges = {}, []
    for m in _STATEMENT.finditer(source):
        attrs = {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTR.findall(m.group("attrs") or "")}
        if m.group("b"):
            edges.append((m.group("a"), m.group("b"), attrs))
        else:
            nodes.setdefault(m.group("a"), {}).update(attrs)
    return nodes, edges


def node_id(nodes, label_start: str) -> str:
    found = [i for i, a in nodes.items() if a.get("label", "").startswith(label_start)]
    assert len(found) == 1, (label_start, found)
    return found[0]


# -- the programs, written once for pygrad and torch --------------------------------------------

class Cube:
    """A custom Function on either library: its saved tensors are always drawn."""

    @staticmethod
    def make(m):
        class Cube(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g
        return Cube


def seed(m):
    x = m.tensor([1.], requires_grad=True)
    y = 2*x
    z = 3+x
    return y+z, {"x": x}


def chain(m):
    x = m.tensor([1.], requires_grad=True)
    return (x**2 + 1)**2, {"x": x}


def two_variables(m):
    x = m.tensor([1.], requires_grad=True)
    y = m.tensor([1.], requires_grad=True)
    return 2*x**2 + y**2, {"x": x, "y": y}


def product(m):
    x = m.tensor([1.], requires_grad=True)
    y = m.tensor([1.], requires_grad=True)
    return y*x**2, {"x": x, "y": y}


def vector(m):
    x = m.tensor([1., 2., 3.], requires_grad=True)
    return m.sum(x**2), {"x": x}


def detached(m):
    x = m.tensor([1.], requires_grad=True)
    y = x**2
    return y + y.detach(), {"x": x}


def mixed(m):
    a = m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
    b = m.tensor([0.3, 0.2, 0.1], requires_grad=True)
    h = (a * b).tanh() + a.exp() / 2 - m.sigmoid(b)
    return (h ** 2).mean() + (1 / b).sum() + (2 ** b).sum(), {"a": a, "b": b}


def where(m):
    a = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    return m.where(a > 0, a * b, b).sum(), {"a": a, "b": b}


def two_outputs(m):
    x = m.tensor([1., 2.], requires_grad=True)
    return (x.sin(), (x * 3).sum()), {"x": x}


def custom(m):
    x = m.tensor([1., 2.], requires_grad=True)
    return Cube.make(m).apply(x * 2).sum(), {"x": x}


def written_view(m):
    x = m.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    c = x * 2
    r = c[0]
    r.mul_(x[1])  # the output is a view: torchviz draws its base (CopySlices) too
    return r, {"x": x}


def view_outputs(m):
    x = m.tensor([1., 2., 3.], requires_grad=True)
    y = x.exp()
    return (y[1:], y.view(3, 1).t()), {"x": x}


PROGRAMS = [seed, chain, two_variables, product, vector, detached, mixed, where, two_outputs, custom]
OPTIONS = [{}, {"params": True}, {"show_saved": True}, {"show_attrs": True},
           {"params": True, "show_saved": True, "show_attrs": True, "max_attr_chars": 8}]


def _dot(m, make, program, options):
    out, params = program(m)
    kwargs = dict(options)
    if kwargs.pop("params", False):
        kwargs["params"] = params
    return canonical(make(out, **kwargs).source)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "default")
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_same_dot_as_torchviz(torch, program, options):
    torchviz = pytest.importorskip("torchviz")
    expected = _dot(torch, torchviz.make_dot, program, options)
    assert _dot(pygrad, make_dot, program, options) == expected


def matrices(m):
    A = m.tensor([[1., 2.], [3., 4.], [5., 6.]], requires_grad=True)
    v = m.tensor([0.5, -1.], requires_grad=True)
    return (A @ v)[1:].sum() + m.cat([v, v * 2]).sum() + (A.t() @ A)[0, 1], {"A": A, "v": v}


# show_attrs is left out: pygrad's indexing ops keep their index as one `key`, not PyTorch's
# dim/start/end/step fields.
@pytest.mark.parametrize("options", OPTIONS[:3], ids=lambda o: "-".join(o) or "default")
def test_same_dot_as_torchviz_for_matrix_and_index_ops(torch, options):
    torchviz = pytest.importorskip("torchviz")
    assert _dot(pygrad, make_dot, matrices, options) == _dot(torch, torchviz.make_dot, matrices, options)


# Outputs that are views: torchviz also draws their base.  show_attrs is left out as above.
@pytest.mark.parametrize("options", OPTIONS[:3], ids=lambda o: "-".join(o) or "default")
@pytest.mark.parametrize("program", [written_view, view_outputs], ids=lambda p: p.__name__)
def test_same_dot_as_torchviz_for_views(torch, program, options):
    torchviz = pytest.importorskip("torchviz")
    dot = _dot(pygrad, make_dot, program, options)
    assert "darkolivegreen3" in dot and "style=dotted" in dot
    assert dot == _dot(torch, torchviz.make_dot, program, options)


# What torchviz writes for the seed programs (ids renumbered), for machines without it.
SEED_DOT = (
    'digraph {\n\tgraph [size="12,12"]\n\tnode [align=left fontname=monospace fontsize=10 height=0.2 '
    'ranksep=0.1 shape=box style=filled]\n\tN0 [label="\n (1)" fillcolor=darkolivegreen1]\n'
    '\tN1 [label=AddBackward0]\n\tN2 -> N1\n\tN2 [label=MulBackward0]\n\tN3 -> N2\n'
    '\tN4 [label="\n (1)" fillcolor=lightblue]\n\tN4 -> N3\n\tN3 [label=AccumulateGrad]\n\tN5 -> N1\n'
    '\tN5 [label=AddBackward0]\n\tN3 -> N5\n\tN1 -> N0\n}\n')
SEED_DOT_ALL_OPTIONS = (
    'digraph {\n\tgraph [size="12,12"]\n\tnode [align=left fontname=monospace fontsize=10 height=0.2 '
    'ranksep=0.1 shape=box style=filled]\n\tN0 [label="\n (1)" fillcolor=darkolivegreen1]\n'
    '\tN1 [label="AddBackward0\n------------\nalpha: 1"]\n\tN2 -> N1\n\tN2 -> N3 [dir=none]\n'
    '\tN3 [label="other\n ()" fillcolor=orange]\n'
    '\tN2 [label="MulBackward0\n---------------------\nother: [saved tensor]\nself :           None"]\n'
    '\tN4 -> N2\n\tN5 [label="x\n (1)" fillcolor=lightblue]\n\tN5 -> N4\n\tN4 [label=AccumulateGrad]\n'
    '\tN6 -> N1\n\tN6 [label="AddBackward0\n------------\nalpha: 1"]\n\tN4 -> N6\n\tN1 -> N0\n}\n')
CHAIN_DOT_PARAMS = (
    'digraph {\n\tgraph [size="12,12"]\n\tnode [align=left fontname=monospace fontsize=10 height=0.2 '
    'ranksep=0.1 shape=box style=filled]\n\tN0 [label="\n (1)" fillcolor=darkolivegreen1]\n'
    '\tN1 [label=PowBackward0]\n\tN2 -> N1\n\tN2 [label=AddBackward0]\n\tN3 -> N2\n'
    '\tN3 [label=PowBackward0]\n\tN4 -> N3\n\tN5 [label="x\n (1)" fillcolor=lightblue]\n\tN5 -> N4\n'
    '\tN4 [label=AccumulateGrad]\n\tN1 -> N0\n}\n')


def test_seed_graph_matches_stored_torchviz_text():
    assert _dot(pygrad, make_dot, seed, {}) == SEED_DOT
    assert _dot(pygrad, make_dot, seed, OPTIONS[-1] | {"max_attr_chars": 50}) == SEED_DOT_ALL_OPTIONS
    assert _dot(pygrad, make_dot, chain, {"params": True}) == CHAIN_DOT_PARAMS


def test_seed_block_runs_unchanged_with_pygrad_make_dot():
    (code,) = [code for code, out in seed_blocks() if "make_dot" in code]
    assert "from torchviz import make_dot" in code
    scope = {"torch": pygrad}
    exec(code.replace("from torchviz import make_dot", "from pygrad.viz import make_dot"), scope)
    nodes, edges = parse(scope["make_dot"](scope["r"]).source)
    names = sorted(a["label"] for a in nodes.values())
    assert names == ["\n (1)", "\n (1)", "AccumulateGrad", "AddBackward0", "AddBackward0", "MulBackward0"]
    assert len(edges) == 6


def test_seed_graph_structure():
    out, params = seed(pygrad)
    nodes, edges = parse(make_dot(out, params=params).source)
    mul, acc = node_id(nodes, "MulBackward0"), node_id(nodes, "AccumulateGrad")
    leaf, output = node_id(nodes, "x\n (1)"), node_id(nodes, "\n (1)")
    adds = [i for i, a in nodes.items() if a["label"] == "AddBackward0"]
    final = next(a for a in adds if (a, output) in {(t, h) for t, h, _ in edges})
    inner = next(a for a in adds if a != final)
    assert {(t, h) for t, h, _ in edges} == {(mul, final), (acc, mul), (leaf, acc), (inner, final),
                                               (acc, inner), (final, output)}
    assert nodes[leaf]["fillcolor"] == "lightblue"
    assert nodes[output]["fillcolor"] == "darkolivegreen1"


def test_leaf_names_by_identity_and_shapes():
    w = pygrad.ones(2, 3, requires_grad=True)
    b = pygrad.zeros(3, requires_grad=True)
    s = pygrad.tensor(2., requires_grad=True)
    out = ((w * b).sum() * s)
    nodes, _ = parse(make_dot(out, params={"weight": w, "bias": b}).source)
    labels = {a["label"] for a in nodes.values() if a.get("fillcolor") == "lightblue"}
    assert labels == {"weight\n (2, 3)", "bias\n (3)", "\n ()"}
    with pytest.raises(TypeError, match="params must map names to tensors"):
        make_dot(out, params={"w": 3.0})


def test_custom_function_saved_tensors_are_drawn():
    out, _ = custom(pygrad)
    nodes, edges = parse(make_dot(out).source)
    cube = node_id(nodes, "CubeBackward")
    saved = [t for t, h, a in edges if h == cube and a.get("dir") == "none"]
    assert len(saved) == 1 and nodes[saved[0]]["fillcolor"] == "orange"


def test_show_saved_names_saved_tensors_like_pytorch():
    x = pygrad.tensor([0.5, 1.5], requires_grad=True)
    out = x.exp() * x.sin()
    nodes, edges = parse(make_dot(out, show_saved=True).source)
    orange = sorted(a["label"] for a in nodes.values() if a.get("fillcolor") == "orange")
    # Mul's operands, exp's result and sin's input; sin saved the leaf itself, so (as in
    # torchviz) the leaf's box is the same DOT node and its later orange statement wins.
    assert orange == ["other\n (2)", "result\n (2)", "self\n (2)", "self\n (2)"]
    assert not any(a.get("fillcolor") == "lightblue" for a in nodes.values())
    mul = node_id(nodes, "MulBackward0")
    assert sorted(nodes[h]["label"] for t, h, a in edges if t == mul and a.get("dir") == "none") == [
        "other\n (2)", "self\n (2)"]


# -- the result object and rendering --------------------------------------------------------------

def test_returns_graphviz_digraph_when_installed():
    graphviz = pytest.importorskip("graphviz")
    out, _ = seed(pygrad)
    assert isinstance(make_dot(out), graphviz.Digraph)


def test_without_graphviz_package_the_same_dot_text(monkeypatch, tmp_path):
    out, params = mixed(pygrad)
    graphviz_installed = viz.graphviz is not None
    expected = make_dot(out, params=params, show_saved=True, show_attrs=True, annotate=True).source
    monkeypatch.setattr(viz, "graphviz", None)
    dot = make_dot(out, params=params, show_saved=True, show_attrs=True, annotate=True)
    assert isinstance(dot, viz.DotGraph)
    if graphviz_installed:  # the graphviz package quoted the first text, pygrad the second
        assert dot.source == expected
    assert str(dot) == dot.source
    path = dot.save(tmp_path / "g.gv")
    assert open(path, encoding="utf-8").read() == dot.source
    assert dot.source.startswith("digraph {\n\tgraph [size=") and dot.source.endswith("}\n")


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz dot program is not installed")
@pytest.mark.parametrize("package", ["graphviz", "none"])
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_with_dot(monkeypatch, tmp_path, package, fmt):
    if package == "none":
        monkeypatch.setattr(viz, "graphviz", None)
    else:
        pytest.importorskip("graphviz")
    out, params = seed(pygrad)
    dot = make_dot(out, params=params)
    path = dot.render(str(tmp_path / "graph"), format=fmt)
    assert path.endswith(f"graph.{fmt}")
    data = open(path, "rb").read()
    if fmt == "svg":
        text = data.decode()
        assert "<svg" in text and "AddBackward0" in text and "MulBackward0" in text
        assert "AccumulateGrad" in text
    else:
        assert data.startswith(b"\x89PNG")
    bundle = dot._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


@pytest.mark.parametrize("package", ["graphviz", "none"])
def test_render_without_dot_names_the_program_and_how_to_install_it(monkeypatch, tmp_path, package):
    if package == "none":
        monkeypatch.setattr(viz, "graphviz", None)
    else:
        pytest.importorskip("graphviz")
    out, _ = seed(pygrad)
    dot = make_dot(out)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFoundError) as err:
        dot.render(str(tmp_path / "graph"), format="svg")
    message = str(err.value)
    assert "`dot`" in message and "apt-get install graphviz" in message
    assert "brew install graphviz" in message and "conda" in message
    assert isinstance(err.value, RuntimeError)
    assert dot._repr_mimebundle_() == {"text/plain": dot.source}  # a notebook still shows something
    assert "AddBackward0" in dot.source


# -- annotations ---------------------------------------------------------------------------------------

def test_annotate_seed_values_and_edge_gradients():
    x = pygrad.tensor([1.], requires_grad=True)
    y = 2*x
    z = 3+x
    r = y+z
    nodes, edges = parse(make_dot(r, params={"x": x}, annotate=True).source)
    mul, acc = node_id(nodes, "MulBackward0"), node_id(nodes, "AccumulateGrad")
    leaf, out = node_id(nodes, "x\n"), node_id(nodes, "r\n (1)")
    # each box names the caller's variable that holds its value
    assert nodes[mul]["label"] == "MulBackward0\ny = [2.]"
    assert nodes[leaf]["label"] == "x\n (1)\n= [1.]"
    assert nodes[out]["label"] == "r\n (1)\n= [6.]"
    assert sorted(a["label"] for a in nodes.values() if a["label"].startswith("AddBackward0")) == [
        "AddBackward0\nr = [6.]", "AddBackward0\nz = [4.]"]
    grads = {(t, h): a.get("label") for t, h, a in edges}
    assert grads[(acc, mul)] == "grad [2.]"     # d r / d x through y = 2*x
    assert grads[(leaf, acc)] == "grad [3.]"    # both paths added up: x.grad would be 3
    assert x.grad is None


def test_annotate_draws_gradients_the_way_they_flow_with_a_legend():
    x = pygrad.tensor([1.], requires_grad=True)
    r = 2*x + (3+x)
    source = make_dot(r, annotate=True).source
    _, edges = parse(source)
    assert len(edges) == 6
    for _, _, attrs in edges:  # drawn from input to consumer, the arrowhead turned back
        assert attrs["dir"] == "back" and attrs["color"] == attrs["fontcolor"] == viz.GRAD_COLOR
        assert attrs["fontname"] == "monospace" and attrs["label"].startswith("grad ")
    (legend,) = [line for line in source.splitlines() if line.startswith("\tlegend ")]
    for color in ("lightblue", "lightgray", "darkolivegreen1"):
        assert f'bgcolor="{color}"' in legend
    assert "gradient flowing back, towards the inputs" in legend and "orange" not in legend
    assert "forward: from an input" not in legend  # every edge carries a gradient here
    assert "saved for backward" in make_dot(r, annotate=True, show_saved=True).source
    r.backward()
    freed = make_dot(r, annotate=True).source
    assert "forward: from an input" in freed and "gradient flowing back" not in freed
    assert "fontname=monospace" in freed.split("label=\"gradients not shown")[1].splitlines()[0]
    # the torchviz-compatible picture has none of this
    plain = make_dot(r).source
    assert "legend" not in plain and "dir=back" not in plain and "fontname=monospace fontsize=9" not in plain


def test_annotate_names_outputs_after_the_callers_variables_params_first():
    w = pygrad.tensor([2.], requires_grad=True)
    loss = (w * 3).sum()
    nodes, _ = parse(make_dot(loss, annotate=True).source)
    assert {a["label"] for a in nodes.values() if a.get("fillcolor") == "darkolivegreen1"} == {"loss\n ()\n= 6."}
    assert node_id(nodes, "w\n (1)")
    nodes, _ = parse(make_dot(loss, params={"weight": w, "total": loss}, annotate=True).source)
    assert node_id(nodes, "total\n ()") and node_id(nodes, "weight\n (1)")
    nodes, _ = parse(make_dot(loss).source)  # torchviz names only what params names
    assert node_id(nodes, "\n ()")


def test_annotate_values_of_intermediates_that_are_gone():
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    nodes, _ = parse(make_dot(c, annotate=True).source)
    labels = sorted(a["label"] for a in nodes.values())
    assert "AddBackward0\n= [2.]" in labels
    assert sorted(lb for lb in labels if lb.startswith("Pow")) == ["PowBackward0\n= [1.]", "PowBackward0\nc = [4.]"]


def test_annotate_large_tensors_are_summarised():
    a = pygrad.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    doubled = a * 2
    out = doubled.sum()
    nodes, edges = parse(make_dot(out, annotate=True).source)
    mul = node_id(nodes, "MulBackward0")
    assert nodes[mul]["label"] == "MulBackward0\ndoubled = (3, 4) min 0 max 22 mean 11"
    acc = node_id(nodes, "AccumulateGrad")
    assert {a["label"] for t, h, a in edges if (t, h) == (acc, mul)} == {"grad (3, 4) min 2 max 2 mean 2"}


def test_annotate_gradients_match_autograd_on_a_random_graph(rng):
    leaves = [pygrad.tensor(rng.uniform(0.5, 1.5, size=3), requires_grad=True) for _ in range(3)]
    h = leaves[0]
    for i in range(12):
        other = leaves[i % 3]
        h = [lambda: h * other, lambda: h + other.exp(), lambda: (h - other).tanh(),
             lambda: h / (other + 2)][int(rng.integers(4))]()
    out = h.sum()
    expected = pygrad.autograd.grad(out, leaves, retain_graph=True)
    nodes, edges = parse(make_dot(out, params={f"l{i}": t for i, t in enumerate(leaves)}, annotate=True).source)
    for i, g in enumerate(expected):
        leaf = node_id(nodes, f"l{i}\n")
        (label,) = [a["label"] for t, h_, a in edges if t == leaf]
        assert label == "grad " + pygrad.autograd.replay.describe(g._data)
    assert all(t.grad is None for t in leaves)


def test_annotate_leaves_grad_untouched_after_a_retained_backward():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    h = x * 3
    h.retain_grad()
    out = (h ** 2).sum()
    out.backward(retain_graph=True)
    before_x, before_h = x.grad.tolist(), h.grad.tolist()
    make_dot(out, annotate=True)
    pygrad.autograd.explain(out, print=False)
    assert x.grad.tolist() == before_x and h.grad.tolist() == before_h


def test_annotate_after_the_graph_was_freed_says_so():
    x = pygrad.tensor([1.], requires_grad=True)
    c = (x**2 + 1)**2
    c.backward()
    source = make_dot(c, annotate=True).source
    assert "gradients not shown: backward() already freed this graph" in source
    assert "= [4.]" in source  # the values are still known
    assert x.grad.tolist() == [8.0]


def test_annotate_non_scalar_output_starts_from_ones():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = x * x
    nodes, edges = parse(make_dot(y, annotate=True).source)
    acc = node_id(nodes, "AccumulateGrad")
    leaf = next(t for t, h, _ in edges if h == acc)
    assert {a["label"] for t, h, a in edges if t == leaf} == {"grad [2., 4.]"}
    assert "backward starts from ones" in make_dot(y, annotate=True).source


# -- big graphs ----------------------------------------------------------------------------------------

def test_collapse_repeated_chains():
    x = pygrad.tensor([1.], requires_grad=True)
    w = pygrad.tensor([0.5], requires_grad=True)
    h = x.exp()
    for _ in range(500):
        h = h * 1.0001
    for _ in range(20):
        h = h * w
    out = h.sum()
    nodes, edges = parse(make_dot(out, collapse=True).source)
    labels = sorted(a["label"] for a in nodes.values())
    assert labels == ["\n ()", "\n (1)", "\n (1)", "AccumulateGrad", "AccumulateGrad", "ExpBackward0",
                      "MulBackward0 \u00d7520", "SumBackward0"]
    chain = node_id(nodes, "MulBackward0")
    into_chain = sorted(a.get("label", "") for t, h, a in edges if h == chain)
    assert into_chain == ["", "\u00d720"]  # exp once, w's AccumulateGrad 20 times
    assert [a["fontname"] for t, h, a in edges if a.get("label") == "\u00d720"] == ["monospace"]
    # below the threshold nothing is collapsed
    nodes, _ = parse(make_dot(x.exp() * 2 * 3, collapse=True).source)
    assert sum(a["label"] == "MulBackward0" for a in nodes.values()) == 2
    with pytest.raises(ValueError):
        make_dot(out, collapse=1)


def test_max_nodes_says_what_it_hid():
    x = pygrad.tensor([1.], requires_grad=True)
    h = x
    for _ in range(300):
        h = (h * 1.001).tanh()
    nodes, edges = parse(make_dot(h, max_nodes=10).source)
    boxes = [a for a in nodes.values() if "fillcolor" not in a]
    assert len(boxes) == 10
    hidden = node_id(nodes, "591 more nodes not shown (max_nodes=10)")
    assert nodes[hidden]["label"].endswith("\nTanhBackward0 \u00d7295, MulBackward0 \u00d7295, AccumulateGrad \u00d71")
    assert [a.get("style") for t, h_, a in edges if t == hidden] == ["dashed"]
    with pytest.raises(ValueError):
        make_dot(h, max_nodes=0)


def test_100k_node_graph_exports_iteratively_in_reasonable_time():
    x = pygrad.tensor([1.], requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # any recursion over the graph would fail at once
    try:
        start = time.perf_counter()
        source = make_dot(h).source
        elapsed = time.perf_counter() - start
        collapsed = make_dot(h, collapse=True).source
        capped = make_dot(h, max_nodes=50).source
    finally:
        sys.setrecursionlimit(limit)
    assert source.count("[label=MulBackward0]") == 100_000
    assert source.count(" -> ") == 100_002  # chain, leaf -> AccumulateGrad, -> output
    assert elapsed < 60, f"exporting 100,000 nodes took {elapsed:.1f}s"
    assert "MulBackward0 \u00d7100000" in collapsed
    assert "99,951 more nodes not shown (max_nodes=50)" in capped


# -- the demo section ----------------------------------------------------------------------------------

def test_demo_draws_the_seed_graph_and_explains_it(tmp_path, capsys):
    from pygrad.demo.__main__ import main
    main(["--out-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "## Seeing the graph: r = 2*x + (3+x)" in printed
    assert "x.grad: [1.] from [2] AddBackward0 (z) + [2.] from [3] MulBackward0 (y)" in printed
    suffix = ".svg" if shutil.which("dot") else ".gv"
    picture = (tmp_path / f"seed_graph{suffix}").read_text()
    assert "AddBackward0" in picture and "MulBackward0" in picture
    assert "grad [3.]" in (tmp_path / f"seed_graph_annotated{suffix}").read_text()
