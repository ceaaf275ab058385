"""Docstrings of the op table's functions and methods, and the table of supported ops.

Each public op gets a one-line description (``DESCRIPTIONS``), what the table knows of its
derivative (``grad_fn`` name and rule), and a short example.  The example's code is made here from
the op's kind and ``EXAMPLE_INPUTS``/``CALL_EXAMPLES``; what it prints is what PyTorch 2.13
printed for the same code, recorded in ``_op_examples.py`` by
``python tests/scripts/make_op_examples.py`` (``tests/test_op_docs.py`` runs every example as a
doctest and checks that the recorded file is current).  Examples are written for
``import pygrad as torch`` and ``import pygrad.nn.functional as F``.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..tensor import Tensor

# -- one line per op -------------------------------------------------------------------------------

DESCRIPTIONS = {
    "exp": "The exponential of each element, e**x.",
    "log": "The natural logarithm of each element.",
    "sqrt": "The square root of each element.",
    "sin": "The sine of each element (in radians).",
    "cos": "The cosine of each element (in radians).",
    "tanh": "The hyperbolic tangent of each element.",
    "sigmoid": "The logistic sigmoid of each element, 1 / (1 + exp(-x)).",
    "relu": "The rectified linear unit of each element, max(x, 0).",
    "abs": "The absolute value of each element.",
    "reciprocal": "The reciprocal of each element, 1 / x.",
    "rsqrt": "The reciprocal of the square root of each element, 1 / sqrt(x).",
    "log1p": "log(1 + x) of each element, accurate for small x.",
    "expm1": "exp(x) - 1 of each element, accurate for small x.",
    "tan": "The tangent of each element (in radians).",
    "atan": "The arctangent of each element.",
    "erf": "The Gauss error function of each element.",
    "exp2": "2**x of each element.",
    "log2": "The base-2 logarithm of each element.",
    "log10": "The base-10 logarithm of each element.",
    "sinh": "The hyperbolic sine of each element.",
    "cosh": "The hyperbolic cosine of each element.",
    "asin": "The arcsine of each element.",
    "acos": "The arccosine of each element.",
    "asinh": "The inverse hyperbolic sine of each element.",
    "acosh": "The inverse hyperbolic cosine of each element.",
    "atanh": "The inverse hyperbolic tangent of each element.",
    "erfinv": "The inverse of the error function of each element.",
    "nan_to_num": "NaN, positive and negative infinity replaced by the given numbers (by default 0 and the "
                  "dtype's largest and smallest finite values).",
    "sign": "The sign of each element: -1, 0 or 1 (0 for NaN, as PyTorch).",
    "sgn": "The sign of each element, as ``sign`` for real tensors (PyTorch's ``sgn`` extends it to complex).",
    "floor": "The largest integer not greater than each element.",
    "ceil": "The smallest integer not less than each element.",
    "trunc": "Each element rounded toward zero.",
    "round": "Each element rounded to the nearest integer (half to even), or to ``decimals`` decimal places.",
    "deg2rad": "Each element converted from degrees to radians.",
    "rad2deg": "Each element converted from radians to degrees.",
    "frac": "The fractional part of each element, x - trunc(x).",
    "sinc": "The normalized sinc of each element, sin(pi x) / (pi x), 1 at 0.",
    "logit": "The logit of each element, log(x / (1 - x)), with x clamped to [eps, 1 - eps] when eps is given.",
    "lgamma": "The natural logarithm of the absolute value of the gamma function of each element.",
    "digamma": "The digamma function (the derivative of lgamma) of each element.",
    "square": "The square of each element.",
    "gelu": "The Gaussian error linear unit of each element (``approximate='tanh'``: its tanh approximation).",
    "leaky_relu": "x where x > 0, else ``negative_slope * x``.",
    "elu": "x where x > 0, else ``alpha * (exp(x) - 1)``.",
    "softplus": "log(1 + exp(beta x)) / beta of each element (x itself where beta x > threshold).",
    "silu": "The sigmoid linear unit of each element, x * sigmoid(x).",
    "add": "input + alpha * other, broadcast, with PyTorch's type promotion.",
    "sub": "input - alpha * other, broadcast, with PyTorch's type promotion.",
    "mul": "input * other, broadcast, with PyTorch's type promotion.",
    "div": "input / other (true division; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient).",
    "neg": "The negative of each element.",
    "maximum": "The larger of the two inputs, element by element (NaN if either is NaN).",
    "minimum": "The smaller of the two inputs, element by element (NaN if either is NaN).",
    "hypot": "sqrt(input**2 + other**2), element by element.",
    "logaddexp": "log(exp(input) + exp(other)), computed without overflow.",
    "logaddexp2": "log2(2**input + 2**other), computed without overflow.",
    "xlogy": "input * log(other), and 0 where input is 0.",
    "atan2": "The angle of the point (other, input): the arctangent of input / other in the right quadrant.",
    "fmod": "The remainder of input / other with the sign of input (C's fmod).",
    "remainder": "The remainder of input / other with the sign of other (Python's %).",
    "floor_divide": "input / other rounded down (Python's //).",
    "copysign": "The magnitude of input with the sign of other.",
    "float_power": "input ** exponent computed in float64.",
    "bitwise_and": "The bitwise AND of integer or bool tensors.",
    "bitwise_or": "The bitwise OR of integer or bool tensors.",
    "bitwise_xor": "The bitwise XOR of integer or bool tensors.",
    "bitwise_not": "The bitwise NOT of an integer or bool tensor.",
    "sum": "The sum of all elements, or over the dimensions ``dim``.",
    "mean": "The mean of all elements, or over the dimensions ``dim`` (floating point).",
    "prod": "The product of all elements, or over the dimension ``dim``.",
    "max": "The largest element, or with ``dim`` the largest along it and where it is (values, indices).",
    "min": "The smallest element, or with ``dim`` the smallest along it and where it is (values, indices).",
    "amax": "The largest elements over the dimensions ``dim`` (the gradient is shared between ties).",
    "amin": "The smallest elements over the dimensions ``dim`` (the gradient is shared between ties).",
    "argmax": "The index of the largest element (of the flattened tensor, or along ``dim``).",
    "argmin": "The index of the smallest element (of the flattened tensor, or along ``dim``).",
    "std": "The standard deviation over the dimensions ``dim`` (with Bessel's correction by default).",
    "var": "The variance over the dimensions ``dim`` (with Bessel's correction by default).",
    "logsumexp": "log(sum(exp(input))) over the dimensions ``dim``, computed without overflow.",
    "cumsum": "The cumulative sum along ``dim``.",
    "cumprod": "The cumulative product along ``dim``.",
    "mm": "The matrix product of two 2-D tensors.",
    "matmul": "The matrix product with NumPy's broadcasting rules (vectors, matrices, batches).",
    "bmm": "The matrix product of two batches of matrices (3-D tensors).",
    "mv": "The product of a matrix and a vector.",
    "dot": "The dot product of two 1-D tensors.",
    "outer": "The outer product of two 1-D tensors.",
    "transpose": "A view with the dimensions ``dim0`` and ``dim1`` swapped.",
    "unsqueeze": "A view with a dimension of size one inserted at ``dim``.",
    "squeeze": "A view without the dimensions of size one (or only those of ``dim``).",
    "flatten": "The dimensions from ``start_dim`` to ``end_dim`` flattened into one.",
    "reshape": "The same elements in the given shape (a view when possible, else a copy).",
    "cat": "The tensors joined along an existing dimension.",
    "stack": "The tensors stacked along a new dimension.",
    "clamp": "Each element clamped into [min, max].",
    "clamp_min": "Each element clamped to at least ``min``.",
    "clamp_max": "Each element clamped to at most ``max``.",
    "addcmul": "input + value * tensor1 * tensor2, broadcast.",
    "addcdiv": "input + value * tensor1 / tensor2, broadcast.",
    "pow": "input ** exponent, with numbers or tensors on either side.",
    "masked_fill": "A copy of input with ``value`` where ``mask`` is True.",
    "lerp": "The linear interpolation input + weight * (end - input).",
    "softmax": "exp(x) / sum(exp(x)) along ``dim``.",
    "log_softmax": "log(softmax(x)) along ``dim``, computed without overflow.",
    "linear": "input @ weight.T + bias.",
    "zeros": "A tensor filled with 0.",
    "ones": "A tensor filled with 1.",
    "empty": "A tensor with uninitialised values.",
    "rand": "A tensor of numbers drawn uniformly from [0, 1).",
    "randn": "A tensor of numbers drawn from the standard normal distribution.",
    "full": "A tensor filled with ``fill_value``.",
}

DESCRIPTIONS.update({  # the activations of ops/optable_nn.py
    "hardtanh": "Each element clamped into [min_val, max_val] (``relu6`` is hardtanh(x, 0, 6)).",
    "hardsigmoid": "relu6(x + 3) / 6 of each element, a piecewise-linear sigmoid.",
    "hardswish": "x * relu6(x + 3) / 6 of each element.",
    "selu": "scale * elu(x, alpha) of each element, with the self-normalizing constants of Klambauer et al.",
    "celu": "x where x > 0, else ``alpha * (exp(x / alpha) - 1)``.",
    "mish": "x * tanh(softplus(x)) of each element.",
    "logsigmoid": "log(sigmoid(x)) of each element, computed without overflow.",
    "softshrink": "x - lambd where x > lambd, x + lambd where x < -lambd, else 0.",
    "hardshrink": "x where |x| > lambd, else 0.",
    "threshold": "x where x > threshold, else ``value``.",
    "glu": "The gated linear unit: a * sigmoid(b), a and b the two halves of the input along ``dim``.",
})

# -- the examples' code -----------------------------------------------------------------------------

_UNIT = "[-0.5, 0.0, 0.5]"
_SIGNED = "[-1.5, 0.5, 2.0]"
EXAMPLE_INPUTS = {  # the elementwise ops' first input (default [0.5, 1.0, 2.0]); binary: (input, other)
    "asin": _UNIT, "acos": _UNIT, "atanh": _UNIT, "erfinv": _UNIT, "acosh": "[1.5, 2.0, 3.0]",
    "logit": "[0.25, 0.5, 0.75]", "sinc": "[0.0, 0.5, 1.5]", "deg2rad": "[0.0, 90.0, 180.0]",
    "nan_to_num": "[float('nan'), float('inf'), -1.5]", "relu": _SIGNED, "abs": _SIGNED, "sign": _SIGNED, "sgn": _SIGNED,
    "floor": _SIGNED, "ceil": _SIGNED, "trunc": _SIGNED, "round": "[-1.5, 0.5, 2.7]", "frac": _SIGNED,
    "square": _SIGNED, "neg": _SIGNED, "gelu": _SIGNED, "leaky_relu": _SIGNED, "elu": _SIGNED, "silu": _SIGNED,
    "softplus": _SIGNED, "tanh": _SIGNED, "sigmoid": _SIGNED, "atan": _SIGNED, "erf": _SIGNED, "sinh": _SIGNED,
    "asinh": _SIGNED, "copysign": ("[1.0, 2.0, 3.0]", "[-1.0, 1.0, -2.0]"),
    "floor_divide": ("[7.0, -7.0, 5.0]", "[2.0, 2.0, -3.0]"),
    "bitwise_and": ("[12, 10, 7]", "[10, 6, 3]"), "bitwise_or": ("[12, 10, 7]", "[10, 6, 3]"),
    "bitwise_xor": ("[12, 10, 7]", "[10, 6, 3]"), "bitwise_not": "[12, 10, -7]",
}
EXAMPLE_INPUTS.update({name: "[-1.5, 0.25, 2.0]" for name in (  # across the kinks of ops/optable_nn.py's
    "hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "mish", "logsigmoid", "softshrink", "hardshrink")})
_BINARY_DEFAULT = ("[1.0, 2.0, 3.0]", "[0.5, 1.5, 2.0]")

_MATRIX = "x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)"
# Ops written by hand, and table ops of three inputs or more than one node: (setup lines, the
# arguments after the tensor ``x``); a list is the function's whole example.
CALL_EXAMPLES = {
    "sum": ([_MATRIX], "dim=0"), "mean": ([_MATRIX], "dim=1"), "prod": ([_MATRIX], "1"),
    "max": ([_MATRIX], "dim=1"), "min": ([_MATRIX], "dim=1"), "amax": ([_MATRIX], "dim=0"),
    "amin": ([_MATRIX], "dim=0"), "argmax": ([_MATRIX], "dim=1"), "argmin": ([_MATRIX], "dim=1"),
    "std": ([_MATRIX], "dim=0"), "var": ([_MATRIX], "dim=1"), "logsumexp": ([_MATRIX], "dim=1"),
    "cumsum": ([_MATRIX], "dim=1"), "cumprod": ([_MATRIX], "dim=1"), "mm": ([_MATRIX], "x.T"),
    "matmul": ([_MATRIX], "x.T"), "bmm": ([_MATRIX.replace("[[1.0", "[[[1.0").replace("6.0]]", "6.0]]]")],
                                          "x.transpose(1, 2)"),
    "mv": ([_MATRIX], "torch.tensor([1.0, 0.0, -1.0])"),
    "dot": (["x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)"], "torch.tensor([4.0, 5.0, 6.0])"),
    "outer": (["x = torch.tensor([1.0, 2.0], requires_grad=True)"], "torch.tensor([3.0, 4.0, 5.0])"),
    "transpose": ([_MATRIX], "0, 1"), "unsqueeze": ([_MATRIX], "0"), "squeeze": ([_MATRIX + "[None]"], ""),
    "flatten": ([_MATRIX], ""), "reshape": ([_MATRIX], "(3, 2)"), "clamp": ([_MATRIX], "min=2.0, max=5.0"),
    "softmax": ([_MATRIX], "dim=1"), "log_softmax": ([_MATRIX], "dim=1"),
    "clamp_min": ([_MATRIX], "2.0"), "clamp_max": ([_MATRIX], "4.0"), "pow": ([_MATRIX], "2"),
    "addcmul": ([_MATRIX], "torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 0.5, 2.0]), value=2"),
    "addcdiv": ([_MATRIX], "torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 0.5, 2.0]), value=2"),
    "masked_fill": ([_MATRIX], "torch.tensor([True, False, True]), 0.0"), "lerp": ([_MATRIX], "torch.zeros(2, 3), 0.25"),
    "linear": ([_MATRIX], "torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([0.5])"),
    "cat": [_MATRIX, "torch.cat([x, x], dim=0)"], "stack": [_MATRIX, "torch.stack([x, x]).shape"],
    "zeros": ["torch.zeros(2, 3)"], "ones": ["torch.ones(2, dtype=torch.int64)"],
    "empty": ["torch.empty(2, 3).shape"], "rand": ["torch.rand(2, 3).shape"], "randn": ["torch.randn(4).dtype"],
    "full": ["torch.full((2, 2), 1.5)"],
    "threshold": (["x = torch.tensor([-1.5, 0.25, 2.0], requires_grad=True)"], "0.5, -1.0"),
    "glu": ([_MATRIX.replace("3.0]", "3.0, 0.0]").replace("6.0]", "6.0, -1.0]")], "dim=1"),
}
_SHOWN_AS_SHAPE = {"unsqueeze", "squeeze", "flatten"}  # their values would only repeat x

KINDS = ("function", "method", "inplace", "inplace_function", "functional")


def public_ops(ops) -> list:
    """The table's entries users call (the number-operand and private nodes are not)."""
    return [op for op in ops if (op.function or op.method or op.functional) and not op.name.startswith("_")]


