import math

import numpy as np
import pytest

from pygrad._printing import format_size, format_tensor, get_printoptions, set_printoptions

f32 = np.float32
f64 = np.float64
inf = np.inf
nan = np.nan


@pytest.fixture(autouse=True)
def default_printoptions():
    yield
    set_printoptions(profile="default")
    try:
        import torch
    except ImportError:
        return
    torch.set_printoptions(profile="default")


def fmt(values, dtype=f32, suffix=None):
    return format_tensor(np.array(values, dtype=dtype), suffix)


# --- Examples from TORCH_SEMANTICS.md section 1 -----------------------------

@pytest.mark.parametrize(
    "values, expected",
    [
        # no finite non-zero value: int mode, width 1
        ([0.0, 0.0, 0.0], "tensor([0., 0., 0.])"),
        ([nan], "tensor([nan])"),
        ([inf, -inf], "tensor([inf, -inf])"),
        ([-inf, 0.0, nan], "tensor([-inf, 0., nan])"),
        # sci mode
        ([1e-5, 1.0, 1e3], "tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])"),
        ([0.5, 1500.0], "tensor([5.0000e-01, 1.5000e+03])"),
        ([1.0, 2000.0], "tensor([1.0000e+00, 2.0000e+03])"),
        ([123456789.0], "tensor([1.2346e+08])"),
        ([1000.0, 1.0], "tensor([1000.,    1.])"),
        ([1e8], "tensor([100000000.])"),
        ([1.2e-4, 0.05], "tensor([0.0001, 0.0500])"),
        ([1.2e-4, 0.5], "tensor([1.2000e-04, 5.0000e-01])"),
        ([0.0, 1e10, -3e-3], "tensor([ 0.0000e+00,  1.0000e+10, -3.0000e-03])"),
        ([inf, 1e-6], "tensor([       inf, 1.0000e-06])"),
        # int mode
        ([3.0, -7.0, 12.0], "tensor([ 3., -7., 12.])"),
        ([nan, 1.0, 2.0], "tensor([nan, 1., 2.])"),
        # fixed
        ([0.1, 2.34567, -1.5], "tensor([ 0.1000,  2.3457, -1.5000])"),
        # float32 ties round half to even
        ([-1.34375, 0.09375, -0.03125], "tensor([-1.3438,  0.0938, -0.0312])"),
        ([-0.0, 1.0], "tensor([-0., 1.])"),
        ([nan, inf, -inf, 1.5], "tensor([   nan,    inf,   -inf, 1.5000])"),
        (
            [[0.5, 12.75], [-100.125, 3.0]],
            "tensor([[   0.5000,   12.7500],\n        [-100.1250,    3.0000]])",
        ),
    ],
)
def test_float_formatter_examples(values, expected):
    assert fmt(values) == expected


def test_scalar_examples():
    assert format_tensor(np.array(21.0, f32), "grad_fn=<SumBackward0>") == (
        "tensor(21., grad_fn=<SumBackward0>)"
    )
    assert format_tensor(np.array(1.375, f32), "grad_fn=<AddBackward0>") == (
        "tensor(1.3750, grad_fn=<AddBackward0>)"
    )
    assert format_tensor(np.array(7)) == "tensor(7)"
    assert format_tensor(np.array(-0.125, f32)) == "tensor(-0.1250)"
    assert format_tensor(np.array(1e-7, f32)) == "tensor(1.0000e-07)"
    assert format_tensor(np.array(True)) == "tensor(True)"
    assert format_tensor(np.array(-1.34375, f32)) == "tensor(-1.3438)"
    assert format_tensor(np.array(0.09375, f32)) == "tensor(0.0938)"
    assert format_tensor(np.array(-0.03125, f32)) == "tensor(-0.0312)"


def test_integer_and_bool():
    assert fmt([3, -17, 250], np.int64) == "tensor([  3, -17, 250])"
    assert fmt([True, False, False, True], bool) == "tensor([ True, False, False,  True])"
    assert fmt([True, True], bool) == "tensor([True, True])"


def test_line_wrapping():
    assert format_tensor(np.arange(30, dtype=f32)) == (
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
        "        28., 29.])"
    )
    assert format_tensor(np.arange(20, dtype=f32) / f32(7)) == (
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143])"
    )
    assert format_tensor(np.arange(40)) == (
        "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
        "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n"
        "        36, 37, 38, 39])"
    )


def test_row_may_reach_81_columns():
    row = "[" + ", ".join(["0.5000"] * 9) + "]"
    out = format_tensor(np.full((2, 9), 0.5, f32))
    assert out == "tensor([" + row + ",\n        " + row + "])"
    assert len(out.split("\n")[0]) == 81


