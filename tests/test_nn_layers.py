"""Every layer and loss against PyTorch (same weights, same inputs: outputs, gradients,
grad_fn names, all reductions) and through a float64 gradcheck."""
import numpy as np
import pytest

import pygrad
import pygrad.nn.functional as PF
from pygrad.autograd import gradcheck, gradgradcheck

from nn_cases import LAYERS, LOSSES



def _mark(case):
    return pytest.param(case, id=case.name)


def copy_weights(torch_module, module):
    """Load PyTorch's initial weights into the pygrad module (through numpy)."""
    state = {k: pygrad.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    module.load_state_dict(state)


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [_mark(c) for c in LAYERS])
def test_layer_matches_torch(case, dtype, rng, torch):
    ref_module = case.build(torch.nn).to(getattr(torch, dtype))
    module = case.build(pygrad.nn).to(getattr(pygrad, dtype))
    copy_weights(ref_module, module)
    assert [n for n, _ in module.named_parameters()] == [n for n, _ in ref_module.named_parameters()]
    assert repr(module) == repr(ref_module)
    a = case.input(rng, np.dtype(dtype))
    if case.int_input is not None:
        x, tx = pygrad.tensor(a), torch.tensor(a)
    else:
        x, tx = pygrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, ref = module(x), ref_module(tx)
    assert out.dtype.name == str(ref.dtype).removeprefix("torch.")
    if case.grad_fn is not None:
        assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == case.grad_fn
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **_tol(dtype))
    seed = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    if case.int_input is None:
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **_tol(dtype))
    ref_params = dict(ref_module.named_parameters())
    for name, p in module.named_parameters():
        assert p.grad is not None, name
        assert p.grad.dtype is p.dtype
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), err_msg=name, **_tol(dtype))


@pytest.mark.parametrize("case", [_mark(c) for c in LAYERS if c.int_input is None])
def test_layer_gradcheck_float64(case, rng):
    module = case.build(pygrad.nn).double()
    shape = case.gradcheck_shape or case.shape
    a = rng.uniform(-2, 2, size=shape)
    a[np.abs(a) < 0.05] += 0.1
    x = pygrad.tensor(a, requires_grad=True)
    params = list(module.parameters())
    assert gradcheck(lambda x, *ps: module(x), [x, *params])
    if case.gradgrad:
        assert gradgradcheck(lambda x, *ps: module(x), [x, *params])


def test_embedding_gradcheck_weight(rng):
    # (padding_idx deliberately gets no gradient, so it is checked against torch instead)
    emb = pygrad.nn.Embedding(5, 3).double()
    idx = pygrad.tensor([[0, 2, 2], [4, 1, 0]])
    assert gradcheck(lambda w: PF.embedding(idx, w), [emb.weight])
    assert gradgradcheck(lambda w: PF.embedding(idx, w) ** 2, [emb.weight])


def _loss_inputs(case, rng, dtype, lib):
    a = rng.uniform(*case.domain, size=case.shape).astype(dtype)
    t = case.target(rng, case.shape)
    if t.dtype.kind == "f":
        t = t.astype(dtype)
    extra = {k: rng.uniform(0.5, 2.0, size=s).astype(dtype) for k, s in case.extra.items()}
    return a, t, extra


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [_mark(c) for c in LOSSES])
def test_loss_matches_torch(case, dtype, reduction, rng, torch):
    a, t, extra = _loss_inputs(case, rng, dtype, None)
    float_target = t.dtype.kind == "f"
    x, tx = pygrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = pygrad.tensor(t, requires_grad=float_target and case.target_grad)
    ty = torch.tensor(t, requires_grad=float_target and case.target_grad)
    e = {k: pygrad.tensor(v) for k, v in extra.items()}
    te = {k: torch.tensor(v) for k, v in extra.items()}
    out = case.fn(pygrad.nn.functional, x, y, e, reduction)
    ref = case.fn(torch.nn.functional, tx, ty, te, reduction)
    if reduction in case.grad_fn:
        assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == case.grad_fn[reduction]
    assert out.shape == tuple(ref.shape) and out.dtype.name == str(ref.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **_tol(dtype))
    seed = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **_tol(dtype))
    if y.requires_grad:
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), **_tol(dtype))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", [_mark(c) for c in LOSSES])
def test_loss_gradcheck_float64(case, reduction, rng):
    a, t, extra = _loss_inputs(case, rng, np.float64, None)
    float_target = t.dtype.kind == "f"
    x = pygrad.tensor(a, requires_grad=True)
    y = pygrad.tensor(t, requires_grad=float_target and case.target_grad)
    e = {k: pygrad.tensor(v) for k, v in extra.items()}
    inputs = [x, y] if y.requires_grad else [x]
    fn = (lambda x, y: case.fn(PF, x, y, e, reduction)) if y.requires_grad else \
        (lambda x: case.fn(PF, x, y, e, reduction))
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_loss_modules_match_functions(rng):
    x = pygrad.tensor(rng.uniform(0.1, 0.9, size=(4, 3)), requires_grad=True)
    y = pygrad.tensor(rng.uniform(0.1, 0.9, size=(4, 3)))
    idx = pygrad.tensor([0, 2, 1, 1])
    nn, F = pygrad.nn, pygrad.nn.functional
    assert nn.MSELoss(reduction="sum")(x, y).item() == F.mse_loss(x, y, reduction="sum").item()
    assert nn.L1Loss()(x, y).item() == F.l1_loss(x, y).item()
    assert nn.BCELoss()(x, y).item() == F.binary_cross_entropy(x, y).item()
    assert nn.BCEWithLogitsLoss(pos_weight=pygrad.ones(3) * 2)(x, y).item() == \
        F.binary_cross_entropy_with_logits(x, y, pos_weight=pygrad.ones(3) * 2).item()
    w = pygrad.tensor([1.0, 2.0, 0.5], dtype=pygrad.float64)
    assert nn.NLLLoss(weight=w, ignore_index=2)(x, idx).item() == F.nll_loss(x, idx, weight=w, ignore_index=2).item()
    assert repr(nn.NLLLoss()) == "NLLLoss()"


