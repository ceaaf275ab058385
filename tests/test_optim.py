"""Optimisers and schedulers against PyTorch: 10-step trajectories from the same start with the
same gradients, state_dict layout, resuming from a state_dict, and learning-rate sequences."""
import io

import numpy as np
import pytest

import pygrad

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.01, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _run(lib, name, kwargs, init, grads, dtype):
    params = [lib.nn.Parameter(lib.tensor(a.astype(dtype))) for a in init]
    opt = getattr(lib.optim, name)(params, **kwargs)
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = lib.tensor(g.astype(dtype))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history, opt


def _problem(rng, steps=10):
    init = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(a.shape) * (1 + k) for a in init] for k in range(steps)]
    return init, grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, dtype, rng, torch):
    init, grads = _problem(rng)
    ours, opt = _run(pygrad, name, kwargs, init, grads, dtype)
    theirs, ref = _run(torch, name, kwargs, init, grads, dtype)
    # Relative to each tensor's scale: PyTorch's CPU kernels fuse a + alpha*b into one FMA, which
    # rounds once where NumPy rounds twice, so elements that cancel to near zero differ by an ulp of
    # the tensor's larger values.
    rel = 1e-6 if dtype == "float32" else 1e-13
    tol = dict(rtol=rel, atol=rel)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rel, atol=rel * np.abs(y).max(), err_msg=f"step {step + 1}")
    # the state has torch's layout, keys, dtypes and values
    sd, ref_sd = opt.state_dict(), ref.state_dict()
    assert sd["param_groups"] == ref_sd["param_groups"]
    assert sd["state"].keys() == ref_sd["state"].keys()
    for k in sd["state"]:
        assert list(sd["state"][k]) == list(ref_sd["state"][k])
        for key, value in sd["state"][k].items():
            other = ref_sd["state"][k][key]
            assert value.shape == tuple(other.shape) and value.dtype.name == str(other.dtype)[6:]
            np.testing.assert_allclose(value.numpy(), other.numpy(), **tol)
    assert repr(opt) == repr(ref)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_resume_from_state_dict_through_save_load(name, kwargs, rng):
    init, grads = _problem(rng)
    straight, _ = _run(pygrad, name, kwargs, init, grads, "float64")
    first, opt = _run(pygrad, name, kwargs, init, grads[:4], "float64")
    buf = io.BytesIO()
    pygrad.save(opt.state_dict(), buf)
    buf.seek(0)
    params = [pygrad.nn.Parameter(pygrad.tensor(a)) for a in first[-1]]
    resumed = getattr(pygrad.optim, name)(params, **kwargs)
    resumed.load_state_dict(pygrad.load(buf))
    for step_grads, expected in zip(grads[4:], straight[4:]):
        for p, g in zip(params, step_grads):
            p.grad = pygrad.tensor(g)
        resumed.step()
        for p, e in zip(params, expected):
            np.testing.assert_array_equal(p.detach().numpy(), e)


def test_param_groups_zero_grad_and_errors(torch):
    a = pygrad.nn.Parameter(pygrad.ones(2))
    b = pygrad.nn.Parameter(pygrad.ones(2))
    opt = pygrad.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    ref = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(2))]},
                           {"params": [torch.nn.Parameter(torch.ones(2))], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.state_dict()["param_groups"] == ref.state_dict()["param_groups"]
    a.grad = pygrad.ones(2)
    b.grad = pygrad.ones(2)
    opt.step()
    assert a.tolist() == pytest.approx([0.9, 0.9]) and b.tolist() == pytest.approx([0.5, 0.5])
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None
    c = pygrad.nn.Parameter(pygrad.ones(1))
    opt.add_param_group({"params": c, "lr": 1.0})
    assert opt.param_groups[-1]["momentum"] == 0.9 and opt.param_groups[-1]["params"] == [c]
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        pygrad.optim.Adam([])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        pygrad.optim.SGD([a], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        pygrad.optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        pygrad.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer parameters need to be organized in ordered collections"):
        pygrad.optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of Tensors "
                                        "or dicts, but got torch.FloatTensor"):
        pygrad.optim.SGD(a, lr=0.1)


def test_step_with_closure_and_frozen_parameters():
    w = pygrad.nn.Parameter(pygrad.tensor([2.0]))
    frozen = pygrad.nn.Parameter(pygrad.tensor([3.0]), requires_grad=False)
    opt = pygrad.optim.SGD([w, frozen], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = ((w * frozen) ** 2).sum()
        loss.backward()
        return loss
    with pygrad.no_grad():
        loss = opt.step(closure)  # closures run with grad enabled
    assert loss.item() == 36.0
    assert w.tolist() == [2.0 - 0.25 * 36.0] and frozen.tolist() == [3.0]


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (1 + epoch))),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[s[0] + str(i) for i, s in enumerate(SCHEDULERS)])
def test_scheduler_matches_torch(name, kwargs, torch):
    seqs = []
    for lib in (pygrad, torch):
        p = lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        lrs = [sched.get_last_lr()]
        for _ in range(20):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        seqs.append((lrs, opt.param_groups[0]["lr"], opt.param_groups[0]["initial_lr"]))
    assert seqs[0] == seqs[1]
