"""The benchmark workloads W1-W7, defined once for the asv suite, the harness and the tests.

Each workload is written once against a module ``m`` that is ``pygrad`` or ``torch`` and once
by hand in NumPy (forward and manual backward).  The NumPy version run in float64 is the
reference every library's gradients are checked against before anything is timed.

A workload object offers:

- ``sizes`` / ``quick_sizes``: the problem sizes of a full run and of a smoke run;
- ``count(size)``: how many units (graph nodes, ops, steps) one step does, to report time per unit;
- ``inputs(size)``: seeded float64 master arrays;
- ``missing(m)``: the ops ``m`` lacks for this workload (empty when it can run);
- ``build(m, arrays)`` -> state; ``step(m, state)`` is what is timed, ``forward_backward``
  runs one forward and backward from cleared gradients, ``grads(state)`` reads them;
- ``numpy_build(arrays, dtype)``, ``numpy_step(state)``, ``numpy_forward_backward(state)``;
- ``reference(arrays)``: float64 gradients from the hand-written NumPy version.
"""
from __future__ import annotations

import numpy as np

SEED = 0


class GradientMismatch(AssertionError):
    """A library's gradients disagree with the float64 NumPy reference."""


def _leaf(m, array, dtype: str):
    """A leaf tensor of module ``m`` holding ``array`` cast to ``dtype``, requiring grad."""
    return m.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def _scalar(m, value, dtype: str, requires_grad: bool = False):
    return m.tensor(float(value), dtype=getattr(m, dtype), requires_grad=requires_grad)


def _with_labels(state: dict, arrays) -> dict:
    """A NumPy state whose class labels ``y`` stay integers."""
    state["y"] = np.asarray(arrays["y"], np.int64)
    return state


def _clear(params) -> None:
    for p in params:
        p.grad = None


class Workload:
    key = ""
    title = ""
    unit = ""            # what count() counts: "node", "op", "step"
    dtype = "float32"
    sizes: tuple = ()
    quick_sizes: tuple = ()
    track_memory = False  # also report the peak memory of a step
    tolerance = {"float32": 1e-4, "float64": 1e-10}

    def label(self, size) -> str:
        return f"{size:,}"

    def count(self, size) -> int:
        raise NotImplementedError

    def inputs(self, size, seed: int = SEED) -> dict:
        raise NotImplementedError

    def missing(self, m) -> list[str]:
        return []

    def build(self, m, arrays) -> dict:
        raise NotImplementedError

    def forward_backward(self, m, state):
        """One forward and backward from cleared gradients; returns the output."""
        raise NotImplementedError

    def step(self, m, state) -> None:
        self.forward_backward(m, state)

    def grads(self, state) -> list[np.ndarray]:
        return [p.grad.detach().numpy() for p in state["params"]]

    def numpy_build(self, arrays, dtype) -> dict:
        return {k: np.asarray(v, dtype=dtype) for k, v in arrays.items()}

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        raise NotImplementedError

    def numpy_step(self, state) -> None:
        self.numpy_forward_backward(state)

    def reference(self, arrays) -> list[np.ndarray]:
        return self.numpy_forward_backward(self.numpy_build(arrays, np.float64))

    def check(self, got, reference, who: str = "") -> None:
        """Raise :class:`GradientMismatch` unless ``got`` matches ``reference`` (normwise relative)."""
        where = f"{self.key} {who}".strip()
        if len(got) != len(reference):
            raise GradientMismatch(f"{where}: {len(got)} gradients, expected {len(reference)}")
        tol = self.tolerance[self.dtype]
        for i, (g, r) in enumerate(zip(got, reference)):
            g = np.asarray(g)
            if g.shape != r.shape:
                raise GradientMismatch(f"{where}: gradient {i} has shape {g.shape}, expected {r.shape}")
            if g.dtype != np.dtype(self.dtype):
                raise GradientMismatch(f"{where}: gradient {i} has dtype {g.dtype}, expected {self.dtype}")
            scale = float(np.max(np.abs(r))) if r.size else 0.0
            err = float(np.max(np.abs(g.astype(np.float64) - r))) if r.size else 0.0
            if not np.isfinite(err) or err > tol * max(scale, 1e-30):
                raise GradientMismatch(f"{where}: gradient {i} differs from the float64 NumPy reference "
                                       f"by {err:.3g} (max |ref| {scale:.3g}, tolerance {tol:g} relative)")


