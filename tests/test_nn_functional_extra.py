"""Functional forms of the new layers against PyTorch (values, gradients, errors), the parameter
containers, and the recurrent/attention layers' argument checks and warnings."""
import itertools
import warnings

import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck

PF = pygrad.nn.functional


def _pair(rng, shape, dtype="float64"):
    a = rng.uniform(-1.5, 1.5, size=shape).astype(dtype)
    return a


def _compare(torch, fn, arrays, tol=1e-9, **kwargs):
    """fn(lib, *tensors) on both libraries: values and gradients of every float input."""
    ours = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(pygrad, *ours, **kwargs), fn(torch, *theirs, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape) and out.dtype.name == str(ref.dtype)[6:]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    seed = np.random.default_rng(0).standard_normal(tuple(ref.shape)).astype(arrays[0].dtype)
    (out * pygrad.tensor(seed)).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("dims,kwargs", [
    (1, dict(scale_factor=3)), (1, dict(size=7)), (1, dict(scale_factor=0.5)), (2, dict(scale_factor=2)),
    (2, dict(scale_factor=1.5)), (2, dict(size=(4, 9))), (2, dict(scale_factor=(0.7, 2.3))), (3, dict(scale_factor=2)),
    (2, dict(scale_factor=1.5, recompute_scale_factor=True)), (2, dict(size=(3, 3))),
    (2, dict(scale_factor=2, mode="bilinear")), (2, dict(scale_factor=1.3, mode="bilinear", align_corners=True)),
    (2, dict(size=(7, 2), mode="bilinear")), (2, dict(size=(1, 5), mode="bilinear", align_corners=True)),
    (2, dict(scale_factor=0.5, mode="bilinear")), (1, dict(size=9, mode="linear", align_corners=True)),
    (1, dict(scale_factor=1.25, mode="linear")), (3, dict(scale_factor=1.5, mode="trilinear")),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_matches_torch(torch, dims, kwargs, dtype):
    rng = np.random.default_rng(3)
    shape = (2, 2) + (5, 4, 3)[:dims]
    _compare(torch, lambda m, x: m.nn.functional.interpolate(x, **kwargs), [_pair(rng, shape, dtype)],
             tol=1e-5 if dtype == "float32" else 1e-10)


def test_deprecated_upsample_functions_warn_and_match_torch(torch):
    a = np.random.default_rng(2).standard_normal((1, 2, 3, 3))
    for name in ("upsample", "upsample_nearest", "upsample_bilinear"):
        results = []
        for m in (pygrad, torch):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = getattr(m.nn.functional, name)(m.tensor(a), scale_factor=2)
            results.append((out.numpy(), [str(w.message) for w in caught]))
        np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
        assert results[0][1] == results[1][1] and len(results[0][1]) == 1


def test_interpolate_gradcheck_and_errors(torch):
    x = pygrad.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda x: PF.interpolate(x, scale_factor=1.5, mode="bilinear"), [x])
    assert gradcheck(lambda x: PF.interpolate(x, size=(5, 5), mode="bilinear", align_corners=True), [x])
    assert gradcheck(lambda x: PF.interpolate(x, scale_factor=2), [x])
    for call in [lambda m: m.nn.functional.interpolate(m.ones(1, 1, 2, 2), scale_factor=2, align_corners=True),
                 lambda m: m.nn.functional.interpolate(m.ones(1, 1, 2, 2)),
                 lambda m: m.nn.functional.interpolate(m.ones(1, 1, 2, 2), size=3, scale_factor=2),
                 lambda m: m.nn.functional.interpolate(m.ones(1, 1, 2, 2), size=(1, 2, 3))]:
        assert _error(lambda: call(pygrad)) == _error(lambda: call(torch))


@pytest.mark.parametrize("spec", [
    dict(), dict(scale=0.3), dict(is_causal=True), dict(mask="bool"), dict(mask="float"), dict(mask="bool", shape=4),
    dict(mask="bool_empty_row"),
])
def test_scaled_dot_product_attention_matches_torch(torch, spec):
    rng = np.random.default_rng(5)
    lead = (2, 3) if spec.get("shape") == 4 else (2,)
    q, k, v = _pair(rng, lead + (4, 6)), _pair(rng, lead + (5, 6)), _pair(rng, lead + (5, 3))
    if spec.get("is_causal"):
        k, v = k[..., :4, :], v[..., :4, :]
    mask = None
    if spec.get("mask") == "bool":
        mask = rng.random((4, 5)) > 0.3
        mask[:, 0] = True
    elif spec.get("mask") == "bool_empty_row":
        mask = rng.random((4, 5)) > 0.3
        mask[:, 0], mask[2] = True, False
    elif spec.get("mask") == "float":
        mask = rng.standard_normal((4, 5))

    def fn(m, q, k, v):
        attn_mask = None if mask is None else m.tensor(mask)
        return m.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                                            is_causal=spec.get("is_causal", False),
                                                            scale=spec.get("scale"))
    _compare(torch, fn, [q, k, v])
    leaves = [pygrad.tensor(a, requires_grad=True) for a in (q, k, v)]
    assert gradcheck(lambda *t: fn(pygrad, *t), leaves)


