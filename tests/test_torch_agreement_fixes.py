"""Behaviours that differed from PyTorch in tutorial code: regression-loss dtypes with integer targets,
DataLoader batch types and ``arange`` with a float step, bit for bit."""
import numpy as np
import pytest

import pygrad

LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("float32", "float64"), ("float64", "float32"),
                                    ("float32", "int32")])
def test_regression_losses_promote_like_torch(torch, loss, dtypes):
    x = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]])
    y = np.array([[1, -1, 0], [3, 2, -2]])
    results = []
    for m in (pygrad, torch):
        a = m.tensor(x, dtype=getattr(m, dtypes[0]), requires_grad=True)
        b = m.tensor(y, dtype=getattr(m, dtypes[1]))
        out = getattr(m.nn.functional, loss)(a, b)
        if loss != "huber_loss":  # torch's huber backward raises for mixed dtypes ("Found dtype Long...")
            out.backward()
        none = getattr(m.nn.functional, loss)(a, b, reduction="none")
        grad = a.grad if a.grad is not None else m.zeros(1)
        results.append((str(out.dtype), str(none.dtype), str(grad.dtype), out.grad_fn.name(), out.item(),
                        grad.numpy().tolist()))
    assert results[0][:4] == results[1][:4]
    assert np.allclose(results[0][4], results[1][4]) and np.allclose(results[0][5], results[1][5])


def test_dataloader_batches_of_tuples_are_lists(torch):
    def batches(m):
        samples = [(m.tensor([float(i)]), i, (i, m.tensor(i))) for i in range(4)]
        return [repr(b) for b in m.utils.data.DataLoader(samples, batch_size=2)]
    assert batches(pygrad) == batches(torch)


ARANGES = [(-8., 8., .1), (0., 1., .01), (-3., 7.3, .37), (1., 100., .7), (0, 5, .3), (-1., 1., 1 / 3),
           (.1, .9, .013), (5., -5., -.3), (0., 3000., .1), (-2.5, 2.5, .5), (0, 1, .001), (1e-3, 2.7, 1e-2)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_arange_float_step_matches_torch_bit_for_bit(torch, dtype):
    rng = np.random.default_rng(5)
    cases = list(ARANGES)
    for _ in range(100):
        start, step = rng.uniform(-100, 100), rng.choice([-1, 1]) * 10 ** rng.uniform(-3, 1)
        cases.append((float(start), float(start + step * rng.uniform(0, 2000)), float(step)))
    for start, end, step in cases:
        ours = pygrad.arange(start, end, step, dtype=getattr(pygrad, dtype)).numpy()
        theirs = torch.arange(start, end, step, dtype=getattr(torch, dtype)).numpy()
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes(), (start, end, step)
    assert str(pygrad.arange(-8., 8., .1)) == str(torch.arange(-8., 8., .1))


def test_float32_expm1_is_rounded_as_torchs():
    """expm1 in float32 is computed in float64 and rounded: expm1(4.) is the correctly rounded
    53.598148 (prints 53.5981, as PyTorch's), and every value is within one ulp of PyTorch's,
    whose last bit depends on the CPU's vector library."""
    torch = pytest.importorskip("torch")
    assert str(pygrad.expm1(pygrad.tensor(4.0))) == "tensor(53.5981)"
    xs = np.linspace(-10, 10, 20001, dtype=np.float32)
    ours = pygrad.expm1(pygrad.tensor(xs)).numpy()
    theirs = torch.expm1(torch.from_numpy(xs)).numpy()
    assert np.all(np.abs(ours.view(np.int32) - theirs.view(np.int32)) <= 1)
