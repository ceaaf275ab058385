"""``autograd.forward_ad`` against ``torch.autograd.forward_ad``: dual levels, printing, errors,
custom Functions with ``jvp``, in-place ops, and nesting with reverse mode."""
import numpy as np
import pytest

import pygrad
import pygrad.autograd.forward_ad as fwAD
from pygrad.autograd import op_observers


def _same_text(ours, theirs):
    assert str(ours) == str(theirs)


def test_dual_tensors_print_as_torch_prints_them(torch, backend):
    import torch.autograd.forward_ad as tfw
    x, v = np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, -1.0, 0.5], np.float32)
    with fwAD.dual_level() as level, tfw.dual_level() as tlevel:
        assert level == tlevel == 0
        d, td = fwAD.make_dual(pygrad.tensor(x), pygrad.tensor(v)), tfw.make_dual(torch.tensor(x), torch.tensor(v))
        _same_text(d, td)
        _same_text(d.exp() * 2, td.exp() * 2)  # a long line: the tangent wraps as in PyTorch
        r, tr = pygrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        _same_text(fwAD.make_dual(r, pygrad.tensor(v)), tfw.make_dual(tr, torch.tensor(v)))
        _same_text(fwAD.unpack_dual(d), tfw.unpack_dual(td))
        _same_text(fwAD.unpack_dual(pygrad.tensor(x)), tfw.unpack_dual(torch.tensor(x)))
        assert fwAD.unpack_dual(d)._fields == ("primal", "tangent")
        primal, tangent = fwAD.unpack_dual(d.sin())
        np.testing.assert_allclose(tangent.numpy(), np.cos(x) * v, rtol=1e-6)
        _same_text(primal, tfw.unpack_dual(td.sin()).primal)
    _same_text(d, td)  # out of the level, no tangent
    assert not op_observers.observers  # ops cost nothing extra once the level is closed


def test_errors_have_pytorch_text(torch):
    import torch.autograd.forward_ad as tfw

    def both(call):
        errors = []
        for m, ad in ((pygrad, fwAD), (torch, tfw)):
            with pytest.raises(Exception) as info:
                call(m, ad)
            errors.append((type(info.value).__name__, str(info.value)))
        assert errors[0] == errors[1]

    both(lambda m, ad: ad.make_dual(m.ones(3), m.ones(3)))  # no level

    def nested(m, ad):
        with ad.dual_level():
            with ad.dual_level():
                pass
    both(nested)

    def sizes(m, ad):
        with ad.dual_level():
            ad.make_dual(m.ones(3), m.ones(2))
    both(sizes)

    def integer(m, ad):
        with ad.dual_level():
            ad.make_dual(m.tensor([1, 2]), m.ones(2))
    both(integer)

    def custom_without_jvp(m, ad):
        class Double(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        with ad.dual_level():
            Double.apply(ad.make_dual(m.ones(2), m.ones(2)))
    both(custom_without_jvp)

    def jvp_of_wrong_size(m, ad):
        class Bad(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def jvp(ctx, t):
                return t[:1]
        with ad.dual_level():
            Bad.apply(ad.make_dual(m.ones(2), m.ones(2)))
    both(jvp_of_wrong_size)


def test_an_op_without_a_forward_rule_names_itself():
    with fwAD.dual_level():
        d = fwAD.make_dual(pygrad.eye(2, dtype=pygrad.float64), pygrad.ones(2, 2, dtype=pygrad.float64))
        with pytest.raises(NotImplementedError, match=r"^Trying to use forward AD with linalg_cholesky_ex that does "
                                                      r"not support it because it has not been implemented yet\.\n"
                                                      r"Please file"):
            pygrad.linalg.cholesky(d)


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "solve"])
def test_linear_algebra_tangents(name, torch, backend):
    import torch.autograd.forward_ad as tfw
    a, t = np.array([[2.0, 1.0, 0.1], [0.5, 3.0, -1.0], [0.2, 0.3, 1.5]]), np.arange(9.0).reshape(3, 3) / 7 - 0.5
    tangents = []
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        with ad.dual_level():
            d = ad.make_dual(m.tensor(a), m.tensor(t))
            out = m.linalg.solve(d, ad.make_dual(m.tensor(a[0]), m.tensor(t[1]))) if name == "solve" else \
                getattr(m.linalg, name)(d)
            tangents.append(ad.unpack_dual(out[1] if name == "slogdet" else out).tangent.numpy())
    np.testing.assert_allclose(tangents[0], tangents[1], rtol=1e-10)


