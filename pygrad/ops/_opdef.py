"""The machinery behind the op table (``ops/optable.py``): from one declaration per op it makes
the autograd ``Function``, the public functions with PyTorch's signatures, the ``Tensor``
methods and in-place variants, and the metadata ``explain``/``viz`` show.

A derivative is one expression (a string, as in PyTorch's ``derivatives.yaml``) over the names
of the op's arguments, ``result`` and ``grad``.  It is compiled twice from the same text: with
NumPy-like functions for a plain ``backward()`` (raw arrays, no graph) and with pygrad's own
functions under ``create_graph=True`` (Tensors, so the derivative is itself differentiable).
Where a compiled kernel computes the same expression in one pass (``fused``), plain backward
calls it instead; ``tests/test_optable.py`` checks that it agrees with the expression.

Function and method wrappers are generated as Python source at import time, so Python binds
the arguments by PyTorch's names (``torch.sum(input=x, dim=0)``) at no cost per call.
"""
from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _backend, _errstate, dtypes
from .._backend import kernels as _kernels
from ..autograd import forward_ad
from ..autograd import grad_mode as _grad_mode_module
from ..autograd.function import Function
from ..autograd.node_info import NodeMeta, register_node
from ..fusion import table as _fusion
from ..tensor import Tensor
from ._util import binary_operands, same_dtype_arrays

_grad_mode = _grad_mode_module._state
_wrap = Tensor._wrap


# -- schemas ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    name: str
    type: str            # "Tensor", "Tensor?", "Scalar", "int", "int[]?", "bool", "float", "str", "ScalarType?"...
    default: str | None  # the default as written in the schema, None when required
    kwonly: bool

    @property
    def is_tensor(self) -> bool:
        return self.type in ("Tensor", "Tensor?")


_ARG = re.compile(r"^\s*(?P<type>\S+)\s+(?P<name>\w+)\s*(?:=\s*(?P<default>.+?))?\s*$")


def parse_schema(text: str) -> tuple[str, tuple[Arg, ...]]:
    """``"sum(Tensor input, int[1]? dim=None, *, ScalarType? dtype=None)"`` -> (name, args)."""
    name, _, rest = text.partition("(")
    params = rest[:rest.rindex(")")]
    args, kwonly = [], False
    for part in _split_params(params):
        if part == "*":
            kwonly = True
            continue
        m = _ARG.match(part)
        if m is None:
            raise ValueError(f"bad argument {part!r} in schema {text!r}")
        args.append(Arg(m["name"], m["type"], m["default"], kwonly))
    return name.strip(), tuple(args)


