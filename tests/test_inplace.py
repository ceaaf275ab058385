"""In-place operations: results, rebased grad_fns, version counters, the leaf rule and error texts."""
import warnings

import numpy as np
import pytest

import pygrad

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."
HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False).")

# (name, in-place call on a non-leaf y = x * 1) -- each also runs on torch in test_matches_torch.
INPLACE_CALLS = [
    ("add_", lambda t, m: t.add_(2)),
    ("add_tensor_alpha", lambda t, m: t.add_(m.tensor([1.0, -1.0, 0.5]), alpha=2)),
    ("sub_", lambda t, m: t.sub_(0.5)),
    ("mul_", lambda t, m: t.mul_(3)),
    ("div_", lambda t, m: t.div_(4)),
    ("pow_", lambda t, m: t.pow_(2)),
    ("pow_tensor", lambda t, m: t.pow_(m.tensor([1.0, 2.0, 3.0]))),
    ("clamp_", lambda t, m: t.clamp_(0.5, 2.5)),
    ("clamp_min_", lambda t, m: t.clamp_(min=1.5)),
    ("clip_", lambda t, m: t.clip_(max=2.0)),
    ("zero_", lambda t, m: t.zero_()),
    ("fill_", lambda t, m: t.fill_(2)),
    ("fill_tensor", lambda t, m: t.fill_(m.tensor(2.5))),
    ("copy_", lambda t, m: t.copy_(m.tensor([4.0, 5.0, 6.0]))),
    ("copy_broadcast", lambda t, m: t.copy_(m.tensor(7.0))),
    ("exp_", lambda t, m: t.exp_()),
    ("neg_", lambda t, m: t.neg_()),
    ("relu_", lambda t, m: t.sub_(1.5).relu_()),
    ("sigmoid_", lambda t, m: t.sigmoid_()),
    ("tanh_", lambda t, m: t.tanh_()),
    ("iadd", lambda t, m: t.__iadd__(1)),
    ("isub", lambda t, m: t.__isub__(m.tensor([1.0, 2.0, 3.0]))),
    ("imul", lambda t, m: t.__imul__(2)),
    ("itruediv", lambda t, m: t.__itruediv__(2)),
    ("ipow", lambda t, m: t.__ipow__(3)),
]


def _run(m, call):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    r = call(y, m)
    (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return x, y, r


@pytest.mark.parametrize("name,call", INPLACE_CALLS, ids=[n for n, _ in INPLACE_CALLS])
def test_inplace_returns_self_and_bumps_version(name, call):
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    before = y._version_value
    assert call(y, pygrad) is y
    assert y._version_value > before
    assert not y.is_leaf and y.requires_grad


@pytest.mark.parametrize("name,call", INPLACE_CALLS, ids=[n for n, _ in INPLACE_CALLS])
def test_matches_torch(name, call, torch):
    ours_x, ours_y, _ = _run(pygrad, call)
    ref_x, ref_y, _ = _run(torch, call)
    assert ours_y.grad_fn.name() == ref_y.grad_fn.name()
    assert type(ours_y.grad_fn).__name__ == type(ref_y.grad_fn).__name__
    assert repr(ours_y) == repr(ref_y)
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-5)


def test_add_on_non_leaf_is_add_backward():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    b = x * 2
    b.add_(1)
    assert type(b.grad_fn).__name__ == "AddBackward0"
    assert repr(b) == "tensor([3., 5.], grad_fn=<AddBackward0>)"
    b.sum().backward()
    assert repr(x.grad) == "tensor([2., 2.])"


