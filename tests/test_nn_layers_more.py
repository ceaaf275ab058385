"""Channel-wise and alpha dropout, 1-D pooling, rms_norm and Softmax2d beyond the shared layer table
(tests/nn_cases.py): random masks, graphs, errors and warnings against PyTorch."""
import warnings

import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck

PF = pygrad.nn.functional


def _graph(t):
    def walk(fn):
        kids = [walk(n) for n, _ in fn.next_functions if n is not None]
        return type(fn).__name__ + (f"({', '.join(kids)})" if kids else "")
    return walk(t.grad_fn)


CHANNEL_DROPOUT = [("dropout1d", (4, 6, 5)), ("dropout1d", (6, 5)), ("dropout2d", (4, 6, 3, 3)),
                   ("dropout3d", (3, 6, 2, 2, 2)), ("dropout3d", (6, 2, 3, 2)), ("feature_alpha_dropout", (4, 6, 3))]


@pytest.mark.parametrize("name,shape", CHANNEL_DROPOUT)
def test_channel_dropout_zeroes_whole_channels_seeded(name, shape, torch):
    x = pygrad.tensor(np.random.default_rng(0).uniform(0.5, 1.5, shape), requires_grad=True)
    pygrad.manual_seed(5)
    out = getattr(PF, name)(x, 0.4, training=True)
    y, a = out.detach().numpy(), x.detach().numpy()
    batched = len(shape) in (3, 4) and name != "dropout3d" or len(shape) == 5
    channels = (shape[0] * shape[1]) if batched else shape[0]
    if name == "feature_alpha_dropout":  # a channel is all -alpha*a*(1 - p), or a*x + alpha*a*p
        alpha = 1.7580993408473766
        scale = 1 / np.sqrt((alpha ** 2 * 0.4 + 1) * 0.6)
        y_c, a_c = y.reshape(channels, -1), a.reshape(channels, -1)
        dropped = np.all(np.isclose(y_c, -alpha * scale * 0.6), axis=1)
        np.testing.assert_allclose(y_c[~dropped], scale * a_c[~dropped] + alpha * scale * 0.4)
        assert 0 < dropped.sum() < channels
    else:
        per_channel = (y / a).reshape(channels, -1)
        assert np.allclose(per_channel, per_channel[:, :1])  # one factor per channel
        assert set(np.round(np.unique(per_channel), 6)) <= {0.0, round(1 / 0.6, 6)}
        assert 0 < (per_channel[:, 0] == 0).sum() < per_channel.shape[0]
    pygrad.manual_seed(5)
    np.testing.assert_array_equal(getattr(PF, name)(x, 0.4, training=True).detach().numpy(), y)
    ref = getattr(torch.nn.functional, name)(torch.tensor(a, requires_grad=True), 0.4, training=True)
    assert _graph(out).replace("AccumulateGrad", "") == _graph(ref).replace("AccumulateGrad", "")
    np.testing.assert_array_equal(getattr(PF, name)(x, 0.4, training=False).detach().numpy(), a)


def test_dropout_edges_as_torch(torch):
    a = np.arange(1.0, 13.0).reshape(2, 3, 2)
    for lib in (pygrad, torch):
        F = lib.nn.functional
        x = lib.tensor(a)
        assert F.dropout1d(x, 1.0).sum().item() == 0
        assert F.dropout1d(x, 0.0) is x or np.array_equal(F.dropout1d(x, 0.0).numpy(), a)
        y = lib.tensor(a)
        assert F.dropout1d(y, 0.5, inplace=True) is y
        assert F.alpha_dropout(x, 0.5).numpy().tolist() == a.tolist()  # training=False by default


def test_alpha_dropout_keeps_zero_mean_unit_variance():
    x = pygrad.randn(200000, dtype=pygrad.float64)
    pygrad.manual_seed(1)
    out = PF.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(out.mean()) < 0.01 and abs(out.std() - 1) < 0.01
    # a dropped element becomes a*(-alpha) + b = -alpha*a*(1 - p): one value, about 30% of the elements
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * 0.3 + 1) * 0.7)
    dropped = np.isclose(out, -alpha * a * 0.7, rtol=1e-12)
    assert abs(dropped.mean() - 0.3) < 0.01


