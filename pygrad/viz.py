"""Pictures of the autograd graph: ``make_dot``, torchviz's function, for pygrad.

``make_dot(r)`` draws one grey box per backward node (``AddBackward0``, ``MulBackward0``,
``AccumulateGrad``...), a light blue box per leaf tensor, the outputs in green, and with
``show_saved`` the saved tensors in orange: the same DOT text torchviz writes for the same
PyTorch program, up to node ids.  Its arrows point the way the forward pass went: from
the leaves at the top to the outputs at the bottom.  Beyond torchviz, ``annotate=True``
writes each tensor's forward value (named after the caller's variables) and draws the
gradients as red arrows pointing the way they flow, from the outputs back to the leaves,
with a legend; ``collapse`` folds long chains of one op into a single box and
``max_nodes`` caps the size of the picture.

The result is a ``graphviz.Digraph`` when the ``graphviz`` package is installed, else a
``DotGraph`` holding the same DOT text.  Both render through the Graphviz ``dot`` program
(``.render("graph", format="svg")``, pictures in Jupyter); the DOT text (``.source``,
``.save()``) needs neither.
"""
from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
from collections import Counter

from .autograd.function import AccumulateGrad
from .autograd.names import TensorNames
from .autograd.node_info import is_custom, node_attributes, saved_entries
from .autograd.replay import describe, forward_values, graph_nodes, replay_backward, shape_str

try:
    import graphviz
except ImportError:  # the DOT text needs no dependency
    graphviz = None

__all__ = ["make_dot", "DotGraph", "GraphvizNotFoundError"]

NODE_ATTR = {"style": "filled", "shape": "box", "align": "left", "fontsize": "10",
             "ranksep": "0.1", "height": "0.2", "fontname": "monospace"}
OUTPUT_COLOR = "darkolivegreen1"
BASE_COLOR = "darkolivegreen3"  # the base of an output that is a view
LEAF_COLOR = "lightblue"
SAVED_COLOR = "orange"
GRAD_COLOR = "firebrick"
FONT = NODE_ATTR["fontname"]  # every text pygrad adds to the picture uses the boxes' font


def make_dot(var, params=None, show_attrs: bool = False, show_saved: bool = False,
             max_attr_chars: int = 50, *, annotate: bool = False, collapse=False,
             max_nodes: int | None = None):
    """The graph that backpropagates into ``var`` (a tensor or a tuple of tensors), as DOT.

    Args:
        var: output tensor(s); drawn green.
        params: ``{name: tensor}`` (or ``module.named_parameters()``) naming leaf tensors.
        show_attrs: list what each op kept besides saved tensors (``exponent``, ``dims``...).
        show_saved: draw the tensors each built-in op saved for backward (orange).  Saved
            tensors of custom ``autograd.Function``s are always drawn, as in torchviz.
        max_attr_chars: the widest attribute value ``show_attrs`` writes.
        annotate: write each node's forward value, named after the caller's variable that
            holds it when there is one (``y = [2.]``; outputs and leaves are named the same
            way), and draw the gradient that flows back along each edge as a red arrow
            pointing the way it flows, towards the inputs; a legend says what the colours
            mean.  The gradients come from replaying backward on the graph (it must not have
            been freed by a ``backward()`` without ``retain_graph``); ``.grad`` is not
            touched.  Non-scalar outputs start from a gradient of ones (as ``out.sum()``).
        collapse: ``True`` (runs of 3 or more) or a minimum run length: draw a chain of nodes
            of one type, each the only consumer of the next, as one box ``MulBackward0 ×500``.
        max_nodes: draw at most this many boxes (nearest the outputs first); one dashed box
            says how many nodes, of which types, were left out.
    """
    outputs = tuple(var) if isinstance(var, (tuple, list)) else (var,)
    named = _param_items(params)
    # torchviz names only what params names; annotate also names the caller's variables.
    names = TensorNames(named, inspect.currentframe().f_back if annotate else None)
    threshold = 3 if collapse is True else int(collapse or 0)
    if collapse is not False and collapse is not None and threshold < 2:
        raise ValueError(f"collapse must be True or a run length of at least 2, got {collapse!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes!r}")
    layout = _Layout(outputs, threshold, max_nodes)
    notes = _Annotations(outputs, layout) if annotate else None
    writer = _Writer(layout, names, show_attrs, show_saved, max_attr_chars, notes)
    for out in outputs:
        writer.add_output(out)
    if notes is not None:
        if notes.message:
            writer.body.append(f"\tlabel={_quote(notes.message)} fontname={FONT} fontsize=10\n")
        writer.body.append(_legend(writer.body, gradients=notes.trace is not None))
    return _graph(writer.body)