def _split_params(params: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in params:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


_TYPE_TEXT = {"Tensor": "Tensor", "Tensor?": "Tensor", "Scalar": "Number", "Scalar?": "Number", "int": "int",
              "int?": "int", "float": "float", "float?": "float", "bool": "bool", "str": "str", "str?": "str",
              "ScalarType?": "torch.dtype", "int[]": "tuple of ints", "int[]?": "tuple of ints",
              "int[1]?": "tuple of ints", "int[1]": "tuple of ints", "Size": "tuple of ints"}


def signature_text(args) -> str:
    """An overload as PyTorch's argument parser lists it: ``(Tensor input, *, Tensor out = None)``."""
    parts, star = [], False
    for a in args:
        if a.kwonly and not star:
            parts.append("*")
            star = True
        text = f"{_TYPE_TEXT.get(a.type, a.type)} {a.name}"
        parts.append(text if a.default is None else f"{text} = {a.default}")
    return "(" + ", ".join(parts) + ")"


def _type_name(value) -> str:
    return "Tensor" if isinstance(value, Tensor) else type(value).__name__


def must_be_tensor(fn: str, name: str, position: int, value):
    return TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not {_type_name(value)}")


def invalid_combination(fn: str, overloads, args, kwargs):
    got = ", ".join([_type_name(a) for a in args] + [f"{k}={_type_name(v)}" for k, v in kwargs.items()])
    lines = "".join(f" * {o}\n" for o in overloads)
    return TypeError(f"{fn}() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{lines}")


# -- out= ----------------------------------------------------------------------------------

def write_out(out, result: Tensor, fn: str) -> Tensor:
    """Store ``result`` into ``out`` as PyTorch's ``out=`` does: no autograd, castable dtype, and
    a shape mismatch resized (with PyTorch's warning when ``out`` was not empty)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _grad_mode.enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{fn}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    data = result._data
    source = dtypes.from_numpy(data.dtype)
    if not _can_cast(source, out.dtype):
        raise RuntimeError(f"result type {source._tensor_type[:-6]} can't be cast to the desired output type "
                           f"{out.dtype._tensor_type[:-6]}")
    if out._data.shape != data.shape:
        if out._data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"[{', '.join(map(str, out._data.shape))}], which does not match the required output shape "
                          f"[{', '.join(map(str, data.shape))}]. This behavior is deprecated, and in a future PyTorch "
                          "release outputs will not be resized unless they have zero elements. You can explicitly "
                          "reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                          UserWarning, stacklevel=3)
        out._data = np.empty(data.shape, out._data.dtype)
    np.copyto(out._data, data, casting="unsafe")
    out._version.value += 1
    return out


def _can_cast(source: dtypes.dtype, target: dtypes.dtype) -> bool:
    """PyTorch's ``can_cast``: no float -> integer and nothing but bool -> bool."""
    if source.is_floating_point and not target.is_floating_point:
        return False
    return target is not dtypes.bool or source is dtypes.bool


# -- the namespaces a derivative is evaluated in ---------------------------------------------

# The expressions see no builtins (a name is a table function or an error), except the import
# hook: a NumPy warning raised inside generated code imports through the running frame's
# builtins (Python 3.13 with NumPy 2.5 raised KeyError: '__import__' instead of warning).
_NO_BUILTINS = {"__import__": __import__}

# Raw arrays (plain backward): NumPy, overlaid with the active backend's kernels.
ARRAY_NS: dict = {
    "__builtins__": _NO_BUILTINS, "cos": np.cos, "sin": np.sin, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "sinh": np.sinh, "cosh": np.cosh, "where": np.where, "sign": np.sign,
    "isfinite": np.isfinite, "zeros_like": np.zeros_like, "floor": np.floor, "trunc": np.trunc,
    "reciprocal": np.reciprocal, "rsqrt": lambda a: np.reciprocal(np.sqrt(a)), "abs": np.abs,
    "tanh": np.tanh, "log1p": np.log1p, "expm1": np.expm1, "square": np.square,
    "maximum": np.maximum, "minimum": np.minimum, "around": np.round, "pi": np.pi, "exp2": np.exp2,
    "logaddexp2": np.logaddexp2, "arctan2": np.arctan2, "copysign": np.copysign, "floor_divide": np.floor_divide,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "invert": np.invert, "asarray": np.asarray, "clip": np.clip,
}
_NUMPY_NAMES = frozenset(ARRAY_NS)


_ARRAY_SCOPES = [ARRAY_NS]  # ARRAY_NS and the generated backwards that inline array expressions


def _refresh_kernels() -> None:
    """Bind the active backend's kernels into the array scopes (again after ``_backend.use``)."""
    kernels = {name: value for name, value in vars(_kernels).items()
               if not name.startswith("_") and callable(value) and name not in _NUMPY_NAMES}
    for scope in _ARRAY_SCOPES:
        scope.update(kernels)


_refresh_kernels()
_backend.on_switch.append(_refresh_kernels)

# Tensors (create_graph): pygrad's functions, filled in by ``install``.
TENSOR_NS: dict = {"__builtins__": _NO_BUILTINS, "pi": np.pi}


# -- declarations ------------------------------------------------------------------------------

@dataclass
class Op:
    """One op of the table.  See ``ops/optable.py`` for how the fields read."""

    schema: str
    node: str | None = None          # PyTorch's grad_fn name; None: not differentiable
    derivatives: dict = field(default_factory=dict)  # argument -> expression of its gradient
    kernel: str | None = None        # the backend kernel of the forward, called on the arrays
    forward: str | None = None       # or: the forward as an expression over the arrays
    fused: dict = field(default_factory=dict)         # argument -> compiled kernel call computing the same
    dtype: str = "same"              # "same", "float" (integers compute in the default float), "promote",
                                     # "promote_float", "bool" (a logical result), "tensor" (the forward
                                     # expression gets the input Tensors themselves and casts as it must)
    rule: str | None = None          # what explain prints
    method: bool = True              # Tensor.<name>
    inplace: bool = False            # Tensor.<name>_
    inplace_function: bool = False   # pygrad.<name>_ as well (PyTorch has it for most unary ops)
    function: bool = True            # pygrad.<name>
    functional: bool = False         # pygrad.nn.functional.<name>
    out: bool = True                 # accepts out=
    aliases: tuple = ()              # other names of the function and method (arcsin, ...)
    impl: object = None              # impl(Fn, *args): argument handling before Fn.apply
    quiet: bool = True               # NumPy's floating-point warnings off in forward and backward: PyTorch
                                     # gives none (log(0) is -inf, exp(1000) inf, inf - inf nan)
    overloads: tuple = ()            # other signatures PyTorch lists in its invalid-combination error
    wrapper_only: tuple = ("inplace",)  # arguments the impl reads and the node does not keep
    calls: object = None             # a hand-written function the wrappers call (ops not built from the
                                     # table: their schema and metadata only), with the arguments in order
    env: dict = field(default_factory=dict)  # names the schema's defaults refer to
    aten: str | None = None          # the name errors give (PyTorch's aten op), when not ``name``
    operators: tuple = ()            # Tensor dunders: "__mul__" calls the Function on the promoted operands
                                     # directly; "__sub__=method" is the method itself
    keeps: dict = field(default_factory=dict)  # what else the node keeps (PyTorch's ``self_sym_sizes``):
                                     # name -> expression over the forward's Tensors, attributes and result
    forward_only: tuple = ()         # attributes the forward reads and the node does not keep (a dtype)
    intermediates: tuple = ()        # what the forward returns after its result, kept for the derivatives
                                     # (layer_norm's xhat and rstd)
    saves: tuple = ()                # saved though no derivative reads it (PyTorch saves ``result`` of prod,
                                     # so changing it in place before backward is an error)
    elementwise: bool = True         # the derivative is a number per element (explain shows it so)
    jvp: str | None = None           # the forward-mode rule (PyTorch's ``result:`` line): "auto_element_wise"
                                     # (the default for an elementwise op: each derivative with ``grad``
                                     # replaced by that input's tangent, summed; J is diagonal), "auto_linear"
                                     # (the op applied to the tangents), "multilinear" (the op with one input
                                     # replaced by its tangent, summed over inputs: matmul), "weighted" (the
                                     # tangent times the backward of ones, summed over the reduced dims:
                                     # reductions, losses), or an expression over the arguments, ``result``,
                                     # what the node keeps and the tangents ``<input>_t`` (where J^T != J)

    name: str = ""
    args: tuple = ()
    fn: type | None = None           # the generated Function

    def __post_init__(self):
        self.name, self.args = parse_schema(self.schema)

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.is_tensor or a.type == "TensorLike")

    @property
    def attrs(self) -> tuple[Arg, ...]:
        """The non-tensor arguments the node keeps."""
        return tuple(a for a in self.args
                     if not (a.is_tensor or a.type == "TensorLike") and a.name not in self.wrapper_only)