def kinds(op) -> list[str]:
    made = []
    if op.function:
        made.append("function")
    if op.method:
        made.append("method")
    if op.inplace:
        made.append("inplace")
    if op.inplace_function:
        made.append("inplace_function")
    if op.functional:
        made.append("functional")
    return made


def _call(op, kind: str, args: str) -> str:
    name = op.name + ("_" if kind in ("inplace", "inplace_function") else "")
    rest = f", {args}" if args else ""
    if kind in ("method", "inplace"):
        return f"x.{name}({args})"
    prefix = "F" if kind == "functional" else "torch"
    return f"{prefix}.{name}(x{rest})"


def example_lines(op, kind: str) -> list[str]:
    """The example's statements, in order (an expression statement shows its value)."""
    if op.calls is not None or op.name in CALL_EXAMPLES:
        spec = CALL_EXAMPLES[op.name]
        if isinstance(spec, list):
            return list(spec)
        setup, args = spec
        call = _call(op, kind, args)
        if kind in ("inplace", "inplace_function"):  # on a tensor that does not require grad
            return [line.replace(", requires_grad=True", "") for line in setup] + [call, "x"]
        return setup + [call + (".shape" if op.name in _SHOWN_AS_SHAPE else "")]
    binary = len(op.inputs) == 2
    values = EXAMPLE_INPUTS.get(op.name, _BINARY_DEFAULT if binary else "[0.5, 1.0, 2.0]")
    first, second = values if binary else (values, None)
    differentiable = _differentiable(op) and kind in ("function", "functional")
    grad = ", requires_grad=True" if differentiable else ""
    lines = [f"x = torch.tensor({first}{grad})"]
    if binary:
        lines.append(f"y = torch.tensor({second}{grad})")
    call = _call(op, kind, "y" if binary else "")
    if differentiable:
        lines += [f"out = {call}", "out", "out.sum().backward()", "(x.grad, y.grad)" if binary else "x.grad"]
    elif kind in ("inplace", "inplace_function"):
        lines += [call, "x"]
    else:
        lines.append(call)
    return lines


