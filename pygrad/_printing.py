"""Tensor ``repr`` formatting that reproduces PyTorch's output.

Pure Python + NumPy: nothing here depends on the rest of pygrad.  The
entry point is :func:`format_tensor`, which turns a NumPy array (the tensor's
storage) into the text ``repr(tensor)`` shows.
"""

import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "format_tensor", "format_size"]

# What a tensor that requires grad prints inside function transforms (set by pygrad.func): a
# function returning the text, or None for the ordinary one.
transform_repr = None

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

_opts = dict(_PROFILES["default"], sci_mode=None)

# Dtypes repr leaves implicit for non-empty tensors; an empty tensor shows
# every dtype except the default float32.
_IMPLICIT_DTYPES = ("float32", "int64", "bool")
_SUPPORTED_DTYPES = frozenset(
    "bool float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64".split()
)

_PREFIX = "tensor("
_INDENT = len(_PREFIX)


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    """Set print options; same arguments and semantics as ``torch.set_printoptions``."""
    if profile in _PROFILES:
        _opts.update(_PROFILES[profile])
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            _opts[name] = value
    # As in torch, every call sets sci_mode, so omitting it restores automatic choice.
    _opts["sci_mode"] = sci_mode


def get_printoptions():
    """Return the current print options as a dict usable as ``set_printoptions(**opts)``."""
    return dict(_opts)


def format_size(shape):
    """``torch.Size`` repr of a shape: ``torch.Size([2, 3])``."""
    return "torch.Size([" + ", ".join(str(int(n)) for n in shape) + "])"


def format_tensor(array, grad_suffix=None, tangent=None):
    """Return what ``repr(torch.from_numpy(array))`` prints.

    ``grad_suffix`` (e.g. ``"grad_fn=<MulBackward0>"`` or ``"requires_grad=True"``)
    is appended as a suffix, then ``tangent=<tangent's text>`` for a dual tensor.
    """
    a = np.asarray(array)
    dtype = a.dtype.name
    if dtype not in _SUPPORTED_DTYPES:
        raise TypeError(f"cannot print a tensor of dtype {dtype}")

    suffixes = []
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dtype != "float32":
            suffixes.append("dtype=torch." + dtype)
        body = "[]"
    else:
        if not _opts["edgeitems"]:
            suffixes.append(f"size={tuple(a.shape)}")
        if dtype not in _IMPLICIT_DTYPES:
            suffixes.append("dtype=torch." + dtype)
        body = _format_body(a)
    if grad_suffix:
        suffixes.append(grad_suffix)
    if tangent is not None:
        suffixes.append("tangent=" + tangent)
    return _add_suffixes(_PREFIX + body, suffixes)


def _format_body(a):
    edge = _opts["edgeitems"]
    summarize = a.size > _opts["threshold"]
    if summarize and a.ndim and not edge:
        return "[...]"

    # Only the elements that will be shown take part in choosing the format.  They are cut out
    # with basic slices, which copy nothing else (``take`` would first copy the whole array,
    # gigabytes for a large ``expand`` view).
    cut = [summarize and n > 2 * edge for n in a.shape]
    for axis, is_cut in enumerate(cut):
        if is_cut:
            before = (slice(None),) * axis
            a = np.concatenate((a[before + (slice(None, edge),)], a[before + (slice(-edge, None),)]), axis=axis)

    values = a.ravel().tolist()
    if a.dtype.kind == "f":
        strs, width = _format_floats(values)
    else:
        strs = [str(v) for v in values]
        width = max(map(len, strs))
    strs = [s.rjust(width) for s in strs]
    if a.ndim == 0:
        return strs[0]
    return _layout(strs, a.shape, cut, width)


def _format_floats(values):
    """Format floats with one shared mode; return (strings, width)."""
    finite = [v for v in values if v != 0 and math.isfinite(v)]
    if not finite:
        # Only zeros, nan and inf: integer style regardless of sci_mode.
        return [_int_style(v) for v in values], 1

    precision = _opts["precision"]
    sci = _opts["sci_mode"]
    if sci is None:
        lo = min(abs(v) for v in finite)
        hi = max(abs(v) for v in finite)
        sci = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
    if sci:
        fmt = f"{{:.{precision}e}}".format
    elif all(v.is_integer() for v in finite):
        fmt = _int_style
    else:
        fmt = f"{{:.{precision}f}}".format

    strs = [fmt(v) for v in values]
    # Zeros, nan and inf are padded to the width but do not set it.
    width = max(len(s) for s, v in zip(strs, values) if v != 0 and math.isfinite(v))
    return strs, width


def _int_style(v):
    s = f"{v:.0f}"
    return s + "." if math.isfinite(v) else s


def _layout(strs, shape, cut, width):
    """Nest the flat element strings into bracketed rows, innermost dim first."""
    edge = _opts["edgeitems"]
    ndim = len(shape)
    items = strs
    for d in range(ndim - 1, -1, -1):
        n = shape[d]
        indent = _INDENT + d
        if d == ndim - 1:
            per_line = max(1, math.floor((_opts["linewidth"] - indent) / (width + 2)))
            sep = ",\n" + " " * (indent + 1)
            ellipsis = " ..."
        else:
            sep = "," + "\n" * (ndim - 1 - d) + " " * (indent + 1)
            ellipsis = "..."
        out = []
        for start in range(0, len(items), n):
            group = items[start : start + n]
            if cut[d]:
                group[edge:edge] = [ellipsis]
            if d == ndim - 1:
                group = [", ".join(group[i : i + per_line]) for i in range(0, len(group), per_line)]
            out.append("[" + sep.join(group) + "]")
        items = out
    return items[0]


def _add_suffixes(text, suffixes):
    linewidth = _opts["linewidth"]
    # torch measures the last line as its length + 2 until a suffix wraps,
    # after which it uses the exact length; keep that quirk.
    last = len(text) - text.rfind("\n") + 1
    parts = [text]
    for suffix in suffixes:
        if last + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * _INDENT + suffix)
            last = _INDENT + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    parts.append(")")
    return "".join(parts)