def _param_items(params):
    if params is None:
        return []
    items = list(params.items()) if hasattr(params, "items") else list(params)
    from .tensor import Tensor
    for name, t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dot: params must map names to tensors; {name!r} is a "
                            f"{type(t).__name__}")
    return items


# -- which boxes to draw -----------------------------------------------------------------------

class _Chain:
    """A run of nodes of one type, each the only consumer of the next, drawn as one box."""

    __slots__ = ("members",)

    def __init__(self, members: list):
        self.members = members  # nearest the output first

    def label(self) -> str:
        return f"{type(self.members[0]).__name__} \u00d7{len(self.members)}"


class _Hidden:
    """The one box standing for everything ``max_nodes`` left out."""

    __slots__ = ("count", "types", "max_nodes")

    def __init__(self, types: Counter, max_nodes: int):
        self.types, self.max_nodes = types, max_nodes
        self.count = sum(types.values())

    def label(self) -> str:
        kinds = self.types.most_common()
        shown = ", ".join(f"{name} \u00d7{n}" for name, n in kinds[:4])
        if len(kinds) > 4:
            shown += f", {len(kinds) - 4} more types"
        return f"{self.count:,} more nodes not shown (max_nodes={self.max_nodes})\n{shown}"


class _Layout:
    """Maps graph nodes to the boxes drawn: each node, its chain, or the hidden box."""

    def __init__(self, outputs, collapse: int, max_nodes: int | None):
        self.roots = [out.grad_fn for out in outputs if out.grad_fn is not None]
        self.chain_of: dict = {}
        self.kept = None
        self.hidden = None
        if collapse or max_nodes is not None:
            nodes = graph_nodes(self.roots)
            if collapse:
                self._collapse(nodes, collapse)
            if max_nodes is not None:
                self._cap(max_nodes)

    def box(self, node):
        """The box ``node`` is drawn in."""
        box = self.chain_of.get(node, node)
        if self.kept is not None and box not in self.kept:
            return self.hidden
        return box

    def edges(self, box):
        """An iterator of ``[child box, sending node, edge index, edge count]`` for the edges
        into ``box``, in torchviz's order (``next_functions`` order).  Edges of a chain, or
        edges to the hidden box, that lead to the same box are merged and counted."""
        if isinstance(box, _Hidden):
            return iter(())
        members = box.members if isinstance(box, _Chain) else (box,)
        plain = self.hidden is None and not isinstance(box, _Chain)
        result, merged = [], {}
        for j, node in enumerate(members):
            inner = members[j + 1] if j + 1 < len(members) else None
            for i, (child, _) in enumerate(node.next_functions):
                if child is None or child is inner:
                    continue
                child_box = self.box(child)
                if not plain and (isinstance(box, _Chain) or child_box is self.hidden):
                    entry = merged.get(id(child_box))
                    if entry is not None:
                        entry[3] += 1
                        continue
                    entry = merged[id(child_box)] = [child_box, node, i, 1]
                else:
                    entry = [child_box, node, i, 1]
                result.append(entry)
        return iter(result)

    def _collapse(self, nodes: list, threshold: int) -> None:
        consumers = Counter(self.roots)
        for node in nodes:
            for child, _ in node.next_functions:
                if child is not None:
                    consumers[child] += 1
        link = {}
        for node in nodes:
            same = [c for c, _ in node.next_functions if c is not None and type(c) is type(node)]
            if len(same) == 1 and consumers[same[0]] == 1 and same[0] is not node:
                link[node] = same[0]
        linked = set(link.values())
        for start in nodes:
            if start not in link or start in linked:
                continue
            members = [start]
            while members[-1] in link:
                members.append(link[members[-1]])
            if len(members) >= threshold:
                chain = _Chain(members)
                for m in members:
                    self.chain_of[m] = chain

    def _cap(self, max_nodes: int) -> None:
        order, seen = [], set()
        for root in self.roots:
            box = self.chain_of.get(root, root)
            if id(box) not in seen:
                seen.add(id(box))
                order.append(box)
        i = 0
        while i < len(order):
            box = order[i]
            for node in (box.members if isinstance(box, _Chain) else (box,)):
                for child, _ in node.next_functions:
                    if child is not None:
                        child_box = self.chain_of.get(child, child)
                        if id(child_box) not in seen:
                            seen.add(id(child_box))
                            order.append(child_box)
            i += 1
        if len(order) <= max_nodes:
            return
        types = Counter()
        for box in order[max_nodes:]:
            for node in (box.members if isinstance(box, _Chain) else (box,)):
                types[type(node).__name__] += 1
        self.kept = set(order[:max_nodes])
        self.hidden = _Hidden(types, max_nodes)


