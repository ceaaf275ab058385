"""Shape, indexing and matrix-product ops: errors, views, setitem and multiple outputs."""
import warnings

import numpy as np
import pytest

import pygrad


def _m(m):
    """Deterministic operands built the same way on both libraries."""
    a = m.arange(6.0).reshape(2, 3)
    return a, m.arange(3.0), m.arange(2.0)


ERRORS = {
    # matrix products
    "mm_shapes": lambda m, a, v, w: a @ a,
    "mv_shapes": lambda m, a, v, w: a @ w,
    "dot_sizes": lambda m, a, v, w: v @ w,
    "mm_dtype": lambda m, a, v, w: a @ a.T.double(),
    "mm_dtype_reversed": lambda m, a, v, w: a.double() @ a.T,
    "mm_dtype_long": lambda m, a, v, w: a @ a.T.long(),
    "mv_dtype": lambda m, a, v, w: a @ v.double(),
    "vm_dtype": lambda m, a, v, w: w @ a.double(),
    "dot_dtype": lambda m, a, v, w: v @ v.double(),
    "bmm_dtype": lambda m, a, v, w: m.bmm(a[None], a.T[None].double()),
    "batched_dtype": lambda m, a, v, w: a[None] @ a.T[None].double(),
    "matmul_0d": lambda m, a, v, w: m.matmul(m.tensor(2.0), v),
    "matmul_0d_rhs": lambda m, a, v, w: m.matmul(v, m.tensor(2.0)),
    "mm_not_matrix": lambda m, a, v, w: m.mm(a, v),
    "mm_self_not_matrix": lambda m, a, v, w: m.mm(v, a),
    "mv_not_vector": lambda m, a, v, w: m.mv(a, a),
    "dot_not_vectors": lambda m, a, v, w: m.dot(a, a),
    "bmm_not_3d": lambda m, a, v, w: m.bmm(a, a),
    "bmm_batch2_not_3d": lambda m, a, v, w: m.bmm(a[None], a),
    "bmm_sizes": lambda m, a, v, w: m.bmm(a[None], a[None]),
    "batched_sizes": lambda m, a, v, w: a.expand(4, 2, 3) @ a,
    "batched_broadcast": lambda m, a, v, w: a.expand(4, 2, 3) @ a.T.expand(5, 3, 2),
    "folded_sizes": lambda m, a, v, w: a.expand(4, 2, 3) @ w,
    "outer_matrix": lambda m, a, v, w: m.outer(a, v),
    "matmul_int": lambda m, a, v, w: 2 @ a,
    # shapes
    "view_size": lambda m, a, v, w: a.view(4),
    "reshape_infer": lambda m, a, v, w: a.reshape(5, -1),
    "view_two_infer": lambda m, a, v, w: a.view(-1, -1),
    "view_stride": lambda m, a, v, w: a.T.view(6),
    "t_3d": lambda m, a, v, w: a[None].t(),
    "mT_vector": lambda m, a, v, w: v.mT,
    "transpose_dim": lambda m, a, v, w: a.transpose(0, 2),
    "squeeze_dim": lambda m, a, v, w: a.squeeze(3),
    "squeeze_0d": lambda m, a, v, w: m.tensor(3.0).squeeze(1),
    "unsqueeze_dim": lambda m, a, v, w: a.unsqueeze(-4),
    "flatten_order": lambda m, a, v, w: a.flatten(1, 0),
    "expand_size": lambda m, a, v, w: a.expand(3, 3),
    "expand_as_size": lambda m, a, v, w: a.expand_as(m.ones(3, 3)),
    "permute_length": lambda m, a, v, w: a.permute(0),
    "permute_duplicate": lambda m, a, v, w: a.permute(0, 0),
    "movedim_dim": lambda m, a, v, w: a.movedim(0, 5),
    "cat_sizes": lambda m, a, v, w: m.cat([a, m.ones(3, 2)]),
    "cat_ndim": lambda m, a, v, w: m.cat([a, w]),
    "cat_empty_list": lambda m, a, v, w: m.cat([]),
    "cat_0d": lambda m, a, v, w: m.cat([m.tensor(1.0), m.tensor(2.0)]),
    "cat_dim": lambda m, a, v, w: m.cat([a, a], dim=2),
    "stack_sizes": lambda m, a, v, w: m.stack([w, v]),
    "stack_empty": lambda m, a, v, w: m.stack([]),
    "stack_dim": lambda m, a, v, w: m.stack([a, a], dim=4),
    "split_zero": lambda m, a, v, w: a.split(0),
    "split_sizes_sum": lambda m, a, v, w: a.split([1, 2]),
    "chunk_zero": lambda m, a, v, w: a.chunk(0),
    "unbind_0d": lambda m, a, v, w: m.tensor(3.0).unbind(),
    "flip_repeated": lambda m, a, v, w: a.flip(0, 0),
    "repeat_too_few": lambda m, a, v, w: a.repeat(2),
    "repeat_negative": lambda m, a, v, w: a.repeat(2, -1),
    "narrow_past_end": lambda m, a, v, w: a.narrow(1, 2, 2),
    "narrow_start": lambda m, a, v, w: a.narrow(0, 3, 1),
    "narrow_length": lambda m, a, v, w: a.narrow(0, 0, -1),
    "gather_bounds": lambda m, a, v, w: a.gather(1, m.tensor([[0], [5]])),
    "gather_ndim": lambda m, a, v, w: a.gather(1, m.tensor([0])),
    "gather_dtype": lambda m, a, v, w: a.gather(1, m.tensor([[0.0]])),
    "gather_size": lambda m, a, v, w: a.gather(1, m.tensor([[0, 1, 2], [0, 0, 0], [1, 1, 1]])),
    # indexing
    "index_bounds": lambda m, a, v, w: a[5],
    "index_bounds_dim1": lambda m, a, v, w: a[0, 5],
    "index_bounds_negative": lambda m, a, v, w: a[-3],
    "index_bounds_after_none": lambda m, a, v, w: a[None, 0, 5],
    "index_bounds_after_ellipsis": lambda m, a, v, w: a[..., 7],
    "index_too_many": lambda m, a, v, w: a[0, 0, 0],
    "index_0d": lambda m, a, v, w: m.tensor(3.0)[0],
    "index_float": lambda m, a, v, w: a[1.5],
    "index_str": lambda m, a, v, w: a["x"],
    "index_float_tensor": lambda m, a, v, w: a[m.tensor([0.0, 1.0])],
    "index_list_bounds": lambda m, a, v, w: a[[0, 5]],
    "index_list_bounds_second": lambda m, a, v, w: a[[0], [5]],
    "index_mask_shape": lambda m, a, v, w: a[m.tensor([True, False, True])],
    "index_mask_shape_inner": lambda m, a, v, w: a[:, m.tensor([True, False])],
    "index_broadcast": lambda m, a, v, w: a[[0, 1], [0, 1, 2]],
    "index_negative_step": lambda m, a, v, w: a[::-1],
    "index_zero_step": lambda m, a, v, w: a[::0],
}


