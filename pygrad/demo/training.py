"""The demo's training sections, written the way a PyTorch user writes them (``import pygrad as torch``).

- ``train``: an MLP learns two interleaved spirals (Adam, cosine schedule, DataLoader),
  evaluated under ``torch.no_grad()``, checkpointed with ``torch.save``/``torch.load``.
- ``transfer``: the first layer is frozen with ``requires_grad = False`` and the rest is
  retrained on rotated spirals; the frozen weights stay the same bit for bit.
- ``custom-loss``: a focal loss written as a plain function of tensors, checked with
  ``gradcheck``, trains a fresh model.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import pygrad as torch
from pygrad import nn
from pygrad.utils.data import DataLoader, TensorDataset

from .datasets import spirals, split
from .progress import Progress


@dataclass
class Context:
    """What the sections share: options, the trained model and the numbers they report."""

    epochs: int = 100
    seed: int = 0
    quiet: bool = False
    out_dir: Path = Path("pygrad-demo-output")
    model: nn.Module | None = None
    results: dict = field(default_factory=dict)

    def say(self, *lines: str) -> None:
        if not self.quiet:
            for line in lines:
                print(line)


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 64), nn.Tanh(),
        nn.Linear(64, 64), nn.Tanh(),
        nn.Linear(64, 2),
    )


def to_tensors(x: np.ndarray, y: np.ndarray):
    return torch.tensor(x), torch.tensor(y)


def accuracy(model: nn.Module, x, y) -> float:
    """Share of correct predictions, computed in eval mode under no_grad (no graph is built)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(x)
        assert not logits.requires_grad and logits.grad_fn is None
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return acc


def fit(model, loader, optimizer, loss_fn, epochs: int, desc: str, show: bool, scheduler=None,
        before_epoch=None) -> list[float]:
    """The usual loop: zero_grad, forward, loss, backward, step; returns the mean loss per epoch.
    ``before_epoch(epoch)`` runs at the start of each epoch (``DistributedSampler.set_epoch``)."""
    history = []
    bar = Progress(epochs, desc, enabled=show)
    for epoch in range(epochs):
        if before_epoch is not None:
            before_epoch(epoch)
        total, batches = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        if scheduler is not None:
            scheduler.step()
        history.append(total / batches)
        bar.update(history[-1])
    bar.close()
    return history


def sparkline(values: list[float], width: int = 60) -> str:
    marks = " ▁▂▃▄▅▆▇█"
    idx = np.linspace(0, len(values) - 1, min(width, len(values))).round().astype(int)
    v = np.log(np.asarray(values)[idx])
    lo, hi = v.min(), v.max()
    scaled = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    return "".join(marks[1 + int(s * (len(marks) - 2))] for s in scaled)


def decision_map(model: nn.Module, x: np.ndarray, y: np.ndarray, cols: int = 56, rows: int = 22) -> str:
    """The plane as text: the model's class as '.' / ' ' in the background, points as 'o' / 'x'."""
    lo, hi = x.min(axis=0) - 0.05, x.max(axis=0) + 0.05
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], cols), np.linspace(hi[1], lo[1], rows))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with torch.no_grad():
        pred = model(torch.tensor(grid)).argmax(dim=1).numpy().reshape(rows, cols)
    canvas = [["·" if p == 1 else " " for p in row] for row in pred]
    cx = np.clip(((x[:, 0] - lo[0]) / (hi[0] - lo[0]) * (cols - 1)).round().astype(int), 0, cols - 1)
    cy = np.clip(((hi[1] - x[:, 1]) / (hi[1] - lo[1]) * (rows - 1)).round().astype(int), 0, rows - 1)
    for i, j, label in zip(cy, cx, y):
        canvas[i][j] = "x" if label == 1 else "o"
    return "\n".join("    " + "".join(row) for row in canvas)