def _names_in(expr: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}


def saved_names(op: Op) -> tuple[str, ...]:
    """What the node keeps for backward: the inputs its derivatives (and ``saves``) read, then
    ``result``.  The inputs are in the order PyTorch's generated nodes save them, which saved-tensor
    hooks see: sorted by name (``mul`` packs ``other``, then ``self``; ``pow`` ``exponent``, then ``self``)."""
    used = set(op.saves)
    for arg in op.derivatives:
        used |= _derivative_names(op, arg)
    for call in op.fused.values():
        used |= _names_in(call)
    names = sorted(a.name for a in op.inputs if a.name in used)  # (an input the keeps read is not saved)
    return tuple(names + (["result"] if "result" in used else []))


# -- Function generation -----------------------------------------------------------------------

_OPERAND_PREP = {
    "same": "{a}._data",
    "bool": "{a}._data",
    "float": "_float_array({a})",
}


def _float_array(x: Tensor) -> np.ndarray:
    """The data in the dtype a floating op computes in (integers become the default float)."""
    data = x._data
    if data.dtype.kind == "f":
        return data
    return data.astype(dtypes.get_default_dtype().numpy, copy=False)


def _float_pair(a: Tensor, b: Tensor):
    result = dtypes.result_type(a, b)
    if not result.is_floating_point:
        result = dtypes.get_default_dtype()
    return same_dtype_arrays(a, b, result)


def _compile(expr: str, params: tuple, namespace: dict, label: str):
    return eval(compile(f"lambda {', '.join(params)}: {expr}", f"<{label}>", "eval"), namespace)