def _outcome(m, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(m, *_m(m))
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_matches_torch(name, torch):
    theirs = _outcome(torch, ERRORS[name])
    assert theirs is not None, "the case must be an error in PyTorch"
    assert _outcome(pygrad, ERRORS[name]) == theirs


SETITEM_ERRORS = {
    "leaf_view": lambda m, x: x.__setitem__(slice(0, 2), 1.0),
    "leaf_int": lambda m, x: x.__setitem__(0, 1.0),
    "leaf_index": lambda m, x: x.__setitem__([0], 1.0),
    "leaf_mask": lambda m, x: x.__setitem__(x > 0, 1.0),
    "leaf_all": lambda m, x: x.__setitem__(..., 1.0),
    "value_shape": lambda m, x: x.detach().__setitem__(0, m.ones(2)),
    "value_rank": lambda m, x: x.detach().__setitem__(0, m.ones(2, 1, 3)),
    "index_value_shape": lambda m, x: x.detach().__setitem__([0, 1], m.ones(3, 3)),
    "value_str": lambda m, x: x.detach().__setitem__(0, "a"),
}


@pytest.mark.parametrize("name", sorted(SETITEM_ERRORS))
def test_setitem_error_matches_torch(name, torch):
    def outcome(m):
        x = m.zeros(2, 3, requires_grad=True)
        try:
            SETITEM_ERRORS[name](m, x)
        except Exception as e:  # noqa: BLE001
            return type(e).__name__, str(e)
    theirs = outcome(torch)
    assert theirs is not None
    assert outcome(pygrad) == theirs


# -- views share storage and the version counter ------------------------------------------------------
@pytest.mark.parametrize("make_view", [
    lambda x: x.view(6), lambda x: x.reshape(3, 2), lambda x: x.transpose(0, 1), lambda x: x.t(),
    lambda x: x.mT, lambda x: x.T, lambda x: x.unsqueeze(0), lambda x: x.squeeze(), lambda x: x[1],
    lambda x: x[:, 1:], lambda x: x[...], lambda x: x[None], lambda x: x.narrow(1, 0, 2),
    lambda x: x.expand(4, 2, 3), lambda x: x.flatten(), lambda x: x.split(1)[1], lambda x: x.unbind(1)[2],
    lambda x: x.movedim(0, 1), lambda x: x.permute(1, 0),
])
def test_views_share_storage_and_version(make_view):
    x = pygrad.arange(6.0).reshape(2, 3).clone()
    view = make_view(x)
    assert np.shares_memory(view.numpy(), x.numpy())
    before = view._version
    x.fill_(7.0)
    assert view._version == before and view._version_value == x._version_value > 0
    assert float(view.sum()) == float(make_view(x.detach()).sum())


@pytest.mark.parametrize("make_copy", [
    lambda x: x[[0, 1]], lambda x: x[x > 2], lambda x: x.flip(0), lambda x: x.repeat(1, 2),
    lambda x: pygrad.cat([x, x]), lambda x: pygrad.stack([x]), lambda x: x.T.reshape(6),
    lambda x: x.gather(0, pygrad.tensor([[0, 1, 0]])),
])
def test_copying_ops_do_not_share_storage(make_copy):
    x = pygrad.arange(6.0).reshape(2, 3)
    assert not np.shares_memory(make_copy(x).numpy(), x.numpy())


def test_in_place_change_through_a_view_invalidates_saved_base():
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y[0:1].fill_(5.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_view_sees_later_writes():
    x = pygrad.zeros(2, 3)
    row = x[1]
    x[1, 2] = 4.0
    assert row.tolist() == [0.0, 0.0, 4.0]
    row[0] = -1.0
    assert x.tolist() == [[0.0, 0.0, 0.0], [-1.0, 0.0, 4.0]]


# -- gradients of indexing ----------------------------------------------------------------------------
def test_repeated_indices_accumulate():
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    x.grad = None
    x[pygrad.tensor([[1, 1], [1, 2]])].backward(pygrad.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert x.grad.tolist() == [0.0, 6.0, 4.0]


def test_gather_repeated_indices_accumulate(torch):
    for m in (pygrad, torch):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        m.gather(x, 1, m.tensor([[0, 0, 0], [1, 0, 1]])).sum().backward()
        assert x.grad.tolist() == [[3.0, 0.0], [1.0, 2.0]]


def test_mask_gradient_and_printing(torch):
    data = [[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]]
    outs = []
    for m in (pygrad, torch):
        x = m.tensor(data, requires_grad=True)
        y = x[x > 0]
        y.backward(m.tensor([1.0, 2.0, 3.0]))
        outs.append((repr(y), x.grad.tolist()))
    assert outs[0] == outs[1]
    assert outs[0][1] == [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]


@pytest.mark.parametrize("key", [
    "[0, 1:3]", "[1]", "[:, None, 1:]", "[None, 0]", "[0][1]", "[1, [0, 2]]", "[[0, 1], 1:]", "[..., 1]",
    "[:, :]", "[[[0, 1]]]", "[True]", "[pygrad_tensor(1)]", "[-1, -1]", "[0:0]", "[5:10]", "[1::2]",
])
def test_getitem_matches_torch(key, torch):
    outs = []
    for m in (pygrad, torch):
        x = m.arange(12.0).reshape(3, 4).requires_grad_()
        env = {"x": x, "pygrad_tensor": m.tensor}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = eval("x" + key, env)
        chain = []
        node = y.grad_fn
        while node is not None:
            chain.append(type(node).__name__)
            node = next((n for n, _ in node.next_functions if n is not None and "Accumulate" not in type(n).__name__),
                        None)
        y.backward(m.ones_like(y) * 2)
        outs.append((repr(y), chain, x.grad.tolist()))
    assert outs[0] == outs[1]


def test_list_of_lists_is_a_tuple_with_a_warning():
    x = pygrad.arange(6.0).reshape(2, 3)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        assert x[[[0, 1], [2, 0]]].tolist() == [2.0, 3.0]


# -- __setitem__ ------------------------------------------------------------------------------------------
def test_setitem_on_non_leaf_gradients(torch):
    results = []
    for m in (pygrad, torch):
        b = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], requires_grad=True)
        v = m.tensor([10.0, 20.0], requires_grad=True)
        c = b * 2
        c[1, 1:] = v * 3
        (c * c).sum().backward()
        results.append((repr(c), b.grad.tolist(), v.grad.tolist()))
    assert results[0] == results[1]
    assert results[0][1][1] == [32.0, 0.0, 0.0]  # the overwritten region gets no gradient
    assert results[0][2] == [180.0, 360.0]


def test_setitem_broadcast_value_gradient_is_reduced(torch):
    results = []
    for m in (pygrad, torch):
        b = m.ones(3, 4, requires_grad=True)
        c = b.clone()
        v = m.tensor([[2.0]], requires_grad=True)
        c[[0, 0, 2]] = v
        c.backward(m.arange(12.0).reshape(3, 4))
        results.append((type(c.grad_fn).__name__, b.grad.tolist(), v.grad.tolist(), c.tolist()))
    assert results[0] == results[1]
    assert results[0][2] == [[2 * 6.0 + 38.0]]


def test_setitem_into_tensor_without_grad_gives_it_a_graph():
    y = pygrad.zeros(3)
    v = pygrad.tensor(2.0, requires_grad=True)
    y[1] = v
    assert repr(y) == "tensor([0., 2., 0.], grad_fn=<CopySlices>)"
    y.backward(pygrad.tensor([1.0, 5.0, 1.0]))
    assert v.grad.item() == 5.0


def test_setitem_on_leaf_is_allowed_under_no_grad():
    x = pygrad.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        x[0] = 1.0
    assert x.tolist() == [0.0, 0.0, 0.0]
    version = x._version_value
    with pygrad.no_grad():
        x[0] = 1.0
        x[[2]] = 3.0
    assert repr(x) == "tensor([1., 0., 3.], requires_grad=True)"
    assert x._version_value == version + 2


def test_setitem_casts_and_counts_versions():
    x = pygrad.zeros(4, dtype=pygrad.int64)
    x[1:3] = 2.7
    x[x == 0] = pygrad.tensor(-1)
    assert x.tolist() == [-1, 2, 2, -1] and x._version_value == 2


def test_setitem_invalidates_saved_tensor():
    a = pygrad.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b ** 2
    b[0] = 0.0
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        c.sum().backward()


# -- multiple outputs --------------------------------------------------------------------------------------
def test_split_outputs_and_partial_gradients(torch):
    results = []
    for m in (pygrad, torch):
        x = m.arange(10.0).reshape(5, 2).requires_grad_()
        parts = x.split(2)
        names = [type(p.grad_fn).__name__ for p in parts]
        (parts[0].sum() + 3 * parts[2].sum()).backward()
        results.append(([tuple(p.shape) for p in parts], names, [p.output_nr for p in parts], x.grad.tolist(),
                        repr(parts[2])))
    assert results[0] == results[1]
    assert results[0][3] == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [3.0, 3.0]]


