"""Seeing the graph: the picture of the tutorial's last example, and its chain rule.

``r = 2*x + (3+x)`` at ``x = 1``: ``make_dot`` draws the graph torchviz would draw (an SVG
through the Graphviz ``dot`` program, or the DOT text when ``dot`` is missing) and
``explain`` walks backward through it, showing why ``x.grad`` is 3.
"""
from __future__ import annotations

import os
import shutil


def main(out_dir: str) -> str:
    """Write the seed graph's picture into ``out_dir``, print its explanation; return the path."""
    import pygrad as torch
    from pygrad.viz import make_dot

    print("## Seeing the graph: r = 2*x + (3+x)\n")
    x = torch.tensor([1.], requires_grad=True)
    y = 2*x
    z = 3+x
    r = y+z
    os.makedirs(out_dir, exist_ok=True)
    path = _write(make_dot(r, params={"x": x, "r": r}), out_dir, "seed_graph")
    print(f"The graph, as torchviz draws it (arrows point the way the forward pass went, "
          f"from x at the top to r at the bottom): {path}")
    annotated = _write(make_dot(r, annotate=True), out_dir, "seed_graph_annotated")
    print("With each tensor's value, and the gradients as red arrows pointing the way they flow "
          f"in the backward pass, from r up to x: {annotated}")
    if not shutil.which("dot"):
        print("(Graphviz's dot program is not installed, so these are DOT text; with it: "
              f"dot -Tsvg {path} -o seed_graph.svg)")
    print()
    print(torch.autograd.explain(r))
    return path


def _write(dot, out_dir: str, stem: str) -> str:
    """An SVG picture when Graphviz's ``dot`` is installed, else the DOT text."""
    if shutil.which("dot"):
        return dot.render(outfile=os.path.join(out_dir, stem + ".svg"))
    return dot.save(os.path.join(out_dir, stem + ".gv"))


if __name__ == "__main__":
    import sys
    main(sys.argv[1] if len(sys.argv) > 1 else "pygrad-demo-output")
