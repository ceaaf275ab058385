"""Nested tuples, lists and dicts of leaves, flattened and rebuilt (what ``torch.func`` calls a
pytree).  A leaf is anything else: a tensor, a number, None."""
from __future__ import annotations


class TreeSpec:
    """The shape of a nested structure: its container type, its keys and its children's specs
    (``None`` children mark leaves)."""

    __slots__ = ("kind", "context", "children")

    def __init__(self, kind, context, children):
        self.kind, self.context, self.children = kind, context, children

    @property
    def num_leaves(self) -> int:
        return sum(1 if c is None else c.num_leaves for c in self.children) if self.kind else 1

    def __eq__(self, other) -> bool:
        return (isinstance(other, TreeSpec) and self.kind == other.kind and self.context == other.context
                and self.children == other.children)

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        children = ",\n  ".join("*" if c is None else repr(c) for c in self.children)
        return f"TreeSpec({self.kind.__name__}, {self.context}, [{children}])"


LEAF = TreeSpec(None, None, ())


def treespec_pprint(spec: TreeSpec | None) -> str:
    """The structure as Python literal text: ``(*, {'a': *})``."""
    if spec is None or spec.kind is None:
        return "*"
    items = [treespec_pprint(c) for c in spec.children]
    if spec.kind is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(spec.context, items)) + "}"
    if spec.kind is list:
        return "[" + ", ".join(items) + "]"
    if spec.kind is tuple:
        return "(" + ", ".join(items) + (",)" if len(items) == 1 else ")")
    return f"{spec.kind.__name__}(" + ", ".join(items) + ")"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree) -> tuple[list, TreeSpec]:
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves: list) -> TreeSpec:
    if isinstance(tree, dict):
        keys = list(tree)
        return TreeSpec(dict, keys, [_child(tree[k], leaves) for k in keys])
    if isinstance(tree, (tuple, list)):
        kind = type(tree) if _is_namedtuple(tree) else (tuple if isinstance(tree, tuple) else list)
        return TreeSpec(kind, None, [_child(v, leaves) for v in tree])
    leaves.append(tree)
    return LEAF


def _child(value, leaves: list):
    spec = _flatten(value, leaves)
    return None if spec.kind is None else spec


def tree_unflatten(leaves, spec: TreeSpec):
    it = iter(leaves)
    return _build(spec, it)


def _build(spec: TreeSpec | None, it):
    if spec is None or spec.kind is None:
        return next(it)
    values = [_build(c, it) for c in spec.children]
    if spec.kind is dict:
        return dict(zip(spec.context, values))
    if spec.kind in (tuple, list):
        return spec.kind(values)
    return spec.kind(*values)  # a named tuple


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, spec: TreeSpec | None = None) -> list | None:
    """``prefix`` (an int/None leaf, or a structure matching the top of ``tree``) spread over
    ``tree``'s leaves; None when the structures do not match."""
    out: list = []
    return out if _broadcast(prefix, tree, out) else None


def _broadcast(prefix, tree, out: list) -> bool:
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * tree_flatten(tree)[1].num_leaves)
        return True
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or list(prefix) != list(tree):
            return False
        return all(_broadcast(prefix[k], tree[k], out) for k in tree)
    if not isinstance(tree, (tuple, list)) or type(prefix) is not type(tree) and not (
            isinstance(prefix, tuple) and isinstance(tree, tuple)) or len(prefix) != len(tree):
        return False
    return all(_broadcast(p, t, out) for p, t in zip(prefix, tree))