def test_mul_inplace_saves_the_old_value_for_the_other_gradient():
    # d(y * b)/db must use y before it was overwritten (PyTorch saves the original self).
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = pygrad.tensor([2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    y.mul_(b)
    y.sum().backward()
    assert repr(x.grad) == "tensor([2., 3., 4.])"
    assert repr(b.grad) == "tensor([1., 2., 3.])"


def test_inplace_on_plain_tensor_with_grad_argument_joins_the_graph():
    w = pygrad.tensor([2.0, 3.0], requires_grad=True)
    t = pygrad.ones(2)
    t.mul_(w)
    assert t.requires_grad and type(t.grad_fn).__name__ == "MulBackward0"
    t.sum().backward()
    assert repr(w.grad) == "tensor([1., 1.])"


@pytest.mark.parametrize("op", [lambda x: x.add_(1), lambda x: x.mul_(2), lambda x: x.__iadd__(1),
                                lambda x: x.zero_(), lambda x: x.fill_(1.0), lambda x: x.copy_(pygrad.ones(3)),
                                lambda x: x.clamp_(0, 1), lambda x: x.exp_()])
def test_leaf_that_requires_grad_refuses_inplace(op):
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        op(x)
    assert str(info.value) == LEAF_ERROR
    assert x._version_value == 0 and repr(x) == "tensor([1., 2., 3.], requires_grad=True)"


def test_augmented_assignment_on_leaf_raises_like_torch(torch):
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x *= 2


def test_optimizer_style_update_under_no_grad():
    w = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    with pygrad.no_grad():
        w -= 0.25
        w.sub_(w.grad, alpha=0.5)
    assert w.requires_grad and w.grad_fn is None and w.is_leaf
    assert repr(w) == "tensor([-0.2500, -0.2500, -0.2500], requires_grad=True)"
    w.grad.zero_()
    assert repr(w.grad) == "tensor([0., 0., 0.])"


def test_version_error_exp_then_add(torch):
    texts = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x.exp()
        y.add_(1)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        texts.append(str(info.value))
    assert texts[0] == texts[1]
    assert texts[0] == ("one of the variables needed for gradient computation has been modified by an inplace "
                        "operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 1; "
                        "expected version 0 instead. " + HINT)


def test_version_error_is_raised_at_backward_and_leaves_grad_unchanged():
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y.add_(1)  # no error yet
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("modify", ["no_grad_add", "add_", "mul_"])
def test_version_error_for_modified_mul_input(modify, torch):
    texts = []
    for m in (pygrad, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = a * 1
        z = h * a
        if modify == "no_grad_add":
            with m.no_grad():
                h.add_(1)
        elif modify == "add_":
            h.add_(1)
        else:
            h.mul_(2)
        with pytest.raises(RuntimeError) as info:
            z.sum().backward()
        texts.append(str(info.value))
    assert texts[0] == texts[1]
    producer = {"no_grad_add": "Mul", "add_": "Add", "mul_": "Mul"}[modify]
    assert f"which is output 0 of {producer}, is at version 1; expected version 0" in texts[0]


def test_version_error_for_modified_leaf(torch):
    texts = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        z = x * x
        with m.no_grad():
            x.add_(1)
        with pytest.raises(RuntimeError) as info:
            z.sum().backward()
        texts.append(str(info.value))
    assert texts[0] == texts[1]
    assert texts[0].startswith("one of the variables needed for gradient computation has been modified by an "
                               "inplace operation: [torch.DoubleTensor [3]] is at version 1; expected version 0")


def test_modification_through_detach_is_caught():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="output 0 of Sigmoid, is at version 1"):
        y.sum().backward()


def test_ops_that_save_nothing_allow_later_inplace():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1
    z = y * 2  # saves nothing about y (the scalar's gradient needs no input)
    y.add_(5)
    z.sum().backward()
    assert repr(x.grad) == "tensor([2., 2.])"


def test_inplace_exp_saves_its_result_and_detects_later_changes():
    x = pygrad.tensor([0.0, 1.0], requires_grad=True)
    y = x * 1
    y.exp_()
    y.sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]), rtol=1e-6)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 2; expected version 1"):
        x.grad = None
        (y.sum() * 1).backward()


@pytest.mark.parametrize("expr,error", [
    (lambda m: m.tensor([1, 2]).add_(1.5), "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.tensor([1, 2]).__itruediv__(2), "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.zeros(3).add_(m.ones(2, 3)), "output with shape [3] doesn't match the broadcast shape [2, 3]"),
    (lambda m: m.ones(2).copy_(m.ones(3)),
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda m: m.tensor([True]).add_(1), "result type Long can't be cast to the desired output type Bool"),
])
def test_inplace_errors_match_torch(expr, error, torch):
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError) as info:
            expr(m)
        assert str(info.value) == error


def test_integer_inplace_results_match_torch(torch):
    for m in (pygrad, torch):
        i = m.tensor([1, 2])
        i += 1
        i *= 2
        f = m.ones(2)
        f += m.tensor([1, 2])
        f.copy_(m.tensor([5, 6]))
        h = m.tensor([1, 2, 3], dtype=m.int64)
        h.fill_(2.7)
        d = m.ones(2)
        d += m.tensor([0.5, 0.25], dtype=m.float64)
        if m is pygrad:
            ours = (repr(i), repr(f), repr(h), repr(d))
        else:
            assert ours == (repr(i), repr(f), repr(h), repr(d))
    assert ours[0] == "tensor([4, 6])" and ours[2] == "tensor([2, 2, 2])"