def _build_function(op: Op) -> type:
    """Generate the op's ``Function``: a forward that calls the kernel and saves what the
    derivatives read, and a backward that evaluates them (see the module docstring)."""
    inputs = [a.name for a in op.inputs]
    attrs = [a.name for a in op.attrs]
    saved = saved_names(op)
    kept = [a for a in attrs if a not in op.forward_only] + list(op.keeps) + list(op.intermediates)
    params = ("grad",) + saved + tuple(kept)
    env = dict(ARRAY_NS)  # the array forms of the derivatives are inlined: they read these names
    _ARRAY_SCOPES.append(env)
    env.update({"_wrap": _wrap, "_k": _kernels, "np": np, "_float_array": _float_array, "_pair": same_dtype_arrays,
                "_float_pair": _float_pair, "_grad_mode": _grad_mode, "_quiet": _errstate.quiet,
                "_restore": _errstate.restore})

    # forward
    if op.dtype in ("promote", "promote_float"):
        arrays = ["*" + ("_pair" if op.dtype == "promote" else "_float_pair") + f"({', '.join(inputs)})"]
    elif op.dtype == "tensor":
        arrays = list(inputs)
    else:
        arrays = [_OPERAND_PREP[op.dtype].format(a=a.name) if a.type != "Tensor?" else
                  f"(None if {a.name} is None else {_OPERAND_PREP[op.dtype].format(a=a.name)})" for a in op.inputs]
    if op.kernel:
        call = f"_k.{op.kernel}({', '.join(arrays + attrs)})"
    else:
        env["_forward"] = _compile(op.forward, tuple(inputs + attrs), ARRAY_NS, op.name)
        call = f"_forward({', '.join(arrays + attrs)})"
    body = ["def forward(ctx, " + ", ".join(inputs + attrs) + "):"]
    compute = [f"result = _wrap({call})"]
    if op.intermediates:  # kept on the node as the forward returns them, after its result
        compute = [f"result, {', '.join(f'ctx.{name}' for name in op.intermediates)} = {call}",
                   "result = _wrap(result)"]
    if op.quiet:
        compute = ["_q = _quiet()", "try:"] + ["    " + line for line in compute] + ["finally:", "    _restore(_q)"]
    fuse = _fusion.install(op, env)
    if fuse:  # a large or pending input: a lazy result, computed with its chain (pygrad/fusion)
        # Only the first input is looked at here (one compiled test keeps small ops fast).
        body.append(f"    result = _lazy(ctx, ({''.join(a + ', ' for a in inputs)}), "
                    f"({''.join(a + ', ' for a in attrs)})) if _fz_gate({inputs[0]}) else None")
        body.append("    if result is None:")
        compute = ["    " + line for line in compute]
    body += ["    " + line for line in compute]
    body += [f"    ctx.{a} = {a}" for a in attrs if a not in op.forward_only]
    for name, expr in op.keeps.items():  # over the forward's Tensors, attributes and result, as named here
        body.append(f"    ctx.{name} = {expr}")
    if saved:
        # An input is saved only when the gradient of an input that needs one reads it.
        users = {name: [i for i, a in enumerate(inputs) if name in _derivative_names(op, a)] for name in saved}
        items = [name if len(users[name]) == len(inputs) else
                 f"({name} if {' or '.join(f'_n[{i}]' for i in users[name])} else None)" for name in saved]
        if items != list(saved):
            body.append("    _n = ctx.needs_input_grad")
        body.append(f"    ctx.save_for_backward({', '.join(items)},)")
    body.append("    return result")

    if op.node is not None:
        body += [""] + _backward_source(op, inputs, kept, len(attrs), saved, params, env, fuse)
    source = "\n".join(body)
    exec(compile(source, f"<optable {op.name}>", "exec"), env)
    namespace = {"forward": staticmethod(env["forward"]), "__module__": "pygrad.ops.optable",
                 "_op": op, "_source": source}
    if op.node is not None:
        namespace["_backward_name"] = op.node
        namespace["backward"] = staticmethod(env["backward"])
        jvp = _build_jvp(op, inputs, kept)
        if jvp is not None:  # else forward mode names the op as lacking a rule
            namespace["jvp"] = staticmethod(jvp)
    else:
        namespace["_backward_name"] = "NotImplemented"
        namespace["backward"] = staticmethod(_not_differentiable(op.aten or op.name))
    cls_name = "".join(part.title() for part in op.name.split("_"))
    fn = type(cls_name, (Function,), namespace)
    if op.node is not None:  # PyTorch's grad_fn._saved_<name> (autograd/function.py)
        fn._backward_cls._saved_names = saved
        fn._backward_cls._saved_attrs = tuple(a for a in attrs if a not in op.forward_only)
    if fuse:
        _fusion.register(fn)
    _install_compiled_apply(fn, op, env)
    if op.node is not None:
        _install_compiled_backward(fn, op, inputs, attrs, saved, params, env)
    return fn


# The compiled engine's ``Fn.apply`` for the common case of an op (``_native/dispatch.pyx``).
_TableOp = getattr(_backend.engine, "TableOp", None) if _backend.core.__name__.endswith("_native.core") else None
# The compiled kernels that never give NumPy's floating-point warnings (their loops raise none, their
# NumPy calls run quietly): the compiled path of an op that is one of them needs no quiet error state.
_SILENT_KERNELS = getattr(_backend.kernels, "SILENT_KERNELS", frozenset()) if _TableOp is not None else frozenset()


def _install_compiled_apply(fn: type, op: Op, env: dict) -> None:
    """Give ``fn`` the compiled ``apply`` when its generated forward is one the compiled path
    reproduces: a kernel (or forward expression) on the inputs' arrays, the attributes,
    intermediates and kept values on the node and the saved tensors; the rest (optional inputs,
    bool results) stays with the generated forward."""
    inputs = op.inputs
    if (_TableOp is None or op.node is None
            or not 1 <= len(inputs) <= 8 or any(a.type not in ("Tensor", "TensorLike") for a in inputs)
            or op.dtype not in ("same", "float", "promote", "promote_float", "tensor")
            or (op.dtype.startswith("promote") and len(inputs) != 2)):
        return
    names = [a.name for a in inputs]
    saves = []
    for name in saved_names(op):
        users = sum(1 << i for i, a in enumerate(names) if name in _derivative_names(op, a))
        saves.append((-1 if name == "result" else names.index(name), users))
    attrs = tuple(a.name for a in op.attrs)
    stored = tuple(None if a in op.forward_only else a for a in attrs)  # (what the node keeps, as forward)
    call = getattr(_kernels, op.kernel) if op.kernel else _forward_callee(op.forward, tuple(names) + attrs) \
        or env["_forward"]
    keeps = None
    if op.keeps:  # one function of the forward's Tensors, attributes and result, as the forward names them
        keeps = (tuple(op.keeps), _compile(f"({''.join(e + ', ' for e in op.keeps.values())})",
                                           tuple(names) + attrs + ("result",), env, f"{op.name} keeps"))
    quiet = op.quiet and op.kernel not in _SILENT_KERNELS  # plain arithmetic pays for no error state
    fn.apply = _TableOp(fn, call, len(inputs), stored, op.dtype, tuple(saves), quiet, op.intermediates, keeps)


