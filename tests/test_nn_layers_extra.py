"""Recurrent, attention, transformer, convolution, normalisation, resampling and distance layers
against PyTorch: PyTorch's initial weights are copied into pygrad's module (state_dict through
numpy), then outputs, input and parameter gradients, repr and grad_fn names are compared, and each
layer passes a float64 gradcheck."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck


@dataclass
class Case:
    name: str
    build: object                    # build(nn) -> module
    inputs: object                   # inputs(rng) -> list of arrays, or tuples of arrays (an LSTM state)
    kwargs: object = None            # kwargs(lib) -> forward keyword arguments
    grad_fn: tuple | None = None     # PyTorch's grad_fn names of the flattened outputs, where matched
    eval: bool = False
    gradcheck: bool = True
    grad_inputs: bool = True         # whether the float inputs require grad
    tol: dict = field(default_factory=dict)


def _seq(rng, *shape):
    return rng.uniform(-1.5, 1.5, size=shape)


CASES = [
    Case("rnn", lambda nn: nn.RNN(3, 4), lambda r: [_seq(r, 5, 2, 3)], grad_fn=("StackBackward0", "StackBackward0")),
    Case("rnn_relu_2layer_bi", lambda nn: nn.RNN(3, 4, 2, "relu", bidirectional=True), lambda r: [_seq(r, 4, 2, 3)],
         grad_fn=("CatBackward0", "StackBackward0")),
    Case("rnn_h0_batch_first", lambda nn: nn.RNN(3, 4, batch_first=True, bias=False),
         lambda r: [_seq(r, 2, 5, 3), _seq(r, 1, 2, 4)]),
    Case("lstm", lambda nn: nn.LSTM(3, 4), lambda r: [_seq(r, 5, 2, 3)],
         grad_fn=("StackBackward0", "StackBackward0", "StackBackward0")),
    Case("lstm_2layer_bi_states", lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
         lambda r: [_seq(r, 4, 3, 3), (_seq(r, 4, 3, 4), _seq(r, 4, 3, 4))],
         gradcheck=False),  # the stacking is gradchecked with the RNN; this would take half a minute
    Case("lstm_batch_first", lambda nn: nn.LSTM(3, 4, batch_first=True), lambda r: [_seq(r, 2, 5, 3)],
         grad_fn=("TransposeBackward0", "StackBackward0", "StackBackward0")),
    Case("lstm_unbatched", lambda nn: nn.LSTM(3, 4), lambda r: [_seq(r, 5, 3)],
         grad_fn=("SqueezeBackward1",) * 3),
    Case("lstm_dropout_eval", lambda nn: nn.LSTM(3, 4, 3, dropout=0.5), lambda r: [_seq(r, 3, 2, 3)], eval=True,
         gradcheck=False),
    Case("gru", lambda nn: nn.GRU(3, 4), lambda r: [_seq(r, 5, 2, 3)], grad_fn=("StackBackward0", "StackBackward0")),
    Case("gru_2layer_bi_h0", lambda nn: nn.GRU(3, 4, 2, bidirectional=True, batch_first=True),
         lambda r: [_seq(r, 2, 4, 3), _seq(r, 4, 2, 4)], gradcheck=False),
    Case("gru_unbatched", lambda nn: nn.GRU(3, 4, bias=False), lambda r: [_seq(r, 5, 3), _seq(r, 1, 4)]),
    Case("rnn_cell", lambda nn: nn.RNNCell(3, 4), lambda r: [_seq(r, 2, 3)], grad_fn=("TanhBackward0",)),
    Case("rnn_cell_relu_hx", lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"), lambda r: [_seq(r, 2, 3), _seq(r, 2, 4)],
         grad_fn=("ReluBackward0",)),
    Case("rnn_cell_unbatched", lambda nn: nn.RNNCell(3, 4, bias=False), lambda r: [_seq(r, 3)]),
    Case("lstm_cell", lambda nn: nn.LSTMCell(3, 4), lambda r: [_seq(r, 2, 3), (_seq(r, 2, 4), _seq(r, 2, 4))],
         grad_fn=("MulBackward0", "AddBackward0")),
    Case("lstm_cell_zero_state", lambda nn: nn.LSTMCell(3, 4), lambda r: [_seq(r, 2, 3)]),
    Case("gru_cell", lambda nn: nn.GRUCell(3, 4), lambda r: [_seq(r, 2, 3), _seq(r, 2, 4)],
         grad_fn=("AddBackward0",)),
    Case("gru_cell_unbatched", lambda nn: nn.GRUCell(3, 4), lambda r: [_seq(r, 3)]),
    # attention and transformers
    Case("mha", lambda nn: nn.MultiheadAttention(4, 2), lambda r: [_seq(r, 4, 3, 4), _seq(r, 5, 3, 4), _seq(r, 5, 3, 4)],
         grad_fn=("ViewBackward0", "MeanBackward1")),
    Case("mha_batch_first_masks", lambda nn: nn.MultiheadAttention(4, 2, batch_first=True),
         lambda r: [_seq(r, 3, 4, 4), _seq(r, 3, 5, 4), _seq(r, 3, 5, 4)],
         kwargs=lambda m: dict(key_padding_mask=m.tensor([[False] * 4 + [True], [False] * 5, [False] * 3 + [True] * 2]),
                               attn_mask=m.tensor(np.triu(np.ones((4, 5), bool), 2)), average_attn_weights=False)),
    Case("mha_float_mask_no_weights", lambda nn: nn.MultiheadAttention(8, 2, bias=False),
         lambda r: [_seq(r, 4, 2, 8), _seq(r, 4, 2, 8), _seq(r, 4, 2, 8)],
         kwargs=lambda m: dict(attn_mask=m.tensor(np.linspace(-1, 0, 16).reshape(4, 4), dtype=m.float32).to(
             m.get_default_dtype()), need_weights=False)),
    Case("mha_kdim_vdim_bias_kv", lambda nn: nn.MultiheadAttention(6, 3, kdim=4, vdim=5, add_bias_kv=True,
                                                                   add_zero_attn=True),
         lambda r: [_seq(r, 3, 2, 6), _seq(r, 4, 2, 4), _seq(r, 4, 2, 5)]),
    Case("mha_unbatched_causal", lambda nn: nn.MultiheadAttention(4, 2),
         lambda r: [_seq(r, 3, 4), _seq(r, 3, 4), _seq(r, 3, 4)],
         kwargs=lambda m: dict(attn_mask=_causal(m, 3), is_causal=True, need_weights=False)),
    Case("encoder_layer", lambda nn: nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0), lambda r: [_seq(r, 3, 2, 4)]),
    Case("encoder_layer_norm_first_gelu", lambda nn: nn.TransformerEncoderLayer(
        4, 2, 6, activation="gelu", norm_first=True, batch_first=True).eval(), lambda r: [_seq(r, 2, 3, 4)],
         kwargs=lambda m: dict(src_key_padding_mask=m.tensor([[False] * 3, [False] * 2 + [True]]))),
    Case("encoder_stack_norm_mask", lambda nn: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=nn.GELU()), 2, norm=nn.LayerNorm(8)),
         lambda r: [_seq(r, 5, 2, 8)], kwargs=lambda m: dict(mask=_causal(m, 5)), gradcheck=False),
    Case("encoder_nested_padding_eval", lambda nn: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2).eval(), lambda r: [_seq(r, 2, 4, 8)],
         kwargs=lambda m: dict(src_key_padding_mask=m.tensor([[False] * 2 + [True] * 2, [False] * 4])),
         grad_inputs=False, gradcheck=False),
    # convolutions
    Case("conv1d", lambda nn: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2),
         lambda r: [_seq(r, 2, 4, 9)]),
    Case("conv1d_same_unbatched", lambda nn: nn.Conv1d(3, 2, 4, padding="same", dilation=2, bias=False),
         lambda r: [_seq(r, 3, 7)]),
    Case("conv2d_same", lambda nn: nn.Conv2d(2, 3, (2, 3), padding="same"), lambda r: [_seq(r, 2, 2, 5, 4)]),
    Case("conv_transpose1d", lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         lambda r: [_seq(r, 2, 4, 5)]),
    Case("conv_transpose2d", lambda nn: nn.ConvTranspose2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2),
         lambda r: [_seq(r, 2, 3, 4, 3)]),
    Case("conv_transpose2d_unbatched_output_size", lambda nn: nn.ConvTranspose2d(2, 2, 3, stride=2, bias=False),
         lambda r: [_seq(r, 2, 3, 3)], kwargs=lambda m: dict(output_size=[8, 8])),
    # normalisation
    Case("group_norm", lambda nn: nn.GroupNorm(2, 4), lambda r: [_seq(r, 3, 4, 5)]),
    Case("group_norm_4d_no_affine", lambda nn: nn.GroupNorm(3, 6, affine=False), lambda r: [_seq(r, 2, 6, 2, 3)]),
    Case("instance_norm1d", lambda nn: nn.InstanceNorm1d(3), lambda r: [_seq(r, 2, 3, 6)]),
    Case("instance_norm2d_affine_tracked", lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
         lambda r: [_seq(r, 2, 3, 3, 4)]),
    Case("instance_norm2d_eval_stats", lambda nn: _with_stats(nn.InstanceNorm2d(2, affine=True,
                                                                                track_running_stats=True)).eval(),
         lambda r: [_seq(r, 2, 3, 3)]),
    # resampling
    Case("upsample_nearest", lambda nn: nn.Upsample(scale_factor=2), lambda r: [_seq(r, 2, 3, 3, 4)]),
    Case("upsample_nearest_size", lambda nn: nn.Upsample(size=(5, 7)), lambda r: [_seq(r, 1, 2, 3, 4)]),
    Case("upsample_nearest_1d_fraction", lambda nn: nn.Upsample(scale_factor=1.7), lambda r: [_seq(r, 1, 2, 5)]),
    Case("upsample_bilinear", lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"), lambda r: [_seq(r, 2, 2, 3, 4)]),
    Case("upsample_bilinear_align", lambda nn: nn.Upsample(size=(5, 3), mode="bilinear", align_corners=True),
         lambda r: [_seq(r, 1, 2, 3, 4)]),
    Case("upsample_bilinear_scale_pair", lambda nn: nn.Upsample(scale_factor=(1.5, 0.6), mode="bilinear"),
         lambda r: [_seq(r, 1, 2, 4, 5)]),
    Case("upsampling_bilinear2d", lambda nn: nn.UpsamplingBilinear2d(scale_factor=3), lambda r: [_seq(r, 1, 1, 2, 3)]),
    Case("upsample_linear", lambda nn: nn.Upsample(scale_factor=2.5, mode="linear"), lambda r: [_seq(r, 2, 2, 4)]),
    Case("pixel_shuffle", lambda nn: nn.PixelShuffle(2), lambda r: [_seq(r, 2, 8, 2, 3)]),
    Case("pixel_unshuffle", lambda nn: nn.PixelUnshuffle(2), lambda r: [_seq(r, 1, 2, 4, 6)]),
    # two-input layers and shapes
    Case("bilinear", lambda nn: nn.Bilinear(3, 2, 4), lambda r: [_seq(r, 5, 3), _seq(r, 5, 2)]),
    Case("bilinear_nobias_3d", lambda nn: nn.Bilinear(2, 3, 2, bias=False), lambda r: [_seq(r, 2, 4, 2),
                                                                                       _seq(r, 2, 4, 3)]),
    Case("cosine_similarity", lambda nn: nn.CosineSimilarity(), lambda r: [_seq(r, 4, 3, 2), _seq(r, 4, 3, 2)]),
    Case("cosine_similarity_dim", lambda nn: nn.CosineSimilarity(dim=-1, eps=1e-6), lambda r: [_seq(r, 3, 5),
                                                                                               _seq(r, 1, 5)]),
    Case("pairwise_distance", lambda nn: nn.PairwiseDistance(), lambda r: [_seq(r, 4, 3), _seq(r, 4, 3)]),
    Case("pairwise_distance_p1_keepdim", lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True),
         lambda r: [_seq(r, 4, 3), _seq(r, 4, 3)], gradcheck=False),
    Case("unflatten", lambda nn: nn.Unflatten(1, (2, 3)), lambda r: [_seq(r, 4, 6)]),
    Case("sequential_with_new_layers", lambda nn: nn.Sequential(
        nn.Conv1d(2, 4, 3), nn.GroupNorm(2, 4), nn.Flatten(), nn.Unflatten(1, (4, 3)), nn.ConvTranspose1d(4, 1, 2)),
         lambda r: [_seq(r, 2, 2, 5)]),
]


def _with_stats(norm):
    import sys
    lib = sys.modules[type(norm).__module__.split(".")[0]]
    with lib.no_grad():
        norm.running_mean.copy_(lib.tensor([0.5, -0.25]))
        norm.running_var.copy_(lib.tensor([2.0, 0.5]))
        norm.weight.copy_(lib.tensor([1.5, 0.75]))
    return norm


def _causal(m, n):
    return m.triu(m.full((n, n), float("-inf")), 1)


def _flat(value):
    if isinstance(value, (tuple, list)):
        return [item for v in value for item in _flat(v)]
    return [value]


def _to_lib(lib, value, dtype, requires_grad):
    if isinstance(value, tuple):
        return tuple(_to_lib(lib, v, dtype, requires_grad) for v in value)
    if value.dtype.kind == "f":
        return lib.tensor(value.astype(dtype), requires_grad=requires_grad)
    return lib.tensor(value)


def _build(case, lib, dtype):
    module = case.build(lib.nn).to(getattr(lib, dtype))
    return module.eval() if case.eval else module


def _tol(case, dtype):
    if dtype == "float32":
        return dict(rtol=1e-4, atol=1e-5) | case.tol
    return dict(rtol=1e-9, atol=1e-11)


def _mark(case):
    return pytest.param(case, id=case.name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [_mark(c) for c in CASES])
def test_layer_matches_torch(case, dtype, torch):
    rng = np.random.default_rng(7)
    ref_module = _build(case, torch, dtype)
    module = _build(case, pygrad, dtype)
    assert list(module.state_dict()) == list(ref_module.state_dict())
    for (name, p), (ref_name, ref_p) in zip(module.named_parameters(), ref_module.named_parameters()):
        assert name == ref_name and tuple(p.shape) == tuple(ref_p.shape)
    module.load_state_dict({k: pygrad.tensor(v.detach().numpy()) for k, v in ref_module.state_dict().items()})
    assert repr(module) == repr(ref_module)
    arrays = case.inputs(rng)
    args = [_to_lib(pygrad, a, dtype, case.grad_inputs) for a in arrays]
    ref_args = [_to_lib(torch, a, dtype, case.grad_inputs) for a in arrays]
    kwargs = case.kwargs(pygrad) if case.kwargs else {}
    ref_kwargs = case.kwargs(torch) if case.kwargs else {}
    outs = [o for o in _flat(module(*args, **kwargs)) if o is not None]
    refs = [o for o in _flat(ref_module(*ref_args, **ref_kwargs)) if o is not None]
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert tuple(out.shape) == tuple(ref.shape) and out.dtype.name == str(ref.dtype)[6:]
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **_tol(case, dtype))
    if case.grad_fn is not None and dtype == "float64":  # float32 LSTMs may run on oneDNN in PyTorch
        assert tuple(o.grad_fn.name() for o in outs) == tuple(o.grad_fn.name() for o in refs) == case.grad_fn
    seeds = [rng.standard_normal(tuple(r.shape)).astype(dtype) for r in refs]
    sum((o * pygrad.tensor(s)).sum() for o, s in zip(outs, seeds) if o.requires_grad).backward()
    sum((r * torch.tensor(s)).sum() for r, s in zip(refs, seeds) if r.requires_grad).backward()
    for a, ra in zip(_flat(args), _flat(ref_args)):
        if ra.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), ra.grad.numpy(), **_tol(case, dtype))
    ref_params = dict(ref_module.named_parameters())
    for name, p in module.named_parameters():
        if ref_params[name].grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), err_msg=name, **_tol(case, dtype))


@pytest.mark.parametrize("case", [_mark(c) for c in CASES if c.gradcheck])
def test_layer_gradcheck_float64(case):
    rng = np.random.default_rng(11)
    pygrad.manual_seed(0)
    module = _build(case, pygrad, "float64")
    arrays = case.inputs(rng)
    args = [_to_lib(pygrad, a, "float64", case.grad_inputs) for a in arrays]
    kwargs = case.kwargs(pygrad) if case.kwargs else {}
    leaves = [a for a in _flat(args) if a.requires_grad]
    params = list(module.parameters())

    def run(*tensors):
        it = iter(tensors[:len(leaves)])
        rebuilt = [tuple(next(it) for _ in a) if isinstance(a, tuple) else (next(it) if a.requires_grad else a)
                   for a in args]
        return tuple(o for o in _flat(module(*rebuilt, **kwargs)) if o is not None and o.requires_grad)
    assert gradcheck(run, leaves + params)