def test_3d_blocks_separated_by_blank_line():
    a = np.array([[[1, 2], [3, 4.5]], [[-5, 6], [7.25, 8]]], f32)
    assert format_tensor(a) == (
        "tensor([[[ 1.0000,  2.0000],\n"
        "         [ 3.0000,  4.5000]],\n"
        "\n"
        "        [[-5.0000,  6.0000],\n"
        "         [ 7.2500,  8.0000]]])"
    )


def test_summarization():
    assert format_tensor(np.arange(1500)) == "tensor([   0,    1,    2,  ..., 1497, 1498, 1499])"
    assert format_tensor((6 + np.arange(1010) / 16).reshape(101, 10).astype(f32)) == (
        "tensor([[ 6.0000,  6.0625,  6.1250,  ...,  6.4375,  6.5000,  6.5625],\n"
        "        [ 6.6250,  6.6875,  6.7500,  ...,  7.0625,  7.1250,  7.1875],\n"
        "        [ 7.2500,  7.3125,  7.3750,  ...,  7.6875,  7.7500,  7.8125],\n"
        "        ...,\n"
        "        [67.2500, 67.3125, 67.3750,  ..., 67.6875, 67.7500, 67.8125],\n"
        "        [67.8750, 67.9375, 68.0000,  ..., 68.3125, 68.3750, 68.4375],\n"
        "        [68.5000, 68.5625, 68.6250,  ..., 68.9375, 69.0000, 69.0625]])"
    )
    # mode and width come from the shown elements only
    assert format_tensor(np.arange(2000, dtype=f32)) == (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])"
    )
    assert format_tensor(np.arange(1001, dtype=f32) / f32(8)) == (
        "tensor([  0.0000,   0.1250,   0.2500,  ..., 124.7500, 124.8750, 125.0000])"
    )
    full = format_tensor(np.arange(1000))
    assert len(full) == 5576
    assert full.count("\n") == 71
    assert "..." not in full


def test_dtype_and_grad_suffixes():
    assert fmt([1.5, 2.0], f64, "requires_grad=True") == (
        "tensor([1.5000, 2.0000], dtype=torch.float64, requires_grad=True)"
    )
    assert fmt([1, 2], np.int32) == "tensor([1, 2], dtype=torch.int32)"
    assert fmt([4.5, 6.0], f64, "grad_fn=<MulBackward0>") == (
        "tensor([4.5000, 6.0000], dtype=torch.float64, grad_fn=<MulBackward0>)"
    )
    assert fmt([1.5, 2.0]) == "tensor([1.5000, 2.0000])"
    assert fmt([1, 2], np.int64) == "tensor([1, 2])"


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float16, "tensor([1., 2.], dtype=torch.float16)"),
        (np.int16, "tensor([1, 2], dtype=torch.int16)"),
        (np.int8, "tensor([1, 2], dtype=torch.int8)"),
        (np.uint8, "tensor([1, 2], dtype=torch.uint8)"),
        (np.uint16, "tensor([1, 2], dtype=torch.uint16)"),
    ],
)
def test_other_dtype_names(dtype, expected):
    assert fmt([1, 2], dtype) == expected


def test_empty():
    assert format_tensor(np.zeros(0, f32)) == "tensor([])"
    assert format_tensor(np.zeros((0, 3), f32)) == "tensor([], size=(0, 3))"
    assert format_tensor(np.zeros(0, np.int64)) == "tensor([], dtype=torch.int64)"
    assert format_tensor(np.zeros((2, 0, 3), bool)) == "tensor([], size=(2, 0, 3), dtype=torch.bool)"
    assert format_tensor(np.zeros(0, f32), "requires_grad=True") == "tensor([], requires_grad=True)"


def test_suffix_wrapping():
    assert fmt([0.5] * 6, suffix="requires_grad=True") == (
        "tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000], requires_grad=True)"
    )
    assert fmt([0.5] * 7, suffix="requires_grad=True") == (
        "tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000],\n"
        "       requires_grad=True)"
    )
    assert fmt([0.5, -1.5, 2.25, 3, 4, 5, 6], suffix="grad_fn=<ViewBackward0>") == (
        "tensor([ 0.5000, -1.5000,  2.2500,  3.0000,  4.0000,  5.0000,  6.0000],\n"
        "       grad_fn=<ViewBackward0>)"
    )


def test_suffix_wrapping_boundary():
    # last line 58 wide: 58 + len("requires_grad=True") == 76 stays inline
    line = "tensor([" + ", ".join(["100000000000000"] * 3) + "]"
    assert len(line) == 58
    assert fmt([10**14] * 3, np.int64, "requires_grad=True") == line + ", requires_grad=True)"
    line = "tensor([" + ", ".join(["10000000000"] * 4) + "]"
    assert len(line) == 59
    assert fmt([10**10] * 4, np.int64, "requires_grad=True") == (
        line + ",\n       requires_grad=True)"
    )