# -- forward values and edge gradients (annotate=True) ----------------------------------------

class _Annotations:
    def __init__(self, outputs, layout: _Layout):
        nodes = graph_nodes(layout.roots + [out._edge()[0] for out in outputs
                                            if out.grad_fn is None and out.requires_grad])
        self.values = forward_values(nodes, known=outputs)
        self.trace = None
        self.message = ""
        differentiable = [out for out in outputs if out.requires_grad]
        if not differentiable:
            self.message = "no gradients: no output requires grad"
            return
        try:
            self.trace = replay_backward(differentiable)
        except RuntimeError as exc:
            if "backward through the graph a second time" not in str(exc):
                raise
            self.message = ("gradients not shown: backward() already freed this graph; "
                            "use backward(retain_graph=True) or draw before backward()")
            return
        if any(out.numel() != 1 for out in differentiable):
            self.message = "gradients of the sum of the outputs (backward starts from ones)"

    def value(self, node, output_nr: int = 0, name: str | None = None) -> str:
        """The box's value line: ``y = [2.]`` (``= [2.]`` when the tensor has no name)."""
        array = self.values.get((node, output_nr))
        if array is None:
            return ""
        return f"\n{name} = {describe(array)}" if name else f"\n= {describe(array)}"

    def edge_grad(self, node, index: int):
        return None if self.trace is None else self.trace.edge_grad(node, index)

    def leaf_grad(self, tensor):
        return None if self.trace is None else self.trace.leaf_grad(tensor)

    def seed(self, tensor):
        if self.trace is None:
            return None
        for out, seed in zip(self.trace.outputs, self.trace.seeds):
            if out is tensor:
                return seed
        return None


def _grad_attrs(grad) -> dict:
    """A gradient on an edge: red, labelled, its arrowhead turned to point the way the gradient
    flows (from the consumer back to its input, against the forward direction of the edge)."""
    return {} if grad is None else _gradient_edge("grad " + describe(grad._data))


def _gradient_edge(label: str) -> dict:
    return {"label": label, "color": GRAD_COLOR, "fontcolor": GRAD_COLOR, "fontsize": "9",
            "fontname": FONT, "dir": "back"}


def _legend(body: list[str], gradients: bool) -> str:
    """A DOT node (an HTML-like table) saying what the colours and arrows of ``body`` mean."""
    rows = [(LEAF_COLOR, "leaf tensor: its name, shape and value"),
            ("lightgray", "backward node, named as PyTorch names it,<br align=\"left\"/>and the value its op computed<br align=\"left\"/>"),
            (OUTPUT_COLOR, "output: its name, shape and value")]
    if any(line.endswith(f"fillcolor={SAVED_COLOR}]\n") for line in body):
        rows.append((SAVED_COLOR, "tensor saved for backward"))
    cells = [f'<tr><td bgcolor="{color}" width="24"></td><td align="left">{text}</td></tr>' for color, text in rows]
    if gradients:
        cells.append(f'<tr><td><font color="{GRAD_COLOR}" point-size="14">&#8593;</font></td><td align="left">'
                     f'<font color="{GRAD_COLOR}">gradient flowing back, towards the inputs</font></td></tr>')
    if any(" -> " in line and "dir=" not in line and "style=" not in line for line in body):
        cells.append('<tr><td><font point-size="14">&#8595;</font></td><td align="left">forward: from an input to the op that used it</td></tr>')
    table = ('<<table border="1" color="gray50" cellborder="0" cellspacing="3" cellpadding="2" style="dashed">'
             + "".join(cells) + "</table>>")
    return f"\tlegend{_attr_list(table, {'fillcolor': 'white', 'fontsize': '9', 'shape': 'plaintext'})}\n"


