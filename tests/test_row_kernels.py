"""The kernels of cross-entropy's common case: ``log_softmax`` and its backward along the last
axis, and the negative log likelihood of one class index per row (``nll_rows``) and its
backward.  The compiled ones give the pure kernels' results bit for bit (the pure kernel defines
the bits), run compiled for float32/float64 rows in C order, leave every other case to the pure
kernel, and the ops built on them agree with PyTorch and pass gradcheck on both backends."""
import numpy as np
import pytest

import pygrad
import pygrad.nn.functional as F
from pygrad._pure import kernels as pure
from pygrad.autograd import gradcheck, gradgradcheck

native = pytest.importorskip("pygrad._native.kernels", reason="the compiled modules are not built")

DTYPES = [np.float32, np.float64]
# Rows shorter and longer than NumPy's 8-wide and 128-long summation blocks, one row, one column,
# 3-d, and sizes on both sides of where the compiled kernel takes the row maxima from NumPy.
SHAPES = [(1,), (5,), (1, 1), (64, 10), (3, 7), (2, 8), (4, 9), (2, 16), (3, 127), (3, 128), (3, 129),
          (2, 300), (5, 1000), (2, 3, 17), (1000, 3), (4, 50, 30), (1, 8192), (2, 8193), (1, 20000)]


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape and got.strides == want.strides
    assert got.tobytes() == want.tobytes()


def _same_with_nan(got, want):
    """Equal, NaN where the other is NaN, and every other element bit for bit."""
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert got[~np.isnan(got)].tobytes() == want[~np.isnan(want)].tobytes()


def _no_fallback(monkeypatch, name):
    calls = []
    reference = getattr(pure, name)
    monkeypatch.setattr(pure, name, lambda *args: calls.append(args) or reference(*args))
    return calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_log_softmax_and_its_backward_give_the_pure_bits(shape, dtype, rng, monkeypatch):
    calls = _no_fallback(monkeypatch, "log_softmax") + _no_fallback(monkeypatch, "log_softmax_backward")
    for scale in (1, 30, 1e3):
        x = (rng.standard_normal(shape) * scale).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        result = native.log_softmax(x, x.ndim - 1)
        _same_bits(result, pure.log_softmax(x, x.ndim - 1))
        _same_bits(native.log_softmax(x, -1), result)
        _same_bits(native.log_softmax_backward(g, result, x.ndim - 1), pure.log_softmax_backward(g, result, -1))
    assert not calls, "ran the pure kernel"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [20, 80], ids=["rows found compiled", "row maxima from NumPy"])
def test_special_values(rows, dtype, rng):
    """NaN (of either sign), infinities, signed zeros and huge values: NaN rows where the pure
    kernel has them, every other element bit for bit."""
    x = rng.standard_normal((rows, 90)).astype(dtype)
    big = np.finfo(dtype).max
    x[0, 3] = np.nan
    x[1, :] = -np.inf
    x[2, 4] = np.inf
    x[3, 0] = -np.inf
    x[4, :] = 0
    x[5, 2] = -0.0
    x[6, 7], x[6, 1] = np.nan, -np.nan
    x[7, :] = big / 10
    x[8, 0] = big
    x[9, 0], x[9, 1:] = 0, -1e4  # one element carries the whole row: its log_softmax is 0
    with np.errstate(all="ignore"):
        result = native.log_softmax(x, 1)
        _same_with_nan(result, pure.log_softmax(x, 1))
        g = rng.standard_normal(x.shape).astype(dtype)
        _same_with_nan(native.log_softmax_backward(g, result, 1), pure.log_softmax_backward(g, result, 1))
    assert result[9, 0] == 0 and not np.signbit(result[9, 0])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_other_layouts_and_axes_take_the_pure_kernel(dtype, rng):
    x = rng.standard_normal((6, 8)).astype(dtype)
    cases = [(x.T, 1), (x[:, ::2], 1), (x, 0), (np.asfortranarray(x), 1), (x[0, 0].copy(), None),
             (np.zeros((0, 3), dtype), 1), (np.zeros((3, 0), dtype), 1)]
    for a, axis in cases:
        result = native.log_softmax(a, axis)
        _same_bits(result, pure.log_softmax(a, axis))
        if a.size:
            g = np.ones_like(result)
            _same_bits(native.log_softmax_backward(g, result, axis), pure.log_softmax_backward(g, result, axis))
    result = native.log_softmax(x, 1)
    _same_bits(native.log_softmax_backward(x.T.copy().T, result, 1), pure.log_softmax_backward(x.T.copy().T, result, 1))
    _same_bits(native.log_softmax_backward(x[:1], result, 1), pure.log_softmax_backward(x[:1], result, 1))


