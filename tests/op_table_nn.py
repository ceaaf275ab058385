"""The activations of nn.functional beyond relu/gelu/elu/softplus/silu (ops/optable_nn.py and
nn/_functional_activation.py): cases for the shared gradient, forward-mode and torch checks.
In-place variants run on ``a * 1`` so the case's input stays a leaf."""
from __future__ import annotations

from op_table import OpCase

V, M, T = (5,), (3, 4), (2, 3, 4)


def _F(m):
    """``torch.nn.functional`` on torch; pygrad.nn.functional."""
    if m.__name__ == "torch":
        return m.nn.functional
    from pygrad.nn import functional
    return functional


NN_ACTIVATION_OPS = [
    OpCase("hardtanh", lambda m, a: _F(m).hardtanh(a), (M,), grad_fn="HardtanhBackward0", away_from=(-1.0, 1.0)),
    OpCase("hardtanh_bounds", lambda m, a: _F(m).hardtanh(a, -0.5, 1.5), (T,), grad_fn="HardtanhBackward0",
           away_from=(-0.5, 1.5)),
    OpCase("hardtanh_", lambda m, a: _F(m).hardtanh_(a * 1, max_val=0.5), (M,), grad_fn="HardtanhBackward0",
           away_from=(-1.0, 0.5)),
    OpCase("hardtanh_inplace", lambda m, a: _F(m).hardtanh(a * 1, inplace=True), (V,), grad_fn="HardtanhBackward0",
           away_from=(-1.0, 1.0)),
    OpCase("relu6", lambda m, a: _F(m).relu6(a * 4), (M,), grad_fn="HardtanhBackward0", away_from=(0.0, 1.5)),
    OpCase("hardsigmoid", lambda m, a: _F(m).hardsigmoid(a), (M,), domain=(-4.0, 4.0),
           grad_fn="HardsigmoidBackward0", away_from=(-3.0, 3.0)),
    OpCase("hardsigmoid_inplace", lambda m, a: _F(m).hardsigmoid(a * 1, inplace=True), (V,), domain=(-4.0, 4.0),
           grad_fn="HardsigmoidBackward0", away_from=(-3.0, 3.0)),
    OpCase("hardswish", lambda m, a: _F(m).hardswish(a), (M,), domain=(-4.0, 4.0), grad_fn="HardswishBackward0",
           away_from=(-3.0, 3.0)),
    OpCase("hardswish_inplace", lambda m, a: _F(m).hardswish(a * 1, inplace=True), (V,), domain=(-4.0, 4.0),
           grad_fn="HardswishBackward0", away_from=(-3.0, 3.0)),
    OpCase("selu", lambda m, a: _F(m).selu(a), (M,), grad_fn="EluBackward0", away_from=(0.0,)),
    OpCase("selu_", lambda m, a: _F(m).selu_(a * 1), (M,), grad_fn="EluBackward1", away_from=(0.0,)),
    OpCase("selu_inplace", lambda m, a: _F(m).selu(a * 1, inplace=True), (V,), grad_fn="EluBackward1",
           away_from=(0.0,)),
    OpCase("celu", lambda m, a: _F(m).celu(a), (M,), grad_fn="CeluBackward0", away_from=(0.0,)),
    OpCase("celu_alpha", lambda m, a: _F(m).celu(a, alpha=2.5), (T,), grad_fn="CeluBackward0", away_from=(0.0,)),
    OpCase("celu_", lambda m, a: _F(m).celu_(a * 1, 0.5), (M,), grad_fn="CeluBackward1", away_from=(0.0,)),
    OpCase("elu_", lambda m, a: _F(m).elu_(a * 1, 0.7), (M,), grad_fn="EluBackward1", away_from=(0.0,)),
    OpCase("leaky_relu_", lambda m, a: _F(m).leaky_relu_(a * 1, 0.2), (M,), grad_fn="LeakyReluBackward1",
           away_from=(0.0,)),
    OpCase("relu_", lambda m, a: _F(m).relu_(a * 1), (M,), grad_fn="ReluBackward0", away_from=(0.0,),
           twice_differentiable=False),
    OpCase("mish", lambda m, a: _F(m).mish(a), (M,), domain=(-4.0, 4.0), grad_fn="MishBackward0"),
    OpCase("mish_inplace", lambda m, a: _F(m).mish(a * 1, inplace=True), (V,), grad_fn="MishBackward0"),
    OpCase("logsigmoid", lambda m, a: _F(m).logsigmoid(a * 5), (M,), grad_fn="LogSigmoidBackward0"),
    OpCase("softsign", lambda m, a: _F(m).softsign(a), (M,), grad_fn="DivBackward0", away_from=(0.0,)),
    # (PyTorch's zeros of negative inputs inside the band are -0.0 or 0.0 depending on its vector width: the
    # cases keep the printed comparison free of them)
    OpCase("softshrink", lambda m, a: _F(m).softshrink(a), (M,), domain=(0.0, 2.0), grad_fn="SoftshrinkBackward0",
           away_from=(0.5,)),
    OpCase("softshrink_negative", lambda m, a: _F(m).softshrink(a, 1.2), (T,), domain=(-2.5, -0.6),
           grad_fn="SoftshrinkBackward0", away_from=(-1.2,)),
    OpCase("hardshrink", lambda m, a: _F(m).hardshrink(a), (M,), grad_fn="HardshrinkBackward0",
           away_from=(-0.5, 0.5)),
    OpCase("hardshrink_method", lambda m, a: a.hardshrink(0.3), (V,), grad_fn="HardshrinkBackward0",
           away_from=(-0.3, 0.3)),
    OpCase("hardshrink_function", lambda m, a: m.hardshrink(a, lambd=1.0), (M,), grad_fn="HardshrinkBackward0",
           away_from=(-1.0, 1.0)),
    OpCase("tanhshrink", lambda m, a: _F(m).tanhshrink(a), (M,), grad_fn="SubBackward0"),
    OpCase("threshold", lambda m, a: _F(m).threshold(a, 0.3, -2.0), (M,), grad_fn="ThresholdBackward0",
           away_from=(0.3,)),
    OpCase("threshold_", lambda m, a: _F(m).threshold_(a * 1, -0.2, -5.0), (M,), grad_fn="ThresholdBackward1",
           away_from=(-0.2,)),
    OpCase("threshold_inplace", lambda m, a: _F(m).threshold(a * 1, 0.1, -1.0, inplace=True), (V,),
           grad_fn="ThresholdBackward1", away_from=(0.1,)),
    OpCase("glu", lambda m, a: _F(m).glu(a), (M,), grad_fn="GluBackward0"),
    OpCase("glu_dim", lambda m, a: _F(m).glu(a, 0), ((4, 3),), grad_fn="GluBackward0"),
    OpCase("glu_3d", lambda m, a: _F(m).glu(a, dim=1), ((2, 6, 3),), grad_fn="GluBackward0"),
    OpCase("prelu", lambda m, a, w: _F(m).prelu(a, w), (T, (3,)), grad_fn="PreluKernelBackward0", away_from=(0.0,)),
    OpCase("prelu_one_weight", lambda m, a, w: _F(m).prelu(a, w), (M, (1,)), grad_fn="PreluKernelBackward0",
           away_from=(0.0,)),
    OpCase("prelu_1d", lambda m, a, w: _F(m).prelu(a, w), (V, (1,)), grad_fn="PreluKernelBackward0",
           away_from=(0.0,)),
    OpCase("prelu_4d", lambda m, a, w: _F(m).prelu(a, w), ((2, 3, 2, 2), (3,)), grad_fn="PreluKernelBackward0",
           away_from=(0.0,)),
    OpCase("rrelu_eval", lambda m, a: _F(m).rrelu(a), (M,), grad_fn="RreluWithNoiseBackward0", away_from=(0.0,)),
    OpCase("rrelu_eval_bounds", lambda m, a: _F(m).rrelu(a, 0.2, 0.6), (V,), grad_fn="RreluWithNoiseBackward0",
           away_from=(0.0,)),
    OpCase("rrelu_eval_inplace", lambda m, a: _F(m).rrelu(a * 1, inplace=True), (V,),
           grad_fn="RreluWithNoiseBackward1", away_from=(0.0,)),
    OpCase("rrelu_", lambda m, a: _F(m).rrelu_(a * 1), (M,), grad_fn="RreluWithNoiseBackward1", away_from=(0.0,)),
    OpCase("softmin", lambda m, a: _F(m).softmin(a, 1), (M,), grad_fn="SoftmaxBackward0"),
    OpCase("softmin_dim0", lambda m, a: _F(m).softmin(a, dim=0), (T,), grad_fn="SoftmaxBackward0"),
    OpCase("normalize", lambda m, a: _F(m).normalize(a), (M,), grad_fn="DivBackward0"),
    OpCase("normalize_p1_dim0", lambda m, a: _F(m).normalize(a, p=1.0, dim=0), (T,), grad_fn="DivBackward0",
           away_from=(0.0,)),
    OpCase("normalize_p3_last", lambda m, a: _F(m).normalize(a, 3, -1), (M,), grad_fn="DivBackward0"),
]
# The margin losses of one node (their gradients have no derivative, as in PyTorch)
NN_LOSS_OPS = [
    OpCase("multi_margin_loss", lambda m, a: _F(m).multi_margin_loss(a, m.tensor([0, 3, 1])), (M,),
           grad_fn="MultiMarginLossBackward0", twice_differentiable=False),
    OpCase("multi_margin_loss_p2_weight", lambda m, a: _F(m).multi_margin_loss(
        a, m.tensor([2, 0, 2]), p=2, margin=0.5, weight=m.tensor([0.5, 2.0, 1.5, 1.0], dtype=a.dtype)), (M,),
        grad_fn="MultiMarginLossBackward0", twice_differentiable=False),
    OpCase("multi_margin_loss_1d_none", lambda m, a: _F(m).multi_margin_loss(a, m.tensor(1), reduction="none"), (V,),
           grad_fn="MultiMarginLossBackward0", twice_differentiable=False),
    OpCase("multilabel_margin_loss", lambda m, a: _F(m).multilabel_margin_loss(
        a, m.tensor([[0, 2, -1, 1], [1, -1, 0, 0], [3, 2, 1, 0]])), (M,), grad_fn="MultilabelMarginLossBackward0",
        twice_differentiable=False),
    OpCase("multilabel_margin_loss_sum_1d", lambda m, a: _F(m).multilabel_margin_loss(
        a, m.tensor([4, 1, 1, -1, 0]), reduction="sum"), (V,), grad_fn="MultilabelMarginLossBackward0",
        twice_differentiable=False),
]

# The cases PyTorch computes no forward-mode tangent for (its in-place rrelu_ has no rule, pygrad's has;
# the margin losses have none in either).
NO_FORWARD_AD = {"rrelu_", "rrelu_eval_inplace"} | {case.name for case in NN_LOSS_OPS}
