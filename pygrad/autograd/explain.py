"""``explain``: the chain rule of a backward pass, node by node, with the real numbers.

    >>> x = pygrad.tensor([1.], requires_grad=True)
    >>> c = (x**2 + 1)**2
    >>> print(pygrad.autograd.explain(c))

shows each backward node in the order the engine runs it (a node runs once every
consumer of its output has sent its gradient; among ready nodes the newest goes first),
with its local derivative rule, the gradient it received (and, where a tensor was used
more than once, the contributions that were added up), and what it sent to each input,
ending with the gradients of the leaves.  The numbers come from replaying backward on the
retained graph; no ``.grad`` is written.
"""
from __future__ import annotations

import inspect
import sys
import textwrap

import numpy as np

from .function import AccumulateGrad
from .grad_mode import no_grad
from .names import TensorNames
from .node_info import derivative_rule, is_elementwise, saved_entries
from .replay import describe, replay_backward

__all__ = ["explain", "Explanation"]

WIDTH = 80
_SMALL = 6  # arrays up to this many elements are written out in full


class Explanation:
    """What ``explain`` returns: the explanation's text, shown once wherever it is displayed.

    ``print(e)`` and ``str(e)`` give the text; the REPL and IPython show the text itself (not
    a quoted string); Jupyter renders the markdown format as markdown and the text format as
    plain text.
    """

    def __init__(self, text: str, format: str = "text"):  # noqa: A002
        self.text = text
        self.format = format

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self.text)

    def _repr_markdown_(self) -> str | None:
        return self.text if self.format == "markdown" else None


def explain(output, inputs=None, format: str = "text", print: bool = False) -> Explanation:  # noqa: A002
    """Explain how backward computes the gradients of ``output``, step by step.

    Args:
        output: the tensor (or tuple of tensors) backpropagated from; a non-scalar output
            starts from a gradient of ones, as ``output.sum()`` would.
        inputs: the tensors whose gradients end the explanation (default: every leaf of the
            graph), as a list, or as ``{name: tensor}`` to name them.  Without names, tensors
            are named after the caller's variables that hold them.
        format: ``"text"`` (fits an 80-column terminal) or ``"markdown"``.
        print: write the explanation to stdout as well as returning it.  Without it nothing
            is printed: ``print(explain(c))`` in a script; in a REPL or a notebook the
            returned ``Explanation`` displays itself.

    The graph must not have been freed by a ``backward()`` without ``retain_graph=True``.
    """
    if format not in ("text", "markdown"):
        raise ValueError(f"explain: format must be 'text' or 'markdown', got {format!r}")
    outputs = tuple(output) if isinstance(output, (tuple, list)) else (output,)
    named = list(inputs.items()) if inputs is not None and hasattr(inputs, "items") else []
    names = TensorNames(named, inspect.currentframe().f_back)
    try:
        trace = replay_backward(outputs)
    except RuntimeError as exc:
        if "backward through the graph a second time" in str(exc):
            raise RuntimeError("explain() needs the graph that backward() already freed: build it again, "
                               "or call backward(retain_graph=True) before explaining") from None
        raise
    blocks = _Story(trace, names, _wanted(inputs, trace)).blocks()
    text = (_render_markdown(blocks) if format == "markdown" else _render_text(blocks)).rstrip("\n")
    if print:
        sys.stdout.write(text + "\n")
    return Explanation(text, format)


def _wanted(inputs, trace) -> list:
    if inputs is None:
        return list(trace.leaves)
    if hasattr(inputs, "items"):
        return list(inputs.values())
    from ..tensor import Tensor
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


class _Block:
    """One paragraph of the explanation: a title and ``(label, text)`` lines."""

    def __init__(self, title: str, lines=(), note: str = ""):
        self.title, self.lines, self.note = title, list(lines), note


def _text(grad) -> str:
    return describe(grad._data, _SMALL)