def test_second_suffix_after_wrap_is_measured_exactly():
    # After a wrapped suffix torch drops the +2 it adds to the first line's
    # length, so the next suffix may end one column past linewidth.
    set_printoptions(precision=2, linewidth=50)
    assert fmt([1.5, 2, 3, 4, 5], f64, "grad_fn=<MulBackward0>") == (
        "tensor([1.50, 2.00, 3.00, 4.00, 5.00],\n"
        "       dtype=torch.float64, grad_fn=<MulBackward0>)"
    )
    set_printoptions(precision=2, linewidth=49)
    assert fmt([1.5, 2, 3, 4, 5], f64, "grad_fn=<MulBackward0>") == (
        "tensor([1.50, 2.00, 3.00, 4.00, 5.00],\n"
        "       dtype=torch.float64,\n"
        "       grad_fn=<MulBackward0>)"
    )


def test_negative_zero_is_not_counted_in_width():
    assert fmt([-0.0, 0.5]) == "tensor([-0.0000, 0.5000])"
    assert fmt([0.0, -0.0]) == "tensor([0., -0.])"
    assert fmt([-0.0, 1e-5]) == "tensor([-0.0000e+00, 1.0000e-05])"


def test_format_size():
    assert format_size((2, 3)) == "torch.Size([2, 3])"
    assert format_size(()) == "torch.Size([])"
    assert format_size(np.zeros((4, 0, 1)).shape) == "torch.Size([4, 0, 1])"


def test_unsupported_dtype():
    with pytest.raises(TypeError):
        format_tensor(np.array([1 + 2j]))


# --- Print options ------------------------------------------------------------

def test_default_printoptions():
    assert get_printoptions() == {
        "precision": 4,
        "threshold": 1000,
        "edgeitems": 3,
        "linewidth": 80,
        "sci_mode": None,
    }


def test_precision_and_threshold():
    set_printoptions(precision=2)
    assert fmt([1.12345]) == "tensor([1.12])"
    set_printoptions(threshold=5)
    assert get_printoptions()["precision"] == 2  # kept across calls
    assert format_tensor(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="default")
    assert fmt([1.12345]) == "tensor([1.1235])"
    assert format_tensor(np.arange(10)) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_profiles():
    set_printoptions(profile="short")
    assert get_printoptions() == {
        "precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80, "sci_mode": None
    }
    assert format_tensor(np.arange(1500)) == "tensor([   0,    1,  ..., 1498, 1499])"
    set_printoptions(profile="full")
    assert get_printoptions()["threshold"] == math.inf
    assert "..." not in format_tensor(np.arange(1500))
    set_printoptions(profile="full", edgeitems=1)  # explicit values override the profile
    assert get_printoptions()["edgeitems"] == 1


def test_sci_mode_option():
    set_printoptions(sci_mode=True)
    assert fmt([1.0, 2.5]) == "tensor([1.0000e+00, 2.5000e+00])"
    assert fmt([0.0, 0.0]) == "tensor([0., 0.])"  # nothing finite and non-zero
    set_printoptions(sci_mode=False)
    assert fmt([1e-5, 1e3]) == "tensor([   0.0000, 1000.0000])"
    set_printoptions(precision=4)  # every call resets sci_mode
    assert get_printoptions()["sci_mode"] is None
    assert fmt([1e-5, 1e3]) == "tensor([1.0000e-05, 1.0000e+03])"


def test_linewidth_option():
    set_printoptions(linewidth=40)
    assert format_tensor(np.arange(12)) == (
        "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,\n         8,  9, 10, 11])"
    )


def test_zero_edgeitems():
    set_printoptions(edgeitems=0)
    assert fmt([1.0, 2.0]) == "tensor([1., 2.], size=(2,))"
    assert format_tensor(np.array(3.0, f32)) == "tensor(3., size=())"
    set_printoptions(edgeitems=0, threshold=2)
    assert format_tensor(np.ones((2, 3), f32)) == "tensor([...], size=(2, 3))"


# --- Differential tests against torch ------------------------------------------