def _unaligned(a):
    """A copy of ``a`` at an odd address."""
    raw = np.zeros(a.nbytes + 1, np.uint8)
    out = raw[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_swapped_and_unaligned_arrays_take_the_pure_kernels(dtype, rng):
    x = rng.standard_normal((6, 4)).astype(dtype)
    target = rng.integers(0, 4, 6)
    g = np.asarray(0.5, dtype)
    for a in (x.astype(x.dtype.newbyteorder()), _unaligned(x)):
        assert not a.flags.aligned or not a.dtype.isnative
        _same_bits(native.log_softmax(a, 1), pure.log_softmax(a, 1))
        result = pure.log_softmax(x, 1)
        _same_bits(native.log_softmax_backward(a, result, 1), pure.log_softmax_backward(a, result, 1))
        _same_bits(native.log_softmax_backward(x, a, 1), pure.log_softmax_backward(x, a, 1))
        _same_bits(native.nll_rows(a, target, -100, True), pure.nll_rows(a, target, -100, True))
    for t in (target.astype(target.dtype.newbyteorder()), _unaligned(target)):
        got, want = native.nll_rows(x, t, -100, False), pure.nll_rows(x, t, -100, False)
        assert (got is None) == (want is None)  # (a swapped int64 is not the pure kernel's case)
        if want is not None:
            _same_bits(got, want)
        _same_bits(native.nll_rows_backward(g, x, t, None), pure.nll_rows_backward(g, x, t, None))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,classes", [(1, 1), (64, 10), (7, 3), (200, 5), (1000, 100), (20000, 3)])
def test_nll_rows_and_its_backward_give_the_pure_bits(n, classes, dtype, rng, monkeypatch):
    calls = _no_fallback(monkeypatch, "nll_rows") + _no_fallback(monkeypatch, "nll_rows_backward")
    x = rng.standard_normal((n, classes)).astype(dtype)
    target = rng.integers(0, classes, n)
    for mean in (True, False):
        want = pure.nll_rows(x, target, -100, mean)
        for layout in (x, np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2]):
            _same_bits(native.nll_rows(layout, target, -100, mean), want)
        _same_bits(native.nll_rows(x, np.repeat(target, 2)[::2], -100, mean), want)
    g = np.asarray(rng.standard_normal(), dtype)
    for total in (None, np.asarray(n, dtype)):
        _same_bits(native.nll_rows_backward(g, x, target, total), pure.nll_rows_backward(g, x, target, total))
    assert not calls, "ran the pure kernel"


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_rows_leaves_what_it_does_not_compute(dtype, rng):
    """None, as the pure kernel, for a target out of range, ``ignore_index`` among the targets, no
    rows and targets other than int64 (the general path handles them); the backward's bounds check."""
    x = rng.standard_normal((6, 4)).astype(dtype)
    for target in ([0, 1, 2, 3, 1, 0], [0, 1, 2, 4, 1, 0], [0, -1, 2, 3, 1, 0]):
        target = np.array(target)
        for ignore_index in (-100, 2, -1, 7, 2 ** 70):
            got, want = native.nll_rows(x, target, ignore_index, True), pure.nll_rows(x, target, ignore_index, True)
            assert (got is None) == (want is None), (target, ignore_index)
            if got is not None:
                _same_bits(got, want)
    assert native.nll_rows(x[:0], np.zeros(0, np.int64), -100, True) is None
    assert native.nll_rows(x, np.array([0, 1, 2, 3, 1, 0], np.uint8), -100, True) is None
    with pytest.raises(IndexError):
        native.nll_rows_backward(np.asarray(1, dtype), x, np.array([0, 1, 2, 9, 1, 0]), None)


# -- the ops on them: PyTorch's values and gradients, gradcheck --------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((64, 10), 1), ((3, 4, 5), -1), ((3, 4, 5), 1), ((7,), 0)])
def test_log_softmax_matches_torch(shape, dim, dtype, rng, backend, torch):
    x = rng.standard_normal(shape).astype(dtype) * 5
    g = rng.standard_normal(shape).astype(dtype)
    ours, ref = pygrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = F.log_softmax(ours, dim), torch.nn.functional.log_softmax(ref, dim)
    assert type(out.grad_fn).__name__ == type(expected.grad_fn).__name__ == "LogSoftmaxBackward0"
    out.backward(pygrad.tensor(g))
    expected.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_nll_loss_of_classes_matches_torch(dtype, reduction, rng, backend, torch):
    x = rng.standard_normal((64, 10)).astype(dtype)
    y = rng.integers(0, 10, 64)
    ours, ref = pygrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = F.nll_loss(ours * 1, pygrad.tensor(y), reduction=reduction)
    expected = torch.nn.functional.nll_loss(ref * 1, torch.tensor(y), reduction=reduction)
    assert type(loss.grad_fn).__name__ == type(expected.grad_fn).__name__ == "NllLossBackward0"
    np.testing.assert_allclose(loss.grad_fn._saved_self.detach().numpy(), expected.grad_fn._saved_self.detach().numpy())
    (loss * 3).backward()
    (expected * 3).backward()
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), **tol)
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), **tol)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_gradcheck_float64(dim, rng, backend):
    x = pygrad.tensor(rng.standard_normal((4, 6)), requires_grad=True)
    assert gradcheck(lambda a: F.log_softmax(a, dim), (x,))
    assert gradgradcheck(lambda a: F.log_softmax(a, dim), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_nll_loss_gradcheck_float64(reduction, rng, backend):
    x = pygrad.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    y = pygrad.tensor(rng.integers(0, 4, 5))
    assert gradcheck(lambda a: F.nll_loss(a, y, reduction=reduction), (x,))
    assert gradcheck(lambda a: F.cross_entropy(a, y, reduction=reduction), (x,))
    assert gradgradcheck(lambda a: F.cross_entropy(a, y, reduction=reduction), (x,))


def test_backends_agree_on_a_training_step(rng):
    """A model's loss and gradients, natively and pure, bit for bit."""
    x = rng.standard_normal((32, 12)).astype(np.float32)
    w = rng.standard_normal((5, 12)).astype(np.float32)
    y = rng.integers(0, 5, 32)
    results = []
    for name in pygrad._backend.available():
        with pygrad._backend.use(name):
            weight = pygrad.tensor(w, requires_grad=True)
            loss = pygrad.nn.CrossEntropyLoss()(pygrad.tensor(x) @ weight.t(), pygrad.tensor(y))
            loss.backward()
            results.append((loss.detach().numpy().tobytes(), weight.grad.numpy().tobytes()))
    assert all(r == results[0] for r in results)
