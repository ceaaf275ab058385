"""The autograd API: higher-order derivatives, hooks, retain_grad, graph introspection,
custom Functions and gradcheck; each compared with what PyTorch prints."""
import math
import warnings

import numpy as np
import pytest

import pygrad
from pygrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck

from op_table import CORE_OPS
from op_table_math import MATH_OPS


def _grad_fn_name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


# -- higher-order derivatives ----------------------------------------------------------------

def _derivatives(m, f, x0, order):
    x = m.tensor(x0, dtype=m.float64, requires_grad=True)
    y = f(x)
    out = []
    for k in range(order):
        (y,) = m.autograd.grad(y.sum(), x, create_graph=k < order - 1)
        out.append(y)
    return out


@pytest.mark.parametrize("name,f,exact", [
    ("cube", lambda x: x ** 3, lambda x: [3 * x ** 2, 6 * x, 6.0 + 0 * x]),
    ("sin", lambda x: x.sin(), lambda x: [np.cos(x), -np.sin(x), -np.cos(x)]),
    ("exp_mul", lambda x: (2 * x).exp(), lambda x: [2 * np.exp(2 * x), 4 * np.exp(2 * x), 8 * np.exp(2 * x)]),
    ("tanh", lambda x: x.tanh(), lambda x: [1 - np.tanh(x) ** 2, -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                                            (-2 + 6 * np.tanh(x) ** 2) * (1 - np.tanh(x) ** 2)]),
    ("log", lambda x: x.log(), lambda x: [1 / x, -1 / x ** 2, 2 / x ** 3]),
])
def test_third_derivatives(name, f, exact):
    x0 = [0.5, 1.25, 2.0]
    got = _derivatives(pygrad, f, x0, 3)
    for g, e in zip(got, exact(np.array(x0))):
        np.testing.assert_allclose(g.numpy(force=True), e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f", [lambda x: x ** 3, lambda x: x.sin(), lambda x: x.exp() * x,
                               lambda x: x.softmax(0) * x, lambda x: x.sigmoid().log()],
                         ids=["cube", "sin", "exp_mul", "softmax_mul", "log_sigmoid"])
def test_derivatives_print_like_torch(f, torch):
    ours = _derivatives(pygrad, f, [0.5, 2.0], 3)
    ref = _derivatives(torch, f, [0.5, 2.0], 3)
    if not any("BackwardBackward" in str(_grad_fn_name(t)) for t in ref):  # torch's own double-backward nodes
        assert [_grad_fn_name(t) for t in ours] == [_grad_fn_name(t) for t in ref]
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CORE_OPS + MATH_OPS if c.twice_differentiable],
                         ids=[c.name for c in CORE_OPS + MATH_OPS if c.twice_differentiable])