def random_array(rng):
    ndim = int(rng.integers(0, 4))
    if ndim and rng.random() < 0.2:  # cross the summarization threshold
        shape = (int(rng.choice([7, 200, 999, 1000, 1001, 1500, 3000])),) + tuple(
            int(rng.integers(1, 9)) for _ in range(ndim - 1)
        )
        shape = tuple(rng.permutation(shape))
    else:
        shape = tuple(int(rng.integers(0 if rng.random() < 0.05 else 1, 12)) for _ in range(ndim))
    n = int(np.prod(shape))
    kind = rng.choice(["float32", "float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
    if kind == "bool":
        return (rng.random(n) < 0.5).reshape(shape)
    if kind.startswith(("int", "uint")):
        info = np.iinfo(kind)
        hi = min(info.max, 10 ** int(rng.integers(1, 19)))
        return rng.integers(max(info.min, -hi), hi, size=n, endpoint=True).astype(kind).reshape(shape)
    if rng.random() < 0.5:
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-7, 10, size=n)
    else:
        x = rng.standard_normal(n) * 10.0 ** int(rng.integers(-5, 9))
    r = rng.random()
    if r < 0.3:
        x = np.round(x)  # integers stored as floats
    elif r < 0.45:
        x = np.round(x * 8) / 8  # exact binary ties
    special = rng.random(n) < 0.06
    x[special] = rng.choice([nan, inf, -inf, -0.0, 0.0], size=int(special.sum()))
    with np.errstate(over="ignore"):
        return x.astype(kind).reshape(shape)


def torch_repr(a, grad=None):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(a)
    if grad == "requires_grad=True":
        t = t.clone().requires_grad_()
    elif grad == "grad_fn=<MulBackward0>":
        t = t.clone().requires_grad_() * 1
    elif grad == "grad_fn=<ViewBackward0>":
        t = t.clone().requires_grad_().view(a.shape)
    return repr(t)


@pytest.mark.parametrize("seed", range(40))
def test_matches_torch_random(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        a = random_array(rng)
        assert format_tensor(a) == torch_repr(a), (a.dtype, a.shape)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    "grad", ["requires_grad=True", "grad_fn=<MulBackward0>", "grad_fn=<ViewBackward0>"]
)
def test_matches_torch_with_grad_suffix(seed, grad):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(30):
        a = random_array(rng)
        if a.dtype.kind != "f":
            continue
        assert format_tensor(a, grad) == torch_repr(a, grad), (a.dtype, a.shape)


@pytest.mark.parametrize("n", range(1, 16))
@pytest.mark.parametrize("dtype", [f32, f64])
def test_matches_torch_suffix_boundary(n, dtype):
    # sweep last-line lengths across the wrapping boundary
    for a in (np.full(n, 0.5, dtype), np.arange(n, dtype=dtype) * 1.5 - 3, np.full(n, -12.0, dtype)):
        for grad in ("requires_grad=True", "grad_fn=<MulBackward0>"):
            assert format_tensor(a, grad) == torch_repr(a, grad)


@pytest.mark.parametrize(
    "a",
    [
        np.array(0.0, f32), np.array(-0.0, f32), np.array(nan, f32), np.array(-inf, f64),
        np.array(123456789.0, f32), np.array(0.1, f32), np.array(0.1, f64), np.array(1e-300, f64),
        np.array(65504.0, np.float16), np.array(np.iinfo(np.int64).min), np.array(False),
        np.array([1e-4, 0.1]), np.array([9.99995e-5, 0.1], f32), np.array([99999.99995]),
        np.array([0.99999, -9.99996], f32), np.array([1e8, 1.5]), np.array([1e8 + 1, 1.0]),
        np.arange(1000.0).reshape(10, 100), np.arange(1001.0).reshape(7, 143),
        np.arange(6006, dtype=f32).reshape(6, 1001), np.arange(7007).reshape(7, 7, 143),
        np.ones((1, 1, 1001), bool), np.zeros((3, 0)), np.zeros((0,), np.uint8),
        np.arange(24, dtype=f32).reshape(2, 3, 4)[:, ::-1].copy(), np.arange(12.0).reshape(3, 4).T,
    ],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_matches_torch_edge_cases(a):
    assert format_tensor(a) == torch_repr(a)


@pytest.mark.parametrize("seed", range(15))
def test_matches_torch_with_printoptions(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2000 + seed)
    for _ in range(20):
        opts = {}
        if rng.random() < 0.3:
            opts["profile"] = str(rng.choice(["default", "short", "full"]))
        if rng.random() < 0.5:
            opts["precision"] = int(rng.integers(0, 8))
        if rng.random() < 0.5:
            opts["threshold"] = int(rng.choice([0, 5, 50, 1000]))
        if rng.random() < 0.5:
            opts["edgeitems"] = int(rng.integers(0, 5))
        if rng.random() < 0.5:
            opts["linewidth"] = int(rng.integers(20, 150))
        if rng.random() < 0.3:
            opts["sci_mode"] = bool(rng.random() < 0.5)
        torch.set_printoptions(**opts)
        set_printoptions(**opts)
        a = random_array(rng)
        grad = "grad_fn=<MulBackward0>" if a.dtype.kind == "f" and rng.random() < 0.4 else None
        assert format_tensor(a, grad) == torch_repr(a, grad), (opts, a.dtype, a.shape)
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")