def _small(*arrays) -> bool:
    return all(a is not None and a._data.size <= _SMALL for a in arrays)


class _Story:
    """Turns a replayed backward pass into blocks of explanation."""

    def __init__(self, trace, names: TensorNames, wanted: list):
        self.trace, self.names, self.wanted = trace, names, wanted
        self.number = {step.node: i + 1 for i, step in enumerate(trace.steps)}
        self.leaf_names = {}
        for i, leaf in enumerate(trace.leaves, 1):
            self.leaf_names[id(leaf)] = names.leaf(leaf, i)

    def ref(self, node, nr: int = 0) -> str:
        """How to point at a node in the text: ``[3] MulBackward0 (b)`` or a leaf's name."""
        if isinstance(node, AccumulateGrad):
            return f"leaf {self.leaf_names.get(id(node.variable), '?')}"
        if node not in self.number:
            return f"{type(node).__name__} (received no gradient)"
        name = self.names.output(node, nr)
        label = f"[{self.number[node]}] {type(node).__name__}"
        return f"{label} ({name})" if name else label

    def blocks(self) -> list:
        out_names = [self.names.output(o.grad_fn, o.output_nr) if o.grad_fn is not None
                     else self.names.by_id.get(id(o)) for o in self.trace.outputs]
        shown = ", ".join(n or "the output" for n in out_names)
        intro = _Block(f"Backward pass of {shown}", note=(
            "Each step is one node of the graph, in the order the engine runs them: a node runs "
            "once every node that used its output has sent it a gradient (the newest node "
            "first). A node multiplies the gradient it receives by its local derivative and "
            "sends the result to each input; where a tensor was used twice, the gradients it "
            "receives add up."))
        blocks = [intro]
        for step in self.trace.steps:
            blocks.append(self.step_block(step))
        blocks.append(self.result_block())
        return blocks

    def received(self, node, nr: int, actual) -> list:
        """Lines saying what ``node``'s output ``nr`` received, and from where."""
        parts = self.trace.contributions(node, nr)
        if not parts:
            return [("receives", _text(actual) if actual is not None else "nothing")]
        if len(parts) == 1 and parts[0][0] is None:
            out = self.names.output(node, nr) or "out"
            start = "1" if parts[0][2]._data.size == 1 else "ones"
            return [("receives", f"{_text(parts[0][2])}  (the start: d{out}/d{out} = {start})")]
        pieces = [f"{_text(g)} from {'the start' if sender is None else self.ref(sender)}"
                  for sender, _, g in parts]
        if len(parts) == 1:
            return [("receives", pieces[0])]
        total = parts[0][2]._data.astype(np.float64)
        for _, _, g in parts[1:]:
            total = total + g._data
        lines = [("receives", " + ".join(pieces))]
        if actual is not None:
            lines.append(("", f"= {_text(actual)}  (used {len(parts)} times: the gradients add up)"))
            if not np.allclose(total, actual._data, equal_nan=True):
                lines.append(("", "(a hook changed the sum)"))
        return lines

    def step_block(self, step) -> _Block:
        node = step.node
        name = self.names.output(node)
        title = f"[{self.number[node]}] {type(node).__name__}" + (f"  ->  {name}" if name else "")
        lines = []
        rule = derivative_rule(node)
        lines.append(("rule", rule if rule else "(no rule known for this node: numbers only)"))
        operands = _operand_values(node)
        if operands:
            lines.append(("with", operands))
        for nr, g in enumerate(step.grad_outputs):
            if g is not None or self.trace.contributions(node, nr):
                lines += self.received(node, nr, g)
        local = _local_derivatives(node) if is_elementwise(node) else None
        incoming = step.grad_outputs[0] if step.grad_outputs else None
        for i, (child, nr) in enumerate(node.next_functions):
            sent = step.grad_inputs[i]
            if child is None or sent is None:
                continue
            target = self.ref(child, nr)
            if isinstance(child, AccumulateGrad):
                target = self.leaf_names.get(id(child.variable), "?")
            d = local[i] if local is not None and i < len(local) else None
            if d is not None and _small(incoming, d, sent) and d._data.shape == sent._data.shape:
                value = f"{_text(incoming)} * {_text(d)} = {_text(sent)}"
            else:
                value = _text(sent)
            lines.append((f"to {target}", value))
        return _Block(title, lines)

    def result_block(self) -> _Block:
        lines = []
        for t in self.wanted:
            if t.grad_fn is None:
                name = self.leaf_names.get(id(t)) or self.names.by_id.get(id(t)) or "leaf"
                g = self.trace.leaf_grad(t)
                if g is None:
                    lines.append((f"{name}.grad", "None (no gradient reached it)"))
                    continue
                received = self.received(t._edge()[0], 0, g)
                lines.append((f"{name}.grad", received[0][1]))
                lines += received[1:]
            else:
                name = self.names.by_id.get(id(t)) or "tensor"
                step = self.trace.step(t.grad_fn)
                g = None if step is None else step.grad_outputs[t.output_nr]
                lines.append((f"d/d{name}", "None (no gradient reached it)" if g is None else _text(g)))
        return _Block("Gradients (what backward() adds into .grad)", lines)