# -- W1 ------------------------------------------------------------------------------------


class MicrogradMLP(Workload):
    """micrograd's demo MLP 2-16-16-1 built from 0-d tensors: relu hidden, linear out, squared error."""

    key = "W1"
    title = "micrograd MLP 2-16-16-1, 0-d tensors"
    unit = "node"
    dtype = "float64"       # micrograd's Values are Python floats
    sizes = quick_sizes = ((2, 16, 16, 1),)

    def label(self, size) -> str:
        return "-".join(map(str, size))

    def count(self, size) -> int:
        """Graph nodes of one forward: per neuron nin muls + nin adds (+ relu), then sub and pow."""
        layers = list(zip(size[:-1], size[1:]))
        hidden = sum(nout * (2 * nin + 1) for nin, nout in layers[:-1])
        nin, nout = layers[-1]
        return hidden + nout * 2 * nin + 2

    def inputs(self, size, seed: int = SEED) -> dict:
        rng = np.random.default_rng(seed)
        arrays = {"x": rng.uniform(-1, 1, size[0]), "y": np.array(1.0)}
        for i, (nin, nout) in enumerate(zip(size[:-1], size[1:])):
            arrays[f"w{i}"] = rng.uniform(-1, 1, (nout, nin))
            arrays[f"b{i}"] = rng.uniform(-1, 1, nout)
        return arrays

    @staticmethod
    def _layers(arrays) -> int:
        return sum(1 for k in arrays if k.startswith("w"))

    def build(self, m, arrays) -> dict:
        layers, params = [], []
        for i in range(self._layers(arrays)):
            w = [[_scalar(m, v, self.dtype, True) for v in row] for row in arrays[f"w{i}"]]
            b = [_scalar(m, v, self.dtype, True) for v in arrays[f"b{i}"]]
            layers.append((w, b))
        for w, b in layers:  # gradient order: w0 row-major, b0, w1, b1, ...
            params += [p for row in w for p in row] + b
        return {"layers": layers, "params": params,
                "x": [_scalar(m, v, self.dtype) for v in arrays["x"]],
                "y": _scalar(m, arrays["y"], self.dtype)}

    def forward_backward(self, m, state):
        _clear(state["params"])
        h = state["x"]
        layers = state["layers"]
        for i, (w, b) in enumerate(layers):
            acts = [sum((wi * xi for wi, xi in zip(row, h)), bias) for row, bias in zip(w, b)]
            h = acts if i == len(layers) - 1 else [a.relu() for a in acts]
        loss = (h[0] - state["y"]) ** 2
        loss.backward()
        return loss

    def grads(self, state) -> list[np.ndarray]:
        return [np.array([p.grad.item() for p in state["params"]], dtype=self.dtype)]

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        n = self._layers(state)
        ws = [state[f"w{i}"] for i in range(n)]
        bs = [state[f"b{i}"] for i in range(n)]
        h, acts, pre = state["x"], [], []
        for i, (w, b) in enumerate(zip(ws, bs)):
            acts.append(h)
            z = w @ h + b
            pre.append(z)
            h = z if i == n - 1 else np.maximum(z, 0)
        g = 2 * (h - state["y"])
        grads = []
        for i in reversed(range(n)):
            if i != n - 1:
                g = g * (pre[i] > 0)
            grads.append((np.outer(g, acts[i]).ravel(), g))
            g = ws[i].T @ g
        return [np.concatenate([part for gw_gb in reversed(grads) for part in gw_gb])]


# -- W2 ------------------------------------------------------------------------------------