def test_custom_function_jvp_and_save_for_forward(torch, backend):
    import torch.autograd.forward_ad as tfw
    got = {}
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        class Scale(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                ctx.save_for_forward(x, y)
                ctx.save_for_backward(y)
                ctx.k = k
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                y, = ctx.saved_tensors
                return g * y * ctx.k, None, None

            @staticmethod
            def jvp(ctx, x_t, y_t, k_t):
                x, y = ctx.saved_tensors
                assert k_t is None
                return ctx.k * (x_t * y + x * y_t)

        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = m.tensor([3.0, 4.0], dtype=m.float64)
        with ad.dual_level():
            out = Scale.apply(ad.make_dual(x, m.tensor([1.0, 0.5], dtype=m.float64)), y, 3.0)
            got[m] = (str(out), ad.unpack_dual(out).tangent.detach().numpy())
        out.sum().backward()  # the node recorded under the level still runs backward
        np.testing.assert_array_equal(x.grad.numpy(), [9.0, 12.0])
    assert got[pygrad][0] == got[torch][0]
    np.testing.assert_array_equal(got[pygrad][1], got[torch][1])


def test_inplace_ops_update_the_tangent_through_views(torch, backend):
    import torch.autograd.forward_ad as tfw
    results = []
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        with ad.dual_level():
            base = ad.make_dual(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64), m.ones(2, 2, dtype=m.float64))
            base.mul_(2)
            base[0].exp_()
            plain = m.zeros(2, 2, dtype=m.float64)
            plain[1] = ad.make_dual(m.tensor([5.0, 6.0], dtype=m.float64), m.tensor([1.0, 2.0], dtype=m.float64))
            results.append([ad.unpack_dual(t).tangent.numpy().copy() for t in (base, plain)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_forward_over_reverse_gives_hessian_vector_products(torch, backend):
    import torch.autograd.forward_ad as tfw
    x0, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -2.0])
    hvps = []
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        x = m.tensor(x0, requires_grad=True)
        with ad.dual_level():
            d = ad.make_dual(x, m.tensor(v))
            y = (d.exp() * d.sin()).sum() + (d.tanh() ** 3).mean() + m.softmax(d, 0)[0] + m.log_softmax(d, 0)[1]
            g, = m.autograd.grad(y, d, create_graph=True)
            hvps.append(ad.unpack_dual(g).tangent.detach().numpy())
    np.testing.assert_allclose(hvps[0], hvps[1], rtol=1e-10)


def test_reverse_over_forward_differentiates_the_tangent(torch, backend):
    import torch.autograd.forward_ad as tfw
    grads = []
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        x = m.tensor([0.5, 1.5], dtype=m.float64, requires_grad=True)
        with ad.dual_level():
            t = ad.unpack_dual((ad.make_dual(x, m.tensor([1.0, -1.0], dtype=m.float64)) ** 3).sin()).tangent
            t.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_tangents_leave_with_the_level_and_with_their_tensor():
    with fwAD.dual_level():
        d = fwAD.make_dual(pygrad.ones(2), pygrad.ones(2))
        level = fwAD._levels[-1]
        y = d * 2
        assert len(level._tangents) == 2
        del y
        assert len(level._tangents) == 1
    assert fwAD.unpack_dual(d).tangent is None
    fwAD.enter_dual_level()
    fwAD.exit_dual_level()
    with pytest.raises(RuntimeError, match="^Dual level must be a positive number.$"):
        fwAD.exit_dual_level()
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="^Invalid level given to _make_dual$"):
            fwAD.make_dual(pygrad.ones(2), pygrad.ones(2), level=3)
        assert fwAD.unpack_dual(d, level=3).tangent is None
        with pytest.raises(RuntimeError, match="^Trying to exit a forward AD level that was not the last one"):
            fwAD.exit_dual_level(level=3)