# The letters the rules use for each saved tensor.
_OPERAND_LETTERS = {"self": "u", "other": "v", "result": "result"}
_OPERAND_LETTERS_BY_NODE = {"PowBackward1": {"exponent": "v"}, "PowBackward2": {"exponent": "u"}}


def _operand_values(node) -> str:
    """``u = [2.], v = [3.]``: the saved values the rule's letters stand for (small ones)."""
    letters = {**_OPERAND_LETTERS, **_OPERAND_LETTERS_BY_NODE.get(type(node).__name__, {})}
    parts = []
    for entry in saved_entries(node):
        if entry.key is not None and entry.array.size <= _SMALL:
            parts.append(f"{letters.get(entry.name, entry.name)} = {describe(entry.array, _SMALL)}")
    return ", ".join(parts)


def _local_derivatives(node):
    """d(output)/d(input) per element for an elementwise node: its backward applied to ones."""
    from ..tensor import Tensor
    ones = [Tensor._wrap(np.ones(shape, dtype.numpy)) for shape, dtype in node._output_meta]
    try:
        with no_grad():
            return node.apply(*ones)
    except Exception:  # a node that cannot run here simply gets no local-derivative line
        return None


# -- rendering ------------------------------------------------------------------------------

def _render_text(blocks: list) -> str:
    out = []
    for block in blocks:
        out.append(block.title)
        if block.note:
            out += textwrap.wrap(block.note, WIDTH)
        width = max((len(label) for label, _ in block.lines), default=0)
        width = min(width, 24)
        for label, text in block.lines:
            out += _wrap_line(label, text, width)
        out.append("")
    return "\n".join(out)


def _wrap_line(label: str, text: str, width: int) -> list:
    head = "    " + (f"{label}:" if label else "").ljust(width + 1) + " "
    if len(head) > 4 + width + 2:  # a long label: its value goes on the next lines
        return [head.rstrip()] + textwrap.wrap(text, WIDTH, initial_indent=" " * 8,
                                               subsequent_indent=" " * 8)
    return textwrap.wrap(text, WIDTH, initial_indent=head, subsequent_indent=" " * len(head)) or [head]


def _render_markdown(blocks: list) -> str:
    out = []
    for i, block in enumerate(blocks):
        out.append(("### " if i == 0 else "**") + block.title + ("" if i == 0 else "**"))
        out.append("")
        if block.note:
            out += [block.note, ""]
        for label, text in block.lines:
            label = f"{label}: " if label else ""
            out.append(f"- {label}`{text}`")
        if block.lines:
            out.append("")
    return "\n".join(out)