def _direct_call(text: str, params: tuple, namespace: dict):
    """``(function, positions)`` when ``text`` is one call of a ``namespace`` function on some of
    ``params`` (by name; ``positions`` indexes ``params``), so it can be called without a frame
    of its own; else None."""
    call = ast.parse(text, mode="eval").body
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords
            and call.func.id in namespace and call.func.id not in params
            and all(isinstance(p, ast.Name) and p.id in params for p in call.args)):
        return namespace[call.func.id], tuple(params.index(p.id) for p in call.args)
    return None


def _forward_callee(text: str, params: tuple):
    """The function a forward expression is, when it is one call of a helper on all the
    forward's arguments in order (``nll_forward(self, target, ...)``); else None.  Not a
    backend kernel, which ARRAY_NS rebinds when the backend changes."""
    direct = _direct_call(text, params, ARRAY_NS)
    if direct is None or direct[1] != tuple(range(len(params))):
        return None
    fn = direct[0]
    return None if any(fn is value for value in vars(_kernels).values()) else fn


def _install_compiled_backward(fn: type, op: Op, inputs, attrs, saved, params, env: dict) -> None:
    """Give the node class the array form of the backward for the compiled engine: per argument
    None, ``"grad"``, or a function and the positions in ``params`` of its arguments (a kernel
    called directly when the derivative is one call of it on the parameters)."""
    if _TableOp is None:
        return
    derivatives = []
    for a in inputs:
        expr = op.derivatives.get(a)
        if expr is None or expr == "grad":
            derivatives.append(expr)
            continue
        text = op.fused.get(a, expr)
        derivatives.append(_direct_call(text, params, env)
                           or (_compile(text, params, env, f"d{op.name}/d{a}"), tuple(range(len(params)))))
    derivatives += [None] * len(attrs)
    # Not quiet itself: the engine runs the whole pass with NumPy's warnings off (autograd/engine.py).
    fn._backward_cls._table_backward = _backend.engine.TableBackward(
        len(derivatives), len(saved), tuple(params[1 + len(saved):]), tuple(derivatives), False)


def install_array_backward(fn: type, derivatives: tuple, kept: tuple = ()) -> None:
    """Give the node of a hand-written ``Function`` the array backward the compiled engine runs
    without a Python frame (as ``_install_compiled_backward`` gives a table op's): one entry per
    forward argument, None or ``(function, sources)``, the function called on the gradient's array
    (source 0) and the node attributes named in ``kept`` (sources 1, 2, ...)."""
    if _TableOp is not None:
        fn._backward_cls._table_backward = _backend.engine.TableBackward(len(derivatives), 0, kept, derivatives,
                                                                         False)


def _backward_source(op: Op, inputs, kept, n_attrs: int, saved, params, env, fuse=False) -> list[str]:
    """``backward(ctx, grad)``: under create_graph the Tensor form of each derivative, else the
    array form (or its fused kernel) inlined, one gradient per forward argument.  A fusible op
    first offers a large gradient to the fused backward (pygrad/fusion/backward.py)."""
    lines = ["def backward(ctx, grad):"]
    if fuse:
        lines += ["    if _fz_gate(grad):",
                  "        _f = _fused_backward(ctx, grad)",
                  "        if _f is not None:",
                  "            return _f"]
    if saved:
        lines.append(f"    {', '.join(saved)}, = ctx.saved_tensors")
    lines += [f"    {a} = ctx.{a}" for a in kept]
    lines.append("    _n = ctx.needs_input_grad")
    args = ", ".join(params)
    tensor_grads, array_grads = [], []
    for i, a in enumerate(inputs):
        if a not in op.derivatives:
            tensor_grads.append("None")
            array_grads.append("None")
            continue
        expr = op.derivatives[a]
        if expr == "grad":  # passed on as it is, in both modes
            tensor_grads.append(f"(_g if _n[{i}] else None)")
            array_grads.append(f"(_g if _n[{i}] else None)")
            continue
        env[f"_T{i}"] = _compile(expr, params, TENSOR_NS, f"d{op.name}/d{a}")
        tensor_grads.append(f"(_T{i}({args}) if _n[{i}] else None)")
        array_grads.append(f"(_wrap({op.fused.get(a, expr)}) if _n[{i}] else None)")
    nones = ", None" * n_attrs
    if tensor_grads == array_grads:  # nothing to compute: the gradient passes (sign-free ops like add)
        return lines + ["    _g = grad", f"    return ({', '.join(tensor_grads)}{nones},)"]
    lines += ["    _g = grad", "    if _grad_mode.enabled:", f"        return ({', '.join(tensor_grads)}{nones},)",
              "    grad = grad._data"]
    for s in saved:
        # The arrays in the gradient's dtype (an integer input of a floating op; the result has it).
        indent = "    "
        if _conditionally_saved(op, s, inputs) or _optional(op, s):
            lines.append(f"    if {s} is not None:")
            indent = "        "
        lines.append(f"{indent}{s} = {s}._data")
        if s != "result":
            lines += [f"{indent}if {s}.dtype is not grad.dtype:", f"{indent}    {s} = {s}.astype(grad.dtype)"]
    ret = f"return ({', '.join(array_grads)}{nones},)"
    if backward_quiet(op):
        lines += ["    _q = _quiet()", "    try:", "        " + ret, "    finally:", "        _restore(_q)"]
    else:
        lines.append("    " + ret)
    return lines