class ElementwiseChain(Workload):
    """100 elementwise ops: 20 x (+x, *0.5, **2, exp, tanh), then sum().backward()."""

    key = "W2"
    title = "100-op elementwise chain, float32"
    unit = "op"
    repeats = 20
    sizes = quick_sizes = (1, 100)

    def count(self, size) -> int:
        return 5 * self.repeats

    def inputs(self, size, seed: int = SEED) -> dict:
        return {"x": np.random.default_rng(seed).uniform(-1, 1, size)}

    def build(self, m, arrays) -> dict:
        x = _leaf(m, arrays["x"], self.dtype)
        return {"x": x, "params": [x]}

    def forward_backward(self, m, state):
        x = state["x"]
        x.grad = None
        y = x
        for _ in range(self.repeats):
            y = y + x
            y = y * 0.5
            y = y ** 2
            y = y.exp()
            y = y.tanh()
        loss = y.sum()
        loss.backward()
        return loss

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        x = state["x"]
        half, two, one = x.dtype.type(0.5), x.dtype.type(2), x.dtype.type(1)
        tape = []  # (halved, exped, tanhed) per block
        y = x
        for _ in range(self.repeats):
            b = (y + x) * half
            e = np.exp(b * b)
            y = np.tanh(e)
            tape.append((b, e, y))
        g = np.ones_like(x)
        gx = np.zeros_like(x)
        for b, e, t in reversed(tape):
            g = g * (one - t * t) * e * (two * b) * half
            gx += g
        return [gx + g]


# -- W3 ------------------------------------------------------------------------------------


class LargeVectorStep(Workload):
    """A forward and backward on large float32 vectors, timed per step, with its peak memory."""

    unit = "step"
    track_memory = True
    sizes = (10**6, 10**7)
    quick_sizes = (10**5,)

    def count(self, size) -> int:
        return 1


class LargeElementwise(LargeVectorStep):
    """``(((x**2 + 1)**2) * 0.5).sum()`` forward and backward on large float32 vectors.

    Its floor is reading x once and writing its gradient once: the time of a copy of
    ``size`` float32 elements at the machine's copy bandwidth.
    """

    key = "W3"
    title = "(((x**2+1)**2)*0.5).sum() vs copy floor"

    def floor_bytes(self, size) -> int:
        return 2 * np.dtype(self.dtype).itemsize * size

    def inputs(self, size, seed: int = SEED) -> dict:
        return {"x": np.random.default_rng(seed).uniform(-1, 1, size)}

    def build(self, m, arrays) -> dict:
        x = _leaf(m, arrays["x"], self.dtype)
        return {"x": x, "params": [x]}

    def forward_backward(self, m, state):
        x = state["x"]
        x.grad = None
        loss = (((x ** 2 + 1) ** 2) * 0.5).sum()
        loss.backward()
        return loss

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        x = state["x"]
        a = x * x
        a += 1
        state["loss"] = (a * a * x.dtype.type(0.5)).sum()
        # d/dx 0.5 (x^2+1)^2 = 2 x (x^2+1)
        a *= x
        a *= 2
        return [a]


class LargeElementwise64(LargeElementwise):
    """W3 in float64, where the compiled kernels must not fall behind NumPy's loops either."""

    key = "W3f64"
    title = "(((x**2+1)**2)*0.5).sum() vs copy floor, float64"
    dtype = "float64"
    sizes = (10**7,)
    quick_sizes = (10**5,)


# -- W4 ------------------------------------------------------------------------------------