def _differentiable(op) -> bool:
    """A node of its own, or composed of differentiable ops (``square`` is ``pow``)."""
    return op.node is not None or (op.fn is None and op.calls is None)


def _op_examples() -> dict:
    try:
        from ._op_examples import EXAMPLES
    except ImportError:  # being regenerated
        return {}
    return EXAMPLES


def docstring(op, kind: str, examples: dict) -> str:
    """The docstring of one of the op's callables (Google style, for the API reference)."""
    name = op.name + ("_" if kind in ("inplace", "inplace_function") else "")
    text = [DESCRIPTIONS[op.name]]
    if kind in ("inplace", "inplace_function"):
        target = "``self``" if kind == "inplace" else "``input``"
        text = [f"In-place ``{op.name}``: {text[0][0].lower()}{text[0][1:]} The result is written into {target}, "
                "which is returned."]
    if op.aliases and kind not in ("functional",):
        text.append("Also named " + ", ".join(f"``{a}{name[len(op.name):]}``" for a in op.aliases) + ".")
    if op.node is not None:
        text.append(f"Differentiable: the result's ``grad_fn`` is ``{op.node}``; ``{op.rule}``.")
    elif not _differentiable(op) and op.calls is None:
        text.append("Not differentiable.")
    example = examples.get(f"{op.name}:{kind}")
    body = "\n\n".join(text)
    if example:
        body += "\n\nExamples:\n" + "\n".join("    " + line if line else "" for line in example.splitlines())
    return body + "\n"