@pytest.mark.parametrize("spatial,stride,padding,output_padding,groups,dilation", [
    (1, 1, 0, 0, 1, 1), (1, 3, 1, 2, 2, 1), (1, 2, 2, 1, 1, 3), (2, 2, 1, 1, 1, 1), (2, (2, 3), (0, 1), (1, 0), 2, 1),
    (2, 1, (2, 0), 0, 1, (2, 1)),
])
def test_conv_transpose_functional_matches_torch(torch, spatial, stride, padding, output_padding, groups, dilation):
    rng = np.random.default_rng(9)
    x = _pair(rng, (2, 4) + (4, 3)[:spatial])
    w = _pair(rng, (4, 6 // groups) + (3, 2)[:spatial])
    b = _pair(rng, (6,))
    name = f"conv_transpose{spatial}d"
    fn = lambda m, x, w, b: getattr(m.nn.functional, name)(x, w, b, stride, padding, output_padding, groups, dilation)
    _compare(torch, fn, [x, w, b])
    leaves = [pygrad.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(lambda *t: fn(pygrad, *t), leaves)


def test_conv_errors_match_torch(torch):
    calls = [lambda m: m.nn.functional.conv1d(m.ones(2, 3, 4, 5), m.ones(2, 3, 1)),
             lambda m: m.nn.functional.conv_transpose2d(m.ones(1, 3, 4, 4), m.ones(2, 2, 3, 3)),
             lambda m: m.nn.functional.conv_transpose2d(m.ones(1, 2, 4, 4), m.ones(2, 2, 3, 3), stride=2,
                                                        output_padding=2),
             lambda m: m.nn.Conv1d(3, 4, 2, groups=2),
             lambda m: m.nn.functional.conv1d(m.ones(1, 2, 5), m.ones(2, 2, 3), padding="same", stride=2)]
    for call in calls:
        assert _error(lambda: call(pygrad))[0] == _error(lambda: call(torch))[0]


def test_small_functionals_match_torch(torch):
    rng = np.random.default_rng(2)
    _compare(torch, lambda m, x: m.nn.functional.pixel_shuffle(x, 3), [_pair(rng, (2, 18, 2, 2))])
    _compare(torch, lambda m, x: m.nn.functional.pixel_unshuffle(x, 2), [_pair(rng, (3, 4, 6))])
    _compare(torch, lambda m, a, b, w, c: m.nn.functional.bilinear(a, b, w, c),
             [_pair(rng, (4, 2)), _pair(rng, (4, 3)), _pair(rng, (5, 2, 3)), _pair(rng, (5,))])
    _compare(torch, lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=0),
             [_pair(rng, (3, 4)), _pair(rng, (3, 4))])
    _compare(torch, lambda m, a, b: m.nn.functional.pairwise_distance(a, b, p=3.0),
             [_pair(rng, (3, 4)), _pair(rng, (3, 4))])
    _compare(torch, lambda m, x, w, b: m.nn.functional.group_norm(x, 2, w, b, eps=1e-3),
             [_pair(rng, (2, 4, 3)), _pair(rng, (4,)), _pair(rng, (4,))])
    zero = [np.zeros((2, 3)), _pair(rng, (2, 3))]
    _compare(torch, lambda m, a, b: m.nn.functional.cosine_similarity(a, b), zero)
    assert _error(lambda: PF.group_norm(pygrad.ones(2, 3, 4), 2)) == \
        _error(lambda: torch.nn.functional.group_norm(torch.ones(2, 3, 4), 2))
    assert _error(lambda: PF.pixel_shuffle(pygrad.ones(1, 3, 2, 2), 2)) == \
        _error(lambda: torch.nn.functional.pixel_shuffle(torch.ones(1, 3, 2, 2), 2))


def test_instance_norm_running_stats_follow_torch(torch):
    rng = np.random.default_rng(4)
    a = _pair(rng, (3, 2, 5), "float32")
    layers = [m.nn.InstanceNorm1d(2, track_running_stats=True, momentum=0.3) for m in (pygrad, torch)]
    for _ in range(2):
        layers[0](pygrad.tensor(a))
        layers[1](torch.tensor(a))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(layers[0], name).numpy(), getattr(layers[1], name).numpy(), rtol=1e-6)
    texts = []
    for m in (pygrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m.nn.InstanceNorm1d(3)(m.ones(2, 4, 5))
        texts.append([str(w.message) for w in caught])
    assert texts[0] == texts[1] and texts[0]
    assert _error(lambda: pygrad.nn.InstanceNorm1d(3, affine=True)(pygrad.ones(2, 4, 5))) == \
        _error(lambda: torch.nn.InstanceNorm1d(3, affine=True)(torch.ones(2, 4, 5)))


def _containers(m):
    nn = m.nn
    plist = nn.ParameterList([nn.Parameter(m.ones(2, 3)), nn.Parameter(m.zeros(3, dtype=m.float64))])
    plist.append(m.ones(1))
    plist.extend([nn.Parameter(m.ones(2))])
    plist[0] = m.zeros(1)
    pdict = nn.ParameterDict({"b": nn.Parameter(m.ones(2)), "a": nn.Parameter(m.ones(1))})
    pdict["c"] = m.ones(3)
    pdict.update([("z", m.ones(1)), ("y", m.ones(2))])
    popped = pdict.pop("a")
    model = nn.Module()
    model.plist, model.pdict, model.single = plist, pdict, nn.ParameterList([nn.Parameter(m.ones(1))])
    return [repr(model), list(model.state_dict()), [n for n, _ in model.named_parameters()], len(plist), len(pdict),
            list(pdict.keys()), "c" in pdict, type(plist[1]).__name__, type(pdict["c"]).__name__,
            tuple(popped.shape), [tuple(p.shape) for p in plist[1:3]], repr(nn.ParameterDict()), repr(nn.ParameterList()),
            [type(p).__name__ for p in pdict.values()]]


def test_parameter_containers_match_torch(torch):
    assert _containers(pygrad) == _containers(torch)


def test_recurrent_and_attention_argument_checks_match_torch(torch):
    calls = [lambda m: m.nn.RNN(3, 4)(m.randn(5, 2, 4)),
             lambda m: m.nn.RNN(3, 4)(m.randn(5, 2, 3), m.randn(1, 3, 4)),
             lambda m: m.nn.GRU(3, 4)(m.randn(2, 5, 2, 3)),
             lambda m: m.nn.LSTM(3, 4)(m.randn(5, 3).double()),
             lambda m: m.nn.LSTM(3, 4)(m.randn(5, 2, 3), (m.randn(1, 2, 4), m.randn(1, 3, 4))),
             lambda m: m.nn.RNN(3, 4)(m.randn(5, 3), m.randn(1, 1, 4)),
             lambda m: m.nn.RNN(3, 4, nonlinearity="sigmoid"),
             lambda m: m.nn.GRUCell(3, 4)(m.randn(2, 2, 3)),
             lambda m: m.nn.MultiheadAttention(5, 2),
             lambda m: m.nn.MultiheadAttention(4, 2)(m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4),
                                                     attn_mask=m.ones(2, 2)),
             lambda m: m.nn.MultiheadAttention(4, 2)(m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4), is_causal=True),
             lambda m: m.nn.MultiheadAttention(3, 1)(m.ones(1, 2, 3), m.ones(1, 2, 3), m.ones(1, 2, 3),
                                                     key_padding_mask=m.tensor([[True, True]]))]
    for call in calls:
        assert _error(lambda: call(pygrad)) == _error(lambda: call(torch))