class MLPTrainingStep(Workload):
    """One SGD step of a 784-256-10 float32 MLP: relu, log-softmax + NLL, batch ``size``."""

    key = "W4"
    title = "SGD step, MLP 784-256-10, float32"
    unit = "step"
    layers = (784, 256, 10)
    lr = 0.01
    sizes = (256,)
    quick_sizes = (64,)

    def label(self, size) -> str:
        return f"batch {size}"

    def count(self, size) -> int:
        return 1

    def inputs(self, size, seed: int = SEED) -> dict:
        rng = np.random.default_rng(seed)
        n_in, n_hidden, n_out = self.layers
        return {"x": rng.standard_normal((size, n_in)),
                "y": rng.integers(0, n_out, size),
                "w1": rng.uniform(-1, 1, (n_hidden, n_in)) / np.sqrt(n_in),
                "b1": rng.uniform(-1, 1, n_hidden) / np.sqrt(n_in),
                "w2": rng.uniform(-1, 1, (n_out, n_hidden)) / np.sqrt(n_hidden),
                "b2": rng.uniform(-1, 1, n_out) / np.sqrt(n_hidden)}

    def missing(self, m) -> list[str]:
        needed = ["Tensor.__matmul__", "Tensor.log_softmax", "Tensor.__getitem__", "Tensor.__isub__",
                  "Tensor.relu", "Tensor.mean", "arange", "no_grad"]
        have = {"Tensor": m.Tensor, "": m}
        return [n for n in needed
                if not hasattr(have[n.rpartition(".")[0]], n.rpartition(".")[2])]

    def build(self, m, arrays) -> dict:
        return {"x": m.tensor(np.asarray(arrays["x"], self.dtype)),
                "y": m.tensor(np.asarray(arrays["y"], np.int64)),
                "rows": m.arange(len(arrays["y"])),
                "params": [_leaf(m, arrays[k], self.dtype) for k in ("w1", "b1", "w2", "b2")]}

    def forward_backward(self, m, state):
        params = state["params"]
        _clear(params)
        w1, b1, w2, b2 = params
        h = (state["x"] @ w1.T + b1).relu()
        logp = (h @ w2.T + b2).log_softmax(1)
        loss = -logp[state["rows"], state["y"]].mean()
        loss.backward()
        return loss

    def step(self, m, state) -> None:
        self.forward_backward(m, state)
        with m.no_grad():
            for p in state["params"]:
                p -= self.lr * p.grad

    def numpy_build(self, arrays, dtype) -> dict:
        return _with_labels(super().numpy_build(arrays, dtype), arrays)

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        x, y, w1, b1, w2, b2 = (state[k] for k in ("x", "y", "w1", "b1", "w2", "b2"))
        n = len(y)
        rows = np.arange(n)
        z1 = x @ w1.T + b1
        h = np.maximum(z1, 0)
        logits = h @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        state["loss"] = -(shifted[rows, y] - np.log(total[:, 0])).mean()
        # d loss / d logits = (softmax - onehot) / n
        g_logits = exp / total
        g_logits[rows, y] -= 1
        g_logits /= n
        g_w2 = g_logits.T @ h
        g_b2 = g_logits.sum(axis=0)
        g_z1 = (g_logits @ w2) * (z1 > 0)
        g_w1 = g_z1.T @ x
        g_b1 = g_z1.sum(axis=0)
        return [g_w1, g_b1, g_w2, g_b2]

    def numpy_step(self, state) -> None:
        grads = self.numpy_forward_backward(state)
        lr = state["w1"].dtype.type(self.lr)
        for key, g in zip(("w1", "b1", "w2", "b2"), grads):
            state[key] -= lr * g


# -- W5 ------------------------------------------------------------------------------------