def test_second_derivative_of_every_op_matches_torch(case, rng, torch):
    """d/dx of (sum of the first derivative along a random direction), for every op of both tables."""
    arrays = case.inputs(rng)
    results = []
    for m in (pygrad, torch):
        xs = [m.tensor(a, requires_grad=True) for a in arrays]
        out = case.fn(m, *xs)
        v = m.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape)))
        firsts = m.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
        total = sum((f * f).sum() for f in firsts if f is not None and f.requires_grad)
        if isinstance(total, m.Tensor):
            seconds = m.autograd.grad(total, xs, allow_unused=True)
        else:  # no first derivative depends on the inputs
            seconds = [None] * len(xs)
        # A missing second derivative is zero (torch sometimes builds a graph that only yields zeros).
        results.append([np.zeros(a.shape) if s is None else s.numpy() for s, a in zip(seconds, arrays)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-10)  # cancellation in the *500 softmax cases


def test_backward_create_graph_gives_grad_a_grad_fn(torch, create_graph_warning):
    out, warned = [], []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0, -1.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (x ** 3).sum().backward(create_graph=True)
        warned.append(sum("reference cycle" in str(w.message) for w in caught))
        first = repr(x.grad)
        x.grad.sum().backward()
        second = repr(x.grad)
        out.append((first, second))
    assert out[0] == out[1] == ("tensor([ 3., 12.,  3.], grad_fn=<CopyBackwards>)",
                                "tensor([ 9., 24., -3.], grad_fn=<CopyBackwards>)")
    assert warned[0] == 1 and warned[1] <= 1  # torch's comes once per process: an earlier test may have had it


def _create_graph_cycle_warnings(module: str) -> int:
    """How many times a fresh process using ``module`` warns about three create_graph backwards."""
    import subprocess
    import sys
    script = (f"import warnings, {module}\n"
              "warnings.simplefilter('always')\n"
              "for i in range(3):\n"
              f"    x = {module}.tensor([1.0, 2.0], requires_grad=True)\n"
              "    (x ** 3).sum().backward(create_graph=True)\n"
              "    x.grad = None\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return done.stderr.count("reference cycle")


def test_create_graph_cycle_warning_comes_once_per_process():
    assert _create_graph_cycle_warnings("pygrad") == 1
    pytest.importorskip("torch")
    assert _create_graph_cycle_warnings("torch") == 1


def test_grad_of_grad_via_backward():
    x = pygrad.tensor([1.0, 2.0, -1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    assert repr(x.grad) == "tensor([ 6., 12., -6.])"


# -- hooks ---------------------------------------------------------------------------------

def test_leaf_hook_replaces_gradient_and_can_be_removed(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0, -1.0], requires_grad=True)
        h = x.register_hook(lambda g: g * 10)
        (x * m.tensor([2.0, -4.0, 1.0])).sum().backward()
        first = repr(x.grad)
        h.remove()
        x.grad = None
        (x * m.tensor([2.0, -4.0, 1.0])).sum().backward()
        out.append((first, repr(x.grad)))
    assert out[0] == out[1] == ("tensor([ 20., -40.,  10.])", "tensor([ 2., -4.,  1.])")


def test_non_leaf_hook_sees_and_changes_the_flowing_gradient():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    assert seen == [[6.0, 12.0]]
    assert x.grad.tolist() == [21.0, 39.0]


def test_hook_on_tensor_without_grad_raises(torch):
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            m.ones(2).register_hook(lambda g: g)


def test_retain_grad(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0, -1.0], requires_grad=True)
        a = x * 2
        a.retain_grad()
        b = x * 3
        (a * a + b).sum().backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b_grad = b.grad
        assert b_grad is None and len(caught) == 1 and ".grad attribute of a Tensor that is not a leaf" in str(
            caught[0].message)
        out.append((a.retains_grad, b.retains_grad, x.retains_grad, repr(a.grad), repr(x.grad)))
    assert out[0] == out[1] == (True, False, False, "tensor([ 4.,  8., -4.])", "tensor([11., 19., -5.])")


def test_node_hooks_and_prehooks(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        z = x * 2
        pre, post = [], []
        h1 = z.grad_fn.register_prehook(lambda go: pre.append(repr(go)))
        h2 = z.grad_fn.register_hook(lambda gi, go: post.append((repr(gi), repr(go))))
        z.sum().backward(retain_graph=True)
        h1.remove()
        h2.remove()
        z.sum().backward()
        out.append((pre, post))
    assert out[0] == out[1]
    assert out[0] == (["(tensor([1., 1.]),)"], [("(tensor([2., 2.]), None)", "(tensor([1., 1.]),)")])


def test_node_hook_can_replace_grad_inputs():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    z.grad_fn.register_hook(lambda gi, go: (gi[0] * 0 + 5, gi[1]))
    z.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_prehook_can_replace_grad_outputs():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    z.grad_fn.register_prehook(lambda go: (go[0] * 10,))
    z.sum().backward()
    assert x.grad.tolist() == [20.0, 20.0]


# -- graph introspection -----------------------------------------------------------------------

def test_next_functions_and_accumulate_grad(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        z = (x * 2).exp().sum()
        exp_node, nr = z.grad_fn.next_functions[0]
        mul_node = exp_node.next_functions[0][0]
        acc, _ = mul_node.next_functions[0]
        assert acc.variable is x
        out.append((z.grad_fn.name(), len(z.grad_fn.next_functions), exp_node.name(), nr, mul_node.name(),
                    mul_node.next_functions[1], type(acc).__name__, acc.name(), acc.next_functions))
    assert out[0] == out[1]
    assert out[0] == ("SumBackward0", 1, "ExpBackward0", 0, "MulBackward0", (None, 0), "AccumulateGrad",
                      "torch::autograd::AccumulateGrad", ())


@pytest.mark.parametrize("expr", ["x*2", "x+1", "2*x", "x.sum()", "x.sum(0)", "x.pow(2)", "x.exp()",
                                  "x.max()", "x.max(0).values", "x.softmax(0)", "x.clamp(0, 1)",
                                  "torch.where(x > 1, x, x * 2)", "x.mean()", "x.prod()", "x.norm()",
                                  "x ** torch.tensor(2.)", "x.var()", "x.cumsum(0)"])
def test_next_functions_shape_matches_torch(expr, torch):
    shapes = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        node = eval(expr, {"x": x, "torch": m}).grad_fn
        shapes.append((node.name(), tuple((None if f is None else f.name(), nr) for f, nr in node.next_functions)))
    assert shapes[0] == shapes[1]


def test_leaf_has_no_grad_fn_and_accumulates():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad_fn is None and x.is_leaf
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


# -- custom Functions ---------------------------------------------------------------------------

def _cube_class(m):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            ctx.save_for_backward(x)
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            ctx.seen_needs = ctx.needs_input_grad
            return g * 3 * x ** 2 * ctx.k, None
    return Cube


def test_custom_function_cube(torch):
    out = []
    for m in (pygrad, torch):
        Cube = _cube_class(m)
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = Cube.apply(x, 2.0)
        node = y.grad_fn
        y.sum().backward()
        out.append((repr(y), type(node).__name__, node.name(), node.seen_needs, repr(x.grad),
                    len(node.next_functions)))
    assert out[0] == out[1]
    assert out[0] == ("tensor([ 2., 16.], grad_fn=<CubeBackward>)", "CubeBackward", "CubeBackward",
                      (True, False), "tensor([ 6., 24.])", 1)


def test_custom_function_gradcheck_and_second_derivative():
    Cube = _cube_class(pygrad)
    x = pygrad.tensor([0.5, -1.5, 2.0], dtype=pygrad.float64, requires_grad=True)
    assert gradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    assert gradgradcheck(lambda t: Cube.apply(t, 1.5), (x,))


def _split_class(m):
    class Split(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x * 2, x * 3, idx

        @staticmethod
        def backward(ctx, ga, gb, gc):
            ctx.received = (ga is None, gb is None, gc is None)
            out = 0
            if ga is not None:
                out = out + 2 * ga
            if gb is not None:
                out = out + 3 * gb
            return out
    return Split


def test_multiple_outputs_non_differentiable_and_unmaterialized_grads(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        a, b, idx = _split_class(m).apply(x)
        node = a.grad_fn
        a.sum().backward()
        out.append((repr(a), repr(b), repr(idx), idx.requires_grad, node.received, repr(x.grad)))
        (a.sum() + b.sum()).backward()
        out.append((node.received, repr(x.grad)))
    assert out[0] == out[2] and out[1] == out[3]
    assert out[0][4] == (False, True, True)


def test_materialized_grads_are_zeros_by_default():
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            ctx.gb = gb
            return 2 * ga + 3 * gb

    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    node = a.grad_fn
    a.sum().backward()
    assert repr(node.gb) == "tensor([0., 0.])" and x.grad.tolist() == [2.0, 2.0]


def test_save_for_backward_of_an_output_and_version_check():
    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            r = x.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            r, = ctx.saved_tensors
            return g * r

    x = pygrad.tensor([0.0, 1.0], requires_grad=True)
    y = Exp.apply(x)
    assert type(y.grad_fn).__name__ == "ExpBackward"
    y.sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, math.e], rtol=1e-6)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="which is output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


def test_once_differentiable(torch):
    out = []
    for m in (pygrad, torch):
        from_mod = pygrad.autograd.once_differentiable if m is pygrad else torch.autograd.function.once_differentiable

        class Exp(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                r = x.exp()
                ctx.save_for_backward(r)
                return r

            @staticmethod
            @from_mod
            def backward(ctx, g):
                r, = ctx.saved_tensors
                return g * r

        x = m.tensor([0.0, 1.0], requires_grad=True)
        (g,) = m.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
        with pytest.raises(RuntimeError) as info:
            g.sum().backward()
        out.append((repr(g), g.requires_grad, str(info.value)))
    assert out[0] == out[1]


def test_non_tensor_arguments_get_none_gradients():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor, name):
            ctx.factor = factor
            ctx.name = name
            return x * factor

        @staticmethod
        def backward(ctx, g):
            assert ctx.name == "s"
            return g * ctx.factor, None, None

    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 4.0, "s").sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_wrong_number_of_gradients_is_an_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = pygrad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        Bad.apply(x, x).sum().backward()


def test_gradient_for_a_non_tensor_argument_is_an_error(torch):
    texts = []
    for m in (pygrad, torch):
        class Scale(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, g

        x = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            Scale.apply(x, 2.0).sum().backward()
        texts.append(str(info.value))
    assert texts[0] == texts[1] == ("function ScaleBackward returned a gradient different than None at position 2, "
                                    "but the corresponding forward input was not a Variable")


# -- gradcheck -------------------------------------------------------------------------------

class _WrongCube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x * pygrad.tensor([1.0, 1.0, 1.1], dtype=pygrad.float64)


def test_gradcheck_fails_on_a_wrong_backward_and_names_the_worst_entry():
    x = pygrad.tensor([0.5, -1.0, 2.0], dtype=pygrad.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_WrongCube.apply, (x,))
    text = str(info.value)
    assert text.startswith("Jacobian mismatch for output 0 with respect to input 0,\n")
    assert "worst entry: d output0[2] / d input0[2] is 13.2" in text
    assert "1 of 9 entries differ" in text
    assert gradcheck(_WrongCube.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_fails_on_a_wrong_double_backward():
    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2 * x.detach()  # right first derivative, but x.detach() hides the second

    x = pygrad.tensor([0.5, -1.0], dtype=pygrad.float64, requires_grad=True)
    assert gradcheck(WrongSquare.apply, (x,))
    assert gradgradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_passes_and_reports_nan_mismatch_clearly():
    x = pygrad.tensor([1.0, 4.0], dtype=pygrad.float64, requires_grad=True)
    assert gradcheck(lambda t: t.sqrt() * t, (x,))

    class NanGrad(Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    with pytest.raises(GradcheckError, match=r"is nan analytically but 1\.99999"):
        gradcheck(NanGrad.apply, (x,))


SAVED_CASES = {  # PyTorch's grad_fn._saved_<name>, on common ops
    "mul": lambda m, a, b: a * b,
    "mul_number": lambda m, a, b: a * 2.5,
    "div": lambda m, a, b: a / b,
    "pow_number": lambda m, a, b: a ** 3,
    "pow_tensor": lambda m, a, b: a.abs() ** b,
    "exp": lambda m, a, b: a.exp(),
    "tanh": lambda m, a, b: a.tanh(),
    "sigmoid": lambda m, a, b: a.sigmoid(),
    "log": lambda m, a, b: a.abs().log(),
    "sin": lambda m, a, b: a.sin(),
    "sqrt": lambda m, a, b: a.abs().sqrt(),
    "relu": lambda m, a, b: a.relu(),
    "mm": lambda m, a, b: a.reshape(2, 3) @ b.reshape(3, 2),
    "atan2": lambda m, a, b: m.atan2(a, b),
}


@pytest.mark.parametrize("name", sorted(SAVED_CASES))
def test_saved_attributes_of_grad_fn_as_torch(name, torch):
    """``grad_fn._saved_self`` / ``_saved_other`` / ``_saved_result`` / ``_saved_exponent``: what
    the node keeps, under PyTorch's names, the same values (None where it did not save)."""
    rng = np.random.default_rng(7)
    data_a, data_b = rng.uniform(-2, 2, 6), rng.uniform(0.5, 2, 6)
    found = []
    for m in (pygrad, torch):
        a = m.tensor(data_a, requires_grad=True)
        b = m.tensor(data_b, requires_grad=name != "mul")  # mul: other needs no grad, self is not saved
        y = SAVED_CASES[name](m, a, b)
        found.append(y.grad_fn)
    ours, theirs = found
    names = type(ours)._saved_names + type(ours)._saved_attrs
    assert names, name
    for key in names:
        mine, ref = getattr(ours, "_saved_" + key), getattr(theirs, "_saved_" + key)
        if ref is None or mine is None:
            assert mine is None and ref is None, key
        elif isinstance(ref, torch.Tensor):
            np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-12, err_msg=key)
        else:
            assert mine == ref and type(mine) is type(ref), key
    with pytest.raises(AttributeError, match=f"'{type(ours).__name__}' object has no attribute '_saved_nothing'"):
        ours._saved_nothing


def test_saved_attribute_after_backward_is_torchs_error(torch):
    messages = []
    for m in (pygrad, torch):
        y = m.tensor([1.0, 2.0], requires_grad=True).exp()
        y.sum().backward()
        with pytest.raises(RuntimeError) as info:
            y.grad_fn._saved_result
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_saved_number_is_the_callers_own_tensor():
    """``x * 2.5`` shares one tensor for 2.5 with other ops: ``_saved_other`` hands out its own,
    so marking it as requiring grad changes no other op."""
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    saved = (x * 2.5).grad_fn._saved_other
    assert saved.item() == 2.5 and not saved.requires_grad
    saved.requires_grad_()
    y = x * 2.5
    assert y.grad_fn.next_functions[1] == (None, 0)
    y.sum().backward()
    assert x.grad.tolist() == [2.5, 2.5]


def test_warnings_given_once_per_process_point_at_the_callers_line():
    """float() of a tensor that requires grad, x.T of a non-matrix and backward(create_graph=True)
    warn the first time only, at the line of the program that did it (as PyTorch warns once)."""
    import subprocess
    import sys
    script = ("import warnings, pygrad\n"
              "warnings.simplefilter('always')\n"
              "x = pygrad.tensor([1.0], requires_grad=True)\n"
              "for i in range(2):\n"
              "    float(x.sum())\n"
              "    pygrad.ones(2, 3, 4).T\n"
              "    (x ** 3).sum().backward(create_graph=True)\n"
              "    x.grad = None\n")
    err = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stderr
    lines = [line for line in err.splitlines() if "UserWarning" in line]
    assert [line.split(":")[1] for line in lines] == ["5", "6", "7"]
    assert ["requires_grad=True to a scalar" in lines[0], "x.T" in lines[1], "create_graph=True" in lines[2]] == [
        True, True, True]
