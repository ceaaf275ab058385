"""The losses PyTorch composes from other ops (nn/_functional_loss.py) and their modules, against
PyTorch: values, gradients of every differentiable input, grad_fn names (the whole graph), all
reductions, float32 and float64, and float64 gradcheck/gradgradcheck."""
import warnings

import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck, gradgradcheck


def _signs(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


# name -> (fn(m, reduction, *tensors), inputs(rng) -> list of arrays, which inputs require grad)
CASES = {
    "soft_margin": (lambda m, r, x, y: m.nn.functional.soft_margin_loss(x, y, reduction=r),
                    lambda g: [g.standard_normal((4, 3)), _signs(g, (4, 3))], (0,)),
    "soft_margin_broadcast": (lambda m, r, x, y: m.nn.functional.soft_margin_loss(x * 3, y, reduction=r),
                              lambda g: [g.standard_normal((4, 3)), _signs(g, (1, 3))], (0,)),
    "kl_div": (lambda m, r, x, t: m.nn.functional.kl_div(m.log_softmax(x, 1), m.softmax(t, 1), reduction=r),
               lambda g: [g.standard_normal((4, 3)), g.standard_normal((4, 3))], (0, 1)),
    "kl_div_log_target": (lambda m, r, x, t: m.nn.functional.kl_div(m.log_softmax(x, 1), m.log_softmax(t, 1),
                                                                     reduction=r, log_target=True),
                          lambda g: [g.standard_normal((4, 3)), g.standard_normal((4, 3))], (0, 1)),
    "kl_div_zero_target": (lambda m, r, x, t: m.nn.functional.kl_div(x, t, reduction=r),
                           lambda g: [g.standard_normal((3, 4)), np.abs(g.standard_normal((3, 4))) * (
                               g.uniform(size=(3, 4)) < 0.6)], (0,)),
    "margin_ranking": (lambda m, r, a, b, y: m.nn.functional.margin_ranking_loss(a, b, y, margin=0.3, reduction=r),
                       lambda g: [g.standard_normal(6), g.standard_normal(6), _signs(g, 6)], (0, 1)),
    "hinge_embedding": (lambda m, r, x, y: m.nn.functional.hinge_embedding_loss(x, y, margin=1.5, reduction=r),
                        lambda g: [g.standard_normal((4, 3)), _signs(g, (4, 3))], (0,)),
    "multilabel_soft_margin": (lambda m, r, x, y: m.nn.functional.multilabel_soft_margin_loss(x, y, reduction=r),
                               lambda g: [g.standard_normal((4, 3)), (g.uniform(size=(4, 3)) < 0.5) * 1.0], (0, 1)),
    "multilabel_soft_margin_weight": (
        lambda m, r, x, y, w: m.nn.functional.multilabel_soft_margin_loss(x, y, weight=w, reduction=r),
        lambda g: [g.standard_normal((4, 3)), (g.uniform(size=(4, 3)) < 0.5) * 1.0, g.uniform(0.5, 2, 3)], (0, 2)),
    "cosine_embedding": (lambda m, r, a, b, y: m.nn.functional.cosine_embedding_loss(a, b, y, margin=0.2,
                                                                                     reduction=r),
                         lambda g: [g.standard_normal((5, 3)), g.standard_normal((5, 3)), _signs(g, 5)], (0, 1)),
    "cosine_embedding_1d": (lambda m, r, a, b, y: m.nn.functional.cosine_embedding_loss(a, b, y, reduction=r),
                            lambda g: [g.standard_normal(4), g.standard_normal(4), np.array(-1.0)], (0, 1)),
    "triplet_margin": (lambda m, r, a, p, n: m.nn.functional.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                       lambda g: [g.standard_normal((5, 3)), g.standard_normal((5, 3)), g.standard_normal((5, 3))],
                       (0, 1, 2)),
    "triplet_margin_swap_p1": (lambda m, r, a, p, n: m.nn.functional.triplet_margin_loss(a, p, n, p=1, swap=True,
                                                                                         margin=3.0, reduction=r),
                               lambda g: [g.standard_normal((4, 3)), g.standard_normal((4, 3)),
                                          g.standard_normal((4, 3))], (0, 1, 2)),
    "poisson_nll": (lambda m, r, x, t: m.nn.functional.poisson_nll_loss(x, t, reduction=r),
                    lambda g: [g.standard_normal((4, 3)), g.uniform(0, 4, (4, 3))], (0, 1)),
    "poisson_nll_full_rate": (lambda m, r, x, t: m.nn.functional.poisson_nll_loss(x, t, log_input=False, full=True,
                                                                                   reduction=r),
                              lambda g: [g.uniform(0.5, 3, (4, 3)), g.uniform(0.2, 4, (4, 3))], (0, 1)),
    "gaussian_nll": (lambda m, r, x, t, v: m.nn.functional.gaussian_nll_loss(x, t, v, reduction=r),
                     lambda g: [g.standard_normal((4, 3)), g.standard_normal((4, 3)), g.uniform(0.5, 2, (4, 3))],
                     (0, 1, 2)),
    "gaussian_nll_homoscedastic_full": (
        lambda m, r, x, t, v: m.nn.functional.gaussian_nll_loss(x, t, v, full=True, reduction=r),
        lambda g: [g.standard_normal((4, 3)), g.standard_normal((4, 3)), g.uniform(0.5, 2, 4)], (0, 1, 2)),
    "multi_margin": (lambda m, r, x, y: m.nn.functional.multi_margin_loss(x, y, reduction=r),
                     lambda g: [g.standard_normal((5, 4)), g.integers(0, 4, 5)], (0,)),
    "multi_margin_p2_weight": (lambda m, r, x, y, w: m.nn.functional.multi_margin_loss(x, y, p=2, margin=0.6,
                                                                                       weight=w, reduction=r),
                               lambda g: [g.standard_normal((5, 4)), g.integers(0, 4, 5), g.uniform(0.5, 2, 4)], (0,)),
    "multilabel_margin": (lambda m, r, x, y: m.nn.functional.multilabel_margin_loss(x, y, reduction=r),
                          lambda g: [g.standard_normal((3, 4)), np.array([[0, 2, -1, 1], [1, -1, 0, 0], [3, 2, 1, 0]])],
                          (0,)),
}
NO_DOUBLE_BACKWARD = {"multi_margin", "multi_margin_p2_weight", "multilabel_margin"}  # as in PyTorch
REDUCTIONS = ["mean", "sum", "none"]


def _graph(t):
    """The grad_fn names of the whole graph, depth first."""
    def walk(fn):
        if fn is None:
            return "None"
        kids = [walk(n) for n, _ in fn.next_functions if n is not None]
        return type(fn).__name__ + (f"({', '.join(kids)})" if kids else "")
    return walk(t.grad_fn)


def _run(lib, name, reduction, arrays):
    fn, _, grads = CASES[name]
    tensors = [lib.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning (tested below)
        out = fn(lib, reduction, *tensors)
    return out, [tensors[i] for i in grads]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch(name, dtype, reduction, rng, torch):
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in CASES[name][1](rng)]
    out, xs = _run(pygrad, name, reduction, arrays)
    ref, txs = _run(torch, name, reduction, arrays)
    assert _graph(out) == _graph(ref)
    assert out.shape == tuple(ref.shape) and out.dtype.name == str(ref.dtype).removeprefix("torch.")
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    for x, t in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_gradcheck_float64(name, reduction, rng):
    fn, make, grads = CASES[name]
    arrays = make(rng)
    fixed = {i: pygrad.tensor(a) for i, a in enumerate(arrays) if i not in grads}
    inputs = [pygrad.tensor(arrays[i], requires_grad=True) for i in grads]

    def call(*xs):
        given = dict(zip(grads, xs))
        return fn(pygrad, reduction, *[given[i] if i in given else fixed[i] for i in range(len(arrays))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(call, inputs)
        if name not in NO_DOUBLE_BACKWARD:
            assert gradgradcheck(call, inputs)


@pytest.mark.parametrize("name", sorted(NO_DOUBLE_BACKWARD))
def test_margin_loss_gradient_is_not_differentiable_as_in_torch(name, rng, torch):
    arrays = CASES[name][1](rng)
    outcomes = []
    for lib in (pygrad, torch):
        out, (x,) = _run(lib, name, "mean", arrays)
        (g,) = lib.autograd.grad(out, x, create_graph=True)
        assert g.requires_grad
        with pytest.raises(RuntimeError) as info:
            g.sum().backward()
        outcomes.append((type(g.grad_fn).__name__, str(info.value)))
    assert outcomes[0] == outcomes[1]


def test_kl_div_mean_warns_and_batchmean_divides_by_the_batch(torch):
    a = np.log(np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]))
    t = np.array([[0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    results = []
    for lib in (pygrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mean = lib.nn.functional.kl_div(lib.tensor(a), lib.tensor(t))
        batchmean = lib.nn.functional.kl_div(lib.tensor(a), lib.tensor(t), reduction="batchmean")
        scalar = lib.nn.functional.kl_div(lib.tensor(-0.5), lib.tensor(0.25), reduction="batchmean")
        legacy = lib.nn.functional.kl_div(lib.tensor(a), lib.tensor(t), size_average=False)
        results.append(([str(w.message) for w in caught], mean.item(), batchmean.item(), scalar.item(),
                        legacy.item()))
    assert results[0][0] == results[1][0] and len(results[0][0]) == 1
    np.testing.assert_allclose(results[0][1:], results[1][1:], rtol=1e-12)


ERRORS = {
    "multi_margin_p": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0, 1]), p=3),
    "multi_margin_target_range": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0, 3])),
    "multi_margin_target_size": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0])),
    "multi_margin_target_dtype": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0.0, 1.0])),
    "multi_margin_weight_size": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0, 1]),
                                                                            weight=m.ones(2)),
    "multi_margin_3d": lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3, 2), m.tensor([0, 1])),
    "multi_margin_module_p": lambda m: m.nn.MultiMarginLoss(p=3),
    "multilabel_margin_target_size": lambda m: m.nn.functional.multilabel_margin_loss(m.ones(2, 3), m.tensor([0, 1])),
    "multilabel_margin_target_range": lambda m: m.nn.functional.multilabel_margin_loss(m.ones(1, 3),
                                                                                       m.tensor([[0, 5, -1]])),
    "soft_margin_target_grad": lambda m: m.nn.functional.soft_margin_loss(m.ones(2), m.ones(2, requires_grad=True)),
    "soft_margin_reduction": lambda m: m.nn.functional.soft_margin_loss(m.ones(2), m.ones(2), reduction="avg"),
    "margin_ranking_dims": lambda m: m.nn.functional.margin_ranking_loss(m.ones(3), m.ones(3), m.ones(1, 3)),
    "cosine_target_2d": lambda m: m.nn.functional.cosine_embedding_loss(m.ones(2, 3), m.ones(2, 3), m.ones(2, 1)),
    "cosine_1d_target": lambda m: m.nn.functional.cosine_embedding_loss(m.ones(3), m.ones(3), m.ones(3)),
    "cosine_0d_target": lambda m: m.nn.functional.cosine_embedding_loss(m.ones(2, 3), m.ones(2, 3), m.tensor(1.0)),
    "triplet_margin_nonpositive": lambda m: m.nn.functional.triplet_margin_loss(m.ones(2, 3), m.ones(2, 3),
                                                                                m.ones(2, 3), margin=0.0),
    "triplet_dims": lambda m: m.nn.functional.triplet_margin_loss(m.ones(2, 3), m.ones(3), m.ones(2, 3)),
    "triplet_module_margin": lambda m: m.nn.TripletMarginLoss(margin=-1.0),
    "poisson_reduction": lambda m: m.nn.functional.poisson_nll_loss(m.ones(2), m.ones(2), reduction="avg"),
    "gaussian_negative_var": lambda m: m.nn.functional.gaussian_nll_loss(m.ones(2), m.ones(2), -m.ones(2)),
    "gaussian_negative_float_var": lambda m: m.nn.functional.gaussian_nll_loss(m.ones(2), m.ones(2), -1.0),
    "gaussian_var_size": lambda m: m.nn.functional.gaussian_nll_loss(m.ones(2, 3), m.ones(2, 3), m.ones(3, 2)),
    "gaussian_reduction": lambda m: m.nn.functional.gaussian_nll_loss(m.ones(2), m.ones(2), m.ones(2),
                                                                      reduction="avg"),
    "multilabel_soft_margin_reduction": lambda m: m.nn.functional.multilabel_soft_margin_loss(
        m.ones(2, 3), m.ones(2, 3), reduction="avg"),
    "hinge_reduction": lambda m: m.nn.functional.hinge_embedding_loss(m.ones(2), m.ones(2), reduction="avg"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_torchs(name, torch):
    outcomes = []
    for lib in (pygrad, torch):
        with pytest.raises(Exception) as info:
            ERRORS[name](lib)
        outcomes.append((type(info.value), str(info.value)))
    assert outcomes[0] == outcomes[1]


MODULES = {
    "MultiMarginLoss": (lambda nn: nn.MultiMarginLoss(p=2, margin=0.5, reduction="none"), "multi_margin"),
    "MultiLabelMarginLoss": (lambda nn: nn.MultiLabelMarginLoss(reduction="sum"), "multilabel_margin"),
    "SoftMarginLoss": (lambda nn: nn.SoftMarginLoss(reduction="sum"), "soft_margin"),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean", log_target=True), "kl_div_log_target"),
    "MarginRankingLoss": (lambda nn: nn.MarginRankingLoss(margin=0.3, reduction="sum"), "margin_ranking"),
    "HingeEmbeddingLoss": (lambda nn: nn.HingeEmbeddingLoss(1.5, reduction="none"), "hinge_embedding"),
    "CosineEmbeddingLoss": (lambda nn: nn.CosineEmbeddingLoss(0.2), "cosine_embedding"),
    "MultiLabelSoftMarginLoss": (lambda nn: nn.MultiLabelSoftMarginLoss(reduction="sum"), "multilabel_soft_margin"),
    "TripletMarginLoss": (lambda nn: nn.TripletMarginLoss(margin=3.0, p=1, swap=True), "triplet_margin_swap_p1"),
    "PoissonNLLLoss": (lambda nn: nn.PoissonNLLLoss(log_input=False, full=True), "poisson_nll_full_rate"),
    "GaussianNLLLoss": (lambda nn: nn.GaussianNLLLoss(full=True, reduction="none"),
                        "gaussian_nll_homoscedastic_full"),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_loss_modules_match_torch(name, rng, torch):
    build, case = MODULES[name]
    arrays = CASES[case][1](rng)
    if name == "KLDivLoss":
        arrays = [np.log(np.exp(a) / np.exp(a).sum(1, keepdims=True)) for a in arrays]
    ours, theirs = build(pygrad.nn), build(torch.nn)
    assert repr(ours) == repr(theirs) == f"{name}()"
    assert ours.reduction == theirs.reduction
    grads = CASES[case][2]
    out = ours(*[pygrad.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)])
    ref = theirs(*[torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)])
    assert _graph(out) == _graph(ref)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_loss_modules_take_the_legacy_reduction_arguments(torch):
    for lib in (pygrad, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert lib.nn.KLDivLoss(size_average=False).reduction == "sum"
            assert lib.nn.MarginRankingLoss(reduce=False).reduction == "none"
            assert lib.nn.PoissonNLLLoss(size_average=True).reduction == "mean"


@pytest.mark.parametrize("name", ["multi_margin", "multilabel_margin"])
def test_margin_losses_have_no_forward_mode_rule_as_in_torch(name, rng, torch):
    import pygrad.autograd.forward_ad as fwAD
    import torch.autograd.forward_ad as tfw
    fn, make, _ = CASES[name]
    arrays = make(rng)
    messages = []
    for lib, ad in ((pygrad, fwAD), (torch, tfw)):
        with ad.dual_level():
            x = ad.make_dual(lib.tensor(arrays[0]), lib.tensor(np.ones_like(arrays[0])))
            with pytest.raises(NotImplementedError) as info:
                fn(lib, "mean", x, lib.tensor(arrays[1]))
            messages.append(str(info.value))
    assert messages[0] == messages[1]