def test_loss_errors(torch):
    F = pygrad.nn.functional
    x = pygrad.zeros(2, 3)
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="bogus")
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.nll_loss(x, pygrad.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x + 2, x)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        F.linear(x, pygrad.zeros(5, 4))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        torch.nn.functional.linear(torch.zeros(2, 3), torch.zeros(5, 4))


def test_nll_loss_all_ignored_mean_is_nan(torch):
    x = pygrad.tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
    t = pygrad.tensor([-100, -100])
    ref = torch.nn.functional.nll_loss(torch.tensor([[0.1, 0.2], [0.3, 0.4]]), torch.tensor([-100, -100]))
    out = pygrad.nn.functional.nll_loss(x, t)
    assert np.isnan(out.item()) and np.isnan(ref.item())


def test_dropout_is_seeded_scaled_and_identity_in_eval():
    drop = pygrad.nn.Dropout(0.25)
    x = pygrad.ones(200, 50)
    pygrad.manual_seed(3)
    a = drop(x)
    pygrad.manual_seed(3)
    b = drop(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    values = set(np.unique(a.numpy()).tolist())
    assert values == {0.0, np.float32(1 / 0.75).item()}
    kept = (a.numpy() != 0).mean()
    assert 0.72 < kept < 0.78
    drop.eval()
    assert drop(x) is x
    xr = pygrad.ones(4, 4, requires_grad=True)
    out = pygrad.nn.Dropout(0.5)(xr)
    assert type(out.grad_fn).__name__ == "MulBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(xr.grad.numpy(), out.detach().numpy())
    assert (pygrad.nn.functional.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        pygrad.nn.Dropout(1.5)


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1), (2, 0, 1, 4)])
def test_conv_double_backward_matches_torch_and_gradgradcheck(stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4, 4 // groups, 3, 2)), rng.standard_normal(4)]

    def conv(m, x, w, b):
        return m.nn.functional.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    grads = []
    for m in (pygrad, torch):
        x, w, b = (m.tensor(a, requires_grad=True) for a in arrays)
        gx, gw = m.autograd.grad((conv(m, x, w, b) ** 2).sum(), (x, w), create_graph=True)
        grads.append([t.detach().numpy() for t in m.autograd.grad((gx * gx).sum() + (gw ** 3).sum(), (x, w, b))])
        if m is pygrad:
            assert type(gx.grad_fn).__name__ == gx.grad_fn.name() == "ConvolutionBackwardBackward0"
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    inputs = [pygrad.tensor(a[:1] if i == 0 else a, requires_grad=True) for i, a in enumerate(arrays)]
    assert pygrad.autograd.gradgradcheck(lambda x, w, b: conv(pygrad, x, w, b), inputs)


@pytest.mark.parametrize("name,options", [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
                                          ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
                                          ("adaptive_avg_pool2d", dict(output_size=(3, 4)))])
def test_pooling_double_backward_matches_torch_and_gradgradcheck(name, options):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    results = []
    for m in (pygrad, torch):
        x = m.tensor(a, requires_grad=True)
        gx, = m.autograd.grad((getattr(m.nn.functional, name)(x, **options) ** 2).sum(), x, create_graph=True)
        results.append((gx.grad_fn.name(), m.autograd.grad((gx ** 3).sum(), x)[0].numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)
    x = pygrad.tensor(a[:1, :1], requires_grad=True)
    assert pygrad.autograd.gradgradcheck(lambda x: getattr(pygrad.nn.functional, name)(x, **options), [x])


def test_linear_default_init_bounds():
    pygrad.manual_seed(0)
    layer = pygrad.nn.Linear(100, 300)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    bound = 1 / np.sqrt(100)
    assert w.shape == (300, 100) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # uniform over the whole interval
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert w.dtype == np.float32 and layer.weight.requires_grad and layer.weight.is_leaf


def test_one_hot_matches_torch(torch):
    idx = [[0, 2], [1, 1]]
    for n in (-1, 4):
        ours = pygrad.nn.functional.one_hot(pygrad.tensor(idx), n)
        ref = torch.nn.functional.one_hot(torch.tensor(idx), n)
        assert ours.tolist() == ref.tolist() and ours.dtype is pygrad.int64
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        pygrad.nn.functional.one_hot(pygrad.tensor([3]), 2)


def test_dtype_mismatch_errors_match_torch(torch):
    cases = [
        lambda m, F: F.linear(m.ones(2, 3), m.ones(4, 3, dtype=m.float64), m.ones(4, dtype=m.float64)),
        lambda m, F: F.linear(m.ones(2, 3, dtype=m.float64), m.ones(4, 3), m.ones(4)),
        lambda m, F: F.linear(m.ones(2, 3), m.ones(4, 3, dtype=m.float64)),
        lambda m, F: F.linear(m.ones(3), m.ones(4, 3, dtype=m.float64)),
        lambda m, F: F.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2, dtype=m.float64)),
        lambda m, F: F.nll_loss(m.ones(2, 3), m.tensor([0.0, 1.0])),
        lambda m, F: F.nll_loss(m.ones(2, 3), m.tensor([0, 1], dtype=m.int32)),
    ]
    for case in cases:
        with pytest.raises(RuntimeError) as ref:
            case(torch, torch.nn.functional)
        with pytest.raises(RuntimeError) as ours:
            case(pygrad, pygrad.nn.functional)
        assert str(ours.value) == str(ref.value)