def test_split_with_sizes_chunk_unbind(torch):
    results = []
    for m in (pygrad, torch):
        x = m.arange(12.0).reshape(3, 4).requires_grad_()
        a = x.split([1, 3], dim=1)
        b = x.chunk(3, dim=1)
        c = x.unbind(1)
        total = a[1].sum() * 2 + b[-1].sum() * 5 + c[0].sum() * 7
        total.backward()
        results.append(([type(t.grad_fn).__name__ for t in a + b + c], [tuple(t.shape) for t in a + b + c],
                        x.grad.tolist()))
    assert results[0] == results[1]


def test_double_backward_through_matmul_and_index():
    x = pygrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (x @ x)[0, [1, 1]].sum()
    (g,) = pygrad.autograd.grad(y, x, create_graph=True)
    # y = 2 * (x00 x01 + x01 x11): d/dx = 2 * [[x01, x00 + x11], [0, x01]]
    assert g.tolist() == [[4.0, 10.0], [0.0, 4.0]]
    g.sum().backward()
    assert x.grad.tolist() == [[2.0, 4.0], [0.0, 2.0]]


def test_matmul_with_ndarray_and_int_tensors(torch):
    a = np.arange(6).reshape(2, 3)
    ours = pygrad.tensor(a) @ pygrad.tensor(a.T)
    theirs = torch.tensor(a) @ torch.tensor(a.T)
    assert repr(ours) == repr(theirs)
    assert (pygrad.tensor(a) @ a.T.copy()).tolist() == theirs.tolist()


