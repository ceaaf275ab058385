"""Layers and losses written once against a namespace ``nn`` that is ``pygrad.nn`` or ``torch.nn``.

A ``LayerCase`` builds a module from ``nn``; the tests copy PyTorch's initial weights into
pygrad's module and compare outputs, input gradients and parameter gradients.  A ``LossCase``
calls ``nn.functional`` on an input and a target made by ``target(rng, shape)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerCase:
    name: str
    build: object                 # build(nn) -> module
    shape: tuple                  # input shape
    grad_fn: str | None = None    # PyTorch's grad_fn name of the output
    int_input: int | None = None  # inputs are class indices below this (Embedding)
    gradgrad: bool = True
    gradcheck_shape: tuple | None = None

    def input(self, rng, dtype):
        if self.int_input is not None:
            return rng.integers(0, self.int_input, size=self.shape)
        a = rng.uniform(-2, 2, size=self.shape)
        a[np.abs(a) < 0.05] += 0.1  # away from the kinks of relu & co
        return a.astype(dtype)


def _eval_with_stats(bn, nn):
    """A batch-norm layer in eval mode with non-trivial running statistics and affine weights."""
    nn.init.uniform_(bn.weight, 0.5, 1.5)
    nn.init.uniform_(bn.bias, -0.5, 0.5)
    nn.init.uniform_(bn.running_mean, -0.5, 0.5)
    nn.init.uniform_(bn.running_var, 0.5, 2.0)
    return bn.eval()


LAYERS = [
    LayerCase("linear", lambda nn: nn.Linear(4, 3), (5, 4), "AddmmBackward0"),
    LayerCase("linear_nobias", lambda nn: nn.Linear(4, 3, bias=False), (5, 4), "MmBackward0"),
    LayerCase("linear_3d", lambda nn: nn.Linear(4, 3), (2, 5, 4), "ViewBackward0"),
    LayerCase("linear_1d", lambda nn: nn.Linear(4, 3), (4,), "ViewBackward0"),
    LayerCase("mlp", lambda nn: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                                              nn.Linear(8, 2), nn.Sigmoid()), (6, 4), "SigmoidBackward0"),
    LayerCase("relu", lambda nn: nn.ReLU(), (3, 4), "ReluBackward0", gradgrad=False),
    LayerCase("tanh", lambda nn: nn.Tanh(), (3, 4), "TanhBackward0"),
    LayerCase("sigmoid", lambda nn: nn.Sigmoid(), (3, 4), "SigmoidBackward0"),
    LayerCase("gelu", lambda nn: nn.GELU(), (3, 4), "GeluBackward0"),
    LayerCase("gelu_tanh", lambda nn: nn.GELU(approximate="tanh"), (3, 4), "GeluBackward0"),
    LayerCase("leaky_relu", lambda nn: nn.LeakyReLU(0.2), (3, 4), "LeakyReluBackward0",
              gradgrad=False),
    LayerCase("elu", lambda nn: nn.ELU(), (3, 4), "EluBackward0", gradgrad=False),
    LayerCase("softplus", lambda nn: nn.Softplus(), (3, 4), "SoftplusBackward0"),
    LayerCase("silu", lambda nn: nn.SiLU(), (3, 4), "SiluBackward0"),
    LayerCase("softmax", lambda nn: nn.Softmax(dim=1), (3, 4), "SoftmaxBackward0"),
    LayerCase("log_softmax", lambda nn: nn.LogSoftmax(dim=-1), (3, 4), "LogSoftmaxBackward0"),
    LayerCase("flatten", lambda nn: nn.Flatten(), (2, 3, 4), "ViewBackward0"),
    LayerCase("flatten_dims", lambda nn: nn.Flatten(0, 1), (2, 3, 4), "ViewBackward0"),
    LayerCase("identity", lambda nn: nn.Identity(), (3,), None),
    LayerCase("dropout_eval", lambda nn: nn.Dropout(0.5).eval(), (3, 4), None),
    LayerCase("layer_norm", lambda nn: nn.LayerNorm(4), (3, 4), "NativeLayerNormBackward0"),
    LayerCase("layer_norm_2d", lambda nn: nn.LayerNorm((3, 4)), (2, 3, 4), "NativeLayerNormBackward0"),
    LayerCase("layer_norm_noaffine", lambda nn: nn.LayerNorm(4, elementwise_affine=False), (3, 4),
              "NativeLayerNormBackward0"),
    LayerCase("batch_norm_1d", lambda nn: nn.BatchNorm1d(4), (5, 4), "NativeBatchNormBackward0"),
    LayerCase("batch_norm_1d_3d", lambda nn: nn.BatchNorm1d(3, momentum=None), (2, 3, 4), "NativeBatchNormBackward0"),
    LayerCase("batch_norm_2d", lambda nn: nn.BatchNorm2d(3), (2, 3, 3, 2), "NativeBatchNormBackward0"),
    LayerCase("batch_norm_2d_noaffine", lambda nn: nn.BatchNorm2d(2, affine=False), (3, 2, 2, 2),
              "NativeBatchNormBackward0"),
    LayerCase("batch_norm_untracked", lambda nn: nn.BatchNorm1d(4, track_running_stats=False, bias=False), (6, 4),
              "NativeBatchNormBackward0"),
    LayerCase("batch_norm_eval", lambda nn: _eval_with_stats(nn.BatchNorm2d(3), nn), (2, 3, 2, 2),
              "NativeBatchNormBackward0"),
    LayerCase("avgpool2d", lambda nn: nn.AvgPool2d(2), (2, 3, 4, 6), "AvgPool2DBackward0", gradgrad=False),
    LayerCase("avgpool2d_stride_pad", lambda nn: nn.AvgPool2d((3, 2), stride=(2, 1), padding=1), (1, 2, 7, 5),
              "AvgPool2DBackward0", gradgrad=False),
    LayerCase("avgpool2d_exclude_pad", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
              (1, 2, 5, 6), "AvgPool2DBackward0", gradgrad=False),
    LayerCase("avgpool2d_divisor_unbatched", lambda nn: nn.AvgPool2d(2, stride=1, divisor_override=3), (2, 4, 3),
              "AvgPool2DBackward0", gradgrad=False),
    LayerCase("adaptive_avgpool2d", lambda nn: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 4, 6),
              "AdaptiveAvgPool2DBackward0", gradgrad=False),
    LayerCase("adaptive_avgpool2d_uneven", lambda nn: nn.AdaptiveAvgPool2d((3, None)), (2, 5, 4),
              "AdaptiveAvgPool2DBackward0", gradgrad=False),
    LayerCase("adaptive_avgpool2d_global", lambda nn: nn.AdaptiveAvgPool2d(1), (2, 3, 4, 4), "MeanBackward1"),
    LayerCase("embedding", lambda nn: nn.Embedding(6, 3), (2, 4), "EmbeddingBackward0", int_input=6),
    LayerCase("embedding_padding", lambda nn: nn.Embedding(6, 3, padding_idx=1), (7,), "EmbeddingBackward0",
              int_input=6),
    LayerCase("conv2d", lambda nn: nn.Conv2d(2, 3, 3), (2, 2, 6, 5), "ConvolutionBackward0", gradgrad=False,
              gradcheck_shape=(1, 2, 4, 4)),
    LayerCase("conv2d_stride_pad", lambda nn: nn.Conv2d(2, 4, (3, 2), stride=2, padding=1), (2, 2, 7, 6),
              "ConvolutionBackward0", gradgrad=False, gradcheck_shape=(1, 2, 4, 3)),
    LayerCase("conv2d_dilation_groups", lambda nn: nn.Conv2d(4, 2, 2, dilation=2, groups=2, bias=False),
              (1, 4, 6, 6), "ConvolutionBackward0", gradgrad=False, gradcheck_shape=(1, 4, 4, 4)),
    LayerCase("conv2d_circular", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), (2, 2, 5, 4),
              "ConvolutionBackward0", gradgrad=False, gradcheck_shape=(1, 2, 3, 3)),
    LayerCase("conv2d_reflect_same", lambda nn: nn.Conv2d(2, 2, (3, 2), padding="same", padding_mode="reflect"),
              (1, 2, 5, 4), "ConvolutionBackward0", gradgrad=False),
    # conv1d's node is SqueezeBackward1 here (a documented difference): its name is not compared
    LayerCase("conv1d_replicate", lambda nn: nn.Conv1d(2, 3, 3, padding=2, padding_mode="replicate"), (2, 2, 6),
              None, gradgrad=False),
    LayerCase("conv2d_unbatched", lambda nn: nn.Conv2d(1, 2, 2), (1, 4, 4), "SqueezeBackward1", gradgrad=False),
    LayerCase("maxpool2d_unbatched", lambda nn: nn.MaxPool2d(2), (2, 4, 4), "MaxPool2DWithIndicesBackward0",
              gradgrad=False),
    LayerCase("linear_nobias_3d", lambda nn: nn.Linear(4, 3, bias=False), (2, 5, 4), "UnsafeViewBackward0"),
    LayerCase("linear_nobias_1d", lambda nn: nn.Linear(4, 3, bias=False), (4,), "SqueezeBackward4"),
    LayerCase("maxpool2d", lambda nn: nn.MaxPool2d(2), (2, 3, 4, 6), "MaxPool2DWithIndicesBackward0",
              gradgrad=False),
    LayerCase("maxpool2d_stride_pad", lambda nn: nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 7, 5),
              "MaxPool2DWithIndicesBackward0", gradgrad=False),
    LayerCase("cnn", lambda nn: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                              nn.Flatten(), nn.Linear(16, 3)), (2, 1, 4, 4), "AddmmBackward0",
              gradgrad=False),
]


def class_target(rng, shape, classes_dim=1):
    n_classes = shape[classes_dim] if len(shape) > 1 else shape[0]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    return rng.integers(0, n_classes, size=target_shape)


def prob_target(rng, shape):
    return rng.uniform(0.05, 0.95, size=shape)


def regression_target(rng, shape):
    return rng.uniform(-2, 2, size=shape)


@dataclass
class LossCase:
    name: str
    fn: object                  # fn(F, input, target, extra) -> loss ; extra: dict of weight tensors
    shape: tuple
    target: object              # target(rng, shape) -> ndarray
    grad_fn: dict = field(default_factory=dict)  # reduction -> expected grad_fn name
    domain: tuple = (-2.0, 2.0)
    extra: dict = field(default_factory=dict)    # name -> shape of an extra float tensor (weights)
    target_grad: bool = False   # also check the gradient with respect to a float target


LOSSES = [
    LossCase("mse", lambda F, x, t, e, r: F.mse_loss(x, t, reduction=r), (4, 3), regression_target,
             {"mean": "MseLossBackward0", "sum": "MseLossBackward0", "none": "MseLossBackward0"},
             target_grad=True),
    LossCase("l1", lambda F, x, t, e, r: F.l1_loss(x, t, reduction=r), (4, 3), regression_target,
             {"mean": "MeanBackward0", "sum": "SumBackward0", "none": "AbsBackward0"}, target_grad=True),
    LossCase("huber", lambda F, x, t, e, r: F.huber_loss(x, t, reduction=r), (4, 3), regression_target,
             {"mean": "HuberLossBackward0", "sum": "HuberLossBackward0", "none": "HuberLossBackward0"},
             target_grad=True),
    LossCase("huber_delta", lambda F, x, t, e, r: F.huber_loss(x, t, reduction=r, delta=0.7), (5, 2),
             regression_target, {"mean": "HuberLossBackward0"}, target_grad=True),
    LossCase("smooth_l1", lambda F, x, t, e, r: F.smooth_l1_loss(x, t, reduction=r), (4, 3), regression_target,
             {"mean": "SmoothL1LossBackward0", "sum": "SmoothL1LossBackward0", "none": "SmoothL1LossBackward0"},
             target_grad=True),
    LossCase("smooth_l1_beta", lambda F, x, t, e, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.5), (3, 4),
             regression_target, {"sum": "SmoothL1LossBackward0"}, target_grad=True),
    LossCase("nll", lambda F, x, t, e, r: F.nll_loss(x, t, reduction=r), (5, 4), class_target,
             {"mean": "NllLossBackward0", "sum": "NllLossBackward0", "none": "NllLossBackward0"}),
    LossCase("nll_weight_ignore", lambda F, x, t, e, r: F.nll_loss(x, t, weight=e["w"], ignore_index=2,
                                                                     reduction=r),
             (6, 4), class_target, {"mean": "NllLossBackward0"}, extra={"w": (4,)}),
    LossCase("nll_spatial", lambda F, x, t, e, r: F.nll_loss(x, t, reduction=r), (2, 3, 2, 2), class_target,
             {"mean": "NllLoss2DBackward0", "none": "NllLoss2DBackward0"}),
    LossCase("nll_unbatched", lambda F, x, t, e, r: F.nll_loss(x, t, reduction=r), (5,), class_target,
             {"mean": "NllLossBackward0"}),
    LossCase("cross_entropy", lambda F, x, t, e, r: F.cross_entropy(x, t, reduction=r), (5, 4), class_target,
             {"mean": "NllLossBackward0", "sum": "NllLossBackward0", "none": "NllLossBackward0"}),
    LossCase("cross_entropy_weight_ignore",
             lambda F, x, t, e, r: F.cross_entropy(x, t, weight=e["w"], ignore_index=1, reduction=r),
             (7, 3), class_target, {"mean": "NllLossBackward0"}, extra={"w": (3,)}),
    LossCase("cross_entropy_smoothing",
             lambda F, x, t, e, r: F.cross_entropy(x, t, label_smoothing=0.1, reduction=r), (6, 4), class_target,
             {"mean": "AddBackward0", "sum": "AddBackward0", "none": "AddBackward0"}),
    LossCase("cross_entropy_smoothing_weight_ignore",
             lambda F, x, t, e, r: F.cross_entropy(x, t, weight=e["w"], ignore_index=0, label_smoothing=0.2,
                                                   reduction=r),
             (8, 3), class_target, {"mean": "AddBackward0"}, extra={"w": (3,)}),
    LossCase("cross_entropy_spatial", lambda F, x, t, e, r: F.cross_entropy(x, t, reduction=r), (2, 3, 2, 2),
             class_target, {"mean": "NllLoss2DBackward0"}),
    LossCase("cross_entropy_probs", lambda F, x, t, e, r: F.cross_entropy(x, F.softmax(t, 1), reduction=r),
             (4, 3), regression_target, {"none": "NegBackward0"}),
    LossCase("cross_entropy_unbatched", lambda F, x, t, e, r: F.cross_entropy(x, t, reduction=r), (6,),
             class_target, {"mean": "NllLossBackward0", "sum": "NllLossBackward0", "none": "NllLossBackward0"}),
    LossCase("cross_entropy_3d", lambda F, x, t, e, r: F.cross_entropy(x, t, weight=e["w"], ignore_index=1,
                                                                       reduction=r),
             (3, 4, 5), class_target, {"mean": "NllLoss2DBackward0", "sum": "NllLoss2DBackward0",
                                       "none": "ViewBackward0"}, extra={"w": (4,)}),
    LossCase("cross_entropy_5d", lambda F, x, t, e, r: F.cross_entropy(x, t, reduction=r), (2, 3, 2, 2, 2),
             class_target, {"mean": "NllLoss2DBackward0", "none": "ViewBackward0"}),
    LossCase("cross_entropy_spatial_weight_ignore_smoothing",
             lambda F, x, t, e, r: F.cross_entropy(x, t, weight=e["w"], ignore_index=2, label_smoothing=0.15,
                                                   reduction=r),
             (2, 3, 2, 3), class_target, {"mean": "AddBackward0"}, extra={"w": (3,)}),
    LossCase("cross_entropy_probs_spatial",
             lambda F, x, t, e, r: F.cross_entropy(x, F.softmax(t, 1), weight=e["w"], reduction=r),
             (2, 4, 3), regression_target, {"none": "NegBackward0"}, extra={"w": (4,)}, target_grad=True),
    LossCase("nll_log_softmax_weight", lambda F, x, t, e, r: F.nll_loss(F.log_softmax(x, 1), t, weight=e["w"],
                                                                        reduction=r),
             (5, 3), class_target, {"mean": "NllLossBackward0"}, extra={"w": (3,)}),
    LossCase("cross_entropy_probs_weight_smoothing",
             lambda F, x, t, e, r: F.cross_entropy(x, F.softmax(t, 1), weight=e["w"], label_smoothing=0.3,
                                                   reduction=r),
             (5, 3), regression_target, {}, extra={"w": (3,)}, target_grad=True),
    LossCase("bce", lambda F, x, t, e, r: F.binary_cross_entropy(x, t, reduction=r), (4, 3), prob_target,
             {"mean": "BinaryCrossEntropyBackward0", "none": "BinaryCrossEntropyBackward0"},
             domain=(0.05, 0.95), target_grad=True),
    LossCase("bce_weight", lambda F, x, t, e, r: F.binary_cross_entropy(x, t, weight=e["w"], reduction=r),
             (4, 3), prob_target, {"sum": "BinaryCrossEntropyBackward0"}, domain=(0.05, 0.95), extra={"w": (3,)}),
    LossCase("bce_logits", lambda F, x, t, e, r: F.binary_cross_entropy_with_logits(x, t, reduction=r), (4, 3),
             prob_target, {"mean": "BinaryCrossEntropyWithLogitsBackward0"}, target_grad=True),
    LossCase("bce_logits_pos_weight",
             lambda F, x, t, e, r: F.binary_cross_entropy_with_logits(x, t, weight=e["w"], pos_weight=e["pw"],
                                                                      reduction=r),
             (4, 3), prob_target, {"mean": "BinaryCrossEntropyWithLogitsBackward0"}, extra={"w": (4, 1), "pw": (3,)},
             target_grad=True),
]


# The other activations of torch.nn (ops/optable_nn.py, nn/_functional_activation.py); in-place
# ones after a Linear, whose output they may overwrite.
LAYERS += [
    LayerCase("hardtanh", lambda nn: nn.Hardtanh(), (3, 4), "HardtanhBackward0"),
    LayerCase("hardtanh_bounds", lambda nn: nn.Hardtanh(-0.5, 1.5), (3, 4), "HardtanhBackward0"),
    LayerCase("relu6", lambda nn: nn.ReLU6(), (3, 4), "HardtanhBackward0"),
    LayerCase("hardsigmoid", lambda nn: nn.Hardsigmoid(), (3, 4), "HardsigmoidBackward0"),
    LayerCase("hardswish", lambda nn: nn.Hardswish(), (3, 4), "HardswishBackward0"),
    LayerCase("selu", lambda nn: nn.SELU(), (3, 4), "EluBackward0"),
    LayerCase("celu", lambda nn: nn.CELU(2.0), (3, 4), "CeluBackward0"),
    LayerCase("mish", lambda nn: nn.Mish(), (3, 4), "MishBackward0"),
    LayerCase("logsigmoid", lambda nn: nn.LogSigmoid(), (3, 4), "LogSigmoidBackward0"),
    LayerCase("softsign", lambda nn: nn.Softsign(), (3, 4), "DivBackward0"),
    LayerCase("softshrink", lambda nn: nn.Softshrink(0.3), (3, 4), "SoftshrinkBackward0"),
    LayerCase("hardshrink", lambda nn: nn.Hardshrink(), (3, 4), "HardshrinkBackward0"),
    LayerCase("tanhshrink", lambda nn: nn.Tanhshrink(), (3, 4), "SubBackward0"),
    LayerCase("threshold", lambda nn: nn.Threshold(0.1, 20), (3, 4), "ThresholdBackward0"),
    LayerCase("glu", lambda nn: nn.GLU(), (3, 4), "GluBackward0"),
    LayerCase("glu_dim0", lambda nn: nn.GLU(0), (4, 3), "GluBackward0"),
    LayerCase("prelu", lambda nn: nn.PReLU(), (2, 3, 4), "PreluKernelBackward0"),
    LayerCase("prelu_channels", lambda nn: nn.PReLU(3, init=0.1), (2, 3, 2, 2), "PreluKernelBackward0"),
    LayerCase("softmin", lambda nn: nn.Softmin(dim=1), (3, 4), "SoftmaxBackward0"),
    LayerCase("rrelu_eval", lambda nn: nn.RReLU(0.1, 0.3).eval(), (3, 4), "RreluWithNoiseBackward0"),
    LayerCase("linear_hardtanh_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.Hardtanh(-0.5, 0.5, True)),
              (5, 4), "HardtanhBackward0"),
    LayerCase("linear_relu6_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.ReLU6(inplace=True)), (5, 4),
              "HardtanhBackward0"),
    LayerCase("linear_hardswish_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.Hardswish(True)), (5, 4),
              "HardswishBackward0"),
    LayerCase("linear_selu_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.SELU(inplace=True)), (5, 4),
              "EluBackward1"),
    LayerCase("linear_celu_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.CELU(0.5, inplace=True)), (5, 4),
              "CeluBackward1"),
    LayerCase("linear_mish_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.Mish(inplace=True)), (5, 4),
              "MishBackward0"),
    LayerCase("linear_threshold_inplace", lambda nn: nn.Sequential(nn.Linear(4, 3), nn.Threshold(0.0, -1.0, True)),
              (5, 4), "ThresholdBackward1"),
    LayerCase("linear_rrelu_eval_inplace",
              lambda nn: nn.Sequential(nn.Linear(4, 3), nn.RReLU(inplace=True)).eval(), (5, 4),
              "RreluWithNoiseBackward1"),
]


# Padding, 1-D pooling, RMSNorm and Softmax2d (nn/_functional_layers.py, nn/modules/padding.py)
LAYERS += [
    LayerCase("zero_pad1d", lambda nn: nn.ZeroPad1d(2), (2, 3, 4), "ConstantPadNdBackward0"),
    LayerCase("zero_pad2d", lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), (2, 3, 3, 4), "ConstantPadNdBackward0"),
    LayerCase("constant_pad1d", lambda nn: nn.ConstantPad1d((1, 2), 3.5), (3, 4), "ConstantPadNdBackward0"),
    LayerCase("constant_pad2d", lambda nn: nn.ConstantPad2d(1, -1.0), (2, 3, 3), "ConstantPadNdBackward0"),
    LayerCase("constant_pad3d", lambda nn: nn.ConstantPad3d((1, 0, 0, 2, 1, 1), 0.5), (1, 2, 2, 3, 2),
              "ConstantPadNdBackward0"),
    LayerCase("maxpool1d", lambda nn: nn.MaxPool1d(2), (2, 3, 8), "SqueezeBackward1", gradgrad=False),
    LayerCase("maxpool1d_stride_pad_unbatched", lambda nn: nn.MaxPool1d(3, 2, 1), (3, 7), "SqueezeBackward1",
              gradgrad=False),
    LayerCase("avgpool1d", lambda nn: nn.AvgPool1d(2), (2, 3, 8), "SqueezeBackward1", gradgrad=False),
    LayerCase("avgpool1d_exclude_pad", lambda nn: nn.AvgPool1d(3, 2, 1, count_include_pad=False), (3, 7),
              "SqueezeBackward1", gradgrad=False),
    LayerCase("adaptive_avgpool1d", lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 8), "SqueezeBackward1", gradgrad=False),
    LayerCase("adaptive_avgpool1d_global", lambda nn: nn.AdaptiveAvgPool1d(1), (2, 3, 5), "SqueezeBackward1"),
    LayerCase("rms_norm", lambda nn: nn.RMSNorm(4), (3, 4), "MulBackward0"),
    LayerCase("rms_norm_2d_eps", lambda nn: nn.RMSNorm([3, 4], eps=1e-5, elementwise_affine=False), (2, 3, 4),
              "MulBackward0"),
    LayerCase("softmax2d", lambda nn: nn.Softmax2d(), (2, 3, 2, 2), "SoftmaxBackward0"),
    LayerCase("dropout2d_eval", lambda nn: nn.Dropout2d(0.5).eval(), (2, 3, 2, 2), None),
    LayerCase("alpha_dropout_eval", lambda nn: nn.AlphaDropout(0.5).eval(), (3, 4), None),
    LayerCase("reflection_pad1d", lambda nn: nn.ReflectionPad1d((2, 1)), (2, 3, 4), "ReflectionPad1DBackward0"),
    LayerCase("reflection_pad2d", lambda nn: nn.ReflectionPad2d(1), (1, 2, 3, 3), "ReflectionPad2DBackward0"),
    LayerCase("reflection_pad3d_unbatched", lambda nn: nn.ReflectionPad3d((1, 0, 0, 1, 1, 1)), (2, 2, 3, 2),
              "ReflectionPad3DBackward0"),
    LayerCase("replication_pad1d_unbatched", lambda nn: nn.ReplicationPad1d((0, 3)), (3, 2), "ReplicationPad1DBackward0"),
    LayerCase("replication_pad2d", lambda nn: nn.ReplicationPad2d((1, 2, 0, 1)), (2, 2, 2, 3),
              "ReplicationPad2DBackward0"),
    LayerCase("replication_pad3d", lambda nn: nn.ReplicationPad3d(1), (1, 1, 2, 2, 2), "ReplicationPad3DBackward0"),
    LayerCase("adaptive_max_pool2d", lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 5, 7), "AdaptiveMaxPool2DBackward0"),
    LayerCase("adaptive_max_pool2d_none_unbatched", lambda nn: nn.AdaptiveMaxPool2d((None, 2)), (3, 4, 5),
              "AdaptiveMaxPool2DBackward0"),
    LayerCase("adaptive_max_pool1d", lambda nn: nn.AdaptiveMaxPool1d(4), (2, 3, 9), "SqueezeBackward1"),
    LayerCase("unfold", lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 3, 4, 5),
              "Im2ColBackward0"),
    LayerCase("unfold_unbatched", lambda nn: nn.Unfold(2), (3, 4, 5), "Im2ColBackward0"),
    LayerCase("fold_unbatched", lambda nn: nn.Fold((3, 3), 2, padding=1), (8, 16), "Col2ImBackward0"),
    LayerCase("fold", lambda nn: nn.Fold((4, 5), 2), (2, 12, 12), "Col2ImBackward0"),
    LayerCase("fold_padded_strided", lambda nn: nn.Fold((5, 4), (3, 2), padding=1, stride=2), (1, 12, 9),
              "Col2ImBackward0"),
    LayerCase("circular_pad1d", lambda nn: nn.CircularPad1d((2, 1)), (2, 3, 4), "CopySlices"),
    LayerCase("circular_pad2d_unbatched", lambda nn: nn.CircularPad2d((1, 0, 2, 1)), (2, 3, 3), "CopySlices"),
    LayerCase("circular_pad3d", lambda nn: nn.CircularPad3d(1), (1, 1, 2, 3, 2), "CopySlices"),
    LayerCase("lp_pool1d", lambda nn: nn.LPPool1d(2, 3), (2, 3, 7), "PowBackward0", gradgrad=False),
    LayerCase("lp_pool1d_stride", lambda nn: nn.LPPool1d(4.0, 2, stride=1), (3, 6), "PowBackward0", gradgrad=False),
    LayerCase("lp_pool2d", lambda nn: nn.LPPool2d(1, 2), (2, 3, 4, 4), "PowBackward0", gradgrad=False),
    LayerCase("lp_pool2d_inf", lambda nn: nn.LPPool2d(float("inf"), (2, 1)), (1, 2, 4, 3),
              "MaxPool2DWithIndicesBackward0", gradgrad=False),
]