def test_unbatched_cross_entropy_matches_torch(torch):
    x = [1.0, 2.0, 0.5]
    ours = pygrad.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    out = pygrad.nn.functional.cross_entropy(ours, pygrad.tensor(1), label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(ref, torch.tensor(1), label_smoothing=0.1)
    out.backward()
    expected.backward()
    assert repr(out) == repr(expected)
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("dims", [2, 3, 4])
def test_batch_norm_running_stats_eval_and_state_dict(dims, momentum, rng, torch):
    shape = {2: (5, 3), 3: (4, 3, 2), 4: (2, 3, 2, 3)}[dims]
    build = (lambda nn: nn.BatchNorm2d(3, momentum=momentum)) if dims == 4 else \
        (lambda nn: nn.BatchNorm1d(3, momentum=momentum))
    ref, bn = build(torch.nn).double(), build(pygrad.nn).double()
    for _ in range(3):
        a = rng.standard_normal(shape) * 2 + 1
        bn(pygrad.tensor(a))
        ref(torch.tensor(a))
    state, ref_state = bn.state_dict(), ref.state_dict()
    assert list(state) == list(ref_state)
    for k in state:
        assert state[k].dtype.name == str(ref_state[k].dtype).removeprefix("torch."), k
        np.testing.assert_allclose(state[k].numpy(), ref_state[k].numpy(), rtol=1e-12, err_msg=k)
    assert state["num_batches_tracked"].item() == 3
    bn.eval(), ref.eval()
    a = rng.standard_normal(shape)
    np.testing.assert_allclose(bn(pygrad.tensor(a)).detach().numpy(), ref(torch.tensor(a)).detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-12)  # eval: untouched
    fresh = build(pygrad.nn).double()
    fresh.load_state_dict(state)
    fresh.eval()
    np.testing.assert_allclose(fresh(pygrad.tensor(a)).detach().numpy(), bn(pygrad.tensor(a)).detach().numpy(), rtol=0)


def test_batch_norm_functional_and_errors(rng, torch):
    a = rng.standard_normal((4, 3, 2))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    prm, prv, trm, trv = pygrad.tensor(rm), pygrad.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    out = PF.batch_norm(pygrad.tensor(a), prm, prv, training=True, momentum=0.3)
    ref = torch.nn.functional.batch_norm(torch.tensor(a), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(prm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(prv.numpy(), trv.numpy(), rtol=1e-12)
    out = PF.batch_norm(pygrad.tensor(a), prm, prv)
    ref = torch.nn.functional.batch_norm(torch.tensor(a), trm, trv)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"torch.Size\(\[1, 3\]\)"):
        pygrad.nn.BatchNorm1d(3)(pygrad.zeros(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        pygrad.nn.BatchNorm2d(3)(pygrad.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        pygrad.nn.BatchNorm1d(3)(pygrad.zeros(2, 3, 4, 4))


def test_huber_and_smooth_l1_modules(rng, torch):
    a, b = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
    for build in (lambda nn: nn.HuberLoss(delta=2.0), lambda nn: nn.SmoothL1Loss(reduction="sum", beta=0.3),
                  lambda nn: nn.SmoothL1Loss(beta=0.0)):
        ours, ref = build(pygrad.nn), build(torch.nn)
        assert repr(ours) == repr(ref)
        out = ours(pygrad.tensor(a), pygrad.tensor(b))
        np.testing.assert_allclose(out.numpy(), ref(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