def test_double_backward_through_inplace_op():
    x = pygrad.tensor([1.0, 2.0], dtype=pygrad.float64, requires_grad=True)
    y = x * 1
    y.mul_(x)  # y = x^2
    (g,) = pygrad.autograd.grad(y.sum(), x, create_graph=True)
    assert g.grad_fn is not None and g.tolist() == [2.0, 4.0]
    (h,) = pygrad.autograd.grad(g.sum(), x)
    assert repr(h) == "tensor([2., 2.], dtype=torch.float64)"


def test_fill_tensor_value_gets_summed_gradient(torch):
    grads = []
    for m in (pygrad, torch):
        v = m.tensor(2.0, requires_grad=True)
        y = m.zeros(3) * 1
        y.fill_(v)
        (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
        grads.append(repr(v.grad))
    assert grads[0] == grads[1] == "tensor(6.)"


def test_copy_gradient_flows_to_source_with_its_dtype(torch):
    out = []
    for m in (pygrad, torch):
        src = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        t = m.zeros(2)
        t.copy_(src * 3)
        (t * t).sum().backward()
        out.append((repr(t), repr(src.grad)))
    assert out[0] == out[1]


# -- writes reading memory that overlaps the target in part --------------------------------------------
def _square(m):
    return m.arange(9.).reshape(3, 3)


def _shift(m):
    x = m.arange(4.)
    x[1:] = x[:-1]
    return x


def _rows_shift(m):
    x = _square(m)
    x[1:] = x[:-1]
    return x


def _iadd_transpose(m):
    x = _square(m)
    x += x.t()
    return x


def _iadd_self(m):
    x = _square(m)
    x += x
    return x


def _setitem(key, value_of):
    def write(m):
        x = _square(m)
        x[key] = value_of(x)
        return x
    return write


OVERLAPPING_WRITES = {
    # PyTorch refuses: the input's memory overlaps the target's in part
    "shift_setitem": _shift,
    "rows_shift_setitem": _rows_shift,
    "iadd_transpose": _iadd_transpose,
    "mul_transpose": lambda m: (lambda x: x.mul_(x.t()))(_square(m)),
    "copy_transpose": lambda m: (lambda x: x.copy_(x.t()))(_square(m)),
    "copy_broadcast_row": lambda m: (lambda x: x.copy_(x[0]))(_square(m)),
    "add_broadcast_row": lambda m: (lambda x: x.add_(x[0]))(_square(m)),
    "add_alpha_transpose": lambda m: (lambda x: x.add_(x.t(), alpha=2))(_square(m)),
    "sub_element": lambda m: (lambda x: x.sub_(x[0, 0]))(_square(m)),
    "clamp_max_row": lambda m: (lambda x: x.clamp_(max=x[0]))(_square(m)),
    "pow_transpose": lambda m: (lambda x: x.pow_(x.t()))(_square(m)),
    "transpose_mul_self": lambda m: (lambda x: (x.t().mul_(x), x)[1])(_square(m)),
    "slices_iadd": lambda m: (lambda x: (x[0:2].add_(x[1:3]), x)[1])(_square(m)),
    "advanced_setitem_row": _setitem([0, 1], lambda x: x[1]),
    # PyTorch allows: the same memory laid out the same way, no shared memory, a 0-d value used as a
    # number, or a side that is not dense (not checked; PyTorch's result then depends on its order
    # of element writes, so only cases where that order does not matter are compared)
    "iadd_self": _iadd_self,
    "sub_same_view": lambda m: (lambda x: x.sub_(x.view(9).view(3, 3)))(_square(m)),
    "copy_self": lambda m: (lambda x: x.copy_(x))(_square(m)),
    "row_from_other_row": _setitem(0, lambda x: x[1]),
    "row_from_same_row_2d": _setitem(0, lambda x: x[0:1]),
    "column_from_row": _setitem((slice(None), 0), lambda x: x[0]),
    "rows_from_row_expanded": _setitem((slice(None), slice(None)), lambda x: x[0]),
    "element_from_element": _setitem((0, 0), lambda x: x[1, 1]),
    "masked_fill_element": lambda m: (lambda x: x.masked_fill_(x > 3, x[0, 0]))(_square(m)),
    "fill_element": lambda m: (lambda x: x.fill_(x[1, 1]))(_square(m)),
    "non_dense_slices": _setitem((slice(None), slice(0, 2)), lambda x: x[:, 1:]),
    "shift_of_clone": lambda m: (lambda x: (x[1:].copy_(x[:-1].clone()), x)[1])(m.arange(4.)),
}


def _mask_setitem(m):
    x = _square(m)
    x[x > 3] = x[0, :1]
    return x


OVERLAPPING_WRITES["mask_from_element"] = _mask_setitem


@pytest.mark.parametrize("name", sorted(OVERLAPPING_WRITES))
def test_partial_overlap_of_input_and_target_like_torch(torch, backend, name):
    def outcome(m):
        try:
            return "ok", OVERLAPPING_WRITES[name](m).tolist()
        except RuntimeError as e:
            return "error", str(e)
    got, want = outcome(pygrad), outcome(torch)
    assert got == want
    if want[0] == "error":
        assert want[1] == ("unsupported operation: some elements of the input tensor and the written-to tensor "
                           "refer to a single memory location. Please clone() the tensor before performing the "
                           "operation.")


@pytest.mark.parametrize("name", ["add_", "sub_", "mul_", "div_"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("operand", ["same shape", "0-d", "number", "alpha"])
def test_untracked_arithmetic_updates_give_the_out_of_place_bits(name, dtype, operand, backend):
    """Updates that record nothing (an optimizer's, under no_grad) are computed into the target's
    storage: the bits of the out-of-place op, no warning where the math gives inf or nan, the
    version counter moved once, no history."""
    rng = np.random.default_rng(3)
    start = rng.uniform(-2, 2, (5, 7)).astype(dtype)
    start[0, :3] = [np.finfo(dtype).max, 0.0, np.inf]  # overflow, 0 / 0, inf - inf
    values = rng.uniform(-2, 2, (5, 7)).astype(dtype)
    values[0, :3] = [np.finfo(dtype).max, 0.0, np.inf]
    other = {"same shape": pygrad.tensor(values), "0-d": pygrad.tensor(values[1, 1]),
             "number": 0.37, "alpha": pygrad.tensor(values)}[operand]
    kwargs = {"alpha": -0.01} if operand == "alpha" and name in ("add_", "sub_") else {}
    out_of_place = {"add_": "add", "sub_": "sub", "mul_": "mul", "div_": "div"}[name]
    p = pygrad.nn.Parameter(pygrad.tensor(start.copy()))
    with np.errstate(all="ignore"):
        expected = getattr(pygrad, out_of_place)(pygrad.tensor(start.copy()), other, **kwargs).numpy()
    version = p._version.value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pygrad.no_grad():
            assert getattr(p, name)(other, **kwargs) is p
    assert p.detach().numpy().tobytes() == expected.tobytes()
    assert p._version.value == version + 1 and p.grad_fn is None and p.requires_grad


def test_an_untracked_update_of_a_saved_tensor_is_caught_at_backward():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    w = pygrad.tensor([3.0, 4.0])
    y = (x * w).sum()  # saves w
    with pygrad.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_untracked_update_leaves_overlapping_memory_to_the_checks(torch, backend):
    """The direct update of an untracked tensor first rules out what ``inplace`` refuses or
    allows only after a look: a target whose elements share memory, an operand on its memory."""
    def outcome(m):
        repeated = np.lib.stride_tricks.as_strided(np.zeros(3), (3, 3), (0, 8))
        shared = np.arange(4.0)
        with m.no_grad():
            try:
                m.from_numpy(repeated).sub_(m.ones(3, 3, dtype=m.float64))
                first = "ok"
            except RuntimeError as e:
                first = str(e)
            x, same = m.from_numpy(shared), m.from_numpy(shared)
            x.sub_(same)
            x.add_(m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64))
            x.mul_(x)
        return first, x.tolist(), shared.tolist()
    assert outcome(pygrad) == outcome(torch)
    assert outcome(pygrad)[0].startswith("unsupported operation: more than one element")


@pytest.mark.parametrize("call", ["x.sub_(y)", "x.__isub__(y)", "x.sub_(True)", "f.sub_(y)", "f.__isub__(y)"])
def test_inplace_subtraction_of_bools_raises_torchs_error(torch, backend, call):
    def message(m):
        x, y, f = m.tensor([True, False]), m.tensor([True, True]), m.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError) as info:
            eval(call)
        return str(info.value)
    assert message(pygrad) == message(torch)
    assert message(pygrad).startswith("Subtraction, the `-` operator")
