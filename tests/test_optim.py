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
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.05, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.02, weight_decay=0.05, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.05)),
    ("RAdam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
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


# NAdam keeps its momentum product in float32 and, as in PyTorch, loading a state_dict casts it to the
# parameters' dtype, so a resumed run rounds differently from a straight one (checked against torch below).
RESUMABLE = [(c, i) for c, i in zip(CONFIGS, IDS) if c[0] != "NAdam"]


@pytest.mark.parametrize("name,kwargs", [c for c, _ in RESUMABLE], ids=[i for _, i in RESUMABLE])
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


def test_nadam_resume_casts_state_as_torch(rng, torch):
    init, grads = _problem(rng)
    results = []
    for lib in (pygrad, torch):
        _, opt = _run(lib, "NAdam", dict(lr=0.01), init, grads[:4], "float64")
        params = [lib.nn.Parameter(lib.tensor(a)) for a in init]
        resumed = lib.optim.NAdam(params, lr=0.01)
        resumed.load_state_dict(opt.state_dict())
        for step_grads in grads[4:]:
            for p, g in zip(params, step_grads):
                p.grad = lib.tensor(g)
            resumed.step()
        state = resumed.state_dict()["state"][0]
        results.append(([p.detach().numpy() for p in params], str(state["mu_product"].dtype)))
    assert results[0][1] == results[1][1] == "torch.float64"
    for x, y in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)


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
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5)),
    ("ConstantLR", dict(factor=0.25, total_iters=6)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=13)),
    ("PolynomialLR", dict(total_iters=15, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=[0.01], max_lr=0.2, step_size_up=2, mode="exp_range", gamma=0.9)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=6, anneal_strategy="linear", three_phase=True)),
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
        seqs.append((lrs, opt.param_groups[0]["lr"], opt.param_groups[0]["initial_lr"],
                     opt.param_groups[0]["momentum"]))
    assert seqs[0] == seqs[1]


def _lbfgs_run(lib, kwargs, steps=4):
    """Fit a small quadratic-plus-quartic model with LBFGS and a closure; the parameters after each step."""
    rng = np.random.default_rng(7)
    x = lib.tensor(rng.standard_normal((8, 3)))
    y = lib.tensor(rng.standard_normal(8))
    w = lib.nn.Parameter(lib.tensor([0.5, -0.3, 0.2], dtype=lib.float64))
    b = lib.nn.Parameter(lib.tensor(0.1, dtype=lib.float64))
    opt = lib.optim.LBFGS([w, b], **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean() + (w ** 4).sum() * 0.1
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        loss = opt.step(closure)
        history.append((loss.item(), w.detach().numpy().copy(), b.detach().numpy().copy()))
    return history, opt


@pytest.mark.parametrize("kwargs", [dict(lr=0.5, max_iter=5), dict(lr=1, line_search_fn="strong_wolfe"),
                                    dict(lr=0.8, max_iter=7, history_size=3, line_search_fn="strong_wolfe")],
                         ids=["plain", "strong_wolfe", "short_history"])
def test_lbfgs_matches_torch(kwargs, torch):
    ours, opt = _lbfgs_run(pygrad, kwargs)
    theirs, ref = _lbfgs_run(torch, kwargs)
    for (l1, w1, b1), (l2, w2, b2) in zip(ours, theirs):
        assert l1 == pytest.approx(l2, rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(w1, w2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)
    sd, ref_sd = opt.state_dict(), ref.state_dict()
    assert sd["param_groups"] == ref_sd["param_groups"]
    assert list(sd["state"][0]) == list(ref_sd["state"][0])
    for key in ("func_evals", "n_iter"):
        assert sd["state"][0][key] == ref_sd["state"][0][key]


def test_lbfgs_rejects_param_groups_and_unknown_line_search(torch):
    for lib in (pygrad, torch):
        with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
            lib.optim.LBFGS([{"params": [lib.nn.Parameter(lib.ones(1))]}, {"params": [lib.nn.Parameter(lib.ones(1))]}])
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.LBFGS([p], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss
        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)


def _lr_sequence(lib, make, steps=25, metrics=None, optimizer="SGD"):
    p = lib.nn.Parameter(lib.ones(1))
    opt = getattr(lib.optim, optimizer)([p], lr=0.1)
    sched = make(lib, opt)
    seq = [sched.get_last_lr()]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        seq.append((sched.get_last_lr(), opt.param_groups[0]["lr"], opt.param_groups[0].get("betas")))
    return seq


COMPOSITES = {
    "sequential": lambda L, o: L.optim.lr_scheduler.SequentialLR(
        o, [L.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=4),
            L.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
            L.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)], milestones=[5, 12]),
    "chained": lambda L, o: L.optim.lr_scheduler.ChainedScheduler(
        [L.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
         L.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)]),
    "onecycle_adam": lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=30),
    "cyclic_adam": lambda L, o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.2, step_size_up=3),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_composite_and_momentum_schedulers_match_torch(name, torch):
    optimizer = "Adam" if name.endswith("adam") else "SGD"
    ours = _lr_sequence(pygrad, COMPOSITES[name], optimizer=optimizer)
    theirs = _lr_sequence(torch, COMPOSITES[name], optimizer=optimizer)
    assert ours == theirs


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", factor=0.5, patience=2, cooldown=1, min_lr=0.02),
                                    dict(threshold_mode="abs", threshold=0.05, patience=1)])