def plot_losses(panels: dict[str, dict[str, list[float]]], path: Path) -> str:
    """Write a loss-curve picture, one axis per kind of loss (``{axis title: {label: losses}}``),
    if matplotlib is installed; say how to get one otherwise."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "loss-curve picture skipped: matplotlib is not installed (pip install matplotlib)"
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), dpi=110, squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        for label, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean training {title}")
        ax.set_title(title)
        ax.legend()
    fig.suptitle("pygrad: two spirals")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return f"loss-curve picture written to {path}"


def section_train(ctx: Context) -> None:
    """Train an MLP on two interleaved spirals and evaluate it under no_grad."""
    torch.manual_seed(ctx.seed)
    (xtr, ytr), (xte, yte) = split(*spirals(1200, seed=ctx.seed))
    train_x, train_y = to_tensors(xtr, ytr)
    test_x, test_y = to_tensors(xte, yte)
    model = make_model()
    ctx.say(f"Two interleaved spirals: {len(xtr)} training and {len(xte)} test points.", "", repr(model), "")
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=ctx.epochs)
    loss_fn = nn.CrossEntropyLoss()

    start = time.perf_counter()
    history = fit(model, loader, optimizer, loss_fn, ctx.epochs, "training", not ctx.quiet, scheduler)
    seconds = time.perf_counter() - start
    train_acc, test_acc = accuracy(model, train_x, train_y), accuracy(model, test_x, test_y)
    print(f"trained {ctx.epochs} epochs in {seconds:.1f} s: loss {history[0]:.4f} -> {history[-1]:.4f}, "
          f"train accuracy {train_acc:.1%}, test accuracy {test_acc:.1%}")
    ctx.say(f"loss curve (log scale): {sparkline(history)}")

    with torch.no_grad():
        logits = model(test_x[:3])
    ctx.say("", "Evaluation under torch.no_grad() builds no graph:",
            f"    logits.requires_grad = {logits.requires_grad}, logits.grad_fn = {logits.grad_fn}",
            "", "The model's view of the plane ('·' = class 1; o/x = test points of class 0/1):",
            decision_map(model, xte, yte), "")

    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.out_dir / "spiral_mlp.pt"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epochs": ctx.epochs}, path)
    restored = make_model()
    restored.load_state_dict(torch.load(path)["model"])
    same = accuracy(restored, test_x, test_y) == test_acc
    ctx.say(f"checkpoint saved to {path} and loaded into a fresh model: same test accuracy: {same}")

    ctx.model = model
    ctx.results.update(train_loss=history, train_accuracy=train_acc, test_accuracy=test_acc,
                       train_seconds=seconds, checkpoint_restores=same)


def section_transfer(ctx: Context) -> None:
    """Freeze the first layer (requires_grad=False) and retrain the rest on rotated spirals."""
    if ctx.model is None:
        ctx.say("(training the base model first)")
        quiet, ctx.quiet = ctx.quiet, True
        section_train(ctx)
        ctx.quiet = quiet
    torch.manual_seed(ctx.seed + 1)
    (xtr, ytr), (xte, yte) = split(*spirals(1200, seed=ctx.seed + 1, rotation=math.pi / 2))
    train_x, train_y = to_tensors(xtr, ytr)
    test_x, test_y = to_tensors(xte, yte)

    model = copy.deepcopy(ctx.model)
    model.zero_grad()  # the copy carries the last training step's gradients
    before = accuracy(model, test_x, test_y)
    first = model[0]
    for p in first.parameters():
        p.requires_grad = False
    for layer in (model[2], model[4]):  # a new head on the frozen first layer
        layer.reset_parameters()
    frozen_bytes = [p.detach().numpy().tobytes() for p in first.parameters()]
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_frozen = sum(p.numel() for p in first.parameters())
    n_train = sum(p.numel() for p in trainable)
    ctx.say(f"New task: the spirals turned by 90 degrees. The trained model scores {before:.1%} on it.",
            f"Freezing layer 0 ({n_frozen} weights, requires_grad=False); training the other {n_train}.")

    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    optimizer = torch.optim.Adam(trainable, lr=0.01)
    epochs = max(1, ctx.epochs // 2)
    history = fit(model, loader, optimizer, nn.CrossEntropyLoss(), epochs, "transfer", not ctx.quiet)
    after = accuracy(model, test_x, test_y)
    unchanged = [p.detach().numpy().tobytes() for p in first.parameters()] == frozen_bytes
    no_grads = all(p.grad is None for p in first.parameters())
    print(f"transfer: {epochs} epochs, test accuracy on the rotated spirals {before:.1%} -> {after:.1%}; "
          f"frozen layer unchanged bit for bit: {unchanged}; its .grad stayed None: {no_grads}")
    ctx.results.update(transfer_loss=history, transfer_before=before, transfer_accuracy=after,
                       frozen_unchanged=unchanged, frozen_grads_none=no_grads)


def focal_loss(logits, target, gamma: float = 2.0):
    """A custom loss as a plain function: cross-entropy that down-weights examples the model
    already gets right, mean of -(1 - p_t)**gamma * log(p_t)."""
    log_pt = logits.log_softmax(dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return (-(1 - log_pt.exp()) ** gamma * log_pt).mean()


def section_custom_loss(ctx: Context) -> None:
    """A hand-written loss: checked against cross-entropy and gradcheck, then used for training."""
    from pygrad.autograd import gradcheck

    logits = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 1, 1, 0, 1])
    as_ce = focal_loss(logits, target, gamma=0.0).item()
    ce = nn.functional.cross_entropy(logits, target).item()
    grad_ok = gradcheck(lambda z: focal_loss(z, target), (logits,))
    ctx.say(f"focal_loss with gamma=0 is cross-entropy: {as_ce:.6f} vs {ce:.6f}",
            f"gradcheck(focal_loss) in float64: {grad_ok}")

    torch.manual_seed(ctx.seed + 2)
    (xtr, ytr), (xte, yte) = split(*spirals(1200, seed=ctx.seed))
    train_x, train_y = to_tensors(xtr, ytr)
    test_x, test_y = to_tensors(xte, yte)
    model = make_model()
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-4)
    epochs = max(1, ctx.epochs // 2)
    history = fit(model, loader, optimizer, focal_loss, epochs, "focal loss", not ctx.quiet)
    acc = accuracy(model, test_x, test_y)
    print(f"custom focal loss: {epochs} epochs with AdamW, test accuracy {acc:.1%} "
          f"(gradcheck {'passed' if grad_ok else 'FAILED'})")
    ctx.results.update(focal_loss=history, focal_accuracy=acc, focal_gradcheck=grad_ok,
                       focal_matches_ce=abs(as_ce - ce) < 1e-12)


def section_pictures(ctx: Context) -> None:
    # Losses of different kinds have different scales: each kind gets its own axis.
    panels = {}
    for axis, label, key in (("cross-entropy", "training", "train_loss"),
                             ("cross-entropy", "transfer (frozen layer 0)", "transfer_loss"),
                             ("focal loss", "focal loss (gamma=2)", "focal_loss")):
        if key in ctx.results:
            panels.setdefault(axis, {})[label] = ctx.results[key]
    if panels:
        print(plot_losses(panels, ctx.out_dir / "loss_curve.png"))