def attach(ops, functions: dict, functional: dict) -> None:
    """Give the table's generated callables their docstrings (hand-written ones keep their own)."""
    examples = _op_examples()
    for op in public_ops(ops):
        for kind in kinds(op):
            obj = _callable(op, kind, functions, functional)
            if obj is not None and hasattr(obj, "_source"):
                obj.__doc__ = docstring(op, kind, examples)
        if op.inplace_function:  # each alias has its own function (torch.arcsin_ calls x.arcsin_())
            for alias in op.aliases:
                functions[alias + "_"].__doc__ = functions[op.name + "_"].__doc__


def _callable(op, kind: str, functions: dict, functional: dict):
    if kind == "function":
        return functions.get(op.name)
    if kind == "functional":
        return functional.get(op.name)
    if kind == "inplace_function":
        return functions.get(op.name + "_")
    return Tensor.__dict__.get(op.name + ("_" if kind == "inplace" else ""))


# -- the table of supported ops (docs/api/ops.md) --------------------------------------------------

def _compiled_kernels() -> dict[str, str]:
    """kernel name -> how the compiled backend runs it: a loop of its own (``kernels.pyx`` and
    ``LOOPS`` of ``_native/kernel_table.py``) or NumPy's ufunc with its buffer cache (``UFUNCS``)."""
    from .._native import kernel_table
    source = (Path(__file__).resolve().parent.parent / "_native" / "kernels.pyx").read_text(encoding="utf-8")
    found = {name: "compiled loop" for name in re.findall(r"^c?p?def (\w+)\(", source, re.M)
             if not name.startswith("_")}
    found.update({name: "compiled loop" for name in kernel_table.LOOPS})
    found.update({name: "NumPy ufunc" for name in kernel_table.UFUNCS})
    return found