def backward_quiet(op: Op) -> bool:
    """The array derivatives run with floating-point warnings silenced (an expression, not a kernel)
    when called outside the engine's pass, which is quiet as a whole."""
    return op.quiet or any(a not in op.fused and op.derivatives[a] != "grad" for a in op.derivatives)


def _build_jvp(op: Op, inputs, kept):
    """``jvp(ctx, *tangents)``: the outputs' tangent from the inputs' (None where an input has none),
    evaluated with pygrad's functions, so it is differentiable like the create_graph backward.
    Its expressions read what the derivatives read: the inputs, ``result`` and what the node keeps."""
    rule = op.jvp or ("auto_element_wise" if op.elementwise else None)
    if rule is None:
        return None
    n = len(inputs)
    if rule in _SHARED_RULES:
        return _SHARED_RULES[rule]
    if rule == "auto_linear":
        def jvp(ctx, *tangents):
            args = ctx._fw_args
            parts = [_zeros_of(a) if t is None else t for a, t in zip(args[:n], tangents)]
            return _fit_tangent(ctx, ctx._forward_cls.apply(*parts, *args[n:]))
        return jvp
    params = tuple(inputs) + ("result",) + tuple(kept)

    def values(ctx):
        return ctx._fw_args[:n] + (ctx._fw_outputs[0],) + tuple(getattr(ctx, k) for k in kept)
    if rule == "auto_element_wise":
        terms = [(i, _compile(op.derivatives[a], ("grad",) + params, TENSOR_NS, f"jvp {op.name}/{a}"))
                 for i, a in enumerate(inputs) if a in op.derivatives]

        def jvp(ctx, *tangents):
            args = values(ctx)
            total = None
            for i, term in terms:
                if tangents[i] is not None:
                    t = term(tangents[i], *args)
                    total = t if total is None else total + t
            return _fit_tangent(ctx, total)
        return jvp
    rule_fn = _compile(rule, tuple(f"{a}_t" for a in inputs) + params, TENSOR_NS, f"jvp {op.name}")

    def jvp(ctx, *tangents):
        args = values(ctx)
        filled = [_zeros_of(a) if t is None and a is not None else t for a, t in zip(args[:n], tangents)]
        return _fit_tangent(ctx, rule_fn(*filled, *args))
    return jvp


# Rules written once in autograd/forward_ad.py for the ops of a kind (the hand-written ones use them too).
_SHARED_RULES = {"multilinear": forward_ad.multilinear_jvp, "weighted": forward_ad.weighted_jvp}


def _zeros_of(t: Tensor) -> Tensor:
    return _wrap(np.zeros(t._data.shape, t._data.dtype))


def _fit_tangent(ctx, tangent):
    """A tangent in its output's shape and dtype (a term may have had an input's shape: ``zeros_like``)."""
    if tangent is None:
        return None
    out = ctx._fw_outputs[0]._data
    if tangent._data.shape != out.shape:
        tangent = tangent.expand(out.shape)
    if tangent._data.dtype != out.dtype:
        tangent = tangent.to(dtypes.from_numpy(out.dtype))
    return tangent


def _optional(op: Op, name: str) -> bool:
    return any(a.name == name and a.type == "Tensor?" for a in op.args)


def _conditionally_saved(op: Op, name: str, inputs) -> bool:
    return sum(name in _derivative_names(op, a) for a in inputs) != len(inputs)


def _derivative_names(op: Op, input_name: str) -> set[str]:
    names = set(op.saves)
    if input_name in op.derivatives:
        names |= _names_in(op.derivatives[input_name])
    if input_name in op.fused:
        names |= _names_in(op.fused[input_name])
    return names


def _not_differentiable(name: str):
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{name} is not implemented")
    return backward


# -- wrapper generation --------------------------------------------------------------------------

_NO = object()  # "not given", for the aliases
_ALIASES = {"dim": "axis", "keepdim": "keepdims"}  # PyTorch's NumPy-style spellings


def _exposed(args, first: str) -> list[str]:
    """The parameter names as users write them: the schema's ``self`` is ``input`` in functions."""
    return [first if i == 0 and a.name == "self" else a.name for i, a in enumerate(args)]


