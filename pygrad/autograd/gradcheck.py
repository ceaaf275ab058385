"""Numerical gradient checks: analytical Jacobians against central differences."""
from __future__ import annotations

import numpy as np

from . import grad_mode

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical and a numerical Jacobian disagree."""


def _tensors(inputs):
    from ..tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    return inputs, [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]


def _outputs(func, inputs):
    from ..tensor import Tensor
    out = func(*inputs)
    out = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in out if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _numerical(func, inputs, wrt, eps):
    """d out / d in by central differences, one (out, in) block per pair: shape (out.size, in.size)."""
    with grad_mode.no_grad():
        n_out = [o._data.size for o in _outputs(func, inputs)]
        blocks = [[np.zeros((m, t._data.size)) for t in wrt] for m in n_out]
        for j, t in enumerate(wrt):
            flat = t._data.reshape(-1) if t._data.flags.c_contiguous else None
            if flat is None:
                raise ValueError("gradcheck needs contiguous inputs to perturb; call .contiguous() first")
            for k in range(flat.size):
                orig = flat[k].copy()
                flat[k] = orig + eps
                plus = [o._data.astype(np.float64).ravel() for o in _outputs(func, inputs)]
                flat[k] = orig - eps
                minus = [o._data.astype(np.float64).ravel() for o in _outputs(func, inputs)]
                flat[k] = orig
                for i in range(len(n_out)):
                    blocks[i][j][:, k] = (plus[i] - minus[i]) / (2 * eps)
    return blocks


def _analytical(func, inputs, wrt):
    """d out / d in by backpropagating every unit vector of every output."""
    from ..tensor import Tensor
    from .engine import grad as autograd_grad
    outs = _outputs(func, inputs)
    blocks = [[np.zeros((o._data.size, t._data.size)) for t in wrt] for o in outs]
    for i, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o._data.size):
            unit = np.zeros(o._data.size, o._data.dtype)
            unit[r] = 1
            grads = autograd_grad(o, wrt, Tensor._wrap(unit.reshape(o._data.shape)),
                                  retain_graph=True, allow_unused=True)
            for j, g in enumerate(grads):
                if g is not None:
                    blocks[i][j][r, :] = g._data.astype(np.float64).ravel()
    return blocks


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **unused) -> bool:
    """Check the gradients of ``func`` at ``inputs`` (float64 tensors that require grad)."""
    inputs, wrt = _tensors(inputs)
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of "
                         "the them have requires_grad=True.")
    for t in wrt:
        if t.dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{inputs.index(t)} requires gradient and is not a double precision "
                          "floating point. This check will likely fail if all the inputs are not of double "
                          "precision floating point.", UserWarning, stacklevel=2)
    numerical = _numerical(func, inputs, wrt, eps)
    analytical = _analytical(func, inputs, wrt)
    out_shapes = [o._data.shape for o in _outputs(func, inputs)]
    for i, (num_row, ana_row) in enumerate(zip(numerical, analytical)):
        for j, (num, ana) in enumerate(zip(num_row, ana_row)):
            bad = ~np.isclose(ana, num, rtol=rtol, atol=atol, equal_nan=True)
            if bad.any():
                msg = _mismatch_report(i, j, num, ana, bad, out_shapes[i], wrt[j]._data.shape, atol, rtol)
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _mismatch_report(i: int, j: int, num, ana, bad, out_shape, in_shape, atol, rtol) -> str:
    """PyTorch's first line, then the worst entry by name: which output and input elements differ most."""
    with np.errstate(invalid="ignore"):
        err = np.abs(ana - num)
    err = np.where(np.isnan(err), np.inf, err)  # a NaN on one side only is the worst kind of mismatch
    err[~bad] = -1
    r, k = np.unravel_index(np.argmax(err), err.shape)
    out_index = tuple(int(v) for v in np.unravel_index(r, out_shape)) if out_shape else ()
    in_index = tuple(int(v) for v in np.unravel_index(k, in_shape)) if in_shape else ()
    return (f"Jacobian mismatch for output {i} with respect to input {j},\n"
            f"worst entry: d output{i}{list(out_index)} / d input{j}{list(in_index)} is "
            f"{float(ana[r, k])!r} analytically but {float(num[r, k])!r} numerically "
            f"(difference {float(err[r, k]):.6g}); {int(bad.sum())} of {bad.size} entries differ beyond "
            f"atol={atol}, rtol={rtol}.\n"
            f"numerical:{num}\nanalytical:{ana}\n")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **unused) -> bool:
    """Check second derivatives: gradcheck of the function ``inputs -> vjp(func, inputs, v)``."""
    from ..tensor import Tensor
    from .engine import grad as autograd_grad
    inputs, wrt = _tensors(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype))
                        .requires_grad_() for o in outs]
    grad_outputs = list(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        # Needs grad mode even when called by the numerical differences (which run under no_grad).
        with grad_mode.enable_grad():
            ins, vs = args[:n], args[n:]
            outs = _outputs(func, ins)
            pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            targets = [t for t in ins if isinstance(t, Tensor) and t.requires_grad]
            grads = autograd_grad([o for o, _ in pairs], targets, [v for _, v in pairs], create_graph=True,
                                  allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