def _forward_mode(op) -> bool:
    """Whether the op's node has a forward-mode (JVP) rule, once pygrad has forward-mode AD."""
    import importlib.util
    if importlib.util.find_spec("pygrad.autograd.forward_ad") is None:
        return False
    return op.fn is not None and vars(op.fn).get("jvp") is not None


def ops_table_markdown(ops) -> str:
    """A Markdown table of the public ops: name, variants, differentiable (``grad_fn``), forward mode,
    compiled forward kernel, fused backward kernel."""
    compiled, examples = _compiled_kernels(), _op_examples()
    rows = ["| op | variants | differentiable (`grad_fn`) | forward mode | compiled kernel | fused backward |",
            "|---|---|---|---|---|---|"]
    by_name: dict = {}
    for op in public_ops(ops):  # softmax: torch.softmax and F.softmax are two entries
        by_name.setdefault(op.name, []).append(op)
    for name in sorted(by_name):
        entries = by_name[name]
        op = entries[0]
        names = ", ".join(f"`{n}`" for n in (name,) + op.aliases)
        variants = ", ".join(_VARIANT_NAMES[k].format(name) for entry in entries for k in kinds(entry))
        if op.node is not None:
            grad = f"yes (`{op.node}`)"
        else:
            found = [re.search(r"grad_fn=<(\w+)>", examples.get(f"{e.name}:{k}", "")) for e in entries for k in kinds(e)]
            nodes = sorted({m.group(1) for m in found if m})
            grad = f"yes (`{'`, `'.join(nodes)}`)" if nodes else "no"
        kernel = compiled.get(op.kernel, "NumPy") if op.kernel else ("NumPy" if op.forward else "hand-written")
        fused = ", ".join(f"d/d{arg}" for arg in op.fused) if op.fused else "no"
        forward = "yes" if any(_forward_mode(entry) for entry in entries) else "no"
        rows.append(f"| {names} | {variants} | {grad} | {forward} | "
                    f"{kernel} | {fused} |")
    return "\n".join(rows) + "\n"


_VARIANT_NAMES = {"function": "`torch.{}`", "method": "`Tensor.{}`", "inplace": "`Tensor.{}_`",
                  "inplace_function": "`torch.{}_`", "functional": "`F.{}`"}