# -- DOT text -----------------------------------------------------------------------------------

class _Writer:
    """Emits DOT statements in torchviz's order: a depth-first walk from each output,
    made iterative with an explicit stack so that deep graphs need no recursion."""

    def __init__(self, layout, names, show_attrs, show_saved, max_attr_chars, notes):
        self.layout, self.names, self.notes = layout, names, notes
        self.show_attrs, self.show_saved = show_attrs, show_saved
        self.max_attr_chars = max_attr_chars
        self.body: list[str] = []
        self.seen: set[int] = set()

    def node(self, ident: int, label: str, **attrs) -> None:
        self.body.append(f"\t{ident}{_attr_list(label, attrs)}\n")

    def edge(self, tail: int, head: int, **attrs) -> None:
        self.body.append(f"\t{tail} -> {head}{_attr_list(None, attrs)}\n")

    def tensor_label(self, tensor, name: str | None = None) -> str:
        if not name:
            name = self.names.tensor(tensor) or ""
        return "%s\n %s" % (name, shape_str(tensor._data.shape))

    def add_output(self, var, color: str = OUTPUT_COLOR) -> None:
        if id(var) in self.seen:
            return
        self.seen.add(id(var))
        label = self.tensor_label(var)
        if self.notes is not None:
            label += "\n= " + describe(var._data)
        self.node(id(var), label, fillcolor=color)
        if var.grad_fn is not None:
            box = self.layout.box(var.grad_fn)
            self.add_nodes(box)
            seed = self.notes.seed(var) if self.notes is not None else None
            self.edge(id(box), id(var), **_grad_attrs(seed))
        base = var._base
        if base is not None:  # a view: its base too, joined by a dotted edge (a base is never a view)
            self.add_output(base, BASE_COLOR)
            self.edge(id(base), id(var), style="dotted")

    def add_nodes(self, root) -> None:
        stack = []
        self.enter(root, stack)
        while stack:
            box, edges = stack[-1]
            item = next(edges, None)
            if item is None:
                stack.pop()
                self.leave(box)
                continue
            child, sender, index, count = item
            attrs = {}
            if count > 1:
                attrs = {"label": f"\u00d7{count}", "fontname": FONT}
            elif self.notes is not None:
                attrs = _grad_attrs(self.notes.edge_grad(sender, index))
            if isinstance(child, _Hidden):
                attrs["style"] = "dashed"
            self.edge(id(child), id(box), **attrs)
            self.enter(child, stack)

    def enter(self, box, stack) -> None:
        if id(box) in self.seen:
            return
        self.seen.add(id(box))
        if isinstance(box, _Hidden):
            self.node(id(box), box.label(), fillcolor="white", style="dashed")
            return
        if isinstance(box, _Chain):
            label = box.label()
            if self.notes is not None:
                label += self.notes.value(box.members[0], 0, self.names.output(box.members[0]))
            self.node(id(box), label)
            stack.append((box, self.layout.edges(box)))
            return
        if self.show_saved and not is_custom(box):
            for entry in _saved_for_show(box):
                self.seen.add(id(entry.key))
                self.edge(id(box), id(entry.key), dir="none")
                self.node(id(entry.key), self.saved_label(entry, entry.name), fillcolor=SAVED_COLOR)
        if isinstance(box, AccumulateGrad):
            var = box.variable
            self.seen.add(id(var))
            label = self.tensor_label(var)
            if self.notes is not None:
                label += "\n= " + describe(var._data)
            self.node(id(var), label, fillcolor=LEAF_COLOR)
            grad = self.notes.leaf_grad(var) if self.notes is not None else None
            self.edge(id(var), id(box), **_grad_attrs(grad))
        self.node(id(box), self.fn_label(box))
        stack.append((box, self.layout.edges(box)))

    def leave(self, box) -> None:
        # Saved tensors of custom Functions are always drawn, as torchviz draws them.
        if isinstance(box, (_Chain, _Hidden)) or not is_custom(box):
            return
        for entry in saved_entries(box):
            if entry.key is None:
                continue
            self.seen.add(id(entry.key))
            self.edge(id(entry.key), id(box), dir="none")
            self.node(id(entry.key), self.saved_label(entry, None), fillcolor=SAVED_COLOR)

    def saved_label(self, entry, name) -> str:
        if not name:
            name = self.names.tensor(entry.key) or ""
        return "%s\n %s" % (name, shape_str(entry.array.shape))

    def fn_label(self, node) -> str:
        name = type(node).__name__
        if self.show_attrs:
            name = _with_attrs(name, _shown_attrs(node), self.max_attr_chars)
        if self.notes is not None and not isinstance(node, AccumulateGrad):
            name += self.notes.value(node, 0, self.names.output(node))
        return name