def test_construction_warnings_match_torch(torch):
    def caught(m, build):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            build(m)
        return [(w.category.__name__, str(w.message)) for w in seen]
    builds = [lambda m: m.nn.LSTM(3, 4, dropout=0.2),
              lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(4, 2, 8), 2),
              lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(4, 2, 8, batch_first=True), 2),
              lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(4, 1, 8, batch_first=True), 1),
              lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(4, 2, 8, batch_first=True,
                                                                             norm_first=True), 1)]
    for build in builds:
        assert caught(pygrad, build) == caught(torch, build)


def test_rnn_dropout_between_layers_only_in_training():
    pygrad.manual_seed(0)
    lstm = pygrad.nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = pygrad.randn(5, 2, 3)
    a, _ = lstm(x)
    b, _ = lstm(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    lstm.eval()
    c, _ = lstm(x)
    d, _ = lstm(x)
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())


def test_new_layers_init_distributions():
    pygrad.manual_seed(0)
    rnn = pygrad.nn.GRU(10, 25)
    for p in rnn.parameters():
        assert np.abs(p.detach().numpy()).max() <= 1 / 5 and np.abs(p.detach().numpy()).max() > 0.18
    mha = pygrad.nn.MultiheadAttention(8, 2)
    bound = np.sqrt(6 / (8 + 24))
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= bound
    assert (mha.in_proj_bias.detach().numpy() == 0).all() and (mha.out_proj.bias.detach().numpy() == 0).all()
    bil = pygrad.nn.Bilinear(16, 3, 4)
    assert np.abs(bil.weight.detach().numpy()).max() <= 0.25


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0, "keepdim": True}, {"p": 3.0}, {"p": float("inf")}])
def test_pairwise_distance_records_torchs_nodes(kwargs, torch):
    """at::pairwise_distance: NormBackward1 of AddBackward1 (the eps) of SubBackward0, keeping
    p, dim and keepdim under PyTorch's names."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    chains = []
    for m in (pygrad, torch):
        y = m.nn.functional.pairwise_distance(m.tensor(a, requires_grad=True), m.tensor(b), **kwargs)
        node, names = y.grad_fn, []
        while node is not None:
            names.append(node.name())
            node = node.next_functions[0][0] if node.next_functions else None
        chains.append((names, y.grad_fn._saved_p, y.grad_fn._saved_dim, y.grad_fn._saved_keepdim))
    assert chains[0] == chains[1]
    assert chains[0][0][:3] == ["NormBackward1", "AddBackward1", "SubBackward0"]
    _compare(torch, lambda m, x, y: m.nn.functional.pairwise_distance(x, y, **kwargs), [a, b])