def _alias_may_replace(args, names, i: int) -> bool:
    """A required argument with a NumPy-style alias may be left out when the alias is given
    (only where no required positional argument follows it)."""
    return names[i] in _ALIASES and all(a.kwonly or a.default is not None for a in args[i + 1:])


def _params(args, names, with_out: bool, extra: bool) -> str:
    parts, star = [], False
    if _varargs_size(args):  # zeros(2, 3), zeros((2, 3)) and zeros(size=(2, 3))
        parts, star = ["*_size", "size=_NO"], True
        args, names = args[1:], names[1:]
    for i, (a, name) in enumerate(zip(args, names)):
        if a.kwonly and not star:
            parts.append("*")
            star = True
        if a.default is None and _alias_may_replace(args, names, i):
            parts.append(f"{name}=_NO")  # given as its alias (``cumsum(axis=0)``) or checked as missing
        else:
            parts.append(name if a.default is None else f"{name}={a.default}")
    kw = ["out=None"] if with_out else []
    kw += [f"{alias}=_NO" for key, alias in _ALIASES.items() if key in names]
    if kw and not star:
        parts.append("*")
    parts += kw
    if extra:
        parts.append("**_extra")
    return ", ".join(parts)


def make_wrapper(name: str, args, call: str, env: dict, *, method: bool, with_out: bool,
                 overloads: tuple = ()) -> object:
    """Generate ``def name(<PyTorch's parameters>): return <call>``, with ``out=``, the
    ``axis``/``keepdims`` aliases and the Tensor checks of PyTorch's argument parser."""
    names = _exposed(args, "self" if method else "input")
    lines = [f"def {name}({_params(args, names, with_out, bool(overloads))}):"]
    if _varargs_size(args):
        lines += ["    if size is not _NO:", "        if _size:",
                  "            raise TypeError(" + repr(f"{name}() got multiple values for argument 'size'") + ")",
                  "        _size = (size,)"]
    if overloads:  # PyTorch lists what was passed: the arguments not left at their defaults
        given = [f"{n}" if a.default is None else f"*(() if {n} is {a.default} else ({n},))"
                 for n, a in zip(names, args) if not a.kwonly]
        lines.append("    if _extra:")
        lines.append(f"        raise _invalid({name!r}, _OVERLOADS, ({', '.join(given)},), _extra)")
        env["_OVERLOADS"] = overloads
    for key, alias in _ALIASES.items():
        if key in names:
            lines.append(f"    if {alias} is not _NO:")
            lines.append(f"        {key} = {alias}")
            i = names.index(key)
            if args[i].default is None and _alias_may_replace(args, names, i):
                lines.append(f"    if {key} is _NO:")
                lines.append("        raise TypeError(" + repr(f"{name}() missing 1 required positional "
                                                            f"argument: '{key}'") + ")")
    position = 0
    for i, (a, pname) in enumerate(zip(args, names)):
        if a.kwonly or (method and i == 0):
            continue
        position += 1
        if a.type == "Tensor":
            lines.append(f"    if not isinstance({pname}, Tensor):")
            lines.append(f"        raise _must_be({name!r}, {pname!r}, {position}, {pname})")
    lines += ["    try:", f"        _r = {call}", "    except _per_sample.errors:"]
    if _varargs_size(args):
        lines.append("        raise")
    else:  # under vmap, an op whose code reads a batched tensor's values runs once per sample
        given = ", ".join(f"{n!r}: {n}" for n in names + (["out"] if with_out else []))
        lines.append(f"        return _per_sample.run({name!r}, {name}, {{{given}}})")
    if with_out:
        lines.append("    if out is not None:")
        lines.append(f"        return _write_out(out, _r, {name!r})")
    lines.append("    return _r")
    source = "\n".join(lines)
    env.update({"Tensor": Tensor, "_must_be": must_be_tensor, "_write_out": write_out, "_NO": _NO,
                "_invalid": invalid_combination, "_per_sample": per_sample})
    exec(compile(source, f"<optable wrapper {name}>", "exec"), env)
    fn = env[name]
    fn.__module__ = "pygrad"
    fn._source = source
    return fn


class per_sample:
    """What the generated functions do when op code reads the values of a tensor that has none
    (a batched tensor under ``vmap``): ``pygrad.func`` sets the errors that mean it and
    ``run(name, fn, arguments)``, which calls ``fn`` once per sample."""

    errors: tuple = ()
    run = None


def _varargs_size(args) -> bool:
    return bool(args) and args[0].name == "size" and args[0].type == "int[]"