class ScalarChain(Workload):
    """A chain of ``size`` scalar ops, ``x = x*1.0001 + 0.0001`` (two ops a link), then backward."""

    key = "W5"
    title = "scalar chain x = x*1.0001 + 0.0001"
    unit = "op"
    dtype = "float64"
    track_memory = True
    sizes = (100_000,)
    quick_sizes = (2_000,)

    def count(self, size) -> int:
        return 2 * (size // 2)

    def inputs(self, size, seed: int = SEED) -> dict:
        return {"x": np.array(1.0), "links": size // 2}

    def build(self, m, arrays) -> dict:
        x = _scalar(m, arrays["x"], self.dtype, True)
        return {"x": x, "params": [x], "links": arrays["links"]}

    def forward_backward(self, m, state):
        x0 = state["x"]
        x0.grad = None
        x = x0
        for _ in range(state["links"]):
            x = x * 1.0001 + 0.0001
        x.backward()
        return x

    def numpy_build(self, arrays, dtype) -> dict:
        return {"x": np.asarray(arrays["x"], dtype), "links": arrays["links"]}

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        x = state["x"][()]
        a, b = x.dtype.type(1.0001), x.dtype.type(0.0001)
        for _ in range(state["links"]):
            x = x * a + b
        state["out"] = x
        g = x.dtype.type(1)
        for _ in range(state["links"]):  # the adds pass g through; each mul scales it by a
            g = g * a
        return [np.asarray(g)]


# -- W6 ------------------------------------------------------------------------------------


class ElementwiseLoss(LargeVectorStep):
    """A regression loss of about 20 elementwise ops and a mean on large float32 vectors: log-cosh
    of the error, a softplus penalty, a Gaussian negative log-likelihood with a softplus variance
    head, and a periodic penalty; forward and backward to the predictions and the variance head."""

    key = "W6"
    title = "20-op elementwise loss + mean, float32"

    def inputs(self, size, seed: int = SEED) -> dict:
        rng = np.random.default_rng(seed)
        return {"pred": rng.standard_normal(size), "target": rng.standard_normal(size),
                "head": rng.standard_normal(size)}

    def build(self, m, arrays) -> dict:
        pred, head = _leaf(m, arrays["pred"], self.dtype), _leaf(m, arrays["head"], self.dtype)
        return {"pred": pred, "head": head, "params": [pred, head],
                "target": m.tensor(np.asarray(arrays["target"], self.dtype))}

    def forward_backward(self, m, state):
        _clear(state["params"])
        p, s, t = state["pred"], state["head"], state["target"]
        softplus = m.nn.functional.softplus
        d = p - t
        log_cosh = d.cosh().log()
        penalty = softplus(p) * 0.1
        var = softplus(s) + 0.01
        nll = (d * d) / var * 0.5 + var.log() * 0.5
        periodic = ((p * 0.5).sin() ** 2) * 0.05
        loss = (log_cosh + penalty + nll + periodic).mean()
        loss.backward()
        return loss

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        p, s, t = state["pred"], state["head"], state["target"]
        c = p.dtype.type
        d = p - t
        var = np.logaddexp(0, s) + c(0.01)
        half = np.sin(p * c(0.5))
        terms = (np.log(np.cosh(d)) + np.logaddexp(0, p) * c(0.1) + d * d / var * c(0.5) + np.log(var) * c(0.5)
                 + half * half * c(0.05))
        state["loss"] = terms.mean()
        g = c(1) / p.size
        sigmoid = lambda z: c(1) / (c(1) + np.exp(-z))  # noqa: E731
        g_pred = g * (np.tanh(d) + c(0.1) * sigmoid(p) + d / var + c(0.05) * half * np.cos(p * c(0.5)))
        g_var = c(0.5) / var - c(0.5) * d * d / (var * var)
        g_head = g * g_var * sigmoid(s)
        return [g_pred, g_head]


# -- W7 ------------------------------------------------------------------------------------


class NNTrainingStep(MLPTrainingStep):
    """One training step written with ``nn`` and ``optim``: ``Sequential(Linear(784, 128), ReLU(),
    Linear(128, 10))``, ``CrossEntropyLoss``, then an SGD or Adam step (W4's math, through layers)."""

    key = "W7"
    title = "nn.Sequential 784-128-10, CrossEntropyLoss, optimizer step, float32"
    layers = (784, 128, 10)
    lr = {"SGD": 0.01, "Adam": 1e-3}
    betas, eps = (0.9, 0.999), 1e-8
    sizes = quick_sizes = (("SGD", 64), ("Adam", 64))

    def label(self, size) -> str:
        return f"{size[0]}, batch {size[1]}"

    def inputs(self, size, seed: int = SEED) -> dict:
        optimizer, batch = size
        return {**super().inputs(batch, seed), "optimizer": optimizer}

    def missing(self, m) -> list[str]:
        needed = ["nn.Sequential", "nn.Linear", "nn.ReLU", "nn.CrossEntropyLoss", "optim.SGD", "optim.Adam"]
        return [n for n in needed if not hasattr(getattr(m, n.split(".")[0], None), n.split(".")[1])]

    def build(self, m, arrays) -> dict:
        n_in, n_hidden, n_out = self.layers
        model = m.nn.Sequential(m.nn.Linear(n_in, n_hidden), m.nn.ReLU(), m.nn.Linear(n_hidden, n_out))
        model.to(getattr(m, self.dtype))
        params = list(model.parameters())
        with m.no_grad():
            for p, key in zip(params, ("w1", "b1", "w2", "b2")):
                p.copy_(m.tensor(np.asarray(arrays[key], self.dtype)))
        name = arrays["optimizer"]
        optimizer = getattr(m.optim, name)(params, lr=self.lr[name])
        return {"model": model, "optimizer": optimizer, "loss_fn": m.nn.CrossEntropyLoss(), "params": params,
                "x": m.tensor(np.asarray(arrays["x"], self.dtype)), "y": m.tensor(np.asarray(arrays["y"], np.int64))}

    def forward_backward(self, m, state):
        state["optimizer"].zero_grad()
        loss = state["loss_fn"](state["model"](state["x"]), state["y"])
        loss.backward()
        return loss

    def step(self, m, state) -> None:
        self.forward_backward(m, state)
        state["optimizer"].step()

    def numpy_build(self, arrays, dtype) -> dict:
        state = {k: v for k, v in arrays.items() if k != "optimizer"}
        state = super().numpy_build(state, dtype)
        state["optimizer"], state["t"] = arrays["optimizer"], 0
        return state

    def numpy_step(self, state) -> None:
        grads = self.numpy_forward_backward(state)
        keys = ("w1", "b1", "w2", "b2")
        one = state["w1"].dtype.type(1)
        lr = state["w1"].dtype.type(self.lr[state["optimizer"]])
        if state["optimizer"] == "SGD":
            for key, g in zip(keys, grads):
                state[key] -= lr * g
            return
        b1, b2 = (state["w1"].dtype.type(b) for b in self.betas)
        state["t"] += 1
        t = state["t"]
        for key, g in zip(keys, grads):  # PyTorch's Adam, one tensor at a time
            m1 = state.setdefault("m_" + key, np.zeros_like(g))
            m2 = state.setdefault("v_" + key, np.zeros_like(g))
            m1 += (one - b1) * (g - m1)
            m2 *= b2
            m2 += (one - b2) * g * g
            denom = np.sqrt(m2) / np.sqrt(one - b2 ** t) + self.eps
            state[key] -= (lr / (one - b1 ** t)) * m1 / denom


# -- per-sample gradients ------------------------------------------------------------------


class PerSampleGradients(Workload):
    """The gradient of each sample's loss (a tanh MLP, cross-entropy) on its own, by
    ``vmap(grad(loss))``: one batched forward and backward for the whole batch."""

    key = "PSG"
    title = "per-sample gradients, vmap(grad) of an MLP"
    unit = "sample"
    dtype = "float32"
    sizes = quick_sizes = ((64, 32, 64, 10),)   # batch, inputs, hidden, classes
    tolerance = {"float32": 2e-4, "float64": 1e-10}
    names = ("w1", "b1", "w2", "b2")

    def label(self, size) -> str:
        return "batch {} MLP {}-{}-{}".format(*size)

    def count(self, size) -> int:
        return size[0]

    def inputs(self, size, seed: int = SEED) -> dict:
        batch, n_in, hidden, classes = size
        rng = np.random.default_rng(seed)
        return {"x": rng.standard_normal((batch, n_in)), "y": rng.integers(0, classes, batch),
                "w1": rng.standard_normal((hidden, n_in)) / np.sqrt(n_in), "b1": rng.uniform(-0.1, 0.1, hidden),
                "w2": rng.standard_normal((classes, hidden)) / np.sqrt(hidden),
                "b2": rng.uniform(-0.1, 0.1, classes)}

    def missing(self, m) -> list[str]:
        return [] if hasattr(m, "func") and hasattr(m.func, "vmap") else ["func.vmap"]

    @staticmethod
    def loss(m, params, x, y):
        """One sample's loss."""
        F = m.nn.functional
        h = m.tanh(F.linear(x.unsqueeze(0), params["w1"], params["b1"]))
        return F.cross_entropy(F.linear(h, params["w2"], params["b2"]), y.unsqueeze(0))

    def build(self, m, arrays) -> dict:
        params = {k: m.tensor(np.asarray(arrays[k], dtype=self.dtype)) for k in self.names}
        return {"params": params, "x": m.tensor(np.asarray(arrays["x"], dtype=self.dtype)),
                "y": m.tensor(np.asarray(arrays["y"], np.int64)),
                "per_sample": m.func.vmap(m.func.grad(lambda p, x, y: self.loss(m, p, x, y)), in_dims=(None, 0, 0))}

    def forward_backward(self, m, state):
        grads = state["per_sample"](state["params"], state["x"], state["y"])
        state["out"] = [grads[k] for k in self.names]

    def grads(self, state) -> list[np.ndarray]:
        return [g.detach().numpy() for g in state["out"]]

    def numpy_build(self, arrays, dtype) -> dict:
        return _with_labels(super().numpy_build(arrays, dtype), arrays)

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        x, y, w1, b1, w2, b2 = (state[k] for k in ("x", "y", "w1", "b1", "w2", "b2"))
        rows = np.arange(len(y))
        h = np.tanh(x @ w1.T + b1)
        logits = h @ w2.T + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, y] -= 1                                    # each sample's d loss / d logits
        g_z1 = (p @ w2) * (1 - h * h)
        return [g_z1[:, :, None] * x[:, None, :], g_z1, p[:, :, None] * h[:, None, :], p]


class PerSampleGradientsLoop(PerSampleGradients):
    """The same per-sample gradients by a Python loop: one forward and backward per sample."""

    key = "PSG-loop"
    title = "per-sample gradients, a loop of backward passes"

    def missing(self, m) -> list[str]:
        return []

    def build(self, m, arrays) -> dict:
        params = {k: _leaf(m, arrays[k], self.dtype) for k in self.names}
        return {"params": params, "x": m.tensor(np.asarray(arrays["x"], dtype=self.dtype)),
                "y": m.tensor(np.asarray(arrays["y"], np.int64))}

    def forward_backward(self, m, state):
        params, x, y = state["params"], state["x"], state["y"]
        rows = []
        for i in range(len(x)):
            _clear(params.values())
            self.loss(m, params, x[i], y[i]).backward()
            rows.append([params[k].grad.clone() for k in self.names])
        state["out"] = [m.stack(list(parts)) for parts in zip(*rows)]


# -- Jacobians: forward against reverse mode --------------------------------------------------


class Jacobian(Workload):
    """The Jacobian of a tanh MLP ``W2 @ tanh(W1 @ x)`` (``n`` inputs, ``m`` outputs, 256 hidden) by
    ``func.jacfwd``: a pass per input (a column), so it is cheap for a tall Jacobian (few inputs,
    many outputs) and dear for a wide one; ``JACREV`` takes a pass per output and is the reverse."""

    key = "JACFWD"
    title = "Jacobian of W2 tanh(W1 x) by func.jacfwd"
    transform = "jacfwd"
    unit = "Jacobian"
    dtype = "float64"
    hidden = 256
    sizes = quick_sizes = ((8, 512), (512, 8))   # (inputs, outputs): tall, wide

    def label(self, size) -> str:
        n, m = size
        return f"{'tall' if m > n else 'wide'} {n} -> {m}"

    def count(self, size) -> int:
        return 1

    def inputs(self, size, seed: int = SEED) -> dict:
        n, m = size
        rng = np.random.default_rng(seed)
        return {"x": rng.uniform(-1, 1, n), "w1": rng.standard_normal((self.hidden, n)) / np.sqrt(n),
                "w2": rng.standard_normal((m, self.hidden)) / np.sqrt(self.hidden)}

    def missing(self, m) -> list[str]:
        return [] if hasattr(getattr(m, "func", None), self.transform) else [f"func.{self.transform}"]

    def build(self, m, arrays) -> dict:
        w1, w2 = (m.tensor(np.asarray(arrays[k], dtype=self.dtype)) for k in ("w1", "w2"))
        return {"x": m.tensor(np.asarray(arrays["x"], dtype=self.dtype)),
                "jacobian": getattr(m.func, self.transform)(lambda x: w2 @ m.tanh(w1 @ x))}

    def forward_backward(self, m, state):
        state["out"] = state["jacobian"](state["x"])
        return state["out"]

    def grads(self, state) -> list[np.ndarray]:
        return [state["out"].detach().numpy()]

    def numpy_forward_backward(self, state) -> list[np.ndarray]:
        h = np.tanh(state["w1"] @ state["x"])
        return [state["w2"] @ ((1 - h * h)[:, None] * state["w1"])]


class JacobianReverse(Jacobian):
    key = "JACREV"
    title = "Jacobian of W2 tanh(W1 x) by func.jacrev"
    transform = "jacrev"


WORKLOADS = {w.key: w for w in (MicrogradMLP(), ElementwiseChain(), LargeElementwise(), LargeElementwise64(),
                                 MLPTrainingStep(), ScalarChain(), ElementwiseLoss(), NNTrainingStep(), PerSampleGradients(),
                                 PerSampleGradientsLoop(), Jacobian(), JacobianReverse())}