def test_reduce_lr_on_plateau_matches_torch(kwargs, torch):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.89, 0.89, 0.9, 0.92, 0.93, 0.5, 0.6, 0.7, 0.7, 0.71, 0.72,
               0.3, 0.3, 0.3, 0.3, 0.31, 0.32, 0.33, 0.34]

    def make(lib, opt):
        return lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    ours = _lr_sequence(pygrad, make, metrics=metrics)
    theirs = _lr_sequence(torch, make, metrics=metrics)
    assert ours == theirs
    sd = {k: v for k, v in make(pygrad, pygrad.optim.SGD([pygrad.nn.Parameter(pygrad.ones(1))], lr=0.1))
          .state_dict().items()}
    ref = make(torch, torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)).state_dict()
    assert sorted(sd) == sorted(ref)


def _adam_operands(rng, dtype, shape=(5, 7)):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    m = (rng.standard_normal(shape) * 0.1).astype(dtype)
    v = (np.abs(rng.standard_normal(shape)) * 0.01).astype(dtype)
    v.flat[0] = 0  # sqrt(0) + eps
    return x, g, m, v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("beta1", [0.9, 0.3])  # the two sides of PyTorch's lerp
def test_compiled_adam_update_is_the_pure_one_bit_for_bit(dtype, beta1, rng):
    native = pytest.importorskip("pygrad._native.kernels", reason="the compiled modules are not built")
    from pygrad._pure import kernels as pure
    assert native.adam_update is not pure.adam_update
    ours, theirs = _adam_operands(rng, dtype), None
    theirs = [a.copy() for a in ours]
    for step in range(1, 4):
        bc1, bc2 = 1 - beta1 ** step, 1 - 0.999 ** step
        args = (1 - beta1, 0.999, bc2 ** 0.5, 1e-8, 1e-3 / bc1)
        native.adam_update(*ours, *args)
        pure.adam_update(*theirs, *args)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    # what the loop does not take goes to the pure kernel: strided, mixed dtypes, overlapping, AMSGrad
    x, g, m, v = _adam_operands(rng, dtype, (4, 6))
    cases = [(x[:, ::2], g[:, ::2], m[:, ::2], v[:, ::2], None), (x, g.astype(np.float16), m, v, None),
             (x, g, m, m, None), (x, g, m, v, np.zeros_like(v))]
    for *arrays, max_sq in cases:
        copies = [a.copy() for a in arrays] if arrays[2] is not arrays[3] else None
        native.adam_update(*arrays, 0.1, 0.999, 0.5, 1e-8, 1e-3, max_sq)
        if copies is not None:
            pure.adam_update(*copies, 0.1, 0.999, 0.5, 1e-8, 1e-3, None if max_sq is None else np.zeros_like(v))
            np.testing.assert_array_equal(arrays[0], copies[0])


def test_adam_on_a_larger_model_follows_torch(rng, torch):
    """The compiled update on arrays large enough for its vector loop, against PyTorch's Adam."""
    init = [rng.standard_normal((64, 33)), rng.standard_normal(33)]
    grads = [[rng.standard_normal(a.shape) for a in init] for _ in range(5)]
    ours, _ = _run(pygrad, "Adam", dict(lr=0.01), init, grads, "float32")
    theirs, _ = _run(torch, "Adam", dict(lr=0.01), init, grads, "float32")
    for a, b in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_scaled_add_is_the_pure_one_bit_for_bit(dtype, rng):
    native = pytest.importorskip("pygrad._native.kernels", reason="the compiled modules are not built")
    from pygrad._pure import kernels as pure
    assert native.add_scaled_ is not pure.add_scaled_
    y, x = rng.standard_normal((9, 13)).astype(dtype), rng.standard_normal((9, 13)).astype(dtype)
    expected = y.copy()
    native.add_scaled_(y, x, -0.01)
    pure.add_scaled_(expected, x, -0.01)
    np.testing.assert_array_equal(y, expected)
    # strided, mixed dtypes, overlapping: the pure kernel's result
    for dst, src in ((y[:, ::2], x[:, ::2]), (y, x.astype(np.float16)), (y[1:], y[:-1])):
        want = dst.copy()
        pure.add_scaled_(want, src.copy(), 0.5)
        native.add_scaled_(dst, src, 0.5)
        np.testing.assert_array_equal(dst, want)