def test_matmul_grad_fn_depends_on_requires_grad(torch):
    names = []
    for m in (pygrad, torch):
        a, b = m.ones(3, 4), m.ones(2, 4, 5)
        names.append([type((a.requires_grad_(ra) @ b.requires_grad_(rb)).grad_fn).__name__
                      for ra, rb in ((True, True), (False, True))])
    assert names[0] == names[1] == [["CloneBackward0", "UnsafeViewBackward0"]][0]


def test_T_of_a_non_matrix_warns_once(monkeypatch):
    from pygrad import _errors
    from pygrad.ops import shape
    monkeypatch.setattr(_errors, "_WARNED", _errors._WARNED - set(shape._T_WARNINGS.values()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pygrad.ones(2, 3, 4).T.shape == (4, 3, 2)
        pygrad.ones(3).T
        pygrad.ones(2, 3).T
        assert pygrad.tensor(2.0).T.shape == ()
        pygrad.tensor(2.0).T
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert messages[0].startswith("The use of `x.T` on tensors of dimension other than 2")
    assert messages[1].startswith("Tensor.T is deprecated on 0-D tensors.")


def test_write_through_expanded_view_lands_in_shared_element(torch):
    results = []
    for m in (pygrad, torch):
        base = m.ones(3)
        e = base.expand(2, 3)
        e[0, 0] = 5.0
        results.append((e.tolist(), base.tolist()))
    assert results[0] == results[1] == ([[5.0, 1.0, 1.0], [5.0, 1.0, 1.0]], [5.0, 1.0, 1.0])


@pytest.mark.parametrize("make", [
    lambda m: m.arange(6.).reshape(2, 3).t(),
    lambda m: m.arange(24.).reshape(2, 3, 4).permute(0, 2, 1),
    lambda m: m.arange(24.).reshape(2, 3, 4).transpose(0, 2),
    lambda m: m.arange(12.).reshape(3, 4)[:, ::2],
    lambda m: m.arange(6.).reshape(2, 3).clone().requires_grad_().t(),
], ids=["t", "permute", "transpose", "step_slice", "t_requires_grad"])
def test_contiguous_is_c_order_and_clone_keeps_strides(torch, backend, make):
    """``contiguous()`` copies into C order, so the copy views as any shape; ``clone()`` keeps a
    dense tensor's strides (PyTorch's preserve_format)."""
    def state(m):
        x = make(m)
        c = x.contiguous()
        flat = c.view(-1)
        names = [None if t.grad_fn is None else type(t.grad_fn).__name__
                 for t in (c, flat, c.reshape(-1), c.flatten(), x.reshape(-1), x.clone())]
        return (c.is_contiguous(), c.stride(), flat.numpy(force=True).tolist(), x.clone().stride(),
                x.reshape(-1).is_contiguous(), names)
    got, want = state(pygrad), state(torch)
    assert want[0] is True
    assert got == want