def test_alpha_dropout_gradient_is_the_scale_where_kept():
    x = pygrad.tensor(np.linspace(-1, 1, 50), requires_grad=True)

    def fn(t):
        pygrad.manual_seed(2)
        return PF.alpha_dropout(t, 0.4, training=True)
    assert gradcheck(fn, [x])
    assert type(fn(x).grad_fn).__name__ == "AddBackward0"


WARNINGS = {
    "dropout2d_3d": lambda m: m.nn.functional.dropout2d(m.ones(2, 3, 4), training=False),
    "dropout2d_2d": lambda m: m.nn.functional.dropout2d(m.ones(2, 3), training=False),
    "dropout3d_3d": lambda m: m.nn.functional.dropout3d(m.ones(2, 3, 4), training=False),
}


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_dropout_warnings_as_torch(name, torch):
    texts = []
    for lib in (pygrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            WARNINGS[name](lib)
        texts.append([str(w.message) for w in caught])
    assert texts[0] == texts[1] and texts[0]


ERRORS = {
    "dropout1d_4d": lambda m: m.nn.functional.dropout1d(m.ones(2, 3, 4, 5)),
    "dropout2d_p": lambda m: m.nn.functional.dropout2d(m.ones(2, 3, 4, 5), 1.5),
    "alpha_dropout_p": lambda m: m.nn.functional.alpha_dropout(m.ones(2), -0.1),
    "dropout_module_p": lambda m: m.nn.Dropout2d(2.0),
    "max_pool1d_dims": lambda m: m.nn.functional.max_pool1d(m.ones(2), 2),
    "avg_pool1d_dims": lambda m: m.nn.functional.avg_pool1d(m.ones(2, 2, 2, 2), 2),
    "adaptive_avg_pool1d_dims": lambda m: m.nn.functional.adaptive_avg_pool1d(m.ones(2, 2, 2, 2), 2),
    "rms_norm_shape": lambda m: m.nn.functional.rms_norm(m.ones(2, 3), (4, 5)),
    "rms_norm_dims": lambda m: m.nn.functional.rms_norm(m.ones(2, 3), (2, 3, 3)),
    "softmax2d_dims": lambda m: m.nn.Softmax2d()(m.ones(2, 3)),
    # padding, convolution padding modes, unfold/fold
    "reflect_too_wide": lambda m: m.nn.functional.pad(m.ones(2, 3, 3), (3, 3), mode="reflect"),
    "reflect_1d_input": lambda m: m.nn.functional.pad(m.ones(3), (1, 1), mode="reflect"),
    "replicate_6d_input": lambda m: m.nn.functional.pad(m.ones(2, 2, 2, 2, 2, 2), (1, 1), mode="replicate"),
    "reflect_6_on_3d": lambda m: m.nn.functional.pad(m.ones(2, 3, 3), (1, 1, 1, 1, 1, 1), mode="reflect"),
    "unknown_mode": lambda m: m.nn.functional.pad(m.ones(2, 3, 3), (1, 1), mode="foo"),
    "circular_wraps_twice": lambda m: m.nn.functional.pad(m.ones(2, 3, 3), (4, 0), mode="circular"),
    "circular_empty_dim": lambda m: m.nn.functional.pad(m.ones(2, 3, 3), (-2, -2), mode="circular"),
    "circular_1d_input": lambda m: m.nn.functional.pad(m.ones(3), (1, 1), mode="circular"),
    "conv_transpose_padding_mode": lambda m: m.nn.ConvTranspose2d(1, 1, 2, padding_mode="circular"),
    "fold_blocks": lambda m: m.nn.functional.fold(m.ones(2, 12, 13), (4, 5), 2),
    "fold_kernel_product": lambda m: m.nn.functional.fold(m.ones(2, 13, 12), (4, 5), 2),
    "fold_1d_input": lambda m: m.nn.functional.fold(m.ones(12), (4, 5), 2),
    "unfold_no_blocks": lambda m: m.nn.functional.unfold(m.ones(1, 1, 2, 2), 3),
    "unfold_5d_input": lambda m: m.nn.functional.unfold(m.ones(1, 1, 1, 4, 5), 2),
    "unfold_kernel_0": lambda m: m.nn.functional.unfold(m.ones(1, 1, 4, 5), 0),
    "unfold_stride_0": lambda m: m.nn.functional.unfold(m.ones(1, 1, 4, 5), 2, stride=0),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_torchs(name, torch):
    outcomes = []
    for lib in (pygrad, torch):
        with pytest.raises(Exception) as info:
            ERRORS[name](lib)
        outcomes.append((type(info.value), str(info.value)))
    assert outcomes[0] == outcomes[1]


FUNCTIONS = {
    "max_pool1d": lambda m, x: m.nn.functional.max_pool1d(x, 3, stride=2, padding=1, dilation=1),
    "max_pool1d_dilation": lambda m, x: m.nn.functional.max_pool1d(x, 2, dilation=2),
    "avg_pool1d": lambda m, x: m.nn.functional.avg_pool1d(x, 3, 1, 1),
    "adaptive_avg_pool1d": lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 4),
    "rms_norm_weight": lambda m, x: m.nn.functional.rms_norm(x, (7,), m.linspace(0.5, 2.0, 7, dtype=m.float64)),
    "rms_norm_default_eps": lambda m, x: m.nn.functional.rms_norm(x * 1e-5, [3, 7]),
    "lp_pool1d_positive_fractional": lambda m, x: m.nn.functional.lp_pool1d(x.abs() + 0.1, 1.5, 3, stride=2),
    "lp_pool2d_positive_stride": lambda m, x: m.nn.functional.lp_pool2d(x.abs() + 0.1, 2.5, (2, 3), stride=1),
    "lp_pool1d_negative_inf": lambda m, x: m.nn.functional.lp_pool1d(x, -float("inf"), 2),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functions_match_torch(name, dtype, rng, torch):
    a = rng.uniform(-2, 2, size=(2, 3, 7)).astype(dtype)
    x, tx = pygrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    fn = FUNCTIONS[name]
    out, ref = fn(pygrad, x.to(pygrad.float64) if "weight" in name else x), \
        fn(torch, tx.to(torch.float64) if "weight" in name else tx)
    assert _graph(out).replace("AccumulateGrad", "") == _graph(ref).replace("AccumulateGrad", "")
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = rng.standard_normal(tuple(ref.shape))
    out.backward(pygrad.tensor(seed.astype(out.detach().numpy().dtype)))
    ref.backward(torch.tensor(seed.astype(ref.detach().numpy().dtype)))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


def pad_hvp(m, ad, x, tx, pad, mode):
    """The tangent of a padding's gradient (forward over reverse): the padding entries and their
    gradients' entries run in forward mode."""
    with ad.dual_level():
        dx = ad.make_dual(m.tensor(x, requires_grad=True), m.tensor(tx))
        (g,) = m.autograd.grad((m.nn.functional.pad(dx, pad, mode=mode) ** 2).sum(), dx, create_graph=True)
        return ad.unpack_dual(g).tangent.detach().numpy()


PADS = [((2, 3, 5), (2, 1), "reflect"), ((3, 5), (0, 3), "replicate"), ((2, 3, 4, 5), (1, 2, 3, 0), "reflect"),
        ((2, 3, 4, 5), (1, 2, 3, 0), "replicate"), ((1, 2, 3, 4, 3), (1, 1, 2, 0, 1, 2), "reflect"),
        ((2, 3, 2, 2), (1, 1, 2, 0, 1, 2), "replicate"), ((2, 3, 5), (-1, 2), "reflect"),
        ((2, 3, 5), (2, 1), "circular"), ((3, 5), (0, 5), "circular"), ((2, 3, 4, 5), (1, 2, 3, 0), "circular"),
        ((1, 2, 3, 4, 3), (1, 1, 2, 0, 1, 2), "circular"), ((2, 3, 5), (-2, 1), "circular")]


@pytest.mark.parametrize("shape,pad,mode", PADS)
def test_index_pads_twice_differentiable_and_forward_over_reverse_as_torch(shape, pad, mode, rng, torch):
    import torch.autograd.forward_ad as tfw
    import pygrad.autograd.forward_ad as fwAD
    from pygrad.autograd import gradgradcheck
    a, t = rng.standard_normal(shape), rng.standard_normal(shape)
    results = []
    for lib in (pygrad, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.functional.pad(x, pad, mode=mode)
        (g,) = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        g.sum().backward()
        results.append((_graph(y), type(g.grad_fn).__name__, y.detach().numpy(), g.detach().numpy(), x.grad.numpy()))
    assert results[0][:2] == results[1][:2]
    for ours, theirs in zip(results[0][2:], results[1][2:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pad_hvp(pygrad, fwAD, a, t, pad, mode), pad_hvp(torch, tfw, a, t, pad, mode),
                               rtol=1e-12)
    x = pygrad.tensor(a, requires_grad=True)
    assert gradgradcheck(lambda v: PF.pad(v, pad, mode=mode) ** 2, [x])




def test_conv_padding_mode_error_names_the_valid_modes(torch):
    """PyTorch prints a set of the modes, in an order that varies from process to process."""
    results = []
    for lib in (pygrad, torch):
        with pytest.raises(ValueError) as info:
            lib.nn.Conv1d(1, 1, 2, padding_mode="wrap")
        head, _, tail = str(info.value).partition("{")
        modes, _, rest = tail.partition("}")
        results.append((head, sorted(modes.split(", ")), rest))
    assert results[0] == results[1]


@pytest.mark.parametrize("shape,size", [((1, 1, 7), 3), ((2, 2, 6), 4), ((3, 5), 5), ((1, 2, 4), 1)])
def test_adaptive_max_pool1d_indices_ties_and_nan_as_torch(shape, size, rng, torch):
    """Indices into the input, the first maximum of a window (ties), the last NaN of one."""
    a = rng.integers(0, 3, shape).astype(float)  # small integers: ties in most windows
    a.flat[1] = np.nan
    a.flat[-1] = np.nan
    results = []
    for lib in (pygrad, torch):
        x = lib.tensor(a, requires_grad=True)
        out, indices = lib.nn.functional.adaptive_max_pool1d(x, size, return_indices=True)
        out.backward(lib.ones_like(out))
        results.append((out.detach().numpy(), indices.numpy(), x.grad.numpy(), str(indices.dtype)))
    for ours, theirs in zip(results[0], results[1]):
        np.testing.assert_array_equal(ours, theirs)


def test_adaptive_max_pool2d_twice_differentiable_as_torch(rng, torch):
    from pygrad.autograd import gradgradcheck
    a = rng.standard_normal((2, 3, 6, 5))
    results = []
    for lib in (pygrad, torch):
        x = lib.tensor(a, requires_grad=True)
        out, indices = lib.nn.functional.adaptive_max_pool2d(x, (4, 3), return_indices=True)
        (g,) = lib.autograd.grad((out ** 3).sum(), x, create_graph=True)
        (g * g).sum().backward()
        results.append((type(g.grad_fn).__name__, indices.numpy(), g.detach().numpy(), x.grad.numpy()))
    assert results[0][0] == results[1][0] == "AdaptiveMaxPool2DBackwardBackward0"
    for ours, theirs in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    x = pygrad.tensor(a[:1, :1], requires_grad=True)
    assert gradgradcheck(lambda v: PF.adaptive_max_pool2d(v, (4, 3)) ** 2, [x])