def _saved_for_show(node) -> list:
    """What ``show_saved`` draws, sorted by name as torchviz sorts ``_saved_*`` attributes:
    the saved tensors, and arrays an op kept on its ctx (``where``'s ``condition``)."""
    import numpy as np

    from .autograd.node_info import SavedEntry
    entries = [e for e in saved_entries(node) if e.key is not None]
    entries += [SavedEntry(name, value, value) for name, value in node_attributes(node).items()
                if isinstance(value, np.ndarray)]
    return sorted(entries, key=lambda e: e.name)


def _shown_attrs(node) -> dict:
    """What ``show_attrs`` lists, sorted by name as torchviz lists ``_saved_*`` attributes."""
    import numpy as np

    from .tensor import Tensor
    attrs = {}
    if not is_custom(node):  # a custom Function's saved tensors are drawn as boxes instead
        attrs = {e.name: "None" if e.key is None else "[saved tensor]" for e in saved_entries(node)}
    for key, value in node_attributes(node).items():
        if isinstance(value, (Tensor, np.ndarray)):
            attrs[key] = "[saved tensor]"
        elif isinstance(value, tuple) and any(isinstance(v, (Tensor, np.ndarray)) for v in value):
            attrs[key] = "[saved tensors]"
        else:
            attrs[key] = str(value)
    return dict(sorted(attrs.items()))


def _with_attrs(name: str, attrs: dict, max_attr_chars: int) -> str:
    """torchviz's box text: the name, a rule, then ``key: value`` lines aligned in columns."""
    if not attrs:
        return name
    max_attr_chars = max(max_attr_chars, 3)
    key_width = max(len(k) for k in attrs)
    value_width = min(max(len(v) for v in attrs.values()), max_attr_chars)
    rule = "-" * max(key_width + value_width + 2, len(name))

    def fit(text: str) -> str:
        return text[:value_width - 3] + "..." if len(text) > value_width else text
    lines = [f"{k:<{key_width}}: {fit(v):>{value_width}}" for k, v in attrs.items()]
    return name + "\n" + rule + "\n" + "\n".join(lines)


# DOT quoting as the graphviz package does it, so both kinds of result hold the same text.
_ID = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))$")
_HTML = re.compile(r"<.*>$", re.DOTALL)
_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}
_UNESCAPED_QUOTE = re.compile(r'(?P<backslashes>(?:\\{2})*)\\?(?P<quote>")')


def _quote(text: str) -> str:
    if _HTML.match(text):
        return text
    if not _ID.match(text) or text.lower() in _KEYWORDS:
        return '"' + _UNESCAPED_QUOTE.sub(r"\g<backslashes>\\\g<quote>", text) + '"'
    return text


def _attr_list(label: str | None, attrs: dict) -> str:
    items = [f"label={_quote(label)}"] if label is not None else []
    items += [f"{_quote(k)}={_quote(v)}" for k, v in sorted(attrs.items()) if v is not None]
    return f" [{' '.join(items)}]" if items else ""