def _nn_cases():
    """(name, fn(m, F, x, w), x shape, w shape): the layers and losses written by hand."""
    return [
        ("conv2d", lambda m, F, x, w: F.conv2d(x, w, w[:, 0, 0, 0], padding=1), (2, 3, 5, 5), (4, 3, 3, 3)),
        ("conv2d_stride_groups", lambda m, F, x, w: F.conv2d(x, w, stride=2, groups=3), (1, 3, 6, 6), (3, 1, 2, 2)),
        ("max_pool2d", lambda m, F, x, w: F.max_pool2d(x * w.sum(), 2, padding=1), (2, 3, 5, 5), (2,)),
        ("avg_pool2d", lambda m, F, x, w: F.avg_pool2d(x, 2) * w.sum(), (2, 3, 4, 4), (2,)),
        ("adaptive_avg_pool2d", lambda m, F, x, w: F.adaptive_avg_pool2d(x, (2, 3)) * w[0], (2, 3, 5, 7), (2,)),
        ("pad", lambda m, F, x, w: F.pad(x * w[0], (1, 2, 0, 1), value=0.5), (2, 3), (2,)),
        ("layer_norm", lambda m, F, x, w: F.layer_norm(x, (4,), w, w * 0.5), (3, 4), (4,)),
        ("batch_norm_train", lambda m, F, x, w: F.batch_norm(x, None, None, w, w + 1, training=True), (5, 3), (3,)),
        ("batch_norm_eval", lambda m, F, x, w: F.batch_norm(x, m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64),
                                                            w, w, training=False), (5, 3), (3,)),
        ("embedding", lambda m, F, x, w: F.embedding(m.tensor([[0, 2], [1, 0]]), x) * w.sum(), (3, 4), (2,)),
        ("mse_loss", lambda m, F, x, w: F.mse_loss(x, w), (4,), (4,)),
        ("huber_loss", lambda m, F, x, w: F.huber_loss(x * 3, w, reduction="sum"), (4,), (4,)),
        ("smooth_l1_loss", lambda m, F, x, w: F.smooth_l1_loss(x * 3, w, reduction="none"), (4,), (4,)),
        ("cross_entropy", lambda m, F, x, w: F.cross_entropy(x * w, m.tensor([2, 0, 1])), (3, 4), (4,)),
        ("nll_loss_weighted", lambda m, F, x, w: F.nll_loss(F.log_softmax(x, 1), m.tensor([2, 0, 1]), weight=w),
         (3, 4), (4,)),
        ("nll_loss_none", lambda m, F, x, w: F.nll_loss(x * w, m.tensor([2, 0, 1]), reduction="none"), (3, 4), (4,)),
        ("cross_entropy_spatial", lambda m, F, x, w: F.cross_entropy(x * w[:, None, None], m.tensor([[[2, 0], [1, 3]]]),
                                                                     ignore_index=3), (1, 4, 2, 2), (4,)),
        ("binary_cross_entropy", lambda m, F, x, w: F.binary_cross_entropy(m.sigmoid(x), m.sigmoid(w)), (4,), (4,)),
        ("bce_with_logits", lambda m, F, x, w: F.binary_cross_entropy_with_logits(x, m.sigmoid(w), pos_weight=w.detach()),
         (4,), (4,)),
        ("einsum", lambda m, F, x, w: m.einsum("ij,j->i", x, w), (3, 4), (4,)),
        ("dist", lambda m, F, x, w: m.dist(x, w, 3) + m.dist(x, w * 2), (4,), (4,)),
        ("linear", lambda m, F, x, w: F.linear(x, w.reshape(1, 4), w[:1]), (3, 4), (4,)),
        # the losses of nn/_functional_loss.py (the table's number-overload and norm nodes among them)
        ("soft_margin_loss", lambda m, F, x, w: F.soft_margin_loss(x * w, m.tensor([1.0, -1.0, -1.0, 1.0])),
         (4,), (4,)),
        ("cosine_embedding_loss", lambda m, F, x, w: F.cosine_embedding_loss(x, x * w + 0.5, m.tensor([1.0, -1.0, 1.0]),
                                                                             margin=-0.5), (3, 4), (4,)),
        ("triplet_margin_loss", lambda m, F, x, w: F.triplet_margin_loss(x, x * w, x + w, margin=5.0), (3, 4), (4,)),
        ("pairwise_distance_keepdim", lambda m, F, x, w: F.pairwise_distance(x, x * w, p=3.0, keepdim=True),
         (3, 4), (4,)),
        ("poisson_nll_loss_full", lambda m, F, x, w: F.poisson_nll_loss(x.exp(), w * 4, log_input=False, full=True),
         (4,), (4,)),
        ("kl_div", lambda m, F, x, w: F.kl_div(F.log_softmax(x, 0), F.softmax(w, 0), reduction="batchmean"),
         (4,), (4,)),
    ]


@pytest.mark.parametrize("case", _nn_cases(), ids=[c[0] for c in _nn_cases()])
def test_layer_and_loss_tangents_match_torch(case, rng, torch, backend):
    import torch.autograd.forward_ad as tfw
    name, fn, x_shape, w_shape = case
    x, w = rng.uniform(-1, 1, x_shape), rng.uniform(0.2, 1, w_shape)
    tx, tw = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    results = []
    for m, ad in ((pygrad, fwAD), (torch, tfw)):
        with ad.dual_level():
            out = fn(m, m.nn.functional, ad.make_dual(m.tensor(x), m.tensor(tx)), ad.make_dual(m.tensor(w), m.tensor(tw)))
            primal, tangent = ad.unpack_dual(out)
            results.append((primal.detach().numpy(), tangent.detach().numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def conv_hvp(m, ad, x, w, tx, tw):
    """The tangent of conv2d's gradient (forward over reverse): it runs the convolution's gradient
    entries themselves in forward mode."""
    with ad.dual_level():
        dx, dw = ad.make_dual(m.tensor(x, requires_grad=True), m.tensor(tx)), ad.make_dual(
            m.tensor(w, requires_grad=True), m.tensor(tw))
        loss = (m.nn.functional.conv2d(dx, dw, padding=1) ** 2).sum()
        gx, gw = m.autograd.grad(loss, (dx, dw), create_graph=True)
        return [ad.unpack_dual(g).tangent.detach().numpy() for g in (gx, gw)]


def test_forward_over_reverse_through_conv2d(rng, torch, backend):
    import torch.autograd.forward_ad as tfw
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    tx, tw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    for ours, theirs in zip(conv_hvp(pygrad, fwAD, x, w, tx, tw), conv_hvp(torch, tfw, x, w, tx, tw)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