def op_callables(op: Op, inplace_fn) -> dict:
    """The function, method, in-place method and nn.functional entry of a table op."""
    env = {"_Fn": op.fn, "_impl": op.impl, "_calls": op.calls, "_binary": binary_operands, "_inplace": inplace_fn,
           **op.env}
    args = op.args

    def call(first: str) -> str:
        names = _exposed(args, first)
        if op.calls is not None:
            positional = [n for n, a in zip(names, args) if not a.kwonly]
            if _varargs_size(args):
                positional[0] = "*_size"
            keywords = [f"{n}={n}" for n, a in zip(names, args) if a.kwonly]
            return f"_calls({', '.join(positional + keywords)})"
        if op.impl is not None:
            return f"_impl(_Fn, {', '.join([names[0]] + [f'{n}={n}' for n in names[1:]])})"
        if len(op.inputs) == 2 and op.dtype in ("promote", "promote_float"):
            return f"_Fn.apply(*_binary({names[0]}, {names[1]}){''.join(', ' + n for n in names[2:])})"
        return f"_Fn.apply({', '.join(names)})"

    made = {}
    if op.function:
        made["function"] = make_wrapper(op.name, args, call("input"), dict(env), method=False, with_out=op.out,
                                        overloads=op.overloads)
    if op.functional:
        made["functional"] = make_wrapper(op.name, args, call("input"), dict(env), method=False, with_out=False)
    if op.method:
        made["method"] = make_wrapper(op.name, args, call("self"), dict(env), method=True, with_out=False)
    if op.inplace:
        names = _exposed(args, "self")
        inplace_call = f"_inplace(_Fn, {', '.join(names)})"
        if op.impl is not None:
            from .inplace import inplace_impl
            env["_inplace_impl"] = inplace_impl
            inplace_call = f"_inplace_impl(_impl, _Fn, self{''.join(f', {n}={n}' for n in names[1:])})"
        elif len(op.inputs) == 2:
            rest = "".join(f", {n}" for n in names[2:])
            inplace_call = f"_inplace(_Fn, self, _binary(self, {names[1]})[1]{rest}, read=({names[1]},))"
        made["inplace"] = make_wrapper(op.name + "_", args, inplace_call, dict(env), method=True, with_out=False)
    if op.inplace_function:  # pygrad.sin_(x) is x.sin_(); each alias calls its own method
        names = _exposed(args, "input")
        rest = ", ".join(n if not a.kwonly else f"{n}={n}" for n, a in zip(names[1:], args[1:]))
        made["inplace_function"] = {
            alias: make_wrapper(alias + "_", args, f"{names[0]}.{alias}_({rest})", dict(env), method=False,
                                with_out=False)
            for alias in (op.name,) + op.aliases}
    for spec in op.operators:
        dunder, _, kind = spec.partition("=")
        if kind == "method":
            made[dunder] = made.get("method") or make_wrapper(op.name, args, call("self"), dict(env), method=True,
                                                              with_out=False)
        elif isinstance(op.fn.__dict__.get("apply"), _TableOp or ()):  # the common binary case, compiled
            made[dunder] = op.fn.apply.operator(binary_operands, dunder)
        else:  # the common binary case, with no argument handling to do
            code = f"def {dunder}(self, other):\n    return _Fn.apply(*_binary(self, other))"
            scope = dict(env)
            exec(compile(code, f"<optable {dunder}>", "exec"), scope)
            made[dunder] = scope[dunder]
    return made


def register(op: Op) -> None:
    """Build the op's Function (none for a composite: an ``impl`` only) and tell explain/viz
    about its node."""
    if op.kernel is None and op.forward is None:
        return
    op.fn = _build_function(op)
    if op.node is None:
        return
    saved = saved_names(op)
    all_inputs_saved = all(a.name in saved for a in op.inputs)
    recompute = None
    if all_inputs_saved and op.kernel:
        kernel, n = op.kernel, len(op.inputs)

        def recompute(node, *arrays, _kernel=kernel, _n=n):
            if op.dtype == "float":
                arrays = [a if a.dtype.kind == "f" else a.astype(dtypes.get_default_dtype().numpy) for a in arrays]
            return getattr(_kernels, _kernel)(*arrays[:_n], *(getattr(node, a.name) for a in op.attrs))
    register_node(op.node, NodeMeta(saved=saved, rule=op.rule, elementwise=op.elementwise,
                                    recompute=recompute, recompute_from=tuple(a.name for a in op.inputs)))


METHODS: list[str] = []  # the Tensor methods the table installs (for the type declarations)


def install(ops, inplace_fn) -> tuple[dict, dict]:
    """Build every op of ``ops``, install its methods on Tensor, and return its public functions
    (``pygrad.*``, ``pygrad.nn.functional.*``) by name."""
    functions, functional = {}, {}
    for op in ops:
        register(op)
        made = op_callables(op, inplace_fn)
        for name in (op.name,) + op.aliases:
            if "function" in made:
                functions[name] = made["function"]
            if "method" in made:
                setattr(Tensor, name, made["method"])
                METHODS.append(name)
            if "inplace" in made:
                setattr(Tensor, name + "_", made["inplace"])
                METHODS.append(name + "_")
            if "inplace_function" in made:
                functions[name + "_"] = made["inplace_function"][name]
        for spec in op.operators:
            dunder = spec.partition("=")[0]
            setattr(Tensor, dunder, made[dunder])
            METHODS.append(dunder)
        if "functional" in made:
            functional[op.name] = made["functional"]
    TENSOR_NS.update(functions)
    return functions, functional