def _graph_size(body: list) -> str:
    """torchviz's resize_graph: 0.15 inch per statement, at least 12."""
    size = max(12, len(body) * 0.15)
    return f"{size},{size}"


def _graph(body: list):
    graph_attr = {"size": _graph_size(body)}
    if graphviz is not None:
        return Digraph(graph_attr=graph_attr, node_attr=NODE_ATTR, body=body)
    source = ("digraph {\n" + f"\tgraph{_attr_list(None, graph_attr)}\n"
              + f"\tnode{_attr_list(None, NODE_ATTR)}\n" + "".join(body) + "}\n")
    return DotGraph(source)


# -- rendering --------------------------------------------------------------------------------

_INSTALL_HINT = ("Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                 "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`.")

_NotFoundBase = graphviz.ExecutableNotFound if graphviz is not None else RuntimeError


class GraphvizNotFoundError(_NotFoundBase):
    """Rendering needs the Graphviz ``dot`` program and it is not on PATH."""

    def __init__(self, program: str = "dot"):
        RuntimeError.__init__(self, (
            f"rendering the graph needs the Graphviz program `{program}`, which was not found on "
            f"PATH. {_INSTALL_HINT} Without it the DOT text is still available: `.source`, "
            "`.save('graph.gv')`."))


def _require_dot() -> str:
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError("dot")
    return path


def _run_dot(source: str, format: str) -> bytes:  # noqa: A002
    result = subprocess.run([_require_dot(), f"-T{format}"], input=source.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot -T{format} failed (exit status {result.returncode}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    return result.stdout


if graphviz is not None:
    class Digraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering says how to install a missing ``dot``."""

        def render(self, *args, **kwargs):
            _require_dot()
            return super().render(*args, **kwargs)

        def pipe(self, *args, **kwargs):
            _require_dot()
            return super().pipe(*args, **kwargs)

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            if shutil.which("dot") is None:
                return {"text/plain": self.source}
            return super()._repr_mimebundle_(include, exclude, **kwargs)


class DotGraph:
    """The DOT text of a graph, returned by ``make_dot`` when ``graphviz`` is not installed.

    It renders like a ``graphviz.Digraph``: ``render()``, ``pipe()`` and pictures in Jupyter
    go through the Graphviz ``dot`` program; ``source``, ``save()`` and ``str()`` need nothing.
    """

    def __init__(self, source: str, format: str = "pdf"):  # noqa: A002
        self.source = source
        self.format = format
        self.filename = "Digraph.gv"
        self.directory = ""

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<DotGraph: {self.source.count(chr(10))} lines of DOT>"

    def save(self, filename: str | os.PathLike | None = None, directory=None) -> str:
        """Write the DOT text; returns the file's path."""
        path = os.path.join(directory or self.directory, os.fspath(filename or self.filename))
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.source)
        return path

    def pipe(self, format: str | None = None, encoding: str | None = None):  # noqa: A002
        """The rendered picture as bytes (or text with ``encoding``)."""
        data = _run_dot(self.source, format or self.format)
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view: bool = False, cleanup: bool = False,
               format: str | None = None, outfile=None) -> str:  # noqa: A002
        """Save the DOT text as ``filename`` and the picture as ``filename.<format>``
        (or ``outfile``); returns the picture's path."""
        if outfile is not None:
            outfile = os.path.join(directory or self.directory, os.fspath(outfile))
            format = format or os.path.splitext(outfile)[1].lstrip(".") or self.format
            if filename is None:
                filename = os.path.splitext(outfile)[0] + ".gv"
                directory = None
        fmt = format or self.format
        data = self.pipe(fmt)
        source_path = self.save(filename, directory)
        out_path = outfile or f"{source_path}.{fmt}"
        with open(out_path, "wb") as f:
            f.write(data)
        if cleanup:
            os.remove(source_path)
        if view:
            raise NotImplementedError("DotGraph.render(view=True): open the file yourself: " + out_path)
        return out_path

    def _repr_svg_(self):
        if shutil.which("dot") is None:
            return None
        return self.pipe("svg").decode("utf-8")

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = {"text/plain": self.source}
        svg = self._repr_svg_()
        if svg is not None:
            bundle["image/svg+xml"] = svg
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle
